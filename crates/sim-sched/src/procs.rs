//! Ms and Ps changing hands: `wakep`, `startm`, `stopm`, `handoffp`, the idle
//! lists, spinning, the netpoller as a timer sleeper, and `checkdead`.
//!
//! The idle P and idle M lists are LIFO stacks, as in Go. `wakep` starts at
//! most one spinning M at a time (`nmspinning` 0 → 1); a spinning M that finds
//! work calls `wakep` again so a replacement spinner exists. When no idle P is
//! available for a spinner, `needspinning` is set, and the next M about to
//! drop its P spins instead. An M creation costs a thread creation; waking a
//! parked M costs a futex wake. Both latencies are drawn from one quantile
//! function (the cost model's measured 10th, 90th and 99th percentiles
//! around each median); nothing beyond the 99th percentile is drawn.
//!
//! Simplification: netpoll has no file descriptors yet, so the netpoller is
//! only the place where one M sleeps until the next timer (epoll_wait with a
//! millisecond timeout, truncated as netpoll_epoll.go does, plus timer slack,
//! plus the thread's wake-up on its idle CPU once the timeout expires).

use crate::g::{GIdx, GStatus};
use crate::m::MState;
use crate::p::PStatus;
use crate::world::World;
use sim_core::ids::{MId, PId};
use sim_core::time::MILLISECOND_NS;
use sim_core::trace::{MStartReason, TraceEvent};

impl World {
    /// How long waking M `m`'s thread at `at_ns` takes this time (futex
    /// wake until the thread runs): the median for how long it has slept
    /// by then (since `asleep_since_ns`), with the cost model's variation.
    pub(crate) fn thread_wake_latency_at(&mut self, m: MId, at_ns: u64) -> u64 {
        let asleep_ns = at_ns.saturating_sub(self.ms[m.index()].asleep_since_ns);
        self.thread_wake_latency(m, asleep_ns)
    }

    /// How long waking M `m`'s thread after `asleep_ns` of sleep takes
    /// this time, with the cost model's variation.
    pub(crate) fn thread_wake_latency(&mut self, m: MId, asleep_ns: u64) -> u64 {
        let ratio_ppm = self.thread_latency_ratio_ppm(m);
        scale_ppm(self.config.cost.thread_wake_median_ns(asleep_ns), ratio_ppm)
    }

    /// A thread wake-up or creation latency with median `median_ns`, with
    /// the cost model's variation.
    pub(crate) fn thread_latency(&mut self, m: MId, median_ns: u64) -> u64 {
        let ratio_ppm = self.thread_latency_ratio_ppm(m);
        scale_ppm(median_ns, ratio_ppm)
    }

    /// One draw of a thread latency's ratio to its median, in parts per
    /// million, from the cost model's quantile function (the
    /// `thread-latency` choice is the quantile, in millionths; undisturbed,
    /// the median).
    pub(crate) fn thread_latency_ratio_ppm(&mut self, m: MId) -> u64 {
        let u = self.choose(
            crate::decide::ChoiceKind::ThreadLatency,
            MILLION,
            Some(m),
            |w| w.jitter.next_u64() % MILLION,
        );
        thread_latency_ratio_ppm(u, &self.config.cost)
    }

    /// `pidleput`: P goes on the idle list.
    pub(crate) fn pidleput(&mut self, p: PId) {
        let pp = &mut self.ps[p.index()];
        debug_assert!(pp.runq_empty(), "pidleput: {p} has a non-empty run queue");
        debug_assert!(pp.m.is_none());
        // findRunnable runs a pending safe-point function before it drops
        // the P.
        self.run_safe_point_fn(p);
        let pp = &mut self.ps[p.index()];
        pp.status = PStatus::Idle;
        pp.idle_since_ns = self.now_ns;
        pp.idle_listed = true;
        self.sched.pidle.push(p);
    }

    /// `pidleget`: an idle P; its idle time goes to the GC CPU limiter.
    pub(crate) fn pidleget(&mut self) -> Option<PId> {
        let p = self.sched.pidle.pop()?;
        self.ps[p.index()].idle_listed = false;
        self.account_idle_end(p);
        Some(p)
    }

    /// `pidlegetSpinning`: an idle P, or none and `needspinning = 1`.
    pub(crate) fn pidleget_spinning(&mut self) -> Option<PId> {
        let p = self.pidleget();
        if p.is_none() {
            self.sched.needspinning = true;
        }
        p
    }

