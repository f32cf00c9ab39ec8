//! The GC pacer: heap goal, trigger, worker counts and the assist ratio.
//!
//! Mirrors go1.27.3's `gcControllerState` in `runtime/mgcpacer.go`: `init`,
//! `startCycle` (dedicated and fractional workers from GOMAXPROCS with Go's
//! rounding rule), `revise` (the assist ratio, with the extrapolated and the
//! overshoot goals), `endCycle` (cons/mark: the maximum of this cycle's value
//! and the previous four), `resetLive`, `markWorkerStop`, `update`,
//! `addScannableStack`, `heapGoalInternal` (the smaller of the GOGC goal and the
//! memory-limit goal, with the sweep-distance and minimum-runway floors),
//! `memoryLimitHeapGoal` (3 % / 1 MiB headroom), `trigger` (45/64 and 61/64
//! bounds, `goal − 4 MiB`), `commit` (the GOGC goal in integer arithmetic,
//! floored at 4 MiB × GOGC/100; the runway from cons/mark), `setGCPercent`,
//! `setMemoryLimit`, `readGOGC`, `readGOMEMLIMIT` (`parseByteCount`), the
//! idle-worker counters and `assignWaitingGCWorker`'s choice of mode; and the
//! arithmetic of `gcAssistAlloc` (64 KiB minimum assist, stealing background
//! credit) and `gcFlushBgCredit` from `runtime/mgcmark.go`.
//!
//! Integer bytes everywhere; `f64` only where Go uses `float64` (cons/mark,
//! utilisation, the assist ratios), with Go's operation order so results match
//! bit for bit.
//!
//! Simplified: counters are exact rather than flushed in slack-sized batches
//! (`gcCreditSlack`, `gcAssistTimeSlack`, `maxStackScanSlack`); the worker pool
//! and its goroutines belong to the scheduler, so [`Pacer::assign_worker`]
//! answers only "which mode, if any".

use serde::{Deserialize, Serialize};
use sim_core::ids::PId;

/// `gcBackgroundUtilization` (= `gcGoalUtilization`).
pub const GC_BACKGROUND_UTILIZATION: f64 = 0.25;
/// `gcGoalUtilization`.
pub const GC_GOAL_UTILIZATION: f64 = GC_BACKGROUND_UTILIZATION;
/// `gcOverAssistWork`: an assist does at least 64 KiB of scan work.
pub const GC_OVER_ASSIST_WORK_BYTES: i64 = 64 << 10;
/// `defaultHeapMinimum`: the GOGC=100 heap minimum.
pub const DEFAULT_HEAP_MINIMUM_BYTES: u64 = 4 << 20;
/// `memoryLimitMinHeapGoalHeadroom`.
pub const MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM_BYTES: u64 = 1 << 20;
/// `memoryLimitHeapGoalHeadroomPercent`.
pub const MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT: u64 = 3;
/// `sweepMinHeapDistance` in mgc.go.
pub const SWEEP_MIN_HEAP_DISTANCE_BYTES: u64 = 1024 * 1024;
/// `minRunway` in `heapGoalInternal`.
pub const MIN_RUNWAY_BYTES: u64 = 64 << 10;
/// `triggerRatioDen`, `minTriggerRatioNum` (≈0.7), `maxTriggerRatioNum` (≈0.95).
pub const TRIGGER_RATIO_DEN: u64 = 64;
pub const MIN_TRIGGER_RATIO_NUM: u64 = 45;
pub const MAX_TRIGGER_RATIO_NUM: u64 = 61;
/// `maxUtilError` in `startCycle`.
const MAX_UTIL_ERROR: f64 = 0.3;
/// `maxOvershoot` in `revise`.
const MAX_OVERSHOOT: f64 = 1.1;
/// GOGC=off is treated as this in `revise` (a forced GC still paces).
const GOGC_OFF_REVISE_PERCENT: i32 = 100_000;
/// GOMEMLIMIT unset or "off".
pub const NO_MEMORY_LIMIT: i64 = i64::MAX;

/// Why a cycle starts (`gcTrigger.kind`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum TriggerKind {
    /// `gcTriggerHeap`: heapLive reached the trigger.
    Heap,
    /// `gcTriggerTime`: two minutes without a GC (forcegc).
    Time,
    /// `gcTriggerCycle`: `runtime.GC()`.
    Cycle,
}

/// `gcMarkWorkerMode`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum WorkerMode {
    /// Runs until no work is left (the 25 % utilisation in whole Ps).
    Dedicated,
    /// Runs until this P's share of the mark phase exceeds the fractional goal.
    Fractional,
    /// Runs on a P that would otherwise be idle, until other work appears.
    Idle,
}

/// What `startCycle` decided about background workers.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub struct WorkerPlan {
    pub dedicated_workers: i64,
    /// `fractionalUtilizationGoal`: share of each P's time for the fractional
    /// worker (0 when none).
    pub fractional_utilization_goal: f64,
    /// The cap on idle-priority workers.
    pub max_idle_workers: i32,
}

/// The memory figures `memoryLimitHeapGoal` reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct MemoryInputs {
    /// `heapFree`: free pages not returned to the OS.
    pub heap_free_bytes: u64,
    /// `totalAlloc − totalFree`: object bytes in use, live or unswept.
    pub heap_alloc_bytes: u64,
    /// `mappedReady`: mapped memory not released (heap, stacks, metadata).
    pub mapped_ready_bytes: u64,
}

/// `gcAssistAlloc`'s first steps: the scan work owed, after stealing
/// background credit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AssistPlan {
    /// Scan work taken from `bgScanCredit`.
    pub stolen_work_bytes: i64,
    /// Scan work left for the assist to do itself (0 when stealing paid all).
    pub scan_work_bytes: i64,
}

