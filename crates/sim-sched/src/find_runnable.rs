//! `schedule`, `execute` and `findRunnable` (proc.go).
//!
//! `find_runnable` reads as Go's ordered list of sources: this P's timers;
//! every 61st schedtick one G from the global queue; the local queue
//! (runnext first); a batch from the global queue; (netpoll: no file
//! descriptors in this model yet); work stealing — 4 rounds over all Ps in a
//! random coprime order, stealing half a victim's ring, and only in the last
//! round running the victim's timers and taking its runnext (after a 3 µs
//! back-off when the victim is running); then giving up the P, re-checking,
//! and blocking in netpoll until the next timer or stopping the M.
//!
//! Every outcome is a `Decision` with its source and the trail of sources
//! checked and skipped, so a reader (or the GUI) sees why.
//!
//! A GC mark worker comes right after this P's timers when the pacer wants
//! one (`findRunnableGCWorker`); an idle-priority worker runs instead of
//! giving up the P; a stopping world stops the P at the top (`gcstopm`).
//!
//! Simplifications: no trace-reader source; the
//! idle-P and timer masks are read directly (a P "may have timers" iff its
//! heap is non-empty); a spinning M's fruitless search costs the probes it
//! made, then it gives up its P in one step (Go's `needspinning` dance is
//! applied atomically, so no wake-up can be missed in between).

use crate::g::{GIdx, GStatus};
use crate::m::{MState, StealCursor};
use crate::p::{LOCAL_RUNQ_CAPACITY, runqget, runqgrab_half};
use crate::world::World;
use sim_core::ids::{MId, PId};
use sim_core::trace::{Decision, PickSource, Placement, SchedLockHolder, TraceEvent, TrailStep};

/// Go's `stealTries`.
pub const STEAL_TRIES: u8 = 4;
/// The fairness check takes from the global queue every this many schedticks.
pub const FAIRNESS_TICKS: u32 = 61;
/// Callers of `globrunqgetbatch` pass half the local ring.
const GLOBAL_BATCH_MAX: u32 = (LOCAL_RUNQ_CAPACITY / 2) as u32;

/// What one pass of `findRunnable` produced.
pub(crate) enum Found {
    /// Run this G.
    Run { g: GIdx, decision: Decision },
    /// Start again from the top (Go's `goto top`).
    Top,
    /// The M is now waiting (spinning, backing off, in netpoll or parked).
    Wait,
}

/// What `stealWork` produced.
enum StealOutcome {
    Got {
        g: GIdx,
        source: PickSource,
        inherit_time: bool,
    },
    Backoff {
        victim: PId,
        cursor: StealCursor,
    },
    Nothing {
        ran_timers: bool,
        poll_until_ns: Option<u64>,
    },
}

