//! sysmon (proc.go `sysmon`, `retake`, `preemptone`): the thread without a P
//! that preempts long-running goroutines and retakes Ps from syscalls.
//!
//! Its sleep starts at 20 µs and, once more than 50 consecutive iterations
//! retook no P from a syscall, doubles each iteration up to 10 ms. Each sleep
//! is a `usleep`, which the kernel stretches by its timer slack. When every P
//! is idle (and schedtrace is off) it sleeps deeply until the next timer; a
//! goroutine entering a syscall, or leaving one onto an idle P, wakes it and
//! resets its backoff.
//!
//! `retake` preempts a G whose P has kept the same schedtick for 10 ms
//! (`forcePreemptNS`): a chain of runnext Gs shares one slice. Because sysmon
//! only looks when it wakes, the first look at a new schedtick may come up to
//! one sleep after the slice began; the slice is then measured from that look,
//! which is why a tight loop can hold its P for up to ~20 ms, not 10.
//!
//! sysmon also refreshes the GC CPU limiter every 10 ms, wakes the background
//! scavenger when sweeping has drained (`scavenger.sysmonWake`), and wakes the
//! forcegc helper after two minutes without a GC.
//!
//! A schedtrace report is written under `sched.lock`, one `write(2)` per
//! print argument; an M taking the lock meanwhile waits (`sched_lock`).
//!
//! Simplifications: no GOMAXPROCS auto-update. While the world is stopping
//! sysmon leaves the Ps alone (Go's sysmon sleeps while `gcwaiting`).
//! `sched.lock` is modelled only for sysmon's schedtrace writes and only
//! for the Ms that put or take from the global run queue.

use crate::m::MState;
use crate::p::PStatus;
use crate::world::{Ev, World};
use sim_core::ids::{MId, PId};
use sim_core::time::{MICROSECOND_NS, MILLISECOND_NS, SECOND_NS};
use sim_core::trace::{SchedLockHolder, TraceEvent};
use sim_core::workload::FlatOp;

/// Go's `forcePreemptNS`: the time slice.
pub const FORCE_PREEMPT_NS: u64 = 10 * MILLISECOND_NS;
/// sysmon's first and reset sleep, in microseconds.
pub const SYSMON_MIN_DELAY_US: u64 = 20;
/// sysmon's longest sleep, in microseconds.
pub const SYSMON_MAX_DELAY_US: u64 = 10_000;
/// Idle iterations after which sysmon starts doubling its sleep.
pub const SYSMON_IDLE_BEFORE_BACKOFF: u32 = 50;
/// A P stays with a syscalling M if the syscall is younger than this, its run
/// queue is empty and some other P is idle or some M spins.
pub const SYSCALL_RETAKE_NS: u64 = 10 * MILLISECOND_NS;
/// Rounds of `procyield` lock2 spins for a runtime lock before it sleeps
/// (`mutexActiveSpinCount`).
pub const LOCK_SPIN_ROUNDS: u64 = 4;
/// Deep sleep lasts at most `forcegcperiod / 2`.
pub const SYSMON_DEEP_SLEEP_MAX_NS: u64 = 60 * SECOND_NS;

impl World {
    /// Schedules sysmon's next usleep per its backoff.
    pub(crate) fn sysmon_sleep(&mut self) {
        self.sysmon_sleep_after(0);
    }

    /// sysmon's next usleep, starting `busy_ns` from now.
    fn sysmon_sleep_after(&mut self, busy_ns: u64) {
        let s = &mut self.sysmon;
        if s.idle == 0 {
            s.delay_us = SYSMON_MIN_DELAY_US;
        } else if s.idle > SYSMON_IDLE_BEFORE_BACKOFF {
            s.delay_us *= 2;
        }
        s.delay_us = s.delay_us.min(SYSMON_MAX_DELAY_US);
        s.epoch = s.epoch.wrapping_add(1);
        let at = self.now_ns
            + busy_ns
            + s.delay_us * MICROSECOND_NS
            + self.config.cost.os_timer_slack_ns;
        let epoch = s.epoch;
        self.queue.push(at, Ev::Sysmon { epoch });
    }

    /// `notewakeup(&sched.sysmonnote)`: end sysmon's deep sleep early.
    pub(crate) fn wake_sysmon(&mut self) {
        if !self.sysmon.deep_sleep {
            return;
        }
        self.sysmon.deep_sleep = false;
        self.sysmon.woken_by_syscall = true;
        self.sysmon.epoch = self.sysmon.epoch.wrapping_add(1);
        let epoch = self.sysmon.epoch;
        let sysmon = self.sysmon_m;
        let at = self.now_ns + self.thread_wake_latency_at(sysmon, self.now_ns);
        self.queue.push(at, Ev::Sysmon { epoch });
    }