    pub(crate) fn become_spinning(&mut self, m: MId) {
        self.ms[m.index()].spinning = true;
        self.sched.nmspinning += 1;
        self.sched.needspinning = false;
    }

    /// `resetspinning`: a spinning M found work; wake a replacement spinner.
    pub(crate) fn resetspinning(&mut self, m: MId) {
        self.ms[m.index()].spinning = false;
        self.sched.nmspinning -= 1;
        self.wakep();
    }

    /// `wakep`: if nobody spins and a P is idle, start a spinning M on it.
    pub(crate) fn wakep(&mut self) {
        self.wakep_for(MStartReason::Wakep);
    }

    /// [`World::wakep`], recording `reason` as why the M starts.
    pub(crate) fn wakep_for(&mut self, reason: MStartReason) {
        if self.sched.nmspinning != 0 {
            return;
        }
        self.sched.nmspinning = 1;
        match self.pidleget_spinning() {
            Some(p) => self.startm(p, true, reason),
            None => self.sched.nmspinning = 0,
        }
    }

    /// `startm`: run P `p` on an idle M, or on a new one.
    pub(crate) fn startm(&mut self, p: PId, spinning: bool, reason: MStartReason) {
        let now = self.now_ns;
        let m = match self.sched.midle.pop() {
            Some(m) => {
                let wake = self.thread_wake_latency_at(m, now);
                self.emit(TraceEvent::MWake {
                    m,
                    p,
                    spinning,
                    reason,
                });
                self.schedule_m(m, now + wake);
                m
            }
            None => {
                let m = self.new_m(MState::Starting);
                self.emit(TraceEvent::MCreate { m, reason });
                let create = self.thread_latency(m, self.config.cost.thread_create_ns);
                self.schedule_m(m, now + create);
                m
            }
        };
        self.place_woken_thread(m);
        let mm = &mut self.ms[m.index()];
        mm.state = MState::Starting;
        mm.nextp = Some(p);
        mm.spinning = spinning;
    }

    /// `stopm`: park the M on the idle list (and run checkdead).
    pub(crate) fn stopm(&mut self, m: MId) {
        debug_assert!(self.ms[m.index()].p.is_none() && !self.ms[m.index()].spinning);
        self.cancel_m(m);
        // What g0 work is left only delays the park.
        self.ms[m.index()].g0_cost_ns = 0;
        self.ms[m.index()].state = MState::Idle;
        self.ms[m.index()].asleep_since_ns = self.now_ns;
        self.sched.midle.push(m);
        self.emit(TraceEvent::MPark { m });
        self.checkdead();
    }

    /// `handoffp`: P `p` left a syscalling M; give it to an M if there is
    /// work for it, else make it idle.
    pub(crate) fn handoffp(&mut self, p: PId) {
        if self.gc_stw_pending() {
            // The world is stopping: the P stops instead.
            self.p_stopped(p, None);
            return;
        }
        if !self.ps[p.index()].runq_empty() || !self.sched.runq.is_empty() {
            self.startm(p, false, MStartReason::Handoff);
            return;
        }
        if self.sched.nmspinning + self.npidle() == 0 {
            // No M spins and no P is idle: start a spinning M, or runnable Gs
            // that appear later could wait with nobody looking.
            self.sched.nmspinning = 1;
            self.sched.needspinning = false;
            self.startm(p, true, MStartReason::Handoff);
            return;
        }
        if self.npidle() == self.gomaxprocs() - 1 && self.sched.netpoll_m.is_none() {
            // The last running P, and nobody polls the network.
            self.startm(p, false, MStartReason::Handoff);
            return;
        }
        let when = self.ps[p.index()].next_timer_ns();
        self.pidleput(p);
        if let Some(when) = when {
            self.wake_net_poller(when);
        }
    }

    /// `wakeNetPoller`: a timer due at `when_ns` was added; make sure some M
    /// will be awake for it.
    pub(crate) fn wake_net_poller(&mut self, when_ns: u64) {
        if self.sched.netpoll_m.is_some() {
            if self.sched.poll_until_ns.is_none_or(|u| u > when_ns) {
                self.netpoll_break();
            }
        } else {
            self.wakep();
        }
    }