fn min_time(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl World {
    /// Adds a step to a decision's trail. Only a recorded trace shows a
    /// trail (nothing else reads one), so an unrecorded run (exploration,
    /// benchmarks) skips building it and allocates nothing per decision.
    fn note(&self, trail: &mut Vec<TrailStep>, step: TrailStep) {
        if self.config.record_trace {
            trail.push(step);
        }
    }

    /// `schedule`: find a G for M `m` (which holds a P) and run it, or leave
    /// the M waiting.
    pub(crate) fn schedule(&mut self, m: MId) {
        if let Some(g) = self.ms[m.index()].lockedg {
            // A locked M runs only its G: either it was just handed over, or
            // the M parks until it is.
            match self.ms[m.index()].locked_handoff_by.take() {
                Some(handed_by) => {
                    let decision =
                        self.decision(g, PickSource::LockedG { handed_by }, false, Vec::new());
                    self.execute(m, g, decision);
                }
                None => self.stoplockedm(m),
            }
            return;
        }
        loop {
            match self.find_runnable(m) {
                Found::Run { g, decision } => {
                    // A background mark worker from findRunnableGCWorker is
                    // not a normal goroutine (tryWakeP): wake a P in case
                    // other work is runnable.
                    if matches!(decision.source, PickSource::GcWorker { .. }) {
                        if self.ms[m.index()].spinning {
                            self.resetspinning(m);
                        }
                        self.wakep();
                    }
                    if self.gs[g.index()].lockedm().is_some_and(|lm| lm != m) {
                        if self.ms[m.index()].spinning {
                            self.resetspinning(m);
                        }
                        self.startlockedm(m, g);
                        return;
                    }
                    self.execute(m, g, decision);
                    return;
                }
                Found::Top => continue,
                Found::Wait => return,
            }
        }
    }

    /// `execute`: the G runs on M `m` after the context switch (and whatever
    /// g0 work the M accumulated).
    pub(crate) fn execute(&mut self, m: MId, g: GIdx, decision: Decision) {
        if self.ms[m.index()].spinning {
            self.resetspinning(m);
        }
        let p = self.ms[m.index()].p.expect("execute needs a P");
        if !decision.inherit_time {
            self.ps[p.index()].schedtick += 1;
        }
        let now = self.now_ns;
        let mm = &mut self.ms[m.index()];
        // Go changes the status in execute, after findRunnable's own work
        // (timers run, steal probes: the g0 cost) and the rest of the
        // switch (gosched_m or park_m, schedule, the run-queue pick), just
        // before gogo: the status changes when the modelled switch ends
        // (`context_switch_ns`, calibrated as that whole path), gogo's few
        // nanoseconds included.
        let start_ns = now + mm.g0_cost_ns + self.config.cost.context_switch_ns;
        mm.g0_cost_ns = 0;
        mm.curg = Some(g);
        mm.state = MState::Switching;
        // A goroutine woken from a wait releases its sudogs to this P.
        self.gc.release_sudogs(p, crate::gc::gc_key(g));
        let gg = &mut self.gs[g.index()];
        let sampled = gg.set_status(GStatus::Running { m }, start_ns);
        self.stats.g_transitions += 1;
        gg.preempt = false;
        gg.running_since_ns = start_ns;
        if let Some(runnable_ns) = sampled {
            self.stats.latencies.record(runnable_ns);
        }
        // For starvation, a sleeper could run from its timer's due time on,
        // even if no P ran the timer until later.
        let mut could_run_since_ns = gg.runnable_since_ns;
        if let Some(due) = gg.rare.as_deref_mut().and_then(|r| r.sleep_due_ns.take()) {
            self.stats
                .sleep_lateness
                .record(start_ns.saturating_sub(due));
            could_run_since_ns = could_run_since_ns.min(due);
        }
        let starved_ns = start_ns.saturating_sub(could_run_since_ns);
        gg.max_runnable_wait_ns = gg.max_runnable_wait_ns.max(starved_ns);
        self.stats.max_runnable_wait_ns = self.stats.max_runnable_wait_ns.max(starved_ns);
        if let PickSource::Steal { .. } = decision.source {
            self.stats.steals += 1;
        }
        self.stats.decisions += 1;
        self.emit(TraceEvent::GoStart { p, m, decision });
        self.schedule_m(m, start_ns);
    }

    fn decision(
        &self,
        g: GIdx,
        source: PickSource,
        inherit_time: bool,
        trail: Vec<TrailStep>,
    ) -> Decision {
        Decision {
            source,
            g: self.goid(g),
            inherit_time,
            trail,
        }
    }

    /// `globrunqgetbatch(128)` onto P `p`: the first G runs, the rest go to
    /// the (empty) local ring.
    fn global_batch(&mut self, p: PId) -> Option<(GIdx, u32)> {
        let size = self.sched.runq.len() as u32;
        if size == 0 {
            return None;
        }
        let m = self.ps[p.index()].m.expect("owned");
        let n = GLOBAL_BATCH_MAX.min(size).min(size / self.gomaxprocs() + 1);
        // The walk down the queue holds sched.lock.
        let hold_ns = u64::from(n) * self.config.cost.global_runq_ns_per_g;
        self.sched_lock_held_for(m, SchedLockHolder::GlobalRunqBatch, hold_ns);
        let first = self.sched.runq.pop_front().expect("non-empty");
        for _ in 1..n {
            let g = self.sched.runq.pop_front().expect("n <= size");
            debug_assert!(self.ps[p.index()].runq.len() < LOCAL_RUNQ_CAPACITY);
            self.ps[p.index()].runq.push_back(g);
        }
        self.ms[m.index()].g0_cost_ns += self.config.cost.global_runq_ns;
        Some((first, n - 1))
    }

    /// One pass of `findRunnable` for M `m`, which holds a P.
    pub(crate) fn find_runnable(&mut self, m: MId) -> Found {
        let p = self.ms[m.index()].p.expect("findRunnable needs a P");
        let mut trail = Vec::new();

        // The world is stopping: this P stops and the M parks.
        if self.gc_stw_pending() {
            self.gcstopm(m);
            return Found::Wait;
        }
        // gcMarkDone's ragged barrier is waiting for this P.
        self.run_safe_point_fn(p);

        // This P's timers.
        let had_timers = !self.ps[p.index()].timers.is_empty();
        let (fired, poll_until_ns) = self.run_timers(m, p, p);
        if had_timers {
            self.note(&mut trail, TrailStep::OwnTimers { fired });
        }

        // A background mark worker, if the pacer wants this P marking.
        if let Some((g, decision)) = self.find_gc_worker(p) {
            return Found::Run { g, decision };
        }

        // Fairness: every 61st schedtick, one G from the global queue first.
        let schedtick = self.ps[p.index()].schedtick;
        if schedtick.is_multiple_of(FAIRNESS_TICKS) && !self.sched.runq.is_empty() {
            self.sched_lock(m);
            let g = self.sched.runq.pop_front().expect("non-empty");
            self.ms[m.index()].g0_cost_ns += self.config.cost.global_runq_ns;
            let d = self.decision(g, PickSource::GlobalFairness { schedtick }, false, trail);
            return Found::Run { g, decision: d };
        }
        self.note(
            &mut trail,
            TrailStep::FairnessNotDue {
                schedtick,
                global_len: self.sched.runq.len() as u32,
            },
        );

        // The local queue, runnext first.
        if let Some((g, inherit)) = runqget(&mut self.ps[p.index()]) {
            let source = if inherit {
                PickSource::Runnext
            } else {
                PickSource::LocalRunq
            };
            let d = self.decision(g, source, inherit, trail);
            return Found::Run { g, decision: d };
        }
        self.note(&mut trail, TrailStep::LocalEmpty);

        // A batch from the global queue.
        if let Some((g, queued)) = self.global_batch(p) {
            let d = self.decision(g, PickSource::GlobalBatch { queued }, false, trail);
            return Found::Run { g, decision: d };
        }
        self.note(&mut trail, TrailStep::GlobalEmpty);

        // Non-blocking netpoll, unless an M is blocked in netpoll already.
        if self.sched.netpoll_inited && self.netpoll_any_waiters() && self.sched.netpoll_m.is_none()
        {
            let mut ready = self.netpoll_ready();
            if !ready.is_empty() {
                let g = ready.remove(0);
                self.injectglist(ready, Some(p));
                self.mark_unblocked(g, Placement::RunsNow { p }, None, None);
                let d = self.decision(g, PickSource::Netpoll, false, trail);
                return Found::Run { g, decision: d };
            }
            self.note(
                &mut trail,
                TrailStep::NetpollNothingReady {
                    waiters: self.netpoll.len() as u32,
                },
            );
        }

        // Work stealing, if this M spins already or spinning Ms are fewer
        // than half the busy Ps.
        let busy_ps = self.gomaxprocs() - self.npidle();
        let nmspinning = self.sched.nmspinning;
        if self.ms[m.index()].spinning || 2 * nmspinning < busy_ps {
            if !self.ms[m.index()].spinning {
                self.become_spinning(m);
            }
            let outcome = self.steal_work(m, None, &mut trail);
            return self.after_steal(m, outcome, trail, poll_until_ns);
        }
        self.note(
            &mut trail,
            TrailStep::StealCapped {
                nmspinning,
                busy_ps,
            },
        );
        self.give_up_p(m, poll_until_ns, trail)
    }

    /// Continues `findRunnable` after `stealWork`.
    fn after_steal(
        &mut self,
        m: MId,
        outcome: StealOutcome,
        trail: Vec<TrailStep>,
        own_poll_until_ns: Option<u64>,
    ) -> Found {
        match outcome {
            StealOutcome::Got {
                g,
                source,
                inherit_time,
            } => {
                let d = self.decision(g, source, inherit_time, trail);
                Found::Run { g, decision: d }
            }
            StealOutcome::Backoff { victim, cursor } => {
                let mm = &mut self.ms[m.index()];
                mm.state = MState::StealBackoff { victim, cursor };
                mm.pending_trail = trail;
                let wait = mm.g0_cost_ns
                    + self.config.cost.runnext_steal_backoff_ns
                    + self.config.cost.os_timer_slack_ns;
                mm.g0_cost_ns = 0;
                let at = self.now_ns + wait;
                self.schedule_m(m, at);
                Found::Wait
            }
            StealOutcome::Nothing {
                ran_timers: true, ..
            } => Found::Top,
            StealOutcome::Nothing {
                ran_timers: false,
                poll_until_ns,
            } => {
                // Nothing to steal: the spinning M gives up its P once its
                // search (the probes it made) is over.
                let poll_until_ns = min_time(own_poll_until_ns, poll_until_ns);
                let mm = &mut self.ms[m.index()];
                mm.state = MState::Spinning { poll_until_ns };
                mm.pending_trail = trail;
                let at = self.now_ns + mm.g0_cost_ns;
                mm.g0_cost_ns = 0;
                self.schedule_m(m, at);
                Found::Wait
            }
        }
    }

    /// A spinning M's fruitless search is over: give up the P.
    pub(crate) fn spin_done(&mut self, m: MId, poll_until_ns: Option<u64>) {
        let trail = std::mem::take(&mut self.ms[m.index()].pending_trail);
        if self.gc_stw_pending() {
            self.gcstopm(m);
            return;
        }
        match self.give_up_p(m, poll_until_ns, trail) {
            Found::Run { g, decision } => self.execute(m, g, decision),
            Found::Top => self.schedule(m),
            Found::Wait => {}
        }
    }

    /// A thief backed off before taking a running victim's runnext: take it
    /// if it is still there, else continue the enumeration.
    pub(crate) fn resume_steal(&mut self, m: MId, victim: PId, cursor: StealCursor) {
        let mut trail = std::mem::take(&mut self.ms[m.index()].pending_trail);
        if self.gc_stw_pending() {
            self.gcstopm(m);
            return;
        }
        let p = self.ms[m.index()].p.expect("a thief holds a P");
        let outcome = if let Some(g) = self.ps[victim.index()].runnext.take() {
            self.ms[m.index()].g0_cost_ns += self.config.cost.steal_success_ns;
            debug_assert_ne!(p, victim);
            StealOutcome::Got {
                g,
                source: PickSource::Steal {
                    victim,
                    round: cursor.round,
                    taken: 1,
                    runnext: true,
                },
                inherit_time: false,
            }
        } else {
            self.steal_work(m, Some(cursor), &mut trail)
        };
        match self.after_steal(m, outcome, trail, None) {
            Found::Run { g, decision } => self.execute(m, g, decision),
            Found::Top => self.schedule(m),
            Found::Wait => {}
        }
    }

    /// The coprimes of `n` in `1..=n`, Go's `randomOrder.reset`.
    fn coprimes(n: u32) -> Vec<u32> {
        fn gcd(mut a: u32, mut b: u32) -> u32 {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        }
        (1..=n).filter(|&i| gcd(i, n) == 1).collect()
    }

    /// `stealWork`: up to 4 rounds over all other Ps in a random coprime order
    /// (`stealOrder.start(cheaprand())`). `resume` continues a paused round
    /// after the victim at `resume.pos`.
    fn steal_work(
        &mut self,
        m: MId,
        resume: Option<StealCursor>,
        trail: &mut Vec<TrailStep>,
    ) -> StealOutcome {
        let me = self.ms[m.index()].p.expect("a thief holds a P");
        let n = self.gomaxprocs();
        let coprimes = Self::coprimes(n);
        let mut poll_until_ns = None;
        let mut ran_timers = false;
        let mut probes = resume.map_or(0, |c| c.probes);
        let first_round = resume.map_or(1, |c| c.round);
        for round in first_round..=STEAL_TRIES {
            let last_round = round == STEAL_TRIES;
            let (mut pos, inc, mut visited) = match resume {
                Some(c) if c.round == round => ((c.pos + c.inc) % n, c.inc, c.visited + 1),
                _ => {
                    // One choice encodes the start position and the stride.
                    let count = coprimes.len() as u32;
                    let v = self.choose(
                        crate::decide::ChoiceKind::StealOrder,
                        u64::from(n) * u64::from(count),
                        Some(m),
                        |w| {
                            let r = w.ms[m.index()].cheaprand.next_u32();
                            u64::from(r % n) + u64::from(n) * u64::from((r / n) % count)
                        },
                    ) as u32;
                    (v % n, coprimes[(v / n) as usize], 0)
                }
            };
            while visited < n {
                let victim = PId(pos);
                if victim != me {
                    if last_round && !self.ps[victim.index()].timers.is_empty() {
                        let (fired, next) = self.run_timers(m, victim, me);
                        poll_until_ns = min_time(poll_until_ns, next);
                        if fired > 0 {
                            if let Some((g, inherit_time)) = runqget(&mut self.ps[me.index()]) {
                                self.charge_probes(m, probes);
                                return StealOutcome::Got {
                                    g,
                                    source: PickSource::StolenTimer { victim },
                                    inherit_time,
                                };
                            }
                            ran_timers = true;
                        }
                    }
                    if !self.ps[victim.index()].idle_listed {
                        probes += 1;
                        if !self.ps[victim.index()].runq.is_empty() {
                            let mut stolen = runqgrab_half(&mut self.ps[victim.index()]);
                            let taken = stolen.len() as u32;
                            let g = stolen.pop().expect("took at least one");
                            self.ps[me.index()].runq.extend(stolen);
                            self.charge_probes(m, probes);
                            self.ms[m.index()].g0_cost_ns += self.config.cost.steal_success_ns;
                            return StealOutcome::Got {
                                g,
                                source: PickSource::Steal {
                                    victim,
                                    round,
                                    taken,
                                    runnext: false,
                                },
                                inherit_time: false,
                            };
                        }
                        if last_round && self.ps[victim.index()].runnext.is_some() {
                            let victim_m = self.ps[victim.index()].m;
                            let victim_in_syscall = victim_m.is_some_and(|vm| {
                                matches!(self.ms[vm.index()].state, MState::Syscall { .. })
                            });
                            if victim_m.is_some() && !victim_in_syscall {
                                // Give the owner a chance to run its runnext first.
                                self.charge_probes(m, probes);
                                return StealOutcome::Backoff {
                                    victim,
                                    cursor: StealCursor {
                                        round,
                                        visited,
                                        pos,
                                        inc,
                                        probes: 0,
                                    },
                                };
                            }
                            let g = self.ps[victim.index()].runnext.take().expect("checked");
                            self.charge_probes(m, probes);
                            self.ms[m.index()].g0_cost_ns += self.config.cost.steal_success_ns;
                            return StealOutcome::Got {
                                g,
                                source: PickSource::Steal {
                                    victim,
                                    round,
                                    taken: 1,
                                    runnext: true,
                                },
                                inherit_time: false,
                            };
                        }
                    }
                }
                visited += 1;
                pos = (pos + inc) % n;
            }
            self.note(
                trail,
                TrailStep::StealRoundEmpty {
                    round,
                    victims: n - 1,
                },
            );
        }
        self.charge_probes(m, probes);
        StealOutcome::Nothing {
            ran_timers,
            poll_until_ns,
        }
    }

    fn charge_probes(&mut self, m: MId, probes: u32) {
        self.ms[m.index()].g0_cost_ns += u64::from(probes) * self.config.cost.steal_probe_ns;
    }

    /// The end of `findRunnable`: re-check the global queue, release the P,
    /// and if this M was spinning re-check everything once more (so no work
    /// published meanwhile is missed); then block in netpoll until the next
    /// timer, or stop the M.
    fn give_up_p(
        &mut self,
        m: MId,
        poll_until_ns: Option<u64>,
        mut trail: Vec<TrailStep>,
    ) -> Found {
        let p = self.ms[m.index()].p.expect("give_up_p needs a P");
        // Nothing to run: mark in an idle-priority worker rather than idle.
        if let Some((g, decision)) = self.find_idle_gc_worker(p, &trail) {
            return Found::Run { g, decision };
        }
        // The rest of the decision to drop the P is made under sched.lock.
        self.sched_lock(m);
        if let Some((g, queued)) = self.global_batch(p) {
            let d = self.decision(g, PickSource::GlobalBatch { queued }, false, trail);
            return Found::Run { g, decision: d };
        }
        if !self.ms[m.index()].spinning && self.sched.needspinning {
            self.become_spinning(m);
            return Found::Top;
        }
        self.run_safe_point_fn(p);
        let p = self.releasep(m);
        self.pidleput(p);
        self.emit(TraceEvent::ProcIdle { p, m });
        let was_spinning = self.ms[m.index()].spinning;
        let mut poll_until_ns = poll_until_ns;
        if was_spinning {
            self.ms[m.index()].spinning = false;
            self.sched.nmspinning -= 1;
            if !self.sched.runq.is_empty()
                && let Some(p2) = self.pidleget_spinning()
            {
                self.acquirep(m, p2);
                self.become_spinning(m);
                let (g, _) = self.global_batch(p2).expect("global queue is non-empty");
                self.note(&mut trail, TrailStep::GlobalEmpty);
                let d = self.decision(g, PickSource::IdleRecheck, false, trail);
                return Found::Run { g, decision: d };
            }
            let busy_with_work = self.ps.iter().any(|pp| !pp.idle_listed && !pp.runq_empty());
            if busy_with_work && let Some(p2) = self.pidleget_spinning() {
                self.acquirep(m, p2);
                self.become_spinning(m);
                return Found::Top;
            }
            for pp in &self.ps {
                poll_until_ns = min_time(poll_until_ns, pp.next_timer_ns());
            }
        }
        if self.sched.netpoll_inited
            && (self.netpoll_any_waiters() || poll_until_ns.is_some())
            && self.sched.netpoll_m.is_none()
        {
            self.block_in_netpoll(m, poll_until_ns, was_spinning);
            return Found::Wait;
        } else if let Some(until) = poll_until_ns
            && self.sched.netpoll_inited
            && self.sched.poll_until_ns.is_none_or(|u| u > until)
        {
            self.netpoll_break();
        }
        self.stopm(m);
        Found::Wait
    }
}
