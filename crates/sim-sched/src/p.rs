//! Processors: Go's `p` (runtime2.go) with its run queues and timer heap.
//!
//! The local run queue is Go's 256-slot ring plus the `runnext` slot. Only the
//! owner pushes; the model applies every queue operation atomically, so the
//! lock-free protocol (CAS on `runqhead`) is not modelled — the decisions are.

use crate::g::GIdx;
use sim_core::ids::{MId, PId};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Capacity of a P's local ring (`len(pp.runq)` in runtime2.go).
pub const LOCAL_RUNQ_CAPACITY: usize = 256;
/// Goids are handed to a P in batches of this size (`_GoidCacheBatch`).
pub const GOID_CACHE_BATCH: u64 = 16;
/// A P's gFree list spills to the global list when it reaches this size...
pub const GFREE_SPILL_AT: usize = 64;
/// ...until this many remain; an empty list refills up to this many (gfput/gfget).
pub const GFREE_KEEP: usize = 32;

/// A P's status (Go's `_Pidle` ...), numbered as `scheddetail` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PStatus {
    Idle,
    Running,
    /// Stopped for a stop-the-world (`_Pgcstop`).
    GcStop,
}

impl PStatus {
    pub fn go_code(self) -> u32 {
        match self {
            PStatus::Idle => 0,
            PStatus::Running => 1,
            PStatus::GcStop => 3,
        }
    }
}

/// What sysmon last saw of a P (Go's `sysmontick`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysmonTick {
    pub schedtick: u32,
    pub schedwhen_ns: u64,
    pub syscalltick: u32,
    pub syscallwhen_ns: u64,
}

/// A timer on a P's heap: a sleeping goroutine's wake-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    pub when_ns: u64,
    /// Insertion order, to break ties deterministically.
    pub seq: u64,
    pub kind: TimerKind,
}

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// Wake a goroutine sleeping in time.Sleep.
    Wake(GIdx),
    /// Send on a `time.After` channel.
    ChanSend(sim_core::ids::ChannelId),
    /// The background scavenger's sleep ends (its timer calls `wake`).
    ScavengerWake,
}

/// One P.
#[derive(Clone, Debug)]
pub struct P {
    pub id: PId,
    pub status: PStatus,
    pub m: Option<MId>,
    pub runnext: Option<GIdx>,
    pub runq: VecDeque<GIdx>,
    pub schedtick: u32,
    pub syscalltick: u32,
    pub sysmontick: SysmonTick,
    pub timers: BinaryHeap<Reverse<Timer>>,
    /// Dead G slots cached for reuse (LIFO).
    pub gfree: Vec<GIdx>,
    pub goidcache: u64,
    pub goidcacheend: u64,
    /// When the P last went idle (the GC CPU limiter counts idle time).
    pub idle_since_ns: u64,
    /// On the idle P list (Go's `idlepMask`). A P handed to a starting M
    /// is off the list but not yet running: thieves may steal from it.
    pub idle_listed: bool,
    /// `runSafePointFn`: `gcMarkDone`'s ragged barrier waits for this P to
    /// flush its write-barrier buffer at its next safe point.
    pub run_safe_point_fn: bool,
}

impl P {
    pub fn new(id: PId) -> Self {
        Self {
            id,
            status: PStatus::Idle,
            m: None,
            runnext: None,
            runq: VecDeque::with_capacity(LOCAL_RUNQ_CAPACITY),
            schedtick: 0,
            syscalltick: 0,
            sysmontick: SysmonTick::default(),
            timers: BinaryHeap::new(),
            gfree: Vec::new(),
            goidcache: 0,
            goidcacheend: 0,
            idle_since_ns: 0,
            idle_listed: false,
            run_safe_point_fn: false,
        }
    }

    /// `runqempty`: no runnext and an empty ring.
    pub fn runq_empty(&self) -> bool {
        self.runnext.is_none() && self.runq.is_empty()
    }

    /// Length of the ring, excluding runnext (what schedtrace prints).
    pub fn runq_len(&self) -> u32 {
        self.runq.len() as u32
    }