/// `gcControllerState`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pacer {
    /// GOGC; −1 is "off".
    pub gc_percent: i32,
    /// GOMEMLIMIT in bytes; [`NO_MEMORY_LIMIT`] when unset.
    pub memory_limit_bytes: i64,
    /// 4 MiB × GOGC/100.
    pub heap_minimum_bytes: u64,
    /// Heap bytes the mutator may allocate while a cycle runs.
    pub runway_bytes: u64,
    pub cons_mark: f64,
    /// The measured cons/mark of the previous four cycles.
    pub last_cons_mark: [f64; 4],
    /// The GOGC-derived goal (`u64::MAX` when GOGC is off).
    pub gc_percent_heap_goal_bytes: u64,
    pub sweep_dist_min_trigger_bytes: u64,
    /// heapLive when the current cycle started; `None` outside a cycle.
    pub triggered_bytes: Option<u64>,
    /// The goal at the end of the last mark phase (gctrace's `goal`).
    pub last_heap_goal_bytes: u64,
    /// heapLive: marked by the last cycle plus allocated since (spans
    /// counted whole when an mcache takes them).
    pub heap_live_bytes: u64,
    /// Scannable part of heapLive, fixed during a cycle.
    pub heap_scan_bytes: u64,
    pub last_heap_scan_bytes: u64,
    pub last_stack_scan_bytes: u64,
    /// Allocated goroutine stack bytes (`maxStackScan`).
    pub max_stack_scan_bytes: u64,
    pub globals_scan_bytes: u64,
    /// Bytes marked by the last cycle.
    pub heap_marked_bytes: u64,
    pub heap_scan_work_bytes: i64,
    pub stack_scan_work_bytes: i64,
    pub globals_scan_work_bytes: i64,
    pub bg_scan_credit_bytes: i64,
    pub assist_time_ns: i64,
    pub dedicated_mark_time_ns: i64,
    pub fractional_mark_time_ns: i64,
    pub idle_mark_time_ns: i64,
    pub mark_start_time_ns: i64,
    pub dedicated_mark_workers_needed: i64,
    pub idle_mark_workers: i32,
    pub max_idle_mark_workers: i32,
    pub assist_work_per_byte: f64,
    pub assist_bytes_per_work: f64,
    pub fractional_utilization_goal: f64,
    /// `p.gcFractionalMarkTime`, per P.
    pub p_fractional_mark_time_ns: Vec<i64>,
}

impl Pacer {
    /// `gcControllerState.init`: GOGC and GOMEMLIMIT applied, then a commit
    /// with sweeping done (no sweep phase before the first cycle).
    pub fn new(gc_percent: i32, memory_limit_bytes: i64, gomaxprocs: u32) -> Pacer {
        let mut pacer = Pacer {
            gc_percent: 100,
            memory_limit_bytes: NO_MEMORY_LIMIT,
            heap_minimum_bytes: DEFAULT_HEAP_MINIMUM_BYTES,
            runway_bytes: 0,
            cons_mark: 0.0,
            last_cons_mark: [0.0; 4],
            gc_percent_heap_goal_bytes: 0,
            sweep_dist_min_trigger_bytes: 0,
            triggered_bytes: None,
            last_heap_goal_bytes: 0,
            heap_live_bytes: 0,
            heap_scan_bytes: 0,
            last_heap_scan_bytes: 0,
            last_stack_scan_bytes: 0,
            max_stack_scan_bytes: 0,
            globals_scan_bytes: 0,
            heap_marked_bytes: 0,
            heap_scan_work_bytes: 0,
            stack_scan_work_bytes: 0,
            globals_scan_work_bytes: 0,
            bg_scan_credit_bytes: 0,
            assist_time_ns: 0,
            dedicated_mark_time_ns: 0,
            fractional_mark_time_ns: 0,
            idle_mark_time_ns: 0,
            mark_start_time_ns: 0,
            dedicated_mark_workers_needed: 0,
            idle_mark_workers: 0,
            max_idle_mark_workers: 0,
            assist_work_per_byte: 0.0,
            assist_bytes_per_work: 0.0,
            fractional_utilization_goal: 0.0,
            p_fractional_mark_time_ns: vec![0; gomaxprocs as usize],
        };
        pacer.set_gc_percent(gc_percent);
        pacer.set_memory_limit(memory_limit_bytes);
        pacer.commit(true);
        pacer
    }

    /// `setGCPercent`: any negative value means off; the heap minimum scales
    /// with GOGC. Returns the previous value. Callers commit afterwards.
    pub fn set_gc_percent(&mut self, gc_percent: i32) -> i32 {
        let old = self.gc_percent;
        let new = if gc_percent < 0 { -1 } else { gc_percent };
        // Go computes this in uint64, so "off" (−1) wraps to a huge minimum,
        // which is harmless because the GOGC goal is then infinite anyway.
        self.heap_minimum_bytes = DEFAULT_HEAP_MINIMUM_BYTES.wrapping_mul(new as i64 as u64) / 100;
        self.gc_percent = new;
        old
    }

    /// `setMemoryLimit`: negative values only read the current limit.
    pub fn set_memory_limit(&mut self, memory_limit_bytes: i64) -> i64 {
        let old = self.memory_limit_bytes;
        if memory_limit_bytes >= 0 {
            self.memory_limit_bytes = memory_limit_bytes;
        }
        old
    }

    /// `commit`: the GOGC goal `heapMarked + (heapMarked + lastStackScan +
    /// globalsScan) × GOGC / 100` in integer arithmetic, floored at the heap
    /// minimum; the sweep-distance floor; the runway `consMark × 0.75 / 0.25 ×
    /// last scan work`.
    pub fn commit(&mut self, is_sweep_done: bool) {
        self.sweep_dist_min_trigger_bytes = if is_sweep_done {
            0
        } else {
            self.heap_live_bytes + SWEEP_MIN_HEAP_DISTANCE_BYTES
        };
        let mut goal = u64::MAX;
        if self.gc_percent >= 0 {
            goal = self.heap_marked_bytes
                + (self.heap_marked_bytes + self.last_stack_scan_bytes + self.globals_scan_bytes)
                    * self.gc_percent as u64
                    / 100;
        }
        if goal < self.heap_minimum_bytes {
            goal = self.heap_minimum_bytes;
        }
        self.gc_percent_heap_goal_bytes = goal;
        let last_scan = (self.last_heap_scan_bytes
            + self.last_stack_scan_bytes
            + self.globals_scan_bytes) as f64;
        self.runway_bytes =
            (self.cons_mark * (1.0 - GC_GOAL_UTILIZATION) / GC_GOAL_UTILIZATION * last_scan) as u64;
    }

    /// `memoryLimitHeapGoal`.
    pub fn memory_limit_heap_goal(&self, mem: &MemoryInputs) -> u64 {
        let memory_limit = self.memory_limit_bytes as u64;
        let non_heap = mem.mapped_ready_bytes - mem.heap_free_bytes - mem.heap_alloc_bytes;
        let overage = mem.mapped_ready_bytes.saturating_sub(memory_limit);
        if non_heap + overage >= memory_limit {
            return self.heap_marked_bytes;
        }
        let mut goal = memory_limit - (non_heap + overage);
        let headroom = (goal / 100 * MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT)
            .max(MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM_BYTES);
        if goal < headroom || goal - headroom < headroom {
            goal = headroom;
        } else {
            goal -= headroom;
        }
        goal.max(self.heap_marked_bytes)
    }

