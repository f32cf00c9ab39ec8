//! Running goroutines: what an M does with its current G, op by op.
//!
//! Mirrors the parts of proc.go a goroutine passes through: `newproc` for
//! `go`, `gopark`/`goready`, `goschedImpl` for Gosched and preemption,
//! `entersyscall`/`exitsyscall`, `goexit0`, time.Sleep's timer, and the
//! WaitGroup semaphore. Preemption points: every op except a Compute without
//! preemption points (a loop with no calls) and loop bookkeeping is a function
//! call in the equivalent Go program, so a pending preemption request takes
//! effect when the G reaches one.
//!
//! Simplifications: a G's stack is not modelled (no morestack); WaitGroup
//! waiters are a FIFO queue (Go's semaphore treap behaves the same for one
//! address); `time.Sleep` readies the G from its P's timer heap exactly when
//! a timer check runs, with no timer-modification states.

use crate::chan::OpResult;
use crate::g::{GIdx, GKind, GStatus, OptU64, PreemptFor};
use crate::m::MState;
use crate::p::{RunqPut, Timer, TimerKind, runqput};
use crate::sync::MutexRef;
use crate::world::World;
use sim_core::ids::{Goid, MId, PId, WaitGroupId};
use sim_core::trace::{Placement, StopReason, SyscallExit, TraceEvent, WaitReason};
use sim_core::workload::FlatOp;
use std::cmp::Reverse;

impl World {
    /// An M's pending event fired: continue what its state says.
    pub(crate) fn handle_m_event(&mut self, m: MId) {
        match self.ms[m.index()].state {
            MState::Starting => {
                if self.waits_for_cpu(m) {
                    return;
                }
                let p = self.ms[m.index()]
                    .nextp
                    .take()
                    .expect("a starting M has a nextp");
                self.acquirep(m, p);
                self.schedule(m);
            }
            MState::Switching => {
                self.ms[m.index()].state = MState::RunningG;
                self.exec_g(m);
            }
            MState::RunningG => self.op_event(m),
            MState::Syscall { since_ns } => self.exitsyscall(m, since_ns),
            MState::Spinning { poll_until_ns } => self.spin_done(m, poll_until_ns),
            MState::StealBackoff { victim, cursor } => self.resume_steal(m, victim, cursor),
            MState::Netpoll { was_spinning, .. } => self.netpoll_return(m, was_spinning),
            MState::Stw { stopped } => self.stw_event(m, stopped),
            MState::SafePointWait => self.ragged_barrier_event(m),
            MState::StackScanWait { target, since_ns } => {
                self.stack_scan_wait_event(m, target, since_ns)
            }
            MState::Idle
            | MState::Sysmon
            | MState::TemplateThread
            | MState::LockedIdle
            | MState::Exited => {
                debug_assert!(
                    false,
                    "{m} has no pending activity in state {:?}",
                    self.ms[m.index()].state
                )
            }
        }
    }

    pub(crate) fn curg(&self, m: MId) -> GIdx {
        self.ms[m.index()].curg.expect("M runs a G")
    }

    fn current_op(&self, g: GIdx) -> Option<FlatOp> {
        match self.gs[g.index()].kind {
            GKind::User { program } => self.programs[program.index()]
                .ops
                .get(self.gs[g.index()].pc as usize)
                .copied(),
            GKind::System { .. } | GKind::MarkWorker => None,
        }
    }

