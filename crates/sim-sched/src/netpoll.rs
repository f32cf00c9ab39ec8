//! The network poller as the scheduler sees it (netpoll.go, proc.go's
//! `injectglist` and netpoll calls).
//!
//! A goroutine waiting on the network parks with "IO wait"; its data arrives
//! at a fixed time (the scenario's latency). Ready goroutines are found by
//! polling, which happens in three places, as in Go: `findRunnable`'s
//! non-blocking poll (only when no M is blocked in netpoll), an M blocked in
//! netpoll (epoll_wait returns when data arrives or its timer timeout ends),
//! and sysmon when nobody has polled for 10 ms. Found goroutines go through
//! `injectglist`: without a P all go to the global queue and idle Ps get Ms;
//! with a P, one per idle P goes to the global queue (with an M started for
//! each) and the rest to the local queue.
//!
//! Simplification: no file descriptors or epoll events are modelled, only
//! when each waiting goroutine's data arrives.

use crate::g::GIdx;
use crate::world::World;
use sim_core::ids::{MId, PId};
use sim_core::time::MILLISECOND_NS;
use sim_core::trace::{MStartReason, Placement, WaitReason};
use std::cmp::Reverse;

/// sysmon polls the network when nobody has for this long.
pub const SYSMON_NETPOLL_NS: u64 = 10 * MILLISECOND_NS;

impl World {
    /// A network read whose data arrives in `latency_ns`: park in "IO wait".
    pub(crate) fn net_wait(&mut self, m: MId, latency_ns: u64) {
        let g = self.ms[m.index()].curg.expect("M runs a G");
        let ready_ns = self.now_ns + latency_ns;
        let seq = self.netpoll_seq;
        self.netpoll_seq += 1;
        self.netpoll.push(Reverse((ready_ns, seq, g)));
        self.sched.netpoll_inited = true;
        self.park(m, WaitReason::IoWait);
        // An M blocked in netpoll returns when the data arrives.
        self.netpoll_wake_blocked_at(ready_ns);
        self.schedule(m);
    }

    /// Whether any goroutine waits on the network (`netpollAnyWaiters`).
    pub(crate) fn netpoll_any_waiters(&self) -> bool {
        !self.netpoll.is_empty()
    }

    /// When the next waiting goroutine's data arrives.
    pub(crate) fn netpoll_next_ready_ns(&self) -> Option<u64> {
        self.netpoll.peek().map(|Reverse((t, _, _))| *t)
    }

    /// `netpoll(0)`: the goroutines whose data has arrived.
    pub(crate) fn netpoll_ready(&mut self) -> Vec<GIdx> {
        let mut ready = Vec::new();
        while let Some(Reverse((t, _, g))) = self.netpoll.peek().copied() {
            if t > self.now_ns {
                break;
            }
            self.netpoll.pop();
            ready.push(g);
        }
        ready
    }

    /// The M blocked in netpoll wakes no later than `at_ns` (plus the time
    /// the kernel takes to wake it).
    pub(crate) fn netpoll_wake_blocked_at(&mut self, at_ns: u64) {
        let Some(m) = self.sched.netpoll_m else {
            return;
        };
        let crate::m::MState::Netpoll {
            until_ns,
            was_spinning,
        } = self.ms[m.index()].state
        else {
            unreachable!("the netpoll M is not in netpoll");
        };
        let woken_ns = at_ns.max(self.now_ns);
        let wake_ns = woken_ns + self.thread_wake_latency_at(m, woken_ns);
        if wake_ns < until_ns {
            self.ms[m.index()].state = crate::m::MState::Netpoll {
                until_ns: wake_ns,
                was_spinning,
            };
            self.schedule_m(m, wake_ns);
        }
    }

    /// `injectglist`: make `list` runnable; `p` is the caller's P, if any.
    pub(crate) fn injectglist(&mut self, list: Vec<GIdx>, p: Option<PId>) {
        if list.is_empty() {
            return;
        }
        let Some(p) = p else {
            let n = list.len();
            for g in list {
                self.mark_unblocked(g, Placement::Global, None, None);
                self.sched.runq.push_back(g);
            }
            self.start_idle(n);
            return;
        };
        let mut rest = list.into_iter();
        let mut to_global = 0;
        for _ in 0..self.npidle() {
            let Some(g) = rest.next() else { break };
            self.mark_unblocked(g, Placement::Global, None, None);
            self.sched.runq.push_back(g);
            to_global += 1;
        }
        self.start_idle(to_global);
        for g in rest {
            if self.ps[p.index()].runq.len() < crate::p::LOCAL_RUNQ_CAPACITY {
                self.mark_unblocked(g, Placement::LocalTail { p }, None, None);
                self.ps[p.index()].runq.push_back(g);
            } else {
                self.mark_unblocked(g, Placement::Global, None, None);
                self.sched.runq.push_back(g);
            }
        }
        self.wakep();
    }

    /// `startIdle`: an M for each of up to `n` idle Ps.
    fn start_idle(&mut self, n: usize) {
        for _ in 0..n {
            let Some(p) = self.pidleget_spinning() else {
                break;
            };
            self.startm(p, false, MStartReason::Netpoll);
        }
    }

    /// sysmon's poll: if nobody has polled for 10 ms (and no M is blocked in
    /// netpoll), poll and inject what is ready.
    pub(crate) fn sysmon_netpoll(&mut self) {
        if !self.sched.netpoll_inited
            || self.sched.netpoll_m.is_some()
            || self.sched.lastpoll_ns + SYSMON_NETPOLL_NS >= self.now_ns
        {
            return;
        }
        self.sched.lastpoll_ns = self.now_ns;
        let ready = self.netpoll_ready();
        self.injectglist(ready, None);
    }
}