    /// `heapGoalInternal`: the effective goal and the sweep-distance minimum
    /// trigger (which applies only when the GOGC goal is the smaller one).
    pub fn heap_goal_internal(&self, mem: &MemoryInputs) -> (u64, u64) {
        let mut goal = self.gc_percent_heap_goal_bytes;
        let mut min_trigger = 0;
        let limit_goal = self.memory_limit_heap_goal(mem);
        if limit_goal < goal {
            goal = limit_goal;
        } else {
            let sweep_dist_trigger = self.sweep_dist_min_trigger_bytes;
            if sweep_dist_trigger > goal {
                goal = sweep_dist_trigger;
            }
            min_trigger = sweep_dist_trigger;
            if let Some(triggered) = self.triggered_bytes
                && goal < triggered + MIN_RUNWAY_BYTES
            {
                goal = triggered + MIN_RUNWAY_BYTES;
            }
        }
        (goal, min_trigger)
    }

    /// `heapGoal`: `/gc/heap/goal:bytes`, `MemStats.NextGC`.
    pub fn heap_goal(&self, mem: &MemoryInputs) -> u64 {
        self.heap_goal_internal(mem).0
    }

    /// `trigger`: `(trigger, goal)`. A heap-triggered cycle starts when
    /// heapLive reaches the trigger.
    pub fn trigger(&self, mem: &MemoryInputs) -> (u64, u64) {
        let (goal, mut min_trigger) = self.heap_goal_internal(mem);
        let marked = self.heap_marked_bytes;
        if marked >= goal {
            return (goal, goal);
        }
        if min_trigger < marked {
            min_trigger = marked;
        }
        let lower_bound = (goal - marked) / TRIGGER_RATIO_DEN * MIN_TRIGGER_RATIO_NUM + marked;
        if min_trigger < lower_bound {
            min_trigger = lower_bound;
        }
        let mut max_trigger = (goal - marked) / TRIGGER_RATIO_DEN * MAX_TRIGGER_RATIO_NUM + marked;
        if goal > DEFAULT_HEAP_MINIMUM_BYTES && goal - DEFAULT_HEAP_MINIMUM_BYTES > max_trigger {
            max_trigger = goal - DEFAULT_HEAP_MINIMUM_BYTES;
        }
        max_trigger = max_trigger.max(min_trigger);
        let runway = self.runway_bytes;
        let trigger = if runway > goal {
            min_trigger
        } else {
            goal - runway
        };
        let trigger = trigger.max(min_trigger).min(max_trigger);
        debug_assert!(trigger <= goal, "trigger {trigger} above goal {goal}");
        (trigger, goal)
    }

    /// `startCycle`: reset the cycle's counters, record `triggered`, decide
    /// the background workers, and compute the first assist ratio.
    pub fn start_cycle(
        &mut self,
        mark_start_time_ns: i64,
        procs: u32,
        kind: TriggerKind,
        gcstoptheworld: bool,
        mem: &MemoryInputs,
    ) -> WorkerPlan {
        self.heap_scan_work_bytes = 0;
        self.stack_scan_work_bytes = 0;
        self.globals_scan_work_bytes = 0;
        self.bg_scan_credit_bytes = 0;
        self.assist_time_ns = 0;
        self.dedicated_mark_time_ns = 0;
        self.fractional_mark_time_ns = 0;
        self.idle_mark_time_ns = 0;
        self.mark_start_time_ns = mark_start_time_ns;
        self.triggered_bytes = Some(self.heap_live_bytes);

        let (mut dedicated, fractional) = worker_counts(procs);
        self.fractional_utilization_goal = fractional;
        if gcstoptheworld {
            dedicated = procs as i64;
            self.fractional_utilization_goal = 0.0;
        }
        self.p_fractional_mark_time_ns = vec![0; procs as usize];
        self.max_idle_mark_workers = if kind == TriggerKind::Time {
            if dedicated > 0 { 0 } else { 1 }
        } else {
            procs as i32 - dedicated as i32
        };
        self.dedicated_mark_workers_needed = dedicated;
        self.revise(mem);
        WorkerPlan {
            dedicated_workers: dedicated,
            fractional_utilization_goal: self.fractional_utilization_goal,
            max_idle_workers: self.max_idle_mark_workers,
        }
    }

    /// `revise`: the assist ratio, so that the remaining scan work is done by
    /// the time heapLive reaches the goal (extrapolated when this cycle
    /// already scanned more than expected; 1.1 × the goal once past it).
    pub fn revise(&mut self, mem: &MemoryInputs) {
        let gc_percent = if self.gc_percent < 0 {
            GOGC_OFF_REVISE_PERCENT
        } else {
            self.gc_percent
        };
        let live = self.heap_live_bytes;
        let scan = self.heap_scan_bytes;
        let work =
            self.heap_scan_work_bytes + self.stack_scan_work_bytes + self.globals_scan_work_bytes;
        let mut heap_goal = self.heap_goal(mem) as i64;
        let mut scan_work_expected = (self.last_heap_scan_bytes
            + self.last_stack_scan_bytes
            + self.globals_scan_bytes) as i64;
        let max_scan_work = (scan + self.max_stack_scan_bytes + self.globals_scan_bytes) as i64;
        if work > scan_work_expected {
            let triggered = self.triggered_bytes.unwrap_or(u64::MAX) as i64;
            let mut ext_heap_goal = go_f64_to_i64(
                (heap_goal.wrapping_sub(triggered)) as f64 / scan_work_expected as f64
                    * max_scan_work as f64,
            )
            .wrapping_add(triggered);
            scan_work_expected = max_scan_work;
            let hard_goal = go_f64_to_i64((1.0 + gc_percent as f64 / 100.0) * heap_goal as f64);
            if ext_heap_goal > hard_goal {
                ext_heap_goal = hard_goal;
            }
            heap_goal = ext_heap_goal;
        }
        if live as i64 > heap_goal {
            heap_goal = go_f64_to_i64(heap_goal as f64 * MAX_OVERSHOOT);
            scan_work_expected = max_scan_work;
        }
        let scan_work_remaining = (scan_work_expected - work).max(1000);
        let mut heap_remaining = heap_goal.wrapping_sub(live as i64);
        if heap_remaining <= 0 {
            heap_remaining = 1;
        }
        self.assist_work_per_byte = scan_work_remaining as f64 / heap_remaining as f64;
        self.assist_bytes_per_work = heap_remaining as f64 / scan_work_remaining as f64;
    }