    /// One sysmon iteration, after its sleep.
    pub(crate) fn sysmon_wake(&mut self) {
        let now = self.now_ns;
        if self.sysmon.deep_sleep || self.sysmon.woken_by_syscall {
            // Back from deep sleep (timed out, or woken by a syscall).
            self.sysmon.deep_sleep = false;
            if std::mem::take(&mut self.sysmon.woken_by_syscall) {
                self.sysmon.idle = 0;
                self.sysmon.delay_us = SYSMON_MIN_DELAY_US;
            }
        } else if self.config.runtime.godebug.schedtrace_ms == 0
            && self.npidle() == self.gomaxprocs()
        {
            let next_timer = self.ps.iter().filter_map(|p| p.next_timer_ns()).min();
            let next = next_timer.unwrap_or(u64::MAX);
            if next > now {
                let sleep_ns = (next - now).min(SYSMON_DEEP_SLEEP_MAX_NS);
                self.sysmon.deep_sleep = true;
                self.ms[self.sysmon_m.index()].asleep_since_ns = now;
                self.sysmon.epoch = self.sysmon.epoch.wrapping_add(1);
                let epoch = self.sysmon.epoch;
                let at = now + sleep_ns + self.config.cost.os_timer_slack_ns;
                self.queue.push(at, Ev::Sysmon { epoch });
                return;
            }
        }
        if self.gc_stw_pending() {
            // sysmon leaves the Ps alone while the world is stopping.
            self.sysmon_sleep();
            return;
        }
        self.sysmon_netpoll();
        if self.gc.take_scavenger_ready() {
            // scavenger.sysmonWake: sweeping drained, kick the scavenger.
            self.scavenger_wake();
        }
        self.gc.limiter_poll(now);
        self.sysmon_forcegc();
        if self.retake() > 0 {
            self.sysmon.idle = 0;
        } else {
            self.sysmon.idle += 1;
        }
        let schedtrace_ms = self.config.runtime.godebug.schedtrace_ms;
        if schedtrace_ms > 0
            && self
                .sysmon
                .lasttrace_ns
                .is_none_or(|last| last + schedtrace_ms * MILLISECOND_NS <= now)
        {
            self.sysmon.lasttrace_ns = Some(now);
            let detailed = self.config.runtime.godebug.scheddetail;
            let text = self.schedtrace(detailed);
            self.stderr.push_str(&text);
            // sysmon holds sched.lock while it writes the report; it sleeps
            // once it is done.
            let hold_ns = self.schedtrace_writes(detailed) * self.config.cost.stderr_write_ns;
            self.hold_sched_lock_until(now + hold_ns, SchedLockHolder::Schedtrace);
            self.sysmon_sleep_after(hold_ns);
            return;
        }
        self.sysmon_sleep();
    }

    /// `lock(&sched.lock)` by M `m` once the g0 work it has accumulated is
    /// done: while another M, or sysmon, holds the lock for a long critical
    /// section (`sched_lock_held_for`), the M waits. lock2 spins first (four
    /// `procyield(30)` rounds; its one `osyield` is not modelled), then
    /// sleeps until the unlock wakes it. Only the sleep counts towards
    /// `/sync/mutex/wait/total`, as in Go, which samples one wait in 8 and
    /// scales it by 8: the model counts every wait, the same on average.
    /// The delay is added to the M's g0 work. Critical sections without a
    /// system call in them are far shorter than the spin, so the model
    /// treats the lock as free outside the long ones.
    pub(crate) fn sched_lock(&mut self, m: MId) {
        let at = self.now_ns + self.ms[m.index()].g0_cost_ns;
        let free_at = self.sched.lock_free_at_ns;
        if at >= free_at {
            return;
        }
        let remaining_ns = free_at - at;
        let spin_ns = LOCK_SPIN_ROUNDS * self.config.cost.mutex_spin_ns;
        let delay_ns = if remaining_ns <= spin_ns {
            remaining_ns
        } else {
            let wake_ns = self.thread_wake_latency(m, remaining_ns - spin_ns);
            let slept_ns = remaining_ns - spin_ns + wake_ns;
            self.stats.runtime_lock_wait_ns += slept_ns;
            let delay_ns = remaining_ns + wake_ns;
            self.emit(TraceEvent::MSchedLockWait {
                m,
                holder: self.sched.lock_holder,
                slept_ns,
                delay_ns,
            });
            delay_ns
        };
        self.ms[m.index()].g0_cost_ns += delay_ns;
    }

    /// M `m` takes `sched.lock` and keeps it for `hold_ns` of g0 work, a
    /// system call made under the lock (`holder` says which): Ms that want
    /// the lock meanwhile wait for it (`sched_lock`).
    pub(crate) fn sched_lock_held_for(&mut self, m: MId, holder: SchedLockHolder, hold_ns: u64) {
        self.sched_lock(m);
        if hold_ns == 0 {
            return;
        }
        let free_at_ns = self.now_ns + self.ms[m.index()].g0_cost_ns + hold_ns;
        self.hold_sched_lock_until(free_at_ns, holder);
        self.ms[m.index()].g0_cost_ns += hold_ns;
    }

