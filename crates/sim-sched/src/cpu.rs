//! The machine's CPUs (the kernel's part of running a Go program).
//!
//! Go's Ps are not CPUs: with GOMAXPROCS above the number of CPUs, more
//! threads want to run than there are CPUs, and the kernel shares them. The
//! model treats a goroutine's compute step as CPU work done on one of the
//! `ncpu` CPUs: the Ms computing on the same CPU share it equally (processor
//! sharing, the fluid limit of Linux's time slices), each at `1 / d` of full
//! speed for `d` of them. When an M starts or stops computing, only the Ms
//! on its CPU are brought up to date and their end times recomputed.
//!
//! Which CPU: an M computes where it last computed if nothing else does
//! there, else on an idle CPU, else on the least loaded one. A thread woken
//! by another (`startm`: a futex wake or a new thread) is, with probability
//! `wake_on_waker_cpu_ppm`, queued on its waker's CPU instead and stays
//! there until the next scheduler tick (`cpu_balance_tick_ns`), even while
//! another CPU is idle: that is what Linux did on the reference VM
//! (ARCHITECTURE.md, "CPUs"); the coin is the `wake-placement` stream's,
//! like compute jitter a property of the host, not a choice of the runtime
//! for `decide.rs`. A balance tick, and a CPU going idle
//! (newidle balancing), moves the last M to start on a CPU that has more
//! than one onto an idle CPU.
//!
//! A thread `startm` wakes while a thread of the process runs on every CPU
//! (`on_a_cpu`: running, spinning or being woken, not blocked or parked)
//! is queued on its waker's CPU and does not run until a CPU is free of
//! other threads or it has waited `cpu_slice_ns`: what real Go's woken
//! spinning Ms did in every phase of waitgroup-barrier on the reference VM
//! (ARCHITECTURE.md, "CPUs").
//!
//! Interruptions: a CPU running a compute loop is taken from it now and
//! then (timer ticks, device interrupts, the hypervisor running another
//! guest), so a compute step lasts its duration plus the interruptions that
//! fall into it (`World::compute_duration_ns` in exec.rs, from the cost
//! model's rate and length quantiles). They are added when the step starts,
//! as more work for its M; the rest of this file treats them as any other
//! compute.
//!
//! TLB shootdowns: when an M changes the page tables in a way other CPUs
//! must hear of (`madvise`, a copy on write), each other computing M loses
//! the time its CPU spends on the interrupt, and the M pays for waiting on
//! them ([`World::tlb_shootdowns`]).
//!
//! Simplifications: only compute steps are CPU work; the scheduler's own
//! costs (context switches, steals, parks, a woken M's spinning) and sysmon
//! run at full speed and occupy no CPU, so a thread queued on a busy CPU
//! by the wake coin slows the other only once it computes too; a CPU's
//! threads are "the Ms whose `cpu` it is", the CPU a thread last computed
//! on or was placed on; apart from a queued wake-up's slice, no time-slice
//! granularity (Linux's EEVDF lag and slice protection are not modelled);
//! ticks are one grid for all CPUs; placement is a coin with the measured
//! odds, not Linux's rules (wake_affine, select_idle_sibling), whose
//! outcome here depends on the host (a busy hypervisor makes an idle vCPU
//! look unavailable). A shootdown's cost
//! does not grow with the number of CPUs interrupted, and an M that computes
//! only briefly (a `go` statement, a spinning M's search) is not counted as
//! running there; the interrupts are spread evenly over the initiator's
//! work, the number of CPUs interrupted is fixed when it starts, and an M
//! that starts computing during it is slowed as if it ran from then to the
//! end at the same rate (its CPU share changing under oversubscription is
//! not taken into account).

use crate::m::MState;
use crate::world::World;
use sim_core::ids::MId;
use sim_core::trace::{CpuGrant, TraceEvent};

/// One M's batch of work whose TLB shootdowns interrupt the CPUs of the
/// other computing Ms while it lasts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlbStorm {
    pub initiator: MId,
    pub until_ns: u64,
    pub span_ns: u64,
    /// What an M computing through the whole batch loses.
    pub lost_ns: u64,
}