    /// `endCycle`: record the goal for gctrace, then measure this cycle's
    /// cons/mark and keep the maximum of it and the previous four.
    pub fn end_cycle(&mut self, now_ns: i64, procs: u32, mem: &MemoryInputs) {
        self.last_heap_goal_bytes = self.heap_goal(mem);
        let assist_duration = now_ns - self.mark_start_time_ns;
        let mut utilization = GC_BACKGROUND_UTILIZATION;
        if assist_duration > 0 {
            utilization += self.assist_time_ns as f64 / (assist_duration * procs as i64) as f64;
        }
        let triggered = self.triggered_bytes.unwrap_or(u64::MAX);
        if self.heap_live_bytes <= triggered {
            return;
        }
        let mut idle_utilization = 0.0;
        if assist_duration > 0 {
            idle_utilization =
                self.idle_mark_time_ns as f64 / (assist_duration * procs as i64) as f64;
        }
        let scan_work =
            self.heap_scan_work_bytes + self.stack_scan_work_bytes + self.globals_scan_work_bytes;
        let current = ((self.heap_live_bytes - triggered) as f64
            * (utilization + idle_utilization))
            / (scan_work as f64 * (1.0 - utilization));
        self.cons_mark = current;
        for last in self.last_cons_mark {
            if last > self.cons_mark {
                self.cons_mark = last;
            }
        }
        self.last_cons_mark.copy_within(1.., 0);
        self.last_cons_mark[3] = current;
    }

    /// `resetLive` at mark termination: heapLive becomes the marked bytes and
    /// this cycle's scan work becomes the next cycle's expectation.
    pub fn reset_live(&mut self, bytes_marked: u64) {
        self.heap_marked_bytes = bytes_marked;
        self.heap_live_bytes = bytes_marked;
        self.heap_scan_bytes = self.heap_scan_work_bytes as u64;
        self.last_heap_scan_bytes = self.heap_scan_work_bytes as u64;
        self.last_stack_scan_bytes = self.stack_scan_work_bytes as u64;
        self.triggered_bytes = None;
    }

    /// `update`: heapLive moved (an mcache took a span, a large object, a
    /// flush); outside blackening the scannable heap grows too, during it the
    /// assist ratio is revised.
    pub fn update(
        &mut self,
        d_heap_live: i64,
        d_heap_scan: i64,
        blacken_enabled: bool,
        mem: &MemoryInputs,
    ) {
        if d_heap_live != 0 {
            self.heap_live_bytes = self.heap_live_bytes.saturating_add_signed(d_heap_live);
        }
        if !blacken_enabled {
            if d_heap_scan != 0 {
                self.heap_scan_bytes = self.heap_scan_bytes.saturating_add_signed(d_heap_scan);
            }
        } else {
            self.revise(mem);
        }
    }

    /// `addScannableStack`.
    pub fn add_scannable_stack(&mut self, amount_bytes: i64) {
        self.max_stack_scan_bytes = self
            .max_stack_scan_bytes
            .saturating_add_signed(amount_bytes);
    }

    /// `markWorkerStop`: a worker's time goes to its mode's counter.
    pub fn mark_worker_stop(&mut self, p: PId, mode: WorkerMode, duration_ns: i64) {
        match mode {
            WorkerMode::Dedicated => {
                self.dedicated_mark_time_ns += duration_ns;
                self.dedicated_mark_workers_needed += 1;
            }
            WorkerMode::Fractional => {
                self.fractional_mark_time_ns += duration_ns;
                if let Some(t) = self.p_fractional_mark_time_ns.get_mut(p.index()) {
                    *t += duration_ns;
                }
            }
            WorkerMode::Idle => {
                self.idle_mark_time_ns += duration_ns;
                self.idle_mark_workers -= 1;
                debug_assert!(self.idle_mark_workers >= 0, "negative idle mark workers");
            }
        }
    }

    /// `assignWaitingGCWorker` without the pool: a dedicated slot if one is
    /// free, else fractional if this P is within its fractional goal.
    /// `has_work` is `gcShouldScheduleWorker`.
    pub fn assign_worker(&mut self, p: PId, now_ns: i64, has_work: bool) -> Option<WorkerMode> {
        if !has_work {
            return None;
        }
        if self.dedicated_mark_workers_needed <= 0 && self.fractional_utilization_goal == 0.0 {
            return None;
        }
        if self.dedicated_mark_workers_needed > 0 {
            self.dedicated_mark_workers_needed -= 1;
            return Some(WorkerMode::Dedicated);
        }
        if self.fractional_utilization_goal == 0.0 {
            return None;
        }
        let delta = now_ns - self.mark_start_time_ns;
        let p_time = self
            .p_fractional_mark_time_ns
            .get(p.index())
            .copied()
            .unwrap_or(0);
        if delta > 0 && p_time as f64 / delta as f64 > self.fractional_utilization_goal {
            return None;
        }
        Some(WorkerMode::Fractional)
    }

    /// `addIdleMarkWorker`: true when another idle worker may start.
    pub fn add_idle_mark_worker(&mut self) -> bool {
        if self.idle_mark_workers >= self.max_idle_mark_workers {
            return false;
        }
        self.idle_mark_workers += 1;
        true
    }

    /// `needIdleMarkWorker`.
    pub fn need_idle_mark_worker(&self) -> bool {
        self.idle_mark_workers < self.max_idle_mark_workers
    }

    /// `gcAssistAlloc`'s work owed for a debt of `debt_bytes` (the negated
    /// `gcAssistBytes`): `assistWorkPerByte × debt`, raised to 64 KiB when
    /// smaller (then the debt is recomputed from `assistBytesPerWork`); part
    /// or all of it stolen from background credit. Returns the plan and the
    /// change to the goroutine's `gcAssistBytes`.
    pub fn plan_assist(&mut self, debt_bytes: i64) -> (AssistPlan, i64) {
        let mut debt = debt_bytes;
        let mut scan_work = (self.assist_work_per_byte * debt as f64) as i64;
        if scan_work < GC_OVER_ASSIST_WORK_BYTES {
            scan_work = GC_OVER_ASSIST_WORK_BYTES;
            debt = (self.assist_bytes_per_work * scan_work as f64) as i64;
        }
        let mut credit_change = 0;
        let mut stolen = 0;
        let bg = self.bg_scan_credit_bytes;
        if bg > 0 {
            if bg < scan_work {
                stolen = bg;
                credit_change = 1 + (self.assist_bytes_per_work * stolen as f64) as i64;
            } else {
                stolen = scan_work;
                credit_change = debt;
            }
            self.bg_scan_credit_bytes -= stolen;
            scan_work -= stolen;
        }
        (
            AssistPlan {
                stolen_work_bytes: stolen,
                scan_work_bytes: scan_work,
            },
            credit_change,
        )
    }

    /// `gcAssistAlloc1`'s credit for `work_done_bytes` of scanning.
    pub fn assist_credit_for(&self, work_done_bytes: i64) -> i64 {
        1 + (self.assist_bytes_per_work * work_done_bytes as f64) as i64
    }