    /// `netpollBreak`: interrupt the M blocked in netpoll so it re-evaluates.
    pub(crate) fn netpoll_break(&mut self) {
        let Some(m) = self.sched.netpoll_m else {
            return;
        };
        let MState::Netpoll {
            until_ns,
            was_spinning,
        } = self.ms[m.index()].state
        else {
            unreachable!("the netpoll M is not in netpoll");
        };
        let wake_ns = self.now_ns + self.thread_wake_latency_at(m, self.now_ns);
        if wake_ns < until_ns {
            self.ms[m.index()].state = MState::Netpoll {
                until_ns: wake_ns,
                was_spinning,
            };
            self.schedule_m(m, wake_ns);
        }
    }

    /// M `m` (without a P) blocks in netpoll until `until_ns`: epoll_wait's
    /// timeout is in whole milliseconds (at least 1 for a positive delay,
    /// truncated above that), and the kernel lets it end as late as its
    /// slack ([`epoll_slack_ns`]: 0.1% of the timeout), which on an idle CPU
    /// it does: nothing else interrupts the CPU before the timer's last
    /// moment.
    /// Without a timer it blocks until network data arrives. Whichever ends
    /// the wait, the thread then has to be woken on its idle CPU (the
    /// thread wake-up latency for how long it slept, one draw for the one
    /// wake-up): a timeout that expires on an idle CPU wakes the thread as a
    /// futex wake does.
    pub(crate) fn block_in_netpoll(&mut self, m: MId, until_ns: Option<u64>, was_spinning: bool) {
        let now = self.now_ns;
        self.ms[m.index()].asleep_since_ns = now;
        let ratio_ppm = self.thread_latency_ratio_ppm(m);
        let cost = &self.config.cost;
        let wake_latency = |asleep_ns| scale_ppm(cost.thread_wake_median_ns(asleep_ns), ratio_ppm);
        let timeout_at = until_ns.map(|until| {
            let delay_ns = until.saturating_sub(now);
            let wait_ns = if delay_ns == 0 {
                0
            } else {
                let timeout_ns = (delay_ns / MILLISECOND_NS).max(1) * MILLISECOND_NS;
                timeout_ns + epoll_slack_ns(timeout_ns, self.config.cost.os_timer_slack_ns)
            };
            now + wait_ns + wake_latency(wait_ns)
        });
        let data_at = self
            .netpoll_next_ready_ns()
            .map(|t| t.max(now) + wake_latency(t.saturating_sub(now)));
        let wake_ns = match (timeout_at, data_at) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a
                .or(b)
                .expect("netpoll blocks only with a timer or a network waiter"),
        };
        self.sched.netpoll_m = Some(m);
        self.sched.poll_until_ns = until_ns;
        self.emit(TraceEvent::NetpollBlock {
            m,
            until_ns: wake_ns,
        });
        self.ms[m.index()].state = MState::Netpoll {
            until_ns: wake_ns,
            was_spinning,
        };
        self.schedule_m(m, wake_ns);
    }

    /// Back from netpoll: take an idle P and look for work again, or stop.
    pub(crate) fn netpoll_return(&mut self, m: MId, was_spinning: bool) {
        self.sched.netpoll_m = None;
        self.sched.poll_until_ns = None;
        self.sched.lastpoll_ns = self.now_ns;
        let mut ready = self.netpoll_ready();
        match self.pidleget() {
            Some(p) => {
                self.acquirep(m, p);
                if !ready.is_empty() {
                    let g = ready.remove(0);
                    self.injectglist(ready, Some(p));
                    self.mark_unblocked(g, sim_core::trace::Placement::RunsNow { p }, None, None);
                    let decision = sim_core::trace::Decision {
                        source: sim_core::trace::PickSource::NetpollBlocked,
                        g: self.goid(g),
                        inherit_time: false,
                        trail: Vec::new(),
                    };
                    self.execute(m, g, decision);
                    return;
                }
                if was_spinning {
                    self.become_spinning(m);
                }
                self.schedule(m);
            }
            None => {
                self.injectglist(ready, None);
                self.stopm(m);
            }
        }
    }

    /// `stoplockedm`: the M is locked to a G that cannot run now; it hands
    /// off its P and parks until the G is handed back to it.
    pub(crate) fn stoplockedm(&mut self, m: MId) {
        let g = self.ms[m.index()]
            .lockedg
            .expect("stoplockedm on an unlocked M");
        if self.ms[m.index()].p.is_some() {
            let p = self.releasep(m);
            self.handoffp(p);
        }
        self.cancel_m(m);
        self.ms[m.index()].state = MState::LockedIdle;
        self.ms[m.index()].asleep_since_ns = self.now_ns;
        self.sched.nmidlelocked += 1;
        let goid = self.goid(g);
        self.emit(TraceEvent::MLockedPark { m, g: goid });
        self.checkdead();
    }

    /// `startlockedm`: M `m` picked `g`, which is locked to another M; give
    /// that M this P and stop.
    pub(crate) fn startlockedm(&mut self, m: MId, g: GIdx) {
        let to = self.gs[g.index()].lockedm().expect("a locked G");
        debug_assert_eq!(self.ms[to.index()].state, MState::LockedIdle);
        self.sched.nmidlelocked -= 1;
        let p = self.releasep(m);
        let handoff_ns = self.now_ns + self.ms[m.index()].g0_cost_ns;
        let wake = handoff_ns + self.thread_wake_latency_at(to, handoff_ns);
        self.ms[m.index()].g0_cost_ns = 0;
        let lm = &mut self.ms[to.index()];
        lm.nextp = Some(p);
        lm.locked_handoff_by = Some(m);
        lm.state = MState::Starting;
        self.schedule_m(to, wake);
        let goid = self.goid(g);
        self.emit(TraceEvent::MLockedHandoff {
            from: m,
            to,
            g: goid,
            p,
        });
        self.stopm(m);
    }

    /// `mexit`: a locked G returned without unlocking, so its thread exits;
    /// its P is handed off.
    pub(crate) fn mexit(&mut self, m: MId, g: sim_core::ids::Goid) {
        let p = self.releasep(m);
        self.handoffp(p);
        let mm = &mut self.ms[m.index()];
        mm.lockedg = None;
        mm.state = MState::Exited;
        self.cancel_m(m);
        self.gc.thread_exited(m);
        self.sched.nmfreed += 1;
        self.emit(TraceEvent::MExit { m, g });
        self.checkdead();
    }

    /// `checkdead`, run when an M goes idle: if no M is running, and no
    /// timer is pending, every goroutine is blocked forever.
    pub(crate) fn checkdead(&mut self) {
        let idle = self.sched.midle.len() as u32;
        let running = self.mcount() - idle - self.sched.nmidlelocked - self.sched.nmsys;
        if running > 0 {
            return;
        }
        let mut blocked = 0;
        for g in self.gs.iter().filter(|g| g.is_user()) {
            match g.status {
                GStatus::Waiting(_) => blocked += 1,
                GStatus::Dead => {}
                other => {
                    debug_assert!(false, "checkdead: runnable g {} ({other:?})", g.goid);
                    return;
                }
            }
        }
        if blocked == 0 {
            self.fatal_error(
                None,
                "no goroutines (main called runtime.Goexit) - deadlock!",
            );
            return;
        }
        if self.ps.iter().any(|p| !p.timers.is_empty()) {
            return;
        }
        self.fatal_error(None, "all goroutines are asleep - deadlock!");
    }
}