impl TlbStorm {
    /// How much longer `work_ns` of compute from `now_ns` on takes: the M
    /// computes at the rate `(span - lost) / span` until the batch ends.
    fn loss_ns(&self, work_ns: u64, now_ns: u64) -> u64 {
        let left_ns = self.until_ns.saturating_sub(now_ns);
        if left_ns == 0 {
            return 0;
        }
        let lost_left_ns =
            u128::from(self.lost_ns) * u128::from(left_ns) / u128::from(self.span_ns);
        if self.span_ns <= self.lost_ns {
            return lost_left_ns as u64;
        }
        let within_ns = u128::from(work_ns) * u128::from(self.lost_ns)
            / u128::from(self.span_ns - self.lost_ns);
        within_ns.min(lost_left_ns) as u64
    }
}

impl World {
    /// How many Ms compute on CPU `cpu`.
    fn cpu_load(&self, cpu: u32) -> u64 {
        self.computing
            .iter()
            .filter(|&&c| self.ms[c.index()].cpu == cpu)
            .count() as u64
    }

    /// The computing Ms on CPU `cpu`, in the order they started.
    fn on_cpu(&self, cpu: u32) -> Vec<MId> {
        self.computing
            .iter()
            .copied()
            .filter(|&c| self.ms[c.index()].cpu == cpu)
            .collect()
    }

    /// Charges every M computing on CPU `cpu` for its work since its last
    /// update, at its share of that CPU. While an M has its CPU alone, its
    /// work left is only brought up to date when it starts or stops (at full
    /// speed the work done is the time elapsed, and one subtraction over a
    /// long interval equals several over its parts); when a CPU is shared,
    /// every change of its share is a settlement point for all on it.
    fn settle_cpu(&mut self, cpu: u32) {
        let load = self.cpu_load(cpu);
        for m in self.on_cpu(cpu) {
            self.settle_one(m, 1, load);
        }
    }

    /// Charges computing M `m` for its work since its last update, at the
    /// share `num / den`.
    fn settle_one(&mut self, m: MId, num: u64, den: u64) {
        let now = self.now_ns;
        let mm = &mut self.ms[m.index()];
        let elapsed_ns = now - mm.compute_since_ns;
        let done = if num == den {
            elapsed_ns
        } else {
            (u128::from(elapsed_ns) * u128::from(num) / u128::from(den)) as u64
        };
        mm.compute_work_left_ns = mm.compute_work_left_ns.saturating_sub(done);
        mm.compute_since_ns = now;
    }

    /// Schedules M `m`'s compute end (or its pending preemption, if sooner)
    /// at the share `num / den`.
    fn schedule_compute_end(&mut self, m: MId, num: u64, den: u64) {
        let now = self.now_ns;
        let mm = &mut self.ms[m.index()];
        let wall_ns = if num == den {
            mm.compute_work_left_ns
        } else {
            (u128::from(mm.compute_work_left_ns) * u128::from(den)).div_ceil(u128::from(num)) as u64
        };
        mm.segment_end_ns = now + wall_ns;
        let at = mm
            .interrupt_at_ns
            .map_or(mm.segment_end_ns, |i| i.min(mm.segment_end_ns));
        self.schedule_m(m, at);
    }

    /// Recomputes the end time of every M computing on CPU `cpu` at its
    /// share and reschedules its event (or its pending preemption).
    fn reschedule_cpu(&mut self, cpu: u32) {
        let load = self.cpu_load(cpu);
        for m in self.on_cpu(cpu) {
            self.schedule_compute_end(m, 1, load);
        }
    }

    /// The CPU M `m`'s compute step runs on: the one Linux queued it on
    /// when it was woken, until the next balance tick; else its last CPU if
    /// nothing else computes there, else an idle CPU, else the least loaded
    /// (its own first, then the lowest number).
    fn choose_cpu(&self, m: MId) -> u32 {
        let mm = &self.ms[m.index()];
        let own_load = self.cpu_load(mm.cpu);
        if mm.stacked_until_ns > self.now_ns || own_load == 0 {
            return mm.cpu;
        }
        let (mut best, mut best_load) = (mm.cpu, own_load);
        for cpu in 0..self.config.runtime.ncpu.max(1) {
            let load = self.cpu_load(cpu);
            if load < best_load {
                best = cpu;
                best_load = load;
            }
        }
        best
    }