    /// `gcFlushBgCredit`: background scan work pays parked assists in queue
    /// order; what is left becomes `bgScanCredit`. `queue` holds each parked
    /// goroutine's `gcAssistBytes` (negative); returns how many from the front
    /// are paid off (their balance becomes 0), and the new balance of the
    /// next one when it was paid in part.
    pub fn flush_bg_credit(&mut self, scan_work_bytes: i64, queue: &mut [i64]) -> usize {
        if queue.is_empty() {
            self.bg_scan_credit_bytes += scan_work_bytes;
            return 0;
        }
        let mut scan_bytes = (scan_work_bytes as f64 * self.assist_bytes_per_work) as i64;
        let mut paid = 0;
        for balance in queue.iter_mut() {
            if scan_bytes <= 0 {
                break;
            }
            if scan_bytes + *balance >= 0 {
                scan_bytes += *balance;
                *balance = 0;
                paid += 1;
            } else {
                *balance += scan_bytes;
                scan_bytes = 0;
                break;
            }
        }
        if scan_bytes > 0 {
            self.bg_scan_credit_bytes += (scan_bytes as f64 * self.assist_work_per_byte) as i64;
        }
        paid
    }
}

/// Go's `int64(f)` on amd64 (CVTTSD2SI): truncation, and the "integer
/// indefinite" value `math.MinInt64` for NaN and out-of-range values. `revise`
/// reaches it when nothing was scanned last cycle (no globals, no stacks):
/// the extrapolated goal divides by zero.
pub fn go_f64_to_i64(value: f64) -> i64 {
    // 2^63: the first value past i64::MAX; i64::MIN itself converts exactly.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_POW_63..TWO_POW_63).contains(&value) {
        value as i64
    } else {
        i64::MIN
    }
}

/// `startCycle`'s worker rule: `dedicated = int(GOMAXPROCS × 0.25 + 0.5)`; if
/// that misses the 25 % target by more than 30 %, drop one if it overshoots
/// and make up the difference with a fractional goal per P.
pub fn worker_counts(procs: u32) -> (i64, f64) {
    let total = procs as f64 * GC_BACKGROUND_UTILIZATION;
    let mut dedicated = (total + 0.5) as i64;
    let util_error = dedicated as f64 / total - 1.0;
    if !(-MAX_UTIL_ERROR..=MAX_UTIL_ERROR).contains(&util_error) {
        if dedicated as f64 > total {
            dedicated -= 1;
        }
        (dedicated, (total - dedicated as f64) / procs as f64)
    } else {
        (dedicated, 0.0)
    }
}

/// `readGOGC`: "off" is −1, a number is itself, anything else is 100.
pub fn parse_gogc(value: Option<&str>) -> i32 {
    match value {
        Some("off") => -1,
        Some(text) => text.parse::<i32>().unwrap_or(100),
        None => 100,
    }
}

