//! Goroutines: Go's `g` (runtime2.go) as the model keeps it.
//!
//! A G's status is an enum that carries where the G is (`Running { m }`,
//! `Waiting(reason)`), so status and location cannot disagree. Transitions are
//! checked against the legal ones of proc.go's `casgstatus` call sites; an
//! illegal transition is a bug in the model and trips a `debug_assert!`.
//!
//! Simplifications: no `_Gscan` bit and no `_Gcopystack` (stack scans and
//! copies are instantaneous state changes in sim-gc, their time charged to
//! the G that does them), no `_Gpreempted`: a G that suspendG stops parks
//! at once as `_Gwaiting` with reason "preempted", the state suspendG moves
//! it to.

use sim_core::ids::{Goid, MId, ProgramId};
use sim_core::trace::WaitReason;

/// One in this many departures from running is sampled for
/// `/sched/latencies` (`gTrackingPeriod`).
pub const G_TRACKING_PERIOD: u8 = 8;

/// Index of a G slot in the world's arena. Dead slots are recycled through
/// the gFree lists as in Go; the goid is what identifies a goroutine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GIdx(pub u32);

impl GIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A G's status (Go's `atomicstatus`), carrying its location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GStatus {
    /// On a run queue (runnext, a local ring, or the global queue).
    Runnable,
    /// Owned by M `m`, which holds a P.
    Running { m: MId },
    /// In a system call on M `m`; the P may or may not still be attached.
    Syscall { m: MId },
    /// Parked; something (a timer, a WaitGroup) is responsible for readying it.
    Waiting(WaitReason),
    /// Exited, or a fresh slot not yet used; on a gFree list.
    Dead,
}

impl GStatus {
    /// Go's numeric status, as `scheddetail` prints it.
    pub fn go_code(self) -> u32 {
        match self {
            GStatus::Runnable => 1,
            GStatus::Running { .. } => 2,
            GStatus::Syscall { .. } => 3,
            GStatus::Waiting(_) => 4,
            GStatus::Dead => 6,
        }
    }

    /// Whether proc.go ever moves a G from `self` to `next`.
    pub fn may_become(self, next: GStatus) -> bool {
        use GStatus::*;
        matches!(
            (self, next),
            (Dead, Runnable)              // newproc1
                | (Runnable, Running { .. })  // execute
                | (Running { .. }, Runnable)  // goschedImpl, exitsyscallNoP
                | (Running { .. }, Waiting(_)) // park_m
                | (Waiting(_), Runnable)      // ready
                | (Running { .. }, Syscall { .. }) // entersyscall
                | (Syscall { .. }, Running { .. }) // exitsyscall
                | (Running { .. }, Dead) // gdestroy
        )
    }
}

/// What a G runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GKind {
    /// A goroutine of the workload.
    User { program: ProgramId },
    /// A runtime goroutine (forcegc helper, background sweeper, ...). It parks
    /// with `reason` as soon as it runs and is excluded from goroutine counts
    /// and from deadlock detection, as `isSystemGoroutine` makes it in Go.
    System {
        reason: WaitReason,
        /// gcenable's bgsweep and bgscavenge send on its channel when they
        /// first run.
        signals_init: bool,
    },
    /// A background mark worker (`gcBgMarkWorker`): parked in the worker
    /// pool ("GC worker (idle)") until `findRunnableGCWorker` or an idle P
    /// picks it. A system goroutine.
    MarkWorker,
}

/// What the CPU time a G is spending right now is for, when it is the
/// runtime's work rather than the G's own op (it is charged as compute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcWork {
    /// A batch of allocations of the current `alloc` op; then handle why the
    /// batch stopped.
    Alloc {
        stop: sim_gc::LoopStop,
        span_calls: SpanCalls,
    },
    /// Mark assist work (`gcAssistAlloc1`), started at `since_ns`.
    Assist {
        since_ns: u64,
        in_debt: bool,
        /// The batch ended because no mark work was left to take.
        ran_out: bool,
    },
    /// A background mark worker's drain of one batch of work.
    MarkDrain,
    /// The background sweeper's batch of spans, or runtime.GC's one span.
    Sweep { spans: u32 },
    /// Copying a stack that grew.
    StackCopy,
    /// The background scavenger returning a batch of quanta to the OS.
    Scavenge,
}