    /// When this P's earliest timer is due (`timers.wakeTime`).
    pub fn next_timer_ns(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse(t)| t.when_ns)
    }
}

/// Result of `runqput`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunqPut {
    /// Placed; `kicked` is a former runnext G moved to the ring's tail.
    Placed { kicked: Option<GIdx> },
    /// The ring was full: these Gs (half the ring, then the new G) must go
    /// to the global queue, in this order (`runqputslow`).
    Spill {
        batch: Vec<GIdx>,
        kicked: Option<GIdx>,
    },
}

/// `runqput(pp, gp, next)`: runnext (kicking the old one to the tail), else the
/// tail; a full ring spills half of itself plus the G.
pub fn runqput(p: &mut P, g: GIdx, next: bool) -> RunqPut {
    let mut g = g;
    let mut kicked = None;
    if next {
        match p.runnext.replace(g) {
            None => return RunqPut::Placed { kicked: None },
            Some(old) => {
                kicked = Some(old);
                g = old;
            }
        }
    }
    if p.runq.len() < LOCAL_RUNQ_CAPACITY {
        p.runq.push_back(g);
        return RunqPut::Placed { kicked };
    }
    let half = LOCAL_RUNQ_CAPACITY / 2;
    let mut batch: Vec<GIdx> = p.runq.drain(..half).collect();
    batch.push(g);
    RunqPut::Spill { batch, kicked }
}

/// `runqget`: runnext first (inheriting the time slice), then the ring's head.
pub fn runqget(p: &mut P) -> Option<(GIdx, bool)> {
    if let Some(g) = p.runnext.take() {
        return Some((g, true));
    }
    p.runq.pop_front().map(|g| (g, false))
}

/// `runqgrab` without runnext: the first `n - n/2` Gs of the victim's ring.
pub fn runqgrab_half(victim: &mut P) -> Vec<GIdx> {
    let n = victim.runq.len();
    let take = n - n / 2;
    victim.runq.drain(..take).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p_with(n: u32) -> P {
        let mut p = P::new(PId(0));
        for i in 0..n {
            p.runq.push_back(GIdx(i));
        }
        p
    }

    #[test]
    fn runnext_kicks_the_previous_g_to_the_tail() {
        let mut p = p_with(2);
        assert_eq!(
            runqput(&mut p, GIdx(10), true),
            RunqPut::Placed { kicked: None }
        );
        assert_eq!(
            runqput(&mut p, GIdx(11), true),
            RunqPut::Placed {
                kicked: Some(GIdx(10))
            }
        );
        assert_eq!(p.runnext, Some(GIdx(11)));
        assert_eq!(p.runq.back(), Some(&GIdx(10)));
        assert_eq!(runqget(&mut p), Some((GIdx(11), true)));
        assert_eq!(runqget(&mut p), Some((GIdx(0), false)));
    }

    #[test]
    fn a_full_ring_spills_half_plus_the_new_g() {
        let mut p = p_with(256);
        match runqput(&mut p, GIdx(999), false) {
            RunqPut::Spill { batch, kicked } => {
                assert_eq!(batch.len(), 129);
                assert_eq!(batch[0], GIdx(0));
                assert_eq!(batch[127], GIdx(127));
                assert_eq!(batch[128], GIdx(999));
                assert_eq!(kicked, None);
            }
            other => panic!("expected a spill, got {other:?}"),
        }
        assert_eq!(p.runq.len(), 128);
        assert_eq!(p.runq.front(), Some(&GIdx(128)));
    }

    #[test]
    fn stealing_takes_half_rounded_up_from_the_head() {
        let mut p = p_with(7);
        assert_eq!(
            runqgrab_half(&mut p),
            vec![GIdx(0), GIdx(1), GIdx(2), GIdx(3)]
        );
        assert_eq!(p.runq.len(), 3);
        let mut one = p_with(1);
        assert_eq!(runqgrab_half(&mut one).len(), 1);
    }
}