    /// M `m` starts `work_ns` of compute.
    pub(crate) fn compute_start(&mut self, m: MId, work_ns: u64) {
        let work_ns = work_ns + self.tlb_storm_loss_ns(m, work_ns);
        debug_assert!(!self.computing.contains(&m), "{m} is already computing");
        let cpu = self.choose_cpu(m);
        // The others on that CPU are charged at their old share first.
        self.settle_cpu(cpu);
        self.computing.push(m);
        let mm = &mut self.ms[m.index()];
        mm.cpu = cpu;
        mm.compute_work_left_ns = work_ns;
        mm.compute_since_ns = self.now_ns;
        mm.interrupt_at_ns = None;
        self.reschedule_cpu(cpu);
        self.schedule_balance_if_needed();
    }

    /// M `m`'s compute ends now, finished or interrupted; returns the work
    /// it had left.
    pub(crate) fn compute_stop(&mut self, m: MId) -> u64 {
        let cpu = self.ms[m.index()].cpu;
        self.settle_cpu(cpu);
        let at = self
            .computing
            .iter()
            .position(|&c| c == m)
            .expect("the M was computing");
        self.computing.remove(at);
        let mm = &mut self.ms[m.index()];
        mm.interrupt_at_ns = None;
        let left = if self.now_ns >= mm.segment_end_ns {
            0
        } else {
            mm.compute_work_left_ns
        };
        // The others on this CPU get a larger share: their ends come sooner.
        self.reschedule_cpu(cpu);
        if self.cpu_load(cpu) == 0 {
            // A CPU going idle pulls a thread waiting on another one
            // (newidle balancing).
            self.pull_to(cpu);
        }
        left
    }

    /// Moves the last-started M off the most loaded CPU that has more than
    /// one onto idle CPU `to`, if there is such a CPU.
    fn pull_to(&mut self, to: u32) {
        let ncpu = self.config.runtime.ncpu.max(1);
        let Some(from) = (0..ncpu)
            .filter(|&c| self.cpu_load(c) >= 2)
            .max_by_key(|&c| (self.cpu_load(c), std::cmp::Reverse(c)))
        else {
            return;
        };
        let m = *self.on_cpu(from).last().expect("loaded");
        self.settle_cpu(from);
        let mm = &mut self.ms[m.index()];
        mm.cpu = to;
        mm.stacked_until_ns = 0;
        self.reschedule_cpu(from);
        self.reschedule_cpu(to);
    }

    /// Whether a CPU is idle while another has more than one M computing.
    fn imbalanced(&self) -> bool {
        let ncpu = self.config.runtime.ncpu.max(1);
        let loads: Vec<u64> = (0..ncpu).map(|c| self.cpu_load(c)).collect();
        loads.contains(&0) && loads.iter().any(|&l| l >= 2)
    }

    /// If the CPUs are imbalanced, the next scheduler tick's balancing
    /// (`cpu_balance_tick_ns`: nohz idle balancing, kicked from a busy
    /// CPU's tick) is due.
    pub(crate) fn schedule_balance_if_needed(&mut self) {
        if self.balance_pending || !self.imbalanced() {
            return;
        }
        let at = self.next_balance_tick_ns();
        self.balance_pending = true;
        self.queue.push(at, crate::world::Ev::Balance);
    }

    /// A scheduler tick's balancing: every idle CPU pulls a thread from a
    /// CPU that has more than one.
    pub(crate) fn balance_tick(&mut self) {
        self.balance_pending = false;
        let ncpu = self.config.runtime.ncpu.max(1);
        for cpu in 0..ncpu {
            if self.cpu_load(cpu) == 0 {
                self.pull_to(cpu);
            }
        }
    }

    /// Linux's placement of thread `wakee`, woken now by the thread running
    /// (`acting_m`): with probability `wake_on_waker_cpu_ppm` it is queued
    /// on the waker's CPU and stays there until the next balance tick, even
    /// while another CPU is idle; else it runs where it ran last or on an
    /// idle CPU (`choose_cpu`).
    pub(crate) fn place_woken_thread(&mut self, wakee: MId) {
        let Some(waker) = self.acting_m else {
            return;
        };
        if waker == wakee || self.config.runtime.ncpu < 2 {
            return;
        }
        let Some(idle) = self.idle_cpu(wakee) else {
            // Every CPU runs a thread: Linux queues the wakee on its
            // waker's, and it waits there for a CPU (`waits_for_cpu`).
            let cpu = self.ms[waker.index()].cpu;
            let mm = &mut self.ms[wakee.index()];
            mm.cpu = cpu;
            mm.stacked_until_ns = 0;
            mm.cpu_wait_since_ns = Some(self.now_ns);
            return;
        };
        let draw = self.placement.next_u64() % 1_000_000;
        if draw >= self.config.cost.wake_on_waker_cpu_ppm {
            // It runs on the idle CPU.
            self.ms[wakee.index()].cpu = idle;
            return;
        }
        let cpu = self.ms[waker.index()].cpu;
        let until_ns = self.next_balance_tick_ns();
        let mm = &mut self.ms[wakee.index()];
        mm.cpu = cpu;
        mm.stacked_until_ns = until_ns;
    }