/// The `mallocgc` calls of an allocation batch that took a new span (an
/// mcache refill or a large allocation). Such a call is not preemptible
/// (`mallocing`), and its first safe point is the heap-trigger test right
/// after it (`gcTrigger.test`'s prologue): a preemption request that
/// arrives during one stops the G there, and the G runs the test when it
/// runs again, after whatever stopped it (a mark termination resets
/// `heapLive` to the marked heap meanwhile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanCalls {
    /// When the batch started.
    pub batch_started_ns: u64,
    pub count: u64,
    /// Their share of the batch's time, in parts per million.
    pub share_ppm: u64,
}

/// Where a G stands in runtime work that spans several steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcStage {
    /// runtime.GC(): the cycle before `n + 1` is being waited for, or cycle
    /// `n + 1` is to be started.
    GcOpStart { n: u32 },
    /// runtime.GC(): waiting for cycle `n + 1`'s mark termination, then sweep.
    GcOpSweep { n: u32 },
}

/// The GC's per-goroutine state in the scheduler.
#[derive(Clone, Debug, Default)]
pub struct GcG {
    /// The runtime work the G's current CPU segment is for.
    pub work: Option<GcWork>,
    /// Objects left to allocate in the current `alloc` op, once it started.
    pub alloc_left: Option<u64>,
    /// The ring of each `alloc` op this G has run, by the op's pc.
    pub rings: Vec<(u32, sim_gc::RingId)>,
    /// runtime.GC() in progress.
    pub gc_stage: Option<GcStage>,
    /// The G is inside `gcStart` for this trigger, or about to test it,
    /// when it runs next: `gcStart` waits for a new mark worker to start
    /// (gcBgMarkStartWorkers), or a preemption stopped the G between a
    /// `mallocgc` that took a span and its heap-trigger test
    /// ([`SpanCalls`]).
    pub starting_gc: Option<sim_gc::GcTrigger>,
    /// When a preemption request reached the G during its current
    /// allocation batch (the request takes effect after the batch).
    pub preempt_requested_ns: Option<u64>,
    /// For a mark worker: its current run.
    pub worker: Option<WorkerRun>,
}

/// A mark worker's current run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerRun {
    pub mode: sim_gc::WorkerMode,
    pub since_ns: u64,
    /// A dedicated worker moves its P's run queue to the global queue the
    /// first time it is preempted.
    pub kicked_runq: bool,
    /// Scan work since the worker last checked whether to stop.
    pub work_since_check_bytes: u64,
}

/// An `Option<u64>` in 8 bytes instead of 16, for fields every G carries
/// (a million parked goroutines are a library scenario): `u64::MAX` stands
/// for `None`, a value the fields never hold (a duration or a channel value
/// token would need 2^64 of them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptU64(u64);

impl OptU64 {
    pub const NONE: OptU64 = OptU64(u64::MAX);

    pub fn get(self) -> Option<u64> {
        (self.0 != u64::MAX).then_some(self.0)
    }
}

impl From<Option<u64>> for OptU64 {
    fn from(value: Option<u64>) -> Self {
        match value {
            Some(v) => {
                debug_assert_ne!(v, u64::MAX, "OptU64 cannot hold u64::MAX");
                OptU64(v)
            }
            None => OptU64::NONE,
        }
    }
}

impl std::fmt::Debug for OptU64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Who asked a running goroutine to stop at its next safe point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PreemptFor {
    /// sysmon, after a 10 ms time slice (or a dedicated worker's kick).
    #[default]
    Slice,
    /// A stop-the-world (`preemptall`).
    StopTheWorld,
    /// `gcMarkDone`'s ragged barrier (`forEachP`'s `preemptall`).
    SafePoint,
    /// `suspendG` (`preemptStop`): a mark worker or an assist must scan the
    /// G's stack; the G parks ("preempted") until the scan is done.
    StackScan,
}