    /// Runs M `m`'s current G from its program counter until it starts a
    /// timed op, parks, yields, enters a syscall or exits.
    pub(crate) fn exec_g(&mut self, m: MId) {
        loop {
            let gi = self.curg(m);
            if gi == self.main_g && !self.init.done && !self.runtime_main_init(m) {
                return;
            }
            if let Some(trigger) = self.gs[gi.index()]
                .gc
                .as_mut()
                .and_then(|x| x.starting_gc.take())
                && self.gc_start(m, trigger)
            {
                return;
            }
            let program = match self.gs[gi.index()].kind {
                GKind::System {
                    reason,
                    signals_init,
                } => {
                    if self.system_g_work(m, gi) {
                        return;
                    }
                    // A runtime goroutine with nothing to do parks; on its
                    // first run it tells gcenable it started.
                    if signals_init && !self.init.done {
                        self.init_signal(m);
                    }
                    self.park(m, reason);
                    self.schedule(m);
                    return;
                }
                GKind::MarkWorker => {
                    self.worker_run(m);
                    return;
                }
                GKind::User { program } => program,
            };
            if std::mem::take(&mut self.gs[gi.index()].send_on_closed) {
                self.fatal_panic(m, "send on closed channel");
                return;
            }
            let pc = self.gs[gi.index()].pc as usize;
            let Some(op) = self.programs[program.index()].ops.get(pc).copied() else {
                self.goexit(m);
                return;
            };
            self.gs[gi.index()].op_pc = pc as u32;
            let is_preemption_point = !matches!(
                op,
                FlatOp::Compute {
                    preemptible: false,
                    ..
                } | FlatOp::LoopStart { .. }
                    | FlatOp::LoopEnd { .. }
                    | FlatOp::Jump { .. }
            );
            if is_preemption_point && self.gs[gi.index()].preempt {
                self.preempt_stop(m, false);
                return;
            }
            match op {
                FlatOp::Compute { duration_ns, .. } => {
                    let left = match self.gs[gi.index()].compute_left_ns.get() {
                        Some(left) => left,
                        None => self.compute_duration_ns(m, duration_ns),
                    };
                    let g = &mut self.gs[gi.index()];
                    if left == 0 {
                        g.compute_left_ns = OptU64::NONE;
                        g.pc += 1;
                        continue;
                    }
                    g.compute_left_ns = Some(left).into();
                    self.compute_start(m, left);
                    return;
                }
                FlatOp::Spawn { count, .. } => {
                    if count == 0 {
                        self.gs[gi.index()].pc += 1;
                        continue;
                    }
                    let ns = self.go_statement_ns(m);
                    self.timed_op(m, ns);
                    return;
                }
                FlatOp::WaitGroupAdd { .. } | FlatOp::WaitGroupDone { .. } => {
                    self.timed_op(m, self.config.cost.wait_group_op_ns);
                    return;
                }
                FlatOp::LockOsThread | FlatOp::UnlockOsThread => {
                    self.timed_op(m, self.config.cost.lock_os_thread_ns);
                    return;
                }
                FlatOp::Send { .. } | FlatOp::Recv { .. } | FlatOp::Close { .. } => {
                    self.timed_op(m, self.config.cost.chan_op_ns);
                    return;
                }
                FlatOp::Select { table } => {
                    if self.gs[gi.index()].rare().select_won.is_some() {
                        // Woken: pass 3, then the winning case's body.
                        match self.select_resume(m, table) {
                            OpResult::Continue => continue,
                            _ => return,
                        }
                    }
                    let cases = self.programs[program.index()].selects[table as usize]
                        .cases
                        .len() as u64;
                    self.timed_op(m, self.config.cost.select_ns_per_case * cases.max(1));
                    return;
                }
                FlatOp::Lock { .. }
                | FlatOp::Unlock { .. }
                | FlatOp::RLock { .. }
                | FlatOp::RUnlock { .. }
                | FlatOp::WLock { .. }
                | FlatOp::WUnlock { .. } => {
                    if self.gs[gi.index()].rare().sync_wait.is_some() {
                        // Woken from a semaphore: continue where it parked.
                        match self.sync_op(m, op) {
                            OpResult::Continue => continue,
                            OpResult::Busy(ns) => self.timed_op(m, ns),
                            OpResult::Parked | OpResult::Died => {}
                        }
                        return;
                    }
                    self.timed_op(m, self.config.cost.mutex_op_ns);
                    return;
                }
                FlatOp::NetWait { latency_ns } => {
                    self.gs[gi.index()].pc += 1;
                    self.net_wait(m, latency_ns);
                    return;
                }
                FlatOp::Jump { to } => self.gs[gi.index()].pc = to,
                FlatOp::Alloc {
                    size_bytes,
                    pointer_words,
                    count,
                    keep,
                    link,
                } => {
                    if count == 0 {
                        self.gs[gi.index()].pc += 1;
                        continue;
                    }
                    let shape = sim_gc::ObjectShape::with_pointers(size_bytes, pointer_words);
                    self.alloc_op(m, shape, count, keep, link);
                    return;
                }
                FlatOp::Gc => {
                    self.gc_op(m);
                    return;
                }
                FlatOp::StartMeasuring => {
                    self.gs[gi.index()].pc += 1;
                    self.start_measuring();
                }
                FlatOp::StackGrow { used_bytes } => {
                    self.stack_grow_op(m, used_bytes);
                    return;
                }
                FlatOp::WaitGroupWait { wait_group } => {
                    if self.wait_groups[wait_group.index()].counter == 0 {
                        self.timed_op(m, self.config.cost.wait_group_op_ns);
                    } else {
                        self.gs[gi.index()].pc += 1;
                        self.wait_groups[wait_group.index()].waiters.push_back(gi);
                        self.acquire_sudogs(m, 1);
                        self.park(m, WaitReason::SyncWaitGroupWait);
                        self.schedule(m);
                    }
                    return;
                }
                FlatOp::Gosched => {
                    self.gs[gi.index()].pc += 1;
                    self.gosched(m);
                    return;
                }
                FlatOp::Sleep { duration_ns } => {
                    if duration_ns > 0 && self.sleep_timer_starts_gc(m) {
                        return; // sleeps once the world restarts
                    }
                    self.gs[gi.index()].pc += 1;
                    if duration_ns > 0 {
                        self.sleep(m, duration_ns);
                        return;
                    }
                }
                FlatOp::Syscall { duration_ns } => {
                    self.gs[gi.index()].pc += 1;
                    self.entersyscall(m, duration_ns);
                    return;
                }
                FlatOp::LoopStart { count, end_pc } => {
                    let g = &mut self.gs[gi.index()];
                    if count == 0 {
                        g.pc = end_pc + 1;
                    } else {
                        g.rare_mut().loop_counters.push(count);
                        g.pc += 1;
                    }
                }
                FlatOp::LoopEnd { start_pc } => {
                    let g = &mut self.gs[gi.index()];
                    let left = g
                        .rare_mut()
                        .loop_counters
                        .last_mut()
                        .expect("LoopEnd inside a loop");
                    *left -= 1;
                    if *left > 0 {
                        g.pc = start_pc + 1;
                    } else {
                        g.rare_mut().loop_counters.pop();
                        g.pc += 1;
                    }
                }
            }
        }
    }