/// `readGOMEMLIMIT` / `parseByteCount`: unset or "off" is no limit; otherwise
/// a byte count with an optional `B`, `KiB`, `MiB`, `GiB` or `TiB` suffix.
/// `None` for a malformed value (Go throws "malformed GOMEMLIMIT").
pub fn parse_gomemlimit(value: Option<&str>) -> Option<i64> {
    let text = match value {
        None | Some("") | Some("off") => return Some(NO_MEMORY_LIMIT),
        Some(text) => text,
    };
    let parse = |digits: &str| digits.parse::<i64>().ok().filter(|n| *n >= 0);
    let last = *text.as_bytes().last()?;
    if last.is_ascii_digit() {
        return parse(text);
    }
    if last != b'B' || text.len() < 2 {
        return None;
    }
    let before = text.as_bytes()[text.len() - 2];
    if before.is_ascii_digit() {
        return parse(&text[..text.len() - 1]);
    }
    if before != b'i' || text.len() < 4 {
        return None;
    }
    let power = match text.as_bytes()[text.len() - 3] {
        b'K' => 1,
        b'M' => 2,
        b'G' => 3,
        b'T' => 4,
        _ => return None,
    };
    let n = parse(&text[..text.len() - 3])? as u64;
    let bytes = n.checked_mul(1u64 << (10 * power))?;
    i64::try_from(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn no_limit_mem() -> MemoryInputs {
        MemoryInputs::default()
    }

    fn pacer_with(marked: u64, stack: u64, globals: u64, gogc: i32) -> Pacer {
        let mut p = Pacer::new(gogc, NO_MEMORY_LIMIT, 4);
        p.heap_marked_bytes = marked;
        p.heap_live_bytes = marked;
        p.last_stack_scan_bytes = stack;
        p.globals_scan_bytes = globals;
        p.commit(true);
        p
    }

    #[test]
    fn gogc_goal_is_integer_arithmetic_on_marked_stacks_and_globals() {
        // GOGC=100: 10 MiB marked, 64 KiB of stack, 16 KiB of globals:
        // 10485760 + (10485760 + 65536 + 16384) × 100 / 100 = 21053440.
        let p = pacer_with(10 * MIB, 65536, 16384, 100);
        assert_eq!(p.gc_percent_heap_goal_bytes, 21_053_440);
        // GOGC=50, 10_000_001 marked, 3 stack, 0 globals:
        // 10000001 + 10000004 × 50 / 100 = 10000001 + 500000200 / 100
        // = 10000001 + 5000002 = 15000003 (the product is formed before the
        // division, so nothing is lost to an early truncation).
        let p = pacer_with(10_000_001, 3, 0, 50);
        assert_eq!(p.gc_percent_heap_goal_bytes, 15_000_003);
        // GOGC=33: 1_000_003 + 1_000_003 × 33 / 100 = 1000003 + 33000099/100
        // = 1000003 + 330000 = 1330003, but the floor is 4 MiB × 33 / 100 =
        // 4194304 × 33 / 100 = 1384120 (138412032 / 100, truncated).
        let p = pacer_with(1_000_003, 0, 0, 33);
        assert_eq!(p.heap_minimum_bytes, 1_384_120);
        assert_eq!(p.gc_percent_heap_goal_bytes, 1_384_120);
    }

    #[test]
    fn heap_minimum_floors_the_first_goal_at_4_mib_times_gogc() {
        // Start-up: nothing marked, so the goal is the minimum: 4 MiB at
        // GOGC=100, 2 MiB at 50, 8 MiB at 200.
        assert_eq!(
            Pacer::new(100, NO_MEMORY_LIMIT, 1).gc_percent_heap_goal_bytes,
            4 * MIB
        );
        assert_eq!(
            Pacer::new(50, NO_MEMORY_LIMIT, 1).gc_percent_heap_goal_bytes,
            2 * MIB
        );
        assert_eq!(
            Pacer::new(200, NO_MEMORY_LIMIT, 1).gc_percent_heap_goal_bytes,
            8 * MIB
        );
    }

    #[test]
    fn gogc_off_means_an_infinite_gogc_goal() {
        let p = pacer_with(10 * MIB, 0, 0, -1);
        assert_eq!(p.gc_percent, -1);
        assert_eq!(p.gc_percent_heap_goal_bytes, u64::MAX);
        // With no memory limit either, the limit goal (MaxInt64 less headroom)
        // is the effective goal: never reached in practice.
        let goal = p.heap_goal(&no_limit_mem());
        assert!(goal > 1 << 62);
        assert_eq!(parse_gogc(Some("off")), -1);
        assert_eq!(parse_gogc(Some("50")), 50);
        assert_eq!(parse_gogc(Some("junk")), 100);
        assert_eq!(parse_gogc(None), 100);
    }

    #[test]
    fn first_trigger_is_61_64ths_of_the_4_mib_minimum() {
        // heapMarked = 0, runway = 0 (consMark 0): trigger = goal − 0 clamped
        // to maxTrigger = (4194304 − 0) / 64 × 61 = 65536 × 61 = 3997696.
        let p = Pacer::new(100, NO_MEMORY_LIMIT, 1);
        assert_eq!(p.trigger(&no_limit_mem()), (3_997_696, 4 * MIB));
    }

    #[test]
    fn trigger_is_goal_minus_runway_within_the_45_and_61_64ths_bounds() {
        // marked 10 MiB, goal 20 MiB (GOGC=100, no stacks/globals).
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        assert_eq!(p.gc_percent_heap_goal_bytes, 20 * MIB);
        // (goal − marked)/64 = 163840. minTrigger = 45 × 163840 + 10 MiB =
        // 7372800 + 10485760 = 17858560; maxTrigger = 61 × 163840 + 10 MiB =
        // 9994240 + 10485760 = 20480000, but goal − 4 MiB = 16777216 is not
        // larger, so 20480000 stays.
        p.runway_bytes = 0;
        assert_eq!(p.trigger(&no_limit_mem()), (20_480_000, 20 * MIB));
        // Runway 1 MiB: 20971520 − 1048576 = 19922944, inside the bounds.
        p.runway_bytes = MIB;
        assert_eq!(p.trigger(&no_limit_mem()).0, 19_922_944);
        // Runway 5 MiB: 15728640 is below minTrigger: 17858560.
        p.runway_bytes = 5 * MIB;
        assert_eq!(p.trigger(&no_limit_mem()).0, 17_858_560);
        // Runway above the goal: minTrigger.
        p.runway_bytes = 30 * MIB;
        assert_eq!(p.trigger(&no_limit_mem()).0, 17_858_560);
    }

    #[test]
    fn goal_minus_4_mib_raises_the_upper_bound_for_big_heaps() {
        // marked 100 MiB, goal 200 MiB: 61/64 × 100 MiB + 100 MiB =
        // 1638400 × 61 + 104857600 = 99942400 + 104857600 = 204800000;
        // goal − 4 MiB = 209715200 − 4194304 = 205520896 > 204800000, so the
        // upper bound (and with no runway the trigger) is 205520896.
        let p = pacer_with(100 * MIB, 0, 0, 100);
        assert_eq!(p.trigger(&no_limit_mem()), (205_520_896, 200 * MIB));
    }

    #[test]
    fn sweep_distance_floors_goal_and_trigger_when_sweeping_is_unfinished() {
        // commit(false) with heapLive = 10 MiB: sweepDistMinTrigger = 11 MiB.
        let mut p = pacer_with(10 * MIB, 0, 0, 5);
        p.commit(false);
        // GOGC=5: 10 MiB + 10 MiB × 5/100 = 10485760 + 524288 = 11010048,
        // below 11534336, so the goal rises to the sweep floor.
        assert_eq!(p.gc_percent_heap_goal_bytes, 11_010_048);
        let (trigger, goal) = p.trigger(&no_limit_mem());
        assert_eq!(goal, 11 * MIB);
        // minTrigger = max(11 MiB, 45/64 …) = 11 MiB = goal.
        assert_eq!(trigger, 11 * MIB);
    }

    #[test]
    fn min_runway_keeps_the_goal_64_kib_above_the_trigger_point_during_a_cycle() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.triggered_bytes = Some(20 * MIB);
        assert_eq!(p.heap_goal(&no_limit_mem()), 20 * MIB + 65536);
    }

    #[test]
    fn memory_limit_goal_leaves_3_percent_or_1_mib_of_headroom() {
        let mut p = pacer_with(10 * MIB, 0, 0, -1);
        p.set_memory_limit(100 * MIB as i64);
        // mappedReady 60 MiB = 20 MiB free + 30 MiB objects + 10 MiB non-heap.
        let mem = MemoryInputs {
            heap_free_bytes: 20 * MIB,
            heap_alloc_bytes: 30 * MIB,
            mapped_ready_bytes: 60 * MIB,
        };
        // goal = 100 MiB − 10 MiB = 94371840; headroom = 94371840/100 × 3 =
        // 943718 × 3 = 2831154 (> 1 MiB); goal = 94371840 − 2831154 = 91540686.
        assert_eq!(p.memory_limit_heap_goal(&mem), 91_540_686);
        // Effective goal with GOGC=off is the limit goal.
        assert_eq!(p.heap_goal(&mem), 91_540_686);
        // With GOGC=100 (goal 20 MiB) the GOGC goal is smaller and wins.
        p.set_gc_percent(100);
        p.commit(true);
        assert_eq!(p.heap_goal(&mem), 20 * MIB);
    }

    #[test]
    fn memory_limit_goal_small_limits_and_overage() {
        let mut p = pacer_with(2 * MIB, 0, 0, -1);
        // Limit 4 MiB, non-heap 2.5 MiB: goal = 1.5 MiB = 1572864; headroom =
        // max(15728 × 3 = 47184, 1 MiB) = 1048576; 1572864 − 1048576 = 524288
        // < headroom, so goal = headroom = 1 MiB; then max(heapMarked = 2 MiB).
        p.set_memory_limit(4 * MIB as i64);
        let mem = MemoryInputs {
            heap_free_bytes: 0,
            heap_alloc_bytes: 0,
            mapped_ready_bytes: 2 * MIB + MIB / 2,
        };
        assert_eq!(p.memory_limit_heap_goal(&mem), 2 * MIB);
        p.heap_marked_bytes = 0;
        assert_eq!(p.memory_limit_heap_goal(&mem), MIB);
        // Mapped 6 MiB over a 4 MiB limit, 3 MiB of it non-heap: overage 2 MiB,
        // 3 + 2 ≥ 4, so the goal is heapMarked.
        p.heap_marked_bytes = 123;
        let over = MemoryInputs {
            heap_free_bytes: MIB,
            heap_alloc_bytes: 2 * MIB,
            mapped_ready_bytes: 6 * MIB,
        };
        assert_eq!(p.memory_limit_heap_goal(&over), 123);
    }

    #[test]
    fn gomemlimit_parses_like_parse_byte_count() {
        assert_eq!(parse_gomemlimit(None), Some(NO_MEMORY_LIMIT));
        assert_eq!(parse_gomemlimit(Some("off")), Some(NO_MEMORY_LIMIT));
        assert_eq!(parse_gomemlimit(Some("32MiB")), Some(32 << 20));
        assert_eq!(parse_gomemlimit(Some("1GiB")), Some(1 << 30));
        assert_eq!(parse_gomemlimit(Some("1000")), Some(1000));
        assert_eq!(parse_gomemlimit(Some("1000B")), Some(1000));
        assert_eq!(parse_gomemlimit(Some("32MB")), None);
        assert_eq!(parse_gomemlimit(Some("-1")), None);
        assert_eq!(parse_gomemlimit(Some("KiB")), None);
    }

    #[test]
    fn dedicated_and_fractional_workers_follow_the_reference_table() {
        // Reference §9.3: GOMAXPROCS → dedicated, fractional goal per P.
        let table: [(u32, i64, f64); 9] = [
            (1, 0, 0.25),
            (2, 0, 0.25),
            (3, 0, 0.25),
            (4, 1, 0.0),
            (5, 1, 0.0),
            (6, 1, 0.5 / 6.0),
            (7, 2, 0.0),
            (8, 2, 0.0),
            (16, 4, 0.0),
        ];
        for (procs, dedicated, fractional) in table {
            let (d, f) = worker_counts(procs);
            assert_eq!(d, dedicated, "GOMAXPROCS={procs}");
            assert!((f - fractional).abs() < 1e-12, "GOMAXPROCS={procs}: {f}");
        }
        // GOMAXPROCS=6 prints as 0.0833 in the table.
        assert_eq!(format!("{:.4}", worker_counts(6).1), "0.0833");
    }

    #[test]
    fn start_cycle_caps_idle_workers_and_time_triggered_cycles() {
        let mut p = Pacer::new(100, NO_MEMORY_LIMIT, 8);
        let plan = p.start_cycle(0, 8, TriggerKind::Heap, false, &no_limit_mem());
        assert_eq!(plan.dedicated_workers, 2);
        assert_eq!(plan.max_idle_workers, 6);
        let plan = p.start_cycle(0, 8, TriggerKind::Time, false, &no_limit_mem());
        assert_eq!(plan.max_idle_workers, 0);
        let plan = p.start_cycle(0, 2, TriggerKind::Time, false, &no_limit_mem());
        assert_eq!((plan.dedicated_workers, plan.max_idle_workers), (0, 1));
        let plan = p.start_cycle(0, 3, TriggerKind::Heap, true, &no_limit_mem());
        assert_eq!(
            (plan.dedicated_workers, plan.fractional_utilization_goal),
            (3, 0.0)
        );
    }

    #[test]
    fn assign_worker_fills_dedicated_slots_then_fractional_under_its_goal() {
        let mut p = Pacer::new(100, NO_MEMORY_LIMIT, 6);
        p.start_cycle(1_000, 6, TriggerKind::Heap, false, &no_limit_mem());
        assert_eq!(
            p.assign_worker(PId(0), 1_000, true),
            Some(WorkerMode::Dedicated)
        );
        // Goal 0.5/6 ≈ 0.0833 of each P's time. P1 has run 100 ns of 1000 (0.1).
        p.p_fractional_mark_time_ns[1] = 100;
        assert_eq!(p.assign_worker(PId(1), 2_000, true), None);
        p.p_fractional_mark_time_ns[1] = 80;
        assert_eq!(
            p.assign_worker(PId(1), 2_000, true),
            Some(WorkerMode::Fractional)
        );
        assert_eq!(p.assign_worker(PId(2), 2_000, false), None);
        // The dedicated worker stops: its slot is free again.
        p.mark_worker_stop(PId(0), WorkerMode::Dedicated, 500);
        assert_eq!(p.dedicated_mark_time_ns, 500);
        assert_eq!(
            p.assign_worker(PId(3), 2_000, true),
            Some(WorkerMode::Dedicated)
        );
        assert!(p.add_idle_mark_worker());
        p.mark_worker_stop(PId(4), WorkerMode::Idle, 7);
        assert_eq!((p.idle_mark_workers, p.idle_mark_time_ns), (0, 7));
    }

    #[test]
    fn revise_spreads_the_remaining_scan_work_over_the_remaining_heap() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.last_heap_scan_bytes = 4 * MIB;
        p.heap_scan_bytes = 4 * MIB;
        p.heap_live_bytes = 18 * MIB;
        p.triggered_bytes = Some(18 * MIB);
        // Expected work 4 MiB, 1 MiB done: 3 MiB remaining over a heap distance
        // of 20 − 18 = 2 MiB: 1.5 units of work per byte, 0.666… bytes per unit.
        p.heap_scan_work_bytes = MIB as i64;
        p.revise(&no_limit_mem());
        assert_eq!(p.assist_work_per_byte, 1.5);
        assert_eq!(p.assist_bytes_per_work, 2.0 / 3.0);
        // Past the goal: goal × 1.1 = 23068672; remaining work is the worst
        // case 4 MiB + 0 + 0 − 1 MiB = 3 MiB over 23068672 − 22020096 = 1048576.
        p.heap_live_bytes = 21 * MIB;
        p.revise(&no_limit_mem());
        assert_eq!(p.assist_work_per_byte, 3.0);
    }

    #[test]
    fn revise_extrapolates_the_goal_when_scanning_more_than_expected() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.last_heap_scan_bytes = 2 * MIB;
        p.heap_scan_bytes = 4 * MIB; // worst case twice the expectation
        p.triggered_bytes = Some(18 * MIB);
        p.heap_live_bytes = 19 * MIB;
        p.heap_scan_work_bytes = 3 * MIB as i64; // more than the 2 MiB expected
        // extGoal = (20 MiB − 18 MiB) / 2 MiB × 4 MiB + 18 MiB = 22 MiB;
        // hard goal 2 × 20 MiB is not hit. Remaining work 4 − 3 = 1 MiB over
        // 22 − 19 = 3 MiB of heap: 1/3 work per byte, 3 bytes per work.
        p.revise(&no_limit_mem());
        assert_eq!(p.assist_bytes_per_work, 3.0);
        // The floor of 1000 units of remaining work.
        p.heap_scan_work_bytes = 5 * MIB as i64;
        p.revise(&no_limit_mem());
        assert_eq!(p.assist_work_per_byte, 1000.0 / (3.0 * MIB as f64));
    }

    #[test]
    fn revise_with_nothing_expected_behaves_like_go_on_amd64() {
        // First cycle of a program without globals: the expected work is 0,
        // so the extrapolation divides by zero; int64(+Inf) is MinInt64 on
        // amd64, the goal goes negative, 1.1 × it is MinInt64 again, and
        // MinInt64 − heapLive wraps to a huge heap distance: assists owe
        // almost nothing for the rest of that cycle.
        assert_eq!(go_f64_to_i64(f64::INFINITY), i64::MIN);
        assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_f64_to_i64(-2.9), -2);
        let mut p = Pacer::new(100, NO_MEMORY_LIMIT, 1);
        p.heap_scan_bytes = 3 * MIB;
        p.heap_live_bytes = 4 * MIB;
        p.triggered_bytes = Some(4 * MIB);
        p.heap_scan_work_bytes = 10;
        p.revise(&no_limit_mem());
        let remaining = i64::MIN.wrapping_sub(4 * MIB as i64);
        assert_eq!(remaining, i64::MAX - 4 * MIB as i64 + 1);
        assert_eq!(
            p.assist_work_per_byte,
            (3 * MIB - 10) as f64 / remaining as f64
        );
    }

    #[test]
    fn end_cycle_cons_mark_is_the_max_of_now_and_the_last_four() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.start_cycle(0, 4, TriggerKind::Heap, false, &no_limit_mem());
        p.triggered_bytes = Some(16 * MIB);
        p.heap_live_bytes = 20 * MIB;
        p.heap_scan_work_bytes = 4 * MIB as i64;
        // No assists, no idle time, 1 ms of mark on 4 Ps: u = 0.25.
        // current = (4 MiB × 0.25) / (4 MiB × 0.75) = 1/3.
        p.end_cycle(1_000_000, 4, &no_limit_mem());
        assert_eq!(p.last_heap_goal_bytes, 20 * MIB);
        assert_eq!(p.cons_mark, 1.0 / 3.0);
        assert_eq!(p.last_cons_mark, [0.0, 0.0, 0.0, 1.0 / 3.0]);
        // Assists used 1 ms of 4 ms of P time: u = 0.5; idle 2 ms: idleU = 0.5.
        // current = (4 MiB × 1.0) / (4 MiB × 0.5) = 2.
        p.assist_time_ns = 1_000_000;
        p.idle_mark_time_ns = 2_000_000;
        p.end_cycle(1_000_000, 4, &no_limit_mem());
        assert_eq!(p.cons_mark, 2.0);
        // A small cycle later: the max of the last four still says 2.
        p.assist_time_ns = 0;
        p.idle_mark_time_ns = 0;
        p.heap_scan_work_bytes = 40 * MIB as i64;
        p.end_cycle(1_000_000, 4, &no_limit_mem());
        assert_eq!(p.cons_mark, 2.0);
        assert_eq!(p.last_cons_mark[3], 1.0 / 30.0);
        // Runway at commit: consMark × 0.75 / 0.25 × last scan work
        // = 2 × 3 × (4 MiB heap + 1 MiB stack) = 31457280.
        p.last_heap_scan_bytes = 4 * MIB;
        p.last_stack_scan_bytes = MIB;
        p.commit(true);
        assert_eq!(p.runway_bytes, 31_457_280);
    }

    #[test]
    fn end_cycle_ignores_cycles_that_did_not_grow_past_the_trigger() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.cons_mark = 0.5;
        p.triggered_bytes = Some(16 * MIB);
        p.heap_live_bytes = 16 * MIB;
        p.end_cycle(1_000, 4, &no_limit_mem());
        assert_eq!(p.cons_mark, 0.5);
        assert_eq!(p.last_cons_mark, [0.0; 4]);
    }

    #[test]
    fn assists_owe_at_least_64_kib_of_work_and_steal_background_credit() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.assist_work_per_byte = 0.5;
        p.assist_bytes_per_work = 2.0;
        // Debt 1000 bytes → 500 units, below 65536: raised to 65536 units, and
        // the debt it pays for becomes 2 × 65536 = 131072 bytes.
        let (plan, change) = p.plan_assist(1000);
        assert_eq!(
            plan,
            AssistPlan {
                stolen_work_bytes: 0,
                scan_work_bytes: 65536
            }
        );
        assert_eq!(change, 0);
        // 100000 units of background credit cover it all: the debt is paid.
        p.bg_scan_credit_bytes = 100_000;
        let (plan, change) = p.plan_assist(1000);
        assert_eq!(
            plan,
            AssistPlan {
                stolen_work_bytes: 65536,
                scan_work_bytes: 0
            }
        );
        assert_eq!(change, 131_072);
        assert_eq!(p.bg_scan_credit_bytes, 100_000 - 65536);
        // 34464 left covers part: 1 + 2 × 34464 = 68929 bytes of credit.
        let (plan, change) = p.plan_assist(1000);
        assert_eq!(
            plan,
            AssistPlan {
                stolen_work_bytes: 34464,
                scan_work_bytes: 31072
            }
        );
        assert_eq!(change, 68_929);
        // Scanning 31072 units earns 1 + 2 × 31072 = 62145 bytes.
        assert_eq!(p.assist_credit_for(31072), 62_145);
    }

    #[test]
    fn background_credit_pays_parked_assists_in_order() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.assist_bytes_per_work = 2.0;
        p.assist_work_per_byte = 0.5;
        // 1000 units = 2000 bytes: pays −1500 fully, then −800 in part (−300).
        let mut queue = [-1500, -800];
        assert_eq!(p.flush_bg_credit(1000, &mut queue), 1);
        assert_eq!(queue, [0, -300]);
        assert_eq!(p.bg_scan_credit_bytes, 0);
        // Nobody parked: all of it is credit.
        assert_eq!(p.flush_bg_credit(1000, &mut []), 0);
        assert_eq!(p.bg_scan_credit_bytes, 1000);
        // Surplus after paying: 4000 bytes − 300 = 3700 bytes = 1850 units.
        let mut queue = [-300];
        assert_eq!(p.flush_bg_credit(2000, &mut queue), 1);
        assert_eq!(p.bg_scan_credit_bytes, 1000 + 1850);
    }

    #[test]
    fn reset_live_makes_this_cycles_work_the_next_expectation() {
        let mut p = pacer_with(10 * MIB, 0, 0, 100);
        p.heap_scan_work_bytes = 3 * MIB as i64;
        p.stack_scan_work_bytes = 4096;
        p.triggered_bytes = Some(1);
        p.reset_live(12 * MIB);
        assert_eq!(
            (p.heap_marked_bytes, p.heap_live_bytes, p.heap_scan_bytes),
            (12 * MIB, 12 * MIB, 3 * MIB)
        );
        assert_eq!(
            (p.last_heap_scan_bytes, p.last_stack_scan_bytes),
            (3 * MIB, 4096)
        );
        assert_eq!(p.triggered_bytes, None);
    }
}