/// One goroutine.
#[derive(Clone, Debug)]
pub struct G {
    pub goid: Goid,
    pub status: GStatus,
    /// The last wait reason (kept after the G is readied, as Go keeps it).
    pub last_wait_reason: WaitReason,
    pub kind: GKind,
    pub parent: Goid,
    /// Index of the next op in the program's flat ops.
    pub pc: u32,
    /// Compute left in the current Compute op, once it has started.
    pub compute_left_ns: OptU64,
    /// Spawns already done by the current Spawn op.
    pub spawned_in_op: u32,
    /// Set by sysmon's preemptone; cleared by execute.
    pub preempt: bool,
    /// How long the G had held its schedtick when sysmon asked it to stop.
    pub preempt_slice_ns: u64,
    /// When the G last became runnable (for `/sched/latencies`).
    pub runnable_since_ns: u64,
    /// Counts this G's selects; a select's sudogs carry it, so a waker can
    /// tell a live select wait from a stale one.
    pub select_epoch: u32,
    /// The value the last receive got (0 from a closed channel).
    pub received: OptU64,
    /// A parked sender was woken by close: it panics when it runs.
    pub send_on_closed: bool,
    /// When the G last parked (goroutine dumps show long waits).
    pub waiting_since_ns: u64,
    /// The program counter of the op the G is executing (or parked in).
    pub op_pc: u32,
    /// When the G last started running (for `run_ns`).
    pub running_since_ns: u64,
    /// Latency sampling (Go's `trackingSeq`, `tracking`, `trackingStamp`,
    /// `runnableTime`).
    pub tracking_seq: u8,
    pub tracking: bool,
    pub tracking_stamp_ns: u64,
    pub runnable_acc_ns: u64,
    /// Longest time this G could have run but did not: runnable, or a
    /// sleeper whose timer was due.
    pub max_runnable_wait_ns: u64,
    /// CPU time this G has received (for fairness between Gs of a program).
    pub run_ns: u64,
    /// Longest time this G waited for a mutex.
    pub max_mutex_wait_ns: u64,
    /// The GC's per-goroutine state, for goroutines that allocate or run
    /// GC work (boxed: most goroutines never need it).
    pub gc: Option<Box<GcG>>,
    /// Who asked for the pending preemption (the stop's recorded reason).
    pub preempt_for: PreemptFor,
    /// State only some goroutines use (see `GRare`); `None` until one does.
    pub rare: Option<Box<GRare>>,
}

/// The part of a G that only some goroutines ever use: loops, sleeps,
/// LockOSThread, selects and mutex waits. It lives out of line so that the
/// G every goroutine pays for stays small (a million parked goroutines are
/// a library scenario, and most goroutines use none of this). It is created
/// on first use and stays with the G slot when the slot is reused.
#[derive(Clone, Debug, Default)]
pub struct GRare {
    /// Remaining iterations of each enclosing loop, innermost last.
    pub loop_counters: Vec<u64>,
    /// For a sleeping G: when its timer is due (for sleep lateness).
    pub sleep_due_ns: Option<u64>,
    /// The M this G is locked to (LockOSThread).
    pub lockedm: Option<MId>,
    /// Set by the waker: the case of the parked select that won.
    pub select_won: Option<u32>,
    /// The channel this select made for each `time.After` case, by case index.
    pub select_after_chans: Vec<(u32, sim_core::ids::ChannelId)>,
    /// Where a blocking sync operation stands (mutex slow path, semaphore).
    pub sync_wait: Option<crate::sync::SyncWait>,
}

impl GRare {
    /// What a G without the state reads.
    const NONE: GRare = GRare {
        loop_counters: Vec::new(),
        sleep_due_ns: None,
        lockedm: None,
        select_won: None,
        select_after_chans: Vec::new(),
        sync_wait: None,
    };

    /// Back to `NONE` for a new goroutine in a reused slot, keeping the
    /// vectors' capacity.
    pub fn reset(&mut self) {
        self.loop_counters.clear();
        self.sleep_due_ns = None;
        self.lockedm = None;
        self.select_won = None;
        self.select_after_chans.clear();
        self.sync_wait = None;
    }
}