    /// `sched.lock` is held until `free_at_ns`, for `holder`.
    fn hold_sched_lock_until(&mut self, free_at_ns: u64, holder: SchedLockHolder) {
        self.sched.lock_free_at_ns = free_at_ns;
        self.sched.lock_holder = holder;
    }

    /// `retake`: preempt Gs past their time slice; take Ps from Ms that have
    /// been in a syscall too long. Returns how many Ps it took.
    fn retake(&mut self) -> u32 {
        let now = self.now_ns;
        let mut taken = 0;
        for i in 0..self.ps.len() {
            let p = PId(i as u32);
            if self.ps[i].status != PStatus::Running {
                continue;
            }
            let mut sysretake = false;
            let schedtick = self.ps[i].schedtick;
            let pd = self.ps[i].sysmontick;
            if pd.schedtick != schedtick {
                self.ps[i].sysmontick.schedtick = schedtick;
                self.ps[i].sysmontick.schedwhen_ns = now;
            } else if pd.schedwhen_ns + FORCE_PREEMPT_NS <= now {
                self.preemptone(p);
                sysretake = true;
            }
            let Some(m) = self.ps[i].m else { continue };
            let MState::Syscall { since_ns } = self.ms[m.index()].state else {
                continue;
            };
            let syscalltick = self.ps[i].syscalltick;
            if !sysretake && self.ps[i].sysmontick.syscalltick != syscalltick {
                self.ps[i].sysmontick.syscalltick = syscalltick;
                self.ps[i].sysmontick.syscallwhen_ns = now;
                continue;
            }
            if self.ps[i].runq_empty()
                && self.sched.nmspinning + self.npidle() > 0
                && self.ps[i].sysmontick.syscallwhen_ns + SYSCALL_RETAKE_NS > now
            {
                continue;
            }
            // takeP: unwire the P from the syscalling thread and hand it off.
            self.ps[i].m = None;
            self.ms[m.index()].p = None;
            self.ps[i].syscalltick += 1;
            self.stats.syscall_retakes += 1;
            self.emit(TraceEvent::ProcSteal {
                p,
                m,
                in_syscall_ns: now - since_ns,
            });
            taken += 1;
            self.handoffp(p);
        }
        taken
    }

    /// `preemptone`: ask the G running on P `p` to stop. Cooperative: it
    /// stops at its next function call. Asynchronous (unless
    /// asyncpreemptoff=1): a signal stops it even in a loop without calls.
    fn preemptone(&mut self, p: PId) -> bool {
        let Some(m) = self.ps[p.index()].m else {
            return false;
        };
        let Some(g) = self.ms[m.index()].curg else {
            return false;
        };
        if matches!(self.ms[m.index()].state, MState::Syscall { .. }) {
            return false;
        }
        let now = self.now_ns;
        let slice_ns = now - self.ps[p.index()].sysmontick.schedwhen_ns;
        let asynchronous = !self.config.runtime.godebug.asyncpreemptoff;
        let gg = &mut self.gs[g.index()];
        gg.preempt = true;
        gg.preempt_slice_ns = slice_ns;
        let goid = gg.goid;
        self.emit(TraceEvent::PreemptRequest {
            g: goid,
            p,
            slice_ns,
            asynchronous,
        });
        self.interrupt_compute_for_preempt(m, g);
        true
    }

    /// A preemption request was made for G `g` on M `m`: if the G is inside
    /// a Compute op, work out when the request bites: at the next call
    /// (every cooperative_check_interval_ns) if the code has calls, when the
    /// signal lands if asynchronous preemption is on. Runtime work (an
    /// allocation batch, an assist, a mark drain) is not interrupted.
    pub(crate) fn interrupt_compute_for_preempt(&mut self, m: MId, g: crate::g::GIdx) {
        if self.ms[m.index()].state != MState::RunningG {
            return;
        }
        if let Some(work) = self.gs[g.index()].gc_get(|x| x.work) {
            // Runtime work is not interrupted; an allocation batch notes
            // when the request came (see `SpanCalls`).
            if matches!(work, crate::g::GcWork::Alloc { .. }) {
                let now = self.now_ns;
                self.gs[g.index()]
                    .gc_mut()
                    .preempt_requested_ns
                    .get_or_insert(now);
            }
            return;
        }
        let pc = self.gs[g.index()].pc as usize;
        let program = match self.gs[g.index()].kind {
            crate::g::GKind::User { program } => program,
            crate::g::GKind::System { .. } | crate::g::GKind::MarkWorker => return,
        };
        if let Some(FlatOp::Compute { preemptible, .. }) =
            self.programs[program.index()].ops.get(pc).copied()
        {
            let now = self.now_ns;
            let asynchronous = !self.config.runtime.godebug.asyncpreemptoff;
            let cost = &self.config.cost;
            let cooperative_at = preemptible.then(|| now + cost.cooperative_check_interval_ns);
            let signal_at = asynchronous.then(|| now + cost.signal_preempt_ns);
            let stop_at = match (cooperative_at, signal_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(stop_at) = stop_at {
                self.compute_interrupt_at(m, stop_at);
            }
        }
    }
}