    /// Whether M `m`'s thread is on a CPU: running Go code or the
    /// scheduler, spinning, or being woken; not blocked in the kernel,
    /// parked, or queued for a CPU.
    fn on_a_cpu(&self, m: MId) -> bool {
        let mm = &self.ms[m.index()];
        match mm.state {
            MState::Starting => mm.cpu_wait_since_ns.is_none(),
            MState::Switching
            | MState::RunningG
            | MState::Spinning { .. }
            | MState::StealBackoff { .. }
            | MState::StackScanWait { .. }
            | MState::Stw { stopped: true } => true,
            MState::Sysmon
            | MState::TemplateThread
            | MState::LockedIdle
            | MState::Exited
            | MState::Idle
            | MState::Syscall { .. }
            | MState::Netpoll { .. }
            | MState::Stw { stopped: false }
            | MState::SafePointWait => false,
        }
    }

    /// A CPU on which no thread of the process runs but `except`'s, if
    /// there is one (its own first, then the lowest number).
    fn idle_cpu(&self, except: MId) -> Option<u32> {
        let busy = |cpu: u32| {
            self.ms
                .iter()
                .any(|o| o.id != except && o.cpu == cpu && self.on_a_cpu(o.id))
        };
        let own = self.ms[except.index()].cpu;
        std::iter::once(own)
            .chain(0..self.config.runtime.ncpu.max(1))
            .find(|&cpu| !busy(cpu))
    }

    /// At its wake-up, whether M `m`, queued for a CPU, has to wait: it
    /// runs once a CPU is free of other threads (its own, or another that
    /// pulls it) or once it has waited `cpu_slice_ns`; until then its
    /// wake-up is put off to the slice's end (`grant_idle_cpus` brings it
    /// forward when a CPU frees up).
    pub(crate) fn waits_for_cpu(&mut self, m: MId) -> bool {
        let Some(since_ns) = self.ms[m.index()].cpu_wait_since_ns else {
            return false;
        };
        let slice_end_ns = since_ns + self.config.cost.cpu_slice_ns;
        if self.now_ns >= slice_end_ns {
            let cpu = self.ms[m.index()].cpu;
            self.grant_cpu(m, cpu, CpuGrant::SliceEnded);
            return false;
        }
        if let Some(cpu) = self.idle_cpu(m) {
            let why = if cpu == self.ms[m.index()].cpu {
                CpuGrant::CpuFreed
            } else {
                CpuGrant::PulledByIdleCpu
            };
            self.grant_cpu(m, cpu, why);
            return false;
        }
        if !self.cpu_waiters.contains(&m) {
            self.cpu_waiters.push(m);
            let cpu = self.ms[m.index()].cpu;
            self.emit(TraceEvent::MCpuQueued { m, cpu });
        }
        self.schedule_m(m, slice_end_ns);
        true
    }

    /// Thread `m`, woken for a CPU, gets CPU `cpu` now (the trace says so
    /// if it had to wait for it).
    fn grant_cpu(&mut self, m: MId, cpu: u32, why: CpuGrant) {
        let mm = &mut self.ms[m.index()];
        mm.cpu_wait_since_ns = None;
        mm.cpu = cpu;
        if let Some(at) = self.cpu_waiters.iter().position(|&w| w == m) {
            self.cpu_waiters.remove(at);
            self.emit(TraceEvent::MCpuGranted { m, cpu, why });
        }
    }

    /// After an M's event: each CPU no thread runs on goes to the first
    /// thread queued for one, which runs now.
    pub(crate) fn grant_idle_cpus(&mut self) {
        for m in self.cpu_waiters.clone() {
            if self.idle_cpu(m).is_some() && !self.waits_for_cpu(m) {
                // Granted: its wake-up happens now.
                self.schedule_m(m, self.now_ns);
            }
        }
    }