static NO_RARE: GRare = GRare::NONE;

impl G {
    /// A fresh, dead G slot (Go's malg + `_Gidle → _Gdead`).
    pub fn new_dead() -> Self {
        Self {
            goid: Goid(0),
            status: GStatus::Dead,
            last_wait_reason: WaitReason::Zero,
            kind: GKind::System {
                reason: WaitReason::Zero,
                signals_init: false,
            },
            parent: Goid(0),
            pc: 0,
            compute_left_ns: OptU64::NONE,
            spawned_in_op: 0,
            preempt: false,
            preempt_slice_ns: 0,
            runnable_since_ns: 0,
            select_epoch: 0,
            received: OptU64::NONE,
            send_on_closed: false,
            waiting_since_ns: 0,
            op_pc: 0,
            tracking_seq: 0,
            tracking: false,
            tracking_stamp_ns: 0,
            runnable_acc_ns: 0,
            running_since_ns: 0,
            max_runnable_wait_ns: 0,
            run_ns: 0,
            max_mutex_wait_ns: 0,
            gc: None,
            preempt_for: PreemptFor::Slice,
            rare: None,
        }
    }

    /// The rarely used state (empty defaults if the G never used it).
    pub fn rare(&self) -> &GRare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// The rarely used state, created on first use.
    pub fn rare_mut(&mut self) -> &mut GRare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// The M this G is locked to (LockOSThread).
    pub fn lockedm(&self) -> Option<MId> {
        self.rare().lockedm
    }

    /// The GC state, created on first use.
    pub fn gc_mut(&mut self) -> &mut GcG {
        self.gc.get_or_insert_with(Default::default)
    }

    /// The GC state's field `f`, or its default.
    pub fn gc_get<T: Default>(&self, f: impl FnOnce(&GcG) -> T) -> T {
        self.gc.as_deref().map(f).unwrap_or_default()
    }

    /// Whether Go counts this G as a user goroutine.
    pub fn is_user(&self) -> bool {
        matches!(self.kind, GKind::User { .. })
    }

    /// Adds the CPU time since the G last started running to `run_ns`;
    /// called when it leaves `Running`.
    pub fn stop_running(&mut self, now_ns: u64) {
        self.run_ns += now_ns.saturating_sub(self.running_since_ns);
    }

    /// Moves to `next` at `now_ns`, asserting that the transition is one Go
    /// makes. Also keeps Go's scheduling-latency sampling (`casgstatus`):
    /// one in `G_TRACKING_PERIOD` departures from running starts tracking
    /// the G; a tracked G sums the time it spends runnable until it runs
    /// again, and that sum is returned then, for `/sched/latencies`.
    pub fn set_status(&mut self, next: GStatus, now_ns: u64) -> Option<u64> {
        debug_assert!(
            self.status.may_become(next),
            "illegal G status transition for {}: {:?} -> {:?}",
            self.goid,
            self.status,
            next
        );
        let running = |s: GStatus| matches!(s, GStatus::Running { .. } | GStatus::Syscall { .. });
        if running(self.status) && !running(next) {
            if self.tracking_seq.is_multiple_of(G_TRACKING_PERIOD) {
                self.tracking = true;
            }
            self.tracking_seq = self.tracking_seq.wrapping_add(1);
        }
        let mut sample = None;
        if self.tracking {
            if self.status == GStatus::Runnable {
                self.runnable_acc_ns += now_ns.saturating_sub(self.tracking_stamp_ns);
            }
            match next {
                GStatus::Runnable => self.tracking_stamp_ns = now_ns,
                GStatus::Running { .. } => {
                    self.tracking = false;
                    sample = Some(std::mem::take(&mut self.runnable_acc_ns));
                }
                _ => {}
            }
        }
        if let GStatus::Waiting(reason) = next {
            self.last_wait_reason = reason;
        }
        self.status = next;
        sample
    }