/// Quantiles and latency ratios are in millionths.
const MILLION: u64 = 1_000_000;

/// `median_ns` × `ratio_ppm` / 1,000,000.
fn scale_ppm(median_ns: u64, ratio_ppm: u64) -> u64 {
    (u128::from(median_ns) * u128::from(ratio_ppm) / u128::from(MILLION)) as u64
}

/// The thread-latency quantile function: at quantile `u` (millionths), the
/// latency as a multiple of the median (millionths), piecewise linear
/// through the cost model's 10th, 50th (1), 90th and 99th percentiles.
fn thread_latency_ratio_ppm(u: u64, c: &sim_core::cost::CostModel) -> u64 {
    let points = [
        (0, c.thread_latency_p10_ppm),
        (100_000, c.thread_latency_p10_ppm),
        (500_000, MILLION),
        (900_000, c.thread_latency_p90_ppm),
        (990_000, c.thread_latency_p99_ppm),
        (MILLION, c.thread_latency_p99_ppm),
    ];
    sim_core::cost::piecewise_linear(u, &points)
}

/// Linux's slack for a poll, select or epoll_wait timeout
/// (`select_estimate_accuracy` in fs/select.c): 0.1% of the timeout for a
/// thread of nice 0, at least the thread's timer slack
/// (`thread_slack_ns`, 50 µs by default) and at most 100 ms. A 2 s wait may
/// end 2 ms late, a 1 ms one 50 µs late. Other timed sleeps (futex,
/// nanosleep) get only the thread's timer slack.
pub fn epoll_slack_ns(timeout_ns: u64, thread_slack_ns: u64) -> u64 {
    const MAX_SLACK_NS: u64 = 100 * MILLISECOND_NS;
    (timeout_ns / 1_000).max(thread_slack_ns).min(MAX_SLACK_NS)
}

