//! The GC CPU limiter: a leaky bucket that turns assists off when the GC has
//! used more than half of the CPU for about a second.
//!
//! Mirrors go1.27.3's `gcCPULimiterState` in `runtime/mgclimit.go`:
//! `limiting`, `startGCTransition`/`finishGCTransition` (the whole STW pause
//! × GOMAXPROCS is GC time), `needUpdate` (every 10 ms), `update` /
//! `updateLocked` (assist time, plus a flat 25 % of the window while the GC
//! is in its mark phase, is GC time; idle time leaves the window; the rest is
//! mutator time), `accumulate` (fill += GC time − mutator time, clamped to
//! `[0, capacity]`; enabled exactly when full, recording `numgc + 1` as the
//! last enabled cycle; disabled as soon as it drains), `resetCapacity`
//! (capacity = GOMAXPROCS × 1 s).
//!
//! Simplified: the per-P `limiterEvent` stamps (time of an assist or idle
//! period still in progress when an update runs) are not kept; the scheduler
//! adds a period's time when the period ends, so an update in the middle of
//! a long idle period sees it late.

use serde::{Deserialize, Serialize};

/// `gcCPULimiterUpdatePeriod`.
pub const LIMITER_UPDATE_PERIOD_NS: i64 = 10_000_000;
/// `capacityPerProc`: one second of CPU per P.
pub const LIMITER_CAPACITY_PER_PROC_NS: u64 = 1_000_000_000;

/// `gcCPULimiterState`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuLimiter {
    /// Limiting: assists are skipped.
    pub enabled: bool,
    /// The GC is in its mark phase (25 % of every window is charged to it).
    pub gc_enabled: bool,
    transitioning: bool,
    pub fill_ns: u64,
    pub capacity_ns: u64,
    /// GC time that overflowed a full bucket.
    pub overflow_ns: u64,
    assist_time_pool_ns: i64,
    idle_time_pool_ns: i64,
    pub last_update_ns: i64,
    /// `/gc/limiter/last-enabled:gc-cycle`: 0 when never enabled.
    pub last_enabled_cycle: u32,
    nprocs: i32,
}

impl CpuLimiter {
    /// The limiter at start-up, after `procresize`'s `resetCapacity`.
    pub fn new(now_ns: i64, gomaxprocs: u32) -> CpuLimiter {
        CpuLimiter {
            enabled: false,
            gc_enabled: false,
            transitioning: false,
            fill_ns: 0,
            capacity_ns: gomaxprocs as u64 * LIMITER_CAPACITY_PER_PROC_NS,
            overflow_ns: 0,
            assist_time_pool_ns: 0,
            idle_time_pool_ns: 0,
            last_update_ns: now_ns,
            last_enabled_cycle: 0,
            nprocs: gomaxprocs as i32,
        }
    }

    /// `limiting`: assists return at once and `gcDrainN` stops early.
    pub fn limiting(&self) -> bool {
        self.enabled
    }

    /// `startGCTransition`: account up to now, then switch the mark-phase flag.
    /// The pause that follows counts entirely as GC time.
    pub fn start_gc_transition(&mut self, enable_gc: bool, now_ns: i64, numgc: u32) {
        debug_assert_ne!(
            self.gc_enabled, enable_gc,
            "transitioning to the same state"
        );
        self.update_locked(now_ns, numgc);
        self.gc_enabled = enable_gc;
        self.transitioning = true;
    }

    /// `finishGCTransition`: the pause (since the last update) × GOMAXPROCS
    /// is GC time.
    pub fn finish_gc_transition(&mut self, now_ns: i64, numgc: u32) {
        debug_assert!(self.transitioning, "finish without a start");
        if now_ns >= self.last_update_ns {
            self.accumulate(
                0,
                (now_ns - self.last_update_ns) * self.nprocs as i64,
                numgc,
            );
        }
        self.last_update_ns = now_ns;
        self.transitioning = false;
    }

    /// `needUpdate`: more than 10 ms since the last update.
    pub fn need_update(&self, now_ns: i64) -> bool {
        now_ns - self.last_update_ns > LIMITER_UPDATE_PERIOD_NS
    }

    /// Assist time (mark and scavenge assists) to charge at the next update.
    pub fn add_assist_time(&mut self, duration_ns: i64) {
        self.assist_time_pool_ns += duration_ns;
    }

    /// Idle time (idle Ps and idle mark workers) to leave out of the next window.
    pub fn add_idle_time(&mut self, duration_ns: i64) {
        self.idle_time_pool_ns += duration_ns;
    }

    /// `update`: does nothing during a transition (Go's try-lock fails then).
    pub fn update(&mut self, now_ns: i64, numgc: u32) {
        if self.transitioning {
            return;
        }
        self.update_locked(now_ns, numgc);
    }

    fn update_locked(&mut self, now_ns: i64, numgc: u32) {
        if now_ns < self.last_update_ns {
            return;
        }
        let mut window_total = (now_ns - self.last_update_ns) * self.nprocs as i64;
        self.last_update_ns = now_ns;
        let assist = std::mem::take(&mut self.assist_time_pool_ns);
        let idle = std::mem::take(&mut self.idle_time_pool_ns);
        let mut window_gc = assist;
        if self.gc_enabled {
            window_gc += (window_total as f64 * crate::pacer::GC_BACKGROUND_UTILIZATION) as i64;
        }
        window_total -= idle;
        self.accumulate(window_total - window_gc, window_gc, numgc);
    }