    /// The first scheduler tick after now (ticks on one grid for all CPUs).
    fn next_balance_tick_ns(&self) -> u64 {
        let tick = self.config.cost.cpu_balance_tick_ns.max(1);
        (self.now_ns / tick + 1) * tick
    }

    /// M `m` is about to run `own_ns` of work during which it changes the
    /// process's page tables `flushes` times in ways that other CPUs must
    /// hear of (TLB shootdowns); returns how much longer that work takes `m`,
    /// waiting for them. Only CPUs running another thread of the process are
    /// interrupted: the other computing Ms, at most `ncpu - 1` of them at a
    /// time (when more Ms compute than the other CPUs hold, they share the
    /// loss). The interrupts are spread over `m`'s work: each M computing
    /// during it, now or from a later start, loses its overlap's share of
    /// `tlb_shootdown_received_ns` per flush.
    pub(crate) fn tlb_shootdowns(&mut self, m: MId, flushes: u64, own_ns: u64) -> u64 {
        let ncpu = u64::from(self.config.runtime.ncpu.max(1));
        let others = self.computing.iter().filter(|&&o| o != m).count() as u64;
        if flushes == 0 || others == 0 || ncpu < 2 {
            return 0;
        }
        self.stats.tlb_shootdowns += flushes;
        let cost = &self.config.cost;
        let interrupted = others.min(ncpu - 1);
        let initiator_ns = flushes * cost.tlb_shootdown_ns;
        let storm = TlbStorm {
            initiator: m,
            until_ns: self.now_ns + own_ns + initiator_ns,
            span_ns: own_ns + initiator_ns,
            lost_ns: flushes * cost.tlb_shootdown_received_ns * interrupted / others,
        };
        // Expired storms are dropped when the next compute starts.
        self.tlb_storms.push(storm);
        for i in 0..self.computing.len() {
            let o = self.computing[i];
            if o == m {
                continue;
            }
            let load = self.cpu_load(self.ms[o.index()].cpu);
            self.settle_one(o, 1, load);
            let work_left_ns = self.ms[o.index()].compute_work_left_ns;
            self.ms[o.index()].compute_work_left_ns += storm.loss_ns(work_left_ns, self.now_ns);
            self.schedule_compute_end(o, 1, load);
        }
        initiator_ns
    }

    /// How much longer `work_ns` of compute that M `m` starts now takes
    /// because of other Ms' shootdowns under way.
    fn tlb_storm_loss_ns(&mut self, m: MId, work_ns: u64) -> u64 {
        let now = self.now_ns;
        self.tlb_storms.retain(|s| s.until_ns > now);
        self.tlb_storms
            .iter()
            .filter(|s| s.initiator != m)
            .map(|s| s.loss_ns(work_ns, now))
            .sum()
    }

    /// A preemption request will stop M `m`'s compute at `at_ns` if it has not
    /// ended by then.
    pub(crate) fn compute_interrupt_at(&mut self, m: MId, at_ns: u64) {
        if !self.computing.contains(&m) {
            return;
        }
        let mm = &mut self.ms[m.index()];
        if at_ns < mm.segment_end_ns && mm.interrupt_at_ns.is_none_or(|i| at_ns < i) {
            mm.interrupt_at_ns = Some(at_ns);
            self.schedule_m(m, at_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TlbStorm;
    use sim_core::ids::MId;

    /// A batch from 0 to 100 µs that costs an M computing through it 25 µs.
    const STORM: TlbStorm = TlbStorm {
        initiator: MId(0),
        until_ns: 100_000,
        span_ns: 100_000,
        lost_ns: 25_000,
    };

    #[test]
    fn compute_inside_the_storm_runs_at_the_reduced_rate() {
        // 30 µs of work at 75% speed takes 40 µs: 10 µs longer.
        assert_eq!(STORM.loss_ns(30_000, 0), 10_000);
        // Starting halfway, the same work still ends inside the storm.
        assert_eq!(STORM.loss_ns(30_000, 50_000), 10_000);
    }

    #[test]
    fn compute_that_outlasts_the_storm_loses_only_what_is_left_of_it() {
        assert_eq!(STORM.loss_ns(1_000_000, 0), 25_000);
        assert_eq!(STORM.loss_ns(1_000_000, 60_000), 10_000);
        assert_eq!(STORM.loss_ns(1_000_000, 100_000), 0);
    }
}