#[cfg(test)]
mod tests {
    use super::{epoll_slack_ns, thread_latency_ratio_ppm};
    use crate::find_runnable_tests::world_with_cost;
    use sim_core::cost::CostModel;
    use sim_core::ids::MId;

    /// The same draw (same seed) scales the median for how long the thread
    /// slept: 4 µs asleep takes the 5 µs median, 60 µs lies between the
    /// 20 µs and 100 µs points, 20 ms takes the 10 ms one.
    #[test]
    fn a_thread_woken_soon_after_it_slept_wakes_faster_than_one_asleep_for_long() {
        let cost = CostModel {
            thread_wake_ns: 40_000,
            thread_wake_after_5us_ppm: 500_000,
            thread_wake_after_20us_ppm: 700_000,
            thread_wake_after_100us_ppm: 900_000,
            thread_wake_after_1ms_ppm: 1_500_000,
            thread_wake_after_10ms_ppm: 2_000_000,
            ..CostModel::default()
        };
        assert_eq!(cost.thread_wake_median_ns(0), 20_000);
        assert_eq!(cost.thread_wake_median_ns(4_000), 20_000);
        assert_eq!(cost.thread_wake_median_ns(60_000), 32_000);
        assert_eq!(cost.thread_wake_median_ns(300_000), 40_000);
        assert_eq!(cost.thread_wake_median_ns(20_000_000), 80_000);
        let wake_after = |asleep_ns: u64| {
            let mut w = world_with_cost(1, cost.clone());
            w.ms[0].asleep_since_ns = 1_000;
            w.thread_wake_latency_at(MId(0), 1_000 + asleep_ns)
        };
        let (soon, mid, late) = (
            wake_after(4_000),
            wake_after(60_000),
            wake_after(20_000_000),
        );
        assert!(soon > 0);
        assert!(soon < mid && mid < late, "{soon} {mid} {late}");
        assert!(soon.abs_diff(late / 4) <= 1, "{soon} {late}");
        assert!((soon * 8).abs_diff(mid * 5) <= 8, "{soon} {mid}");
    }

    #[test]
    fn thread_latencies_follow_the_quantiles_with_a_long_right_tail() {
        let c = sim_core::cost::CostModel {
            thread_latency_p10_ppm: 500_000,
            thread_latency_p90_ppm: 2_000_000,
            thread_latency_p99_ppm: 5_000_000,
            ..Default::default()
        };
        let at = |u| thread_latency_ratio_ppm(u, &c);
        assert_eq!(at(0), 500_000);
        assert_eq!(at(100_000), 500_000);
        assert_eq!(at(300_000), 750_000);
        assert_eq!(at(500_000), 1_000_000);
        assert_eq!(at(900_000), 2_000_000);
        assert_eq!(at(945_000), 3_500_000);
        assert_eq!(at(990_000), 5_000_000);
        assert_eq!(at(999_999), 5_000_000);
        // Monotone, so a slower PCT priority is never a faster wake-up.
        let mut last = 0;
        for u in (0..1_000_000).step_by(997) {
            assert!(at(u) >= last);
            last = at(u);
        }
    }

    #[test]
    fn an_epoll_timeout_s_slack_is_a_thousandth_of_it_within_bounds() {
        const MS: u64 = sim_core::time::MILLISECOND_NS;
        assert_eq!(epoll_slack_ns(MS, 50_000), 50_000);
        assert_eq!(epoll_slack_ns(10 * MS, 50_000), 50_000);
        assert_eq!(epoll_slack_ns(1_999 * MS, 50_000), 1_999_000);
        assert_eq!(epoll_slack_ns(1_000_000 * MS, 50_000), 100 * MS);
    }
}