    /// `accumulate`.
    fn accumulate(&mut self, mutator_ns: i64, gc_ns: i64, numgc: u32) {
        let headroom = self.capacity_ns - self.fill_ns;
        let was_enabled = headroom == 0;
        let change = gc_ns - mutator_ns;
        if change > 0 && headroom <= change as u64 {
            self.overflow_ns += change as u64 - headroom;
            self.fill_ns = self.capacity_ns;
            if !was_enabled {
                self.enabled = true;
                self.last_enabled_cycle = numgc + 1;
            }
            return;
        }
        if change < 0 && self.fill_ns <= change.unsigned_abs() {
            self.fill_ns = 0;
        } else {
            self.fill_ns = self.fill_ns.wrapping_add_signed(change);
        }
        if change != 0 && was_enabled {
            self.enabled = false;
        }
    }

    /// `resetCapacity` (GOMAXPROCS changed).
    pub fn reset_capacity(&mut self, now_ns: i64, gomaxprocs: u32, numgc: u32) {
        self.update_locked(now_ns, numgc);
        self.nprocs = gomaxprocs as i32;
        self.capacity_ns = gomaxprocs as u64 * LIMITER_CAPACITY_PER_PROC_NS;
        if self.fill_ns > self.capacity_ns {
            self.fill_ns = self.capacity_ns;
            self.enabled = true;
            self.last_enabled_cycle = numgc + 1;
        } else if self.fill_ns < self.capacity_ns {
            self.enabled = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn capacity_is_one_second_per_p() {
        assert_eq!(CpuLimiter::new(0, 4).capacity_ns, 4_000_000_000);
    }

    #[test]
    fn mark_phase_alone_never_fills_the_bucket() {
        // 2 Ps, mark phase on for 100 ms with no assists: window 200 ms of
        // CPU, GC 25 % = 50 ms, mutator 150 ms: change −100 ms, fill stays 0.
        let mut l = CpuLimiter::new(0, 2);
        l.start_gc_transition(true, 0, 0);
        l.finish_gc_transition(0, 0);
        l.update(100 * MS, 0);
        assert_eq!(l.fill_ns, 0);
        assert!(!l.limiting());
    }

    #[test]
    fn stw_pauses_count_whole_as_gc_time() {
        // A 3 ms pause on 2 Ps: 6 ms of GC time, no mutator time.
        let mut l = CpuLimiter::new(0, 2);
        l.start_gc_transition(true, 10 * MS, 0);
        l.finish_gc_transition(13 * MS, 0);
        assert_eq!(l.fill_ns, 6 * MS as u64);
        assert_eq!(l.last_update_ns, 13 * MS);
    }

    #[test]
    fn assists_above_half_the_cpu_fill_the_bucket_and_enable_limiting() {
        // 1 P, mark phase on: every 10 ms window has 2.5 ms of background GC
        // and 5 ms of assists: GC 7.5 ms, mutator 2.5 ms, fill += 5 ms. The
        // 1 s bucket fills after 200 windows (2 s), during cycle numgc+1 = 8.
        let mut l = CpuLimiter::new(0, 1);
        l.start_gc_transition(true, 0, 7);
        l.finish_gc_transition(0, 7);
        let mut now = 0;
        for _ in 0..199 {
            now += 10 * MS;
            l.add_assist_time(5 * MS);
            l.update(now, 7);
        }
        assert_eq!(l.fill_ns, 995 * MS as u64);
        assert!(!l.limiting());
        now += 10 * MS;
        l.add_assist_time(5 * MS);
        l.update(now, 7);
        assert!(l.limiting());
        assert_eq!(l.fill_ns, l.capacity_ns);
        assert_eq!(l.last_enabled_cycle, 8);
        // Full and still over: overflow accumulates, still limiting.
        now += 10 * MS;
        l.add_assist_time(5 * MS);
        l.update(now, 7);
        assert_eq!(l.overflow_ns, 5 * MS as u64);
        assert!(l.limiting());
        // A window of mostly mutator time drains it: disabled at once.
        now += 10 * MS;
        l.update(now, 7);
        assert!(!l.limiting());
        assert_eq!(l.fill_ns, 995 * MS as u64);
    }

    #[test]
    fn idle_time_leaves_the_window() {
        // 2 Ps for 10 ms, one idle throughout: window 20 − 10 = 10 ms, GC
        // 25 % of 20 = 5 ms, mutator 5 ms: no change.
        let mut l = CpuLimiter::new(0, 2);
        l.start_gc_transition(true, 0, 0);
        l.finish_gc_transition(0, 0);
        l.fill_ns = 100;
        l.add_idle_time(10 * MS);
        l.update(10 * MS, 0);
        assert_eq!(l.fill_ns, 100);
    }

    #[test]
    fn updates_wait_for_the_10_ms_period_and_skip_transitions() {
        let mut l = CpuLimiter::new(0, 1);
        assert!(!l.need_update(10 * MS));
        assert!(l.need_update(10 * MS + 1));
        l.start_gc_transition(true, 5 * MS, 0);
        l.update(50 * MS, 0);
        assert_eq!(l.last_update_ns, 5 * MS);
    }

    #[test]
    fn shrinking_gomaxprocs_can_overfill_and_enable() {
        let mut l = CpuLimiter::new(0, 4);
        l.fill_ns = 3_000_000_000;
        l.reset_capacity(0, 2, 11);
        assert_eq!(l.fill_ns, 2_000_000_000);
        assert!(l.limiting());
        assert_eq!(l.last_enabled_cycle, 12);
    }
}