    /// Runs a mutex or RWMutex op for M `m`'s G; on completion the G's pc
    /// moves past the op.
    fn sync_op(&mut self, m: MId, op: FlatOp) -> OpResult {
        let result = match op {
            FlatOp::Lock { mutex } => self.mutex_lock(m, MutexRef::Plain(mutex)),
            FlatOp::Unlock { mutex } => {
                // Unlocking may yield (starvation hand-off): move on first.
                let g = self.curg(m);
                self.gs[g.index()].pc += 1;
                return self.mutex_unlock(m, MutexRef::Plain(mutex));
            }
            FlatOp::RLock { rwmutex } => self.rw_rlock(m, rwmutex),
            FlatOp::RUnlock { rwmutex } => self.rw_runlock(m, rwmutex),
            FlatOp::WLock { rwmutex } => self.rw_lock(m, rwmutex),
            FlatOp::WUnlock { rwmutex } => {
                let g = self.curg(m);
                self.gs[g.index()].pc += 1;
                return self.rw_unlock(m, rwmutex);
            }
            other => unreachable!("{other:?} is not a sync op"),
        };
        if result == OpResult::Continue {
            let g = self.curg(m);
            self.gs[g.index()].pc += 1;
        }
        result
    }

    /// `goyield`: the running G goes to the tail of its P's local run queue
    /// (not the global one, unlike Gosched) and the M schedules.
    pub(crate) fn goyield(&mut self, m: MId) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let now = self.now_ns;
        let g = &mut self.gs[gi.index()];
        g.stop_running(now);
        g.set_status(GStatus::Runnable, now);
        self.stats.g_transitions += 1;
        g.runnable_since_ns = now;
        let goid = g.goid;
        self.emit(TraceEvent::GoStop {
            g: goid,
            p,
            reason: StopReason::Yield,
        });
        self.stack_scan_target_left(gi);
        self.ms[m.index()].curg = None;
        self.runqput_traced(p, gi, false);
        self.schedule(m);
    }

    /// The program a user goroutine runs.
    pub(crate) fn program_of(&self, g: GIdx) -> sim_core::ids::ProgramId {
        match self.gs[g.index()].kind {
            GKind::User { program } => program,
            GKind::System { .. } | GKind::MarkWorker => {
                unreachable!("runtime goroutines run no workload program")
            }
        }
    }

    /// The main goroutine's part of runtime init (see `RuntimeInit`).
    /// Returns true once `main.main` may start; false if main parked.
    fn runtime_main_init(&mut self, m: MId) -> bool {
        if self.init.received == 0 && !self.init.main_waiting {
            // First entry: runtime.main locks the main goroutine to M0 for
            // the whole of init (lockOSThread, without the template thread),
            // then runtime init starts forcegchelper and gcenable its two.
            let gi = self.curg(m);
            self.gs[gi.index()].rare_mut().lockedm = Some(m);
            self.ms[m.index()].lockedg = Some(gi);
            self.gc_driver.forcegc = self.newproc(
                m,
                GKind::System {
                    reason: WaitReason::ForceGcIdle,
                    signals_init: false,
                },
            );
            for reason in [WaitReason::GcSweepWait, WaitReason::GcScavengeWait] {
                let g = self.newproc(
                    m,
                    GKind::System {
                        reason,
                        signals_init: true,
                    },
                );
                if reason == WaitReason::GcSweepWait {
                    self.gc_driver.bgsweep = g;
                } else {
                    self.gc_driver.scavenger = g;
                }
            }
        }
        while self.init.received < 2 {
            if self.init.buffered == 0 {
                self.init.main_waiting = true;
                self.park(m, WaitReason::ChanReceive);
                self.schedule(m);
                return false;
            }
            self.init.buffered -= 1;
            self.init.received += 1;
        }
        // The GOMAXPROCS updater; then package init, where os (which every
        // generated program imports) sets a finalizer and so starts the
        // finalizer goroutine; then init unlocks the main goroutine.
        for reason in [WaitReason::UpdateGomaxprocsIdle, WaitReason::FinalizerWait] {
            self.newproc(
                m,
                GKind::System {
                    reason,
                    signals_init: false,
                },
            );
        }
        let gi = self.curg(m);
        self.gs[gi.index()].rare_mut().lockedm = None;
        self.ms[m.index()].lockedg = None;
        self.init.done = true;
        // main.main starts: what runtime init did is not measured (with the
        // Go harness, its StartMeasuring op starts the measurement again).
        self.start_measuring();
        true
    }

    /// The generated program starts its clock and takes its baseline of
    /// `/sched/latencies`: the elapsed time and the latency summary count
    /// from now.
    fn start_measuring(&mut self) {
        self.init.main_started_ns = self.now_ns;
        self.stats.latencies = Default::default();
    }

    /// bgsweep or bgscavenge sends on gcenable's channel: a direct handoff to
    /// the parked main goroutine (readied into this P's runnext), or into the
    /// buffer.
    fn init_signal(&mut self, m: MId) {
        if self.init.main_waiting {
            self.init.main_waiting = false;
            self.init.received += 1;
            let p = self.ms[m.index()].p.expect("a running M holds a P");
            self.ready(self.main_g, p, None);
        } else {
            self.init.buffered += 1;
        }
    }

    /// How long a compute step of `duration_ns` takes on M `m` this time:
    /// its duration with the cost model's run-to-run variation (up to
    /// `compute_jitter_ppm` parts per million either way, uniform), plus the
    /// time its CPU spends interrupted while it runs. Both are choices,
    /// drawn in a seeded run from the `workload-jitter` and
    /// `cpu-interruptions` streams.
    fn compute_duration_ns(&mut self, m: MId, duration_ns: u64) -> u64 {
        let ppm = self.config.cost.compute_jitter_ppm;
        let span = (u128::from(duration_ns) * u128::from(ppm) / 1_000_000) as u64;
        let jittered_ns = if span == 0 {
            duration_ns
        } else {
            let range = 2 * span + 1;
            let offset = self.choose(
                crate::decide::ChoiceKind::ComputeJitter,
                range,
                Some(m),
                |w| w.jitter.next_u64() % range,
            );
            duration_ns - span + offset
        };
        jittered_ns + self.cpu_interrupted_ns(m, jittered_ns)
    }

    /// The interruptions of a CPU during `work_ns` of a compute step: a
    /// Poisson process at `cpu_interruptions_per_s`, each interruption's
    /// length from the cost model's quantile function. The choice's range
    /// allows one interruption more than the step expects, each at the
    /// 99.9th percentile (an unsteered choice is no interruption; PCT's
    /// slowest M gets that much).
    fn cpu_interrupted_ns(&mut self, m: MId, work_ns: u64) -> u64 {
        let per_s = self.config.cost.cpu_interruptions_per_s;
        if per_s == 0 || work_ns == 0 {
            return 0;
        }
        let mean_gap_ns = 1_000_000_000 / per_s;
        let expected = work_ns.div_ceil(mean_gap_ns);
        let range = (expected + 1) * self.config.cost.cpu_interruption_p999_ns + 1;
        self.choose(
            crate::decide::ChoiceKind::CpuInterruptions,
            range,
            Some(m),
            |w| {
                let mut total_ns = 0;
                let mut at_ns = w.interruptions.exponential(mean_gap_ns);
                while at_ns < work_ns {
                    let u = w.interruptions.next_u64() % 1_000_000;
                    total_ns += w.config.cost.cpu_interruption_ns(u);
                    at_ns += w.interruptions.exponential(mean_gap_ns);
                }
                total_ns.min(range - 1)
            },
        )
    }

    /// Starts an op whose effect happens after `cost_ns` (a `go` statement,
    /// a WaitGroup call).
    fn timed_op(&mut self, m: MId, cost_ns: u64) {
        let now = self.now_ns;
        self.ms[m.index()].segment_end_ns = now + cost_ns;
        self.schedule_m(m, now + cost_ns);
    }

    /// The running op's event fired: it completed, or a preemption stopped it.
    fn op_event(&mut self, m: MId) {
        let gi = self.curg(m);
        if let Some(work) = self.gs[gi.index()].gc.as_mut().and_then(|x| x.work.take()) {
            self.gc_work_done(m, gi, work);
            return;
        }
        let op = self.current_op(gi).expect("a timed op is running");
        match op {
            FlatOp::Compute { .. } => {
                let left = self.compute_stop(m);
                let g = &mut self.gs[gi.index()];
                if left > 0 {
                    // Stopped early by a preemption request.
                    g.compute_left_ns = Some(left).into();
                    let asynchronous = !self.config.runtime.godebug.asyncpreemptoff
                        && !matches!(
                            op,
                            FlatOp::Compute {
                                preemptible: true,
                                ..
                            }
                        );
                    self.preempt_stop(m, asynchronous);
                    return;
                }
                g.compute_left_ns = OptU64::NONE;
                g.pc += 1;
            }
            FlatOp::Spawn { program, count } => {
                self.newproc(m, GKind::User { program });
                let g = &mut self.gs[gi.index()];
                g.spawned_in_op += 1;
                if g.spawned_in_op >= count {
                    g.spawned_in_op = 0;
                    g.pc += 1;
                }
            }
            FlatOp::WaitGroupAdd { wait_group, delta } => {
                self.gs[gi.index()].pc += 1;
                if !self.wait_group_add(m, wait_group, delta) {
                    return;
                }
            }
            FlatOp::WaitGroupDone { wait_group } => {
                self.gs[gi.index()].pc += 1;
                if !self.wait_group_add(m, wait_group, -1) {
                    return;
                }
            }
            FlatOp::WaitGroupWait { .. } => self.gs[gi.index()].pc += 1,
            FlatOp::LockOsThread => {
                self.gs[gi.index()].pc += 1;
                self.lock_os_thread(m, gi);
            }
            FlatOp::UnlockOsThread => {
                self.gs[gi.index()].pc += 1;
                self.gs[gi.index()].rare_mut().lockedm = None;
                self.ms[m.index()].lockedg = None;
            }
            FlatOp::Send { chan } | FlatOp::Recv { chan } | FlatOp::Close { chan } => {
                self.gs[gi.index()].pc += 1;
                let result = match op {
                    FlatOp::Send { .. } => self.chan_send(m, chan, true),
                    FlatOp::Recv { .. } => self.chan_recv(m, chan, true),
                    _ => self.chan_close(m, chan),
                };
                if result != OpResult::Continue {
                    return;
                }
            }
            FlatOp::Select { table } => {
                if self.select_start(m, table) != OpResult::Continue {
                    return;
                }
            }
            FlatOp::Lock { .. }
            | FlatOp::Unlock { .. }
            | FlatOp::RLock { .. }
            | FlatOp::RUnlock { .. }
            | FlatOp::WLock { .. }
            | FlatOp::WUnlock { .. } => match self.sync_op(m, op) {
                OpResult::Continue => {}
                OpResult::Busy(ns) => {
                    self.timed_op(m, ns);
                    return;
                }
                OpResult::Parked | OpResult::Died => return,
            },
            other => unreachable!("op {other:?} has no completion event"),
        }
        self.exec_g(m);
    }

    /// `newproc`: a new G in runnext of the creator's P, then `wakep`.
    pub(crate) fn newproc(&mut self, m: MId, kind: GKind) -> Option<GIdx> {
        if self.gs.len() as u64 >= self.config.runtime.max_goroutines
            && self.ps[self.ms[m.index()].p.expect("newproc needs a P").index()]
                .gfree
                .is_empty()
            && self.sched.gfree.is_empty()
        {
            self.finish(
                crate::world::EXIT_LIMIT_REACHED,
                format!(
                    "stopped: the limit of {} goroutines was reached",
                    self.config.runtime.max_goroutines
                ),
            );
            return None;
        }
        let p = self.ms[m.index()].p.expect("newproc needs a P");
        let parent = self.ms[m.index()]
            .curg
            .map(|g| self.goid(g))
            .unwrap_or(Goid(0));
        let seq = self.choose(crate::decide::ChoiceKind::TrackingSeq, 256, Some(m), |w| {
            u64::from(w.ms[m.index()].cheaprand.next_u32() & 0xff)
        }) as u8;
        let gi = self.alloc_g(p, kind, parent, seq);
        let placement = self.runqput_traced(p, gi, true);
        let program = match kind {
            GKind::User { program } => Some(program),
            GKind::System { .. } | GKind::MarkWorker => None,
        };
        let goid = self.goid(gi);
        self.emit(TraceEvent::GoCreate {
            g: goid,
            parent,
            program,
            placement,
        });
        self.wakep();
        Some(gi)
    }

    /// `runqput` plus the global-queue spill, reporting where the G went.
    pub(crate) fn runqput_traced(&mut self, p: PId, g: GIdx, next: bool) -> Placement {
        let result = runqput(&mut self.ps[p.index()], g, next);
        let kicked = match &result {
            RunqPut::Placed { kicked } | RunqPut::Spill { kicked, .. } => {
                kicked.map(|k| self.goid(k))
            }
        };
        if let RunqPut::Spill { batch, .. } = result {
            let moved = batch.len() as u32;
            self.sched.runq.extend(batch);
            self.emit(TraceEvent::RunqSpill { p, moved });
        }
        if next {
            Placement::Runnext { p, kicked }
        } else {
            Placement::LocalTail { p }
        }
    }

    /// `gopark`: the running G waits for `reason`. The caller records where
    /// the G waits and then reschedules the M.
    pub(crate) fn park(&mut self, m: MId, reason: WaitReason) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        self.gs[gi.index()].stop_running(self.now_ns);
        self.stack_scan_target_left(gi);
        self.gs[gi.index()].set_status(GStatus::Waiting(reason), self.now_ns);
        self.stats.g_transitions += 1;
        self.gs[gi.index()].waiting_since_ns = self.now_ns;
        let goid = self.goid(gi);
        self.emit(TraceEvent::GoBlock { g: goid, p, reason });
        let park_ns = self.config.cost.park_ns;
        let mm = &mut self.ms[m.index()];
        mm.curg = None;
        mm.g0_cost_ns += park_ns;
    }

    /// `LockOSThread`: wire G and M together; the first call starts the
    /// template thread (a system M, like sysmon).
    fn lock_os_thread(&mut self, m: MId, g: GIdx) {
        if self.sched.template_thread.is_none() {
            let t = self.new_m(MState::TemplateThread);
            self.sched.template_thread = Some(t);
            self.sched.nmsys += 1;
            self.emit(TraceEvent::MCreate {
                m: t,
                reason: sim_core::trace::MStartReason::TemplateThread,
            });
        }
        self.gs[g.index()].rare_mut().lockedm = Some(m);
        self.ms[m.index()].lockedg = Some(g);
    }

    /// `goready` on P `p`: the G goes to `p`'s runnext, then `wakep`.
    pub(crate) fn ready(&mut self, g: GIdx, p: PId, late_ns: Option<u64>) {
        let waker = self.ps[p.index()]
            .m
            .and_then(|m| self.ms[m.index()].curg)
            .map(|w| self.goid(w));
        let placement = self.runqput_traced(p, g, true);
        self.mark_unblocked(g, placement, late_ns, waker);
        self.wakep();
    }

    /// A waiting G becomes runnable (it has been put at `placement`): the
    /// status change and the GoUnblock event, shared by every way of waking.
    pub(crate) fn mark_unblocked(
        &mut self,
        g: GIdx,
        placement: Placement,
        late_ns: Option<u64>,
        waker: Option<Goid>,
    ) {
        let reason = match self.gs[g.index()].status {
            GStatus::Waiting(r) => r,
            other => unreachable!("waking a G that is not waiting: {other:?}"),
        };
        self.gs[g.index()].set_status(GStatus::Runnable, self.now_ns);
        self.stats.g_transitions += 1;
        self.gs[g.index()].runnable_since_ns = self.now_ns;
        let goid = self.goid(g);
        self.emit(TraceEvent::GoUnblock {
            g: goid,
            reason,
            placement,
            late_ns,
            waker,
        });
    }

    /// `goschedImpl` for runtime.Gosched: to the global queue, `wakep`, schedule.
    fn gosched(&mut self, m: MId) {
        self.stop_to_global(m, StopReason::Gosched);
    }

    /// The G stops at a preemption point (`gopreempt_m`).
    pub(crate) fn preempt_stop(&mut self, m: MId, asynchronous: bool) {
        let gi = self.curg(m);
        let slice_ns = self.gs[gi.index()].preempt_slice_ns;
        self.stats.preemptions += 1;
        let reason = match std::mem::take(&mut self.gs[gi.index()].preempt_for) {
            PreemptFor::StopTheWorld => StopReason::StopTheWorld,
            PreemptFor::SafePoint => StopReason::SafePoint,
            PreemptFor::StackScan => {
                // preemptPark: the G waits, not runnable, until its
                // scanner has scanned its stack and readies it.
                self.gs[gi.index()].preempt = false;
                self.park(m, WaitReason::Preempted);
                self.schedule(m);
                return;
            }
            PreemptFor::Slice => StopReason::Preempted {
                slice_ns,
                asynchronous,
            },
        };
        self.stop_to_global(m, reason);
    }

    pub(crate) fn stop_to_global(&mut self, m: MId, reason: StopReason) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let now = self.now_ns;
        let g = &mut self.gs[gi.index()];
        g.stop_running(now);
        g.set_status(GStatus::Runnable, now);
        self.stats.g_transitions += 1;
        g.runnable_since_ns = now;
        g.preempt = false;
        g.preempt_for = PreemptFor::Slice;
        let goid = g.goid;
        self.emit(TraceEvent::GoStop { g: goid, p, reason });
        self.stack_scan_target_left(gi);
        self.ms[m.index()].curg = None;
        // globrunqput under sched.lock.
        self.sched_lock(m);
        self.sched.runq.push_back(gi);
        self.wakep();
        self.schedule(m);
    }

    /// `goexit0`: the G is dead; main returning ends the process.
    fn goexit(&mut self, m: MId) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        self.gs[gi.index()].stop_running(self.now_ns);
        self.stack_scan_target_left(gi);
        self.gs[gi.index()].set_status(GStatus::Dead, self.now_ns);
        self.stats.g_transitions += 1;
        self.gs[gi.index()].last_wait_reason = WaitReason::Zero;
        let goid = self.goid(gi);
        self.emit(TraceEvent::GoDestroy { g: goid, p });
        self.gc.goroutine_exited(p, crate::gc::gc_key(gi));
        self.ms[m.index()].curg = None;
        let program = self.program_of(gi);
        let g = &self.gs[gi.index()];
        let run_ns = g.run_ns;
        let totals = &mut self.stats.exited_run_ns;
        if totals.len() <= program.index() {
            totals.resize(program.index() + 1, Default::default());
        }
        totals[program.index()].add(run_ns);
        // Its worst waits stay in the dead slot for starvation reports until
        // the slot is reused (`alloc_g` keeps them then).
        if gi == self.main_g {
            // What a program reading runtime/metrics just before main returns
            // sees: every live goroutine, main and the runtime's own included.
            self.stats.goroutines_at_main_return = Some(
                self.gs
                    .iter()
                    .filter(|g| g.goid.0 != 0 && g.status != GStatus::Dead)
                    .count() as u64
                    + 1,
            );
            self.finish(0, "main returned".to_string());
            return;
        }
        let locked = self.gs[gi.index()]
            .rare
            .as_deref_mut()
            .and_then(|r| r.lockedm.take())
            .is_some();
        self.gfput(p, gi);
        if locked {
            self.mexit(m, goid);
            return;
        }
        self.ms[m.index()].g0_cost_ns += self.config.cost.goexit_ns;
        self.schedule(m);
    }

    /// `time.Sleep`: park, then (resetForSleep) put a timer on this P's heap,
    /// waking the netpoller or an M if it is the P's earliest timer.
    fn sleep(&mut self, m: MId, duration_ns: u64) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let when_ns = self.now_ns + duration_ns;
        self.gs[gi.index()].rare_mut().sleep_due_ns = Some(when_ns);
        self.park(m, WaitReason::Sleep);
        self.ms[m.index()].g0_cost_ns += self.config.cost.timer_add_ns;
        self.add_timer(p, when_ns, TimerKind::Wake(gi));
        self.schedule(m);
    }

    /// Puts a timer on P `p`'s heap (`maybeAdd`): the first timer starts the
    /// netpoller; if it is now the P's earliest, make sure an M will wake
    /// for it (`wakeNetPoller`).
    pub(crate) fn add_timer(&mut self, p: PId, when_ns: u64, kind: TimerKind) {
        let earliest = self.ps[p.index()]
            .next_timer_ns()
            .is_none_or(|w| when_ns < w);
        let seq = self.timer_seq;
        self.timer_seq += 1;
        self.ps[p.index()]
            .timers
            .push(Reverse(Timer { when_ns, seq, kind }));
        self.sched.netpoll_inited = true;
        if earliest {
            self.wake_net_poller(when_ns);
        }
    }

    /// Runs the expired timers on `heap_p`'s heap; each readies its G onto
    /// `run_p` (the P of the M doing the check). Returns how many fired and
    /// when the heap's next timer is due.
    pub(crate) fn run_timers(&mut self, m: MId, heap_p: PId, run_p: PId) -> (u32, Option<u64>) {
        let now = self.now_ns;
        let mut fired = 0;
        while let Some(Reverse(t)) = self.ps[heap_p.index()].timers.peek().copied() {
            if t.when_ns > now {
                break;
            }
            self.ps[heap_p.index()].timers.pop();
            fired += 1;
            self.ms[m.index()].g0_cost_ns += self.config.cost.timer_run_ns;
            match t.kind {
                TimerKind::Wake(g) => self.ready(g, run_p, Some(now - t.when_ns)),
                TimerKind::ChanSend(chan) => self.timer_chan_send(chan, run_p),
                TimerKind::ScavengerWake => self.scavenger_wake(),
            }
        }
        (fired, self.ps[heap_p.index()].next_timer_ns())
    }

    /// `entersyscall`: the G and M go into the kernel; the M keeps its P.
    fn entersyscall(&mut self, m: MId, duration_ns: u64) {
        let gi = self.curg(m);
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        // reentersyscall runs a pending safe-point function first.
        self.run_safe_point_fn(p);
        self.gs[gi.index()].stop_running(self.now_ns);
        self.stack_scan_target_left(gi);
        self.gs[gi.index()].set_status(GStatus::Syscall { m }, self.now_ns);
        self.stats.g_transitions += 1;
        let goid = self.goid(gi);
        self.emit(TraceEvent::GoSyscallBegin { g: goid, p, m });
        let now = self.now_ns;
        self.ms[m.index()].state = MState::Syscall { since_ns: now };
        if self.sysmon.deep_sleep {
            self.wake_sysmon();
        }
        let end = now + self.config.cost.syscall_enter_ns + duration_ns;
        self.schedule_m(m, end);
    }

    /// `exitsyscall`: keep the P if sysmon left it, else take an idle P, else
    /// queue the G globally and stop the M (`exitsyscallNoP`).
    fn exitsyscall(&mut self, m: MId, _since_ns: u64) {
        let gi = self.curg(m);
        self.gs[gi.index()].set_status(GStatus::Running { m }, self.now_ns);
        self.stats.g_transitions += 1;
        self.gs[gi.index()].running_since_ns = self.now_ns + self.config.cost.syscall_exit_ns;
        let goid = self.goid(gi);
        let exit = if let Some(p) = self.ms[m.index()].p {
            SyscallExit::KeptP { p }
        } else if let Some(p) = self.pidleget() {
            self.acquirep(m, p);
            if self.sysmon.deep_sleep {
                self.wake_sysmon();
            }
            SyscallExit::IdleP { p }
        } else {
            let now = self.now_ns;
            let g = &mut self.gs[gi.index()];
            g.set_status(GStatus::Runnable, now);
            self.stats.g_transitions += 1;
            g.runnable_since_ns = now;
            self.emit(TraceEvent::GoSyscallEnd {
                g: goid,
                m,
                exit: SyscallExit::NoP,
            });
            self.ms[m.index()].curg = None;
            self.sched.runq.push_back(gi);
            if self.ms[m.index()].lockedg == Some(gi) {
                self.stoplockedm(m);
            } else {
                self.stopm(m);
            }
            return;
        };
        let p = self.ms[m.index()].p.expect("just attached");
        self.ps[p.index()].syscalltick += 1;
        self.emit(TraceEvent::GoSyscallEnd { g: goid, m, exit });
        self.ms[m.index()].state = MState::Switching;
        let at = self.now_ns + self.config.cost.syscall_exit_ns;
        self.schedule_m(m, at);
    }

    /// `wg.Add(delta)`. Returns false if the process died (negative counter).
    fn wait_group_add(&mut self, m: MId, wait_group: WaitGroupId, delta: i64) -> bool {
        let wg = &mut self.wait_groups[wait_group.index()];
        wg.counter += delta;
        if wg.counter < 0 {
            self.fatal_panic(m, "sync: negative WaitGroup counter");
            return false;
        }
        if wg.counter == 0 && !wg.waiters.is_empty() {
            // Each waiter is released through the semaphore in FIFO order and
            // readied into this P's runnext, kicking the previous one.
            let waiters: Vec<GIdx> = wg.waiters.drain(..).collect();
            let p = self.ms[m.index()].p.expect("a running M holds a P");
            for g in waiters {
                self.ready(g, p, None);
            }
        }
        true
    }

    /// A Go panic that nothing recovers: `panic: MSG`, the panicking
    /// goroutine's stack (GOTRACEBACK=single), exit status 2.
    pub(crate) fn fatal_panic(&mut self, m: MId, message: &str) {
        let current: Vec<GIdx> = self.ms[m.index()].curg.into_iter().collect();
        let dump = self.goroutine_dump(&current);
        self.stderr.push_str(&format!("panic: {message}\n\n{dump}"));
        self.finish(2, format!("panic: {message}"));
    }

    /// `fatal("...")`: `fatal error: MSG`, then the goroutine that hit it
    /// (when one did) or every goroutine (checkdead), exit status 2.
    pub(crate) fn fatal_error(&mut self, current: Option<MId>, message: &str) {
        let gs: Vec<GIdx> = match current.and_then(|m| self.ms[m.index()].curg) {
            Some(g) => vec![g],
            None => (0..self.gs.len() as u32)
                .map(GIdx)
                .filter(|g| {
                    self.gs[g.index()].is_user() && self.gs[g.index()].status != GStatus::Dead
                })
                .collect(),
        };
        let dump = self.goroutine_dump(&gs);
        self.stderr
            .push_str(&format!("fatal error: {message}\n\n{dump}"));
        self.finish(2, format!("fatal error: {message}"));
    }
}