    /// A departure from running and a return straight to it, without the
    /// scheduler (`casgstatus` from `_Grunning` to `_Gcopystack` or
    /// `_Gwaiting` and back: a stack copy, a GC assist, a mark worker's
    /// drain). It counts in the sampling sequence as every departure does;
    /// when it starts tracking, the return records a latency of 0, as the
    /// G was never runnable.
    pub fn leave_and_return_to_running(&mut self) -> Option<u64> {
        debug_assert!(matches!(self.status, GStatus::Running { .. }));
        if self.tracking_seq.is_multiple_of(G_TRACKING_PERIOD) {
            self.tracking = true;
        }
        self.tracking_seq = self.tracking_seq.wrapping_add(1);
        if self.tracking {
            self.tracking = false;
            return Some(std::mem::take(&mut self.runnable_acc_ns));
        }
        None
    }

    /// A new goroutine's sampling state (`newproc1`): `seq` is a random byte;
    /// the G is tracked from birth when it is a multiple of the period.
    pub fn start_tracking(&mut self, seq: u8) {
        self.tracking_seq = seq;
        self.tracking = seq.is_multiple_of(G_TRACKING_PERIOD);
        self.runnable_acc_ns = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_transitions_follow_proc_go() {
        let m = MId(0);
        assert!(GStatus::Dead.may_become(GStatus::Runnable));
        assert!(GStatus::Runnable.may_become(GStatus::Running { m }));
        assert!(GStatus::Running { m }.may_become(GStatus::Waiting(WaitReason::Sleep)));
        assert!(GStatus::Syscall { m }.may_become(GStatus::Running { m }));
        // A waiting G is readied to runnable, never straight to running;
        // a runnable G cannot park or exit without running first.
        assert!(!GStatus::Waiting(WaitReason::Sleep).may_become(GStatus::Running { m }));
        assert!(!GStatus::Runnable.may_become(GStatus::Waiting(WaitReason::Sleep)));
        assert!(!GStatus::Runnable.may_become(GStatus::Dead));
        assert!(!GStatus::Syscall { m }.may_become(GStatus::Runnable));
        assert!(!GStatus::Dead.may_become(GStatus::Running { m }));
    }

    #[test]
    fn a_round_trip_out_of_running_counts_as_a_departure_and_samples_zero() {
        let m = MId(0);
        let mut g = G::new_dead();
        g.set_status(GStatus::Runnable, 0);
        g.start_tracking(1);
        assert_eq!(g.set_status(GStatus::Running { m }, 10), None);
        // Departures 1..=7 are not tracked; the 8th (sequence 8) is, and
        // its return to running records 0: the G was never runnable.
        let samples: Vec<Option<u64>> = (0..8).map(|_| g.leave_and_return_to_running()).collect();
        assert_eq!(samples[..7], [None; 7]);
        assert_eq!(samples[7], Some(0));
        assert!(!g.tracking);
        // A round trip moves the sequence like a park does: the next tracked
        // departure is 8 later, and its wait is what it records.
        for _ in 0..7 {
            assert_eq!(g.leave_and_return_to_running(), None);
        }
        g.set_status(GStatus::Runnable, 100);
        assert_eq!(g.set_status(GStatus::Running { m }, 350), Some(250));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "illegal G status transition")]
    fn an_illegal_transition_is_caught() {
        let mut g = G::new_dead();
        g.set_status(GStatus::Waiting(WaitReason::Sleep), 0);
    }

    #[test]
    fn a_g_stays_small_enough_for_a_million_parked_goroutines() {
        eprintln!("size_of::<G>() = {}", std::mem::size_of::<G>());
        assert!(
            std::mem::size_of::<G>() <= 160,
            "{}",
            std::mem::size_of::<G>()
        );
    }

    #[test]
    fn scheddetail_codes_match_runtime2() {
        assert_eq!(GStatus::Runnable.go_code(), 1);
        assert_eq!(GStatus::Running { m: MId(0) }.go_code(), 2);
        assert_eq!(GStatus::Syscall { m: MId(0) }.go_code(), 3);
        assert_eq!(GStatus::Waiting(WaitReason::Sleep).go_code(), 4);
        assert_eq!(GStatus::Dead.go_code(), 6);
    }
}
