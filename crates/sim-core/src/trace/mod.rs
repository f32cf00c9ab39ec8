//! Trace events: the closed set of things that happen in a simulated run.
//!
//! Every event that records a scheduling decision carries the reason for it,
//! in words a reader can check against the Go source ("from local runq
//! (runnext)", "stole 3 from P2 in round 1", "preempted by sysmon after
//! 10ms"). The text form of a trace (one `Display` line per record) is what the
//! determinism checks compare byte for byte, and what `gmpsim run` prints.
//!
//! Names follow Go's execution tracer (GoCreate, GoStart, GoStop, GoBlock,
//! GoUnblock, GoDestroy, GoSyscallBegin/End, ProcStart/Stop/Steal) so a reader
//! can line a simulated trace up with `go tool trace`.

use crate::ids::{Goid, MId, PId, ProgramId};
use crate::time::format_duration_ns;
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod chrome;

/// Why a goroutine is waiting: Go's `waitReason`, printed with Go's exact text
/// (`waitReasonStrings` in runtime2.go of go1.27.3), in Go's enum order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WaitReason {
    Zero,
    GcAssistMarking,
    IoWait,
    DumpingHeap,
    GarbageCollection,
    GarbageCollectionScan,
    PanicWait,
    GcAssistWait,
    GcSweepWait,
    GcScavengeWait,
    FinalizerWait,
    ForceGcIdle,
    UpdateGomaxprocsIdle,
    Semacquire,
    Sleep,
    ChanReceiveNilChan,
    ChanSendNilChan,
    SelectNoCases,
    Select,
    ChanReceive,
    ChanSend,
    SyncCondWait,
    SyncMutexLock,
    SyncRwMutexRLock,
    SyncRwMutexLock,
    SyncWaitGroupWait,
    TraceReaderBlocked,
    WaitForGcCycle,
    GcWorkerIdle,
    GcWorkerActive,
    Preempted,
    DebugCall,
    GcMarkTermination,
    StoppingTheWorld,
    FlushProcCaches,
    TraceGoroutineStatus,
    TraceProcStatus,
    PageTraceFlush,
    Coroutine,
    GcWeakToStrongWait,
    SynctestRun,
    SynctestWait,
    SynctestChanReceive,
    SynctestChanSend,
    SynctestSelect,
    SynctestWaitGroupWait,
    CleanupWait,
}

impl WaitReason {
    /// Go's text for this reason, as goroutine dumps and scheddetail print it.
    pub fn as_go_str(self) -> &'static str {
        use WaitReason::*;
        match self {
            Zero => "",
            GcAssistMarking => "GC assist marking",
            IoWait => "IO wait",
            DumpingHeap => "dumping heap",
            GarbageCollection => "garbage collection",
            GarbageCollectionScan => "garbage collection scan",
            PanicWait => "panicwait",
            GcAssistWait => "GC assist wait",
            GcSweepWait => "GC sweep wait",
            GcScavengeWait => "GC scavenge wait",
            FinalizerWait => "finalizer wait",
            ForceGcIdle => "force gc (idle)",
            UpdateGomaxprocsIdle => "GOMAXPROCS updater (idle)",
            Semacquire => "semacquire",
            Sleep => "sleep",
            ChanReceiveNilChan => "chan receive (nil chan)",
            ChanSendNilChan => "chan send (nil chan)",
            SelectNoCases => "select (no cases)",
            Select => "select",
            ChanReceive => "chan receive",
            ChanSend => "chan send",
            SyncCondWait => "sync.Cond.Wait",
            SyncMutexLock => "sync.Mutex.Lock",
            SyncRwMutexRLock => "sync.RWMutex.RLock",
            SyncRwMutexLock => "sync.RWMutex.Lock",
            SyncWaitGroupWait => "sync.WaitGroup.Wait",
            TraceReaderBlocked => "trace reader (blocked)",
            WaitForGcCycle => "wait for GC cycle",
            GcWorkerIdle => "GC worker (idle)",
            GcWorkerActive => "GC worker (active)",
            Preempted => "preempted",
            DebugCall => "debug call",
            GcMarkTermination => "GC mark termination",
            StoppingTheWorld => "stopping the world",
            FlushProcCaches => "flushing proc caches",
            TraceGoroutineStatus => "trace goroutine status",
            TraceProcStatus => "trace proc status",
            PageTraceFlush => "page trace flush",
            Coroutine => "coroutine",
            GcWeakToStrongWait => "GC weak to strong wait",
            SynctestRun => "synctest.Run",
            SynctestWait => "synctest.Wait",
            SynctestChanReceive => "chan receive (durable)",
            SynctestChanSend => "chan send (durable)",
            SynctestSelect => "select (durable)",
            SynctestWaitGroupWait => "sync.WaitGroup.Wait (durable)",
            CleanupWait => "cleanup wait",
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_go_str())
    }
}

/// Where `findRunnable` found the goroutine it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PickSource {
    /// Every 61st schedtick, one G from the global queue, before the local queue.
    GlobalFairness { schedtick: u32 },
    /// The P's runnext slot; the G inherits the current time slice.
    Runnext,
    /// The head of the P's local ring.
    LocalRunq,
    /// A batch from the global queue: this G runs, `queued` more go to the local ring.
    GlobalBatch { queued: u32 },
    /// Stolen from another P: `taken` Gs (this one runs, the rest join our ring).
    Steal {
        victim: PId,
        round: u8,
        taken: u32,
        runnext: bool,
    },
    /// A timer on another P's heap fired during the last steal round and readied
    /// this G into our runnext.
    StolenTimer { victim: PId },
    /// After dropping the P, the re-check found Gs and reacquired a P.
    IdleRecheck,
    /// A non-blocking netpoll found this G's network data ready.
    Netpoll,
    /// The M was blocked in netpoll and returned with this G's data.
    NetpollBlocked,
    /// The G is locked to this M (LockOSThread); another M found it runnable
    /// and handed over its P (`startlockedm`).
    LockedG { handed_by: MId },
    /// A background mark worker (`findRunnableGCWorker`): the pacer wants
    /// this P marking in `mode`.
    GcWorker { mode: GcWorkerMode },
    /// An idle-priority mark worker: the P found nothing else to run.
    GcIdleWorker,
}

/// A background mark worker's mode (`gcMarkWorkerMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcWorkerMode {
    /// Marks until no work is left (a whole P: 25% of GOMAXPROCS, rounded).
    Dedicated,
    /// Marks until this P's share of the fractional goal is used.
    Fractional,
    /// Marks on a P that has nothing else to do, until it has.
    Idle,
}

impl fmt::Display for GcWorkerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GcWorkerMode::Dedicated => "dedicated",
            GcWorkerMode::Fractional => "fractional",
            GcWorkerMode::Idle => "idle",
        })
    }
}

/// Why the world was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StwKind {
    /// `gcStart`: sweep termination, before concurrent mark.
    GcSweepTermination,
    /// `gcMarkDone`: mark termination.
    GcMarkTermination,
}

impl fmt::Display for StwKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StwKind::GcSweepTermination => "GC sweep termination",
            StwKind::GcMarkTermination => "GC mark termination",
        })
    }
}

/// Why a thread queued for a CPU got one (see `MCpuGranted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuGrant {
    /// The thread running on its CPU blocked (or went to sleep).
    CpuFreed,
    /// Another CPU went idle and pulled it (newidle balancing).
    PulledByIdleCpu,
    /// It waited a whole time slice (`cpu_slice_ns`): the thread running
    /// there was preempted for it.
    SliceEnded,
}

impl fmt::Display for CpuGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CpuGrant::CpuFreed => "the thread running there blocked",
            CpuGrant::PulledByIdleCpu => "that CPU went idle and pulled it (newidle balancing)",
            CpuGrant::SliceEnded => {
                "it waited a whole time slice, so the thread running there was preempted"
            }
        })
    }
}

/// What an M held `sched.lock` for, long enough that another M had to
/// sleep for it (see `MSchedLockWait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedLockHolder {
    /// sysmon writing a schedtrace report to stderr.
    Schedtrace,
    /// `stopTheWorldWithSema` sending its preemption signals (`preemptall`).
    StopTheWorld,
    /// `forEachP` sending the ragged barrier's preemption signals.
    ForEachP,
    /// The last P of a ragged barrier (`runSafePointFn`) waking the barrier's M.
    SafePointWake,
    /// The last P to stop for a stop-the-world (`gcstopm`) waking its M.
    StopWake,
    /// An M moving a batch of Gs from the global run queue to its P
    /// (`globrunqgetbatch`).
    GlobalRunqBatch,
}

impl fmt::Display for SchedLockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchedLockHolder::Schedtrace => "sysmon printing schedtrace",
            SchedLockHolder::StopTheWorld => "stopTheWorld signalling the running Ps",
            SchedLockHolder::ForEachP => "forEachP signalling the running Ps",
            SchedLockHolder::SafePointWake => "runSafePointFn waking the ragged barrier's M",
            SchedLockHolder::StopWake => "gcstopm waking the stop-the-world's M",
            SchedLockHolder::GlobalRunqBatch => {
                "an M taking a batch of Gs from the global run queue"
            }
        })
    }
}

impl fmt::Display for PickSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickSource::GlobalFairness { schedtick } => write!(
                f,
                "from global runq: schedtick {schedtick} is a multiple of 61 (fairness check)"
            ),
            PickSource::Runnext => write!(f, "from local runq (runnext, inherits time slice)"),
            PickSource::LocalRunq => write!(f, "from local runq"),
            PickSource::GlobalBatch { queued } => {
                write!(
                    f,
                    "from global runq (batch: ran 1, queued {queued} locally)"
                )
            }
            PickSource::Steal {
                victim,
                round,
                taken,
                runnext,
            } => {
                if *runnext {
                    write!(f, "stole runnext from {victim} in round {round}")
                } else {
                    write!(f, "stole {taken} from {victim} in round {round}")
                }
            }
            PickSource::StolenTimer { victim } => {
                write!(
                    f,
                    "ran {victim}'s expired timers in round 4; the readied G came to our runnext"
                )
            }
            PickSource::IdleRecheck => write!(f, "re-check after dropping the P found work"),
            PickSource::Netpoll => {
                write!(f, "from netpoll (non-blocking): its network data arrived")
            }
            PickSource::NetpollBlocked => write!(
                f,
                "returned from a blocking netpoll with its network data, took an idle P"
            ),
            PickSource::LockedG { handed_by } => write!(
                f,
                "its locked G, handed over with a P by {handed_by} (LockOSThread: only this M may run it)"
            ),
            PickSource::GcWorker { mode } => write!(
                f,
                "GC mark worker ({mode}): the pacer wants this P marking (25% utilisation goal)"
            ),
            PickSource::GcIdleWorker => write!(
                f,
                "GC mark worker (idle): nothing else to run, so the P marks instead of going idle"
            ),
        }
    }
}

/// One source `findRunnable` looked at and did not take a G from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrailStep {
    /// This P's timers were checked; `fired` expired ones ran.
    OwnTimers { fired: u32 },
    /// Fairness check skipped: schedtick not a multiple of 61, or global queue empty.
    FairnessNotDue { schedtick: u32, global_len: u32 },
    /// runnext and the local ring were empty.
    LocalEmpty,
    /// The global queue was empty.
    GlobalEmpty,
    /// Stealing was not tried: spinning Ms already number at least half the busy Ps.
    StealCapped { nmspinning: u32, busy_ps: u32 },
    /// Network waiters exist but none has its data yet.
    NetpollNothingReady { waiters: u32 },
    /// A whole steal round found nothing.
    StealRoundEmpty { round: u8, victims: u32 },
}

impl fmt::Display for TrailStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrailStep::OwnTimers { fired } => write!(f, "ran own timers ({fired} fired)"),
            TrailStep::FairnessNotDue {
                schedtick,
                global_len,
            } => write!(
                f,
                "skipped fairness check (schedtick {schedtick}, global runq {global_len})"
            ),
            TrailStep::LocalEmpty => write!(f, "local runq empty"),
            TrailStep::GlobalEmpty => write!(f, "global runq empty"),
            TrailStep::StealCapped {
                nmspinning,
                busy_ps,
            } => write!(
                f,
                "did not steal: {nmspinning} spinning Ms already, {busy_ps} busy Ps"
            ),
            TrailStep::NetpollNothingReady { waiters } => {
                write!(f, "netpoll: none of {waiters} network waiters ready")
            }
            TrailStep::StealRoundEmpty { round, victims } => {
                write!(f, "steal round {round} found nothing in {victims} Ps")
            }
        }
    }
}

/// A scheduling decision: the G `findRunnable` chose, where it came from, and
/// the trail of sources it checked and skipped first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub source: PickSource,
    pub g: Goid,
    /// True when the G continues the current time slice (schedtick not advanced).
    pub inherit_time: bool,
    pub trail: Vec<TrailStep>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if !self.trail.is_empty() {
            write!(f, " after: ")?;
            for (i, step) in self.trail.iter().enumerate() {
                if i > 0 {
                    write!(f, "; ")?;
                }
                write!(f, "{step}")?;
            }
        }
        Ok(())
    }
}

/// Why a running goroutine stopped but stays runnable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// `runtime.Gosched()`: to the global queue.
    Gosched,
    /// Preempted after sysmon saw the same schedtick for `slice_ns`.
    Preempted { slice_ns: u64, asynchronous: bool },
    /// `goyield` after handing a starving mutex to its waiter: to the local
    /// runq's tail, so the waiter (in runnext) runs first.
    Yield,
    /// Preempted because another M is stopping the world (`preemptall`).
    StopTheWorld,
    /// Preempted so its P runs `gcMarkDone`'s safe-point function (the
    /// ragged barrier flushing every P's write-barrier buffer).
    SafePoint,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Gosched => write!(f, "runtime.Gosched, to global runq"),
            StopReason::StopTheWorld => {
                write!(f, "preempted to stop the world, to global runq")
            }
            StopReason::SafePoint => write!(
                f,
                "preempted for gcMarkDone's ragged barrier (its P flushes its write-barrier buffer), to global runq"
            ),
            StopReason::Yield => write!(
                f,
                "goyield after handing a starving mutex to its waiter, to local runq tail"
            ),
            StopReason::Preempted {
                slice_ns,
                asynchronous,
            } => write!(
                f,
                "preempted by sysmon after {} on one schedtick ({}), to global runq",
                format_duration_ns(*slice_ns),
                if *asynchronous {
                    "async: SIGURG"
                } else {
                    "cooperative: at a function call"
                }
            ),
        }
    }
}

/// Where a newly runnable G was put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    /// The P's runnext slot; `kicked` is the previous runnext G, moved to the ring's tail.
    Runnext { p: PId, kicked: Option<Goid> },
    /// The tail of the P's local ring.
    LocalTail { p: PId },
    /// The global queue.
    Global,
    /// Nowhere: the M that found it runs it at once on `p`.
    RunsNow { p: PId },
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Runnext { p, kicked: None } => write!(f, "{p} runnext"),
            Placement::Runnext { p, kicked: Some(k) } => {
                write!(f, "{p} runnext (kicked {k} to runq tail)")
            }
            Placement::LocalTail { p } => write!(f, "{p} runq tail"),
            Placement::Global => write!(f, "global runq"),
            Placement::RunsNow { p } => write!(f, "runs at once on {p}"),
        }
    }
}

/// How a goroutine left a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyscallExit {
    /// Its P was still attached (sysmon had not retaken it).
    KeptP { p: PId },
    /// Its P was retaken; it acquired an idle P.
    IdleP { p: PId },
    /// No P available: the G goes to the global queue and the M stops.
    NoP,
}

/// Why an M was started or woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MStartReason {
    /// `wakep`: runnable work appeared, an idle P exists and no M was spinning.
    Wakep,
    /// `handoffp`: a P left a syscalling M and has work (or nobody spins).
    Handoff,
    /// The first runtime.LockOSThread starts the template thread.
    TemplateThread,
    /// The netpoller found ready goroutines and a P is idle (`injectglist`).
    Netpoll,
    /// The world restarts after a stop-the-world and this P has work.
    StartTheWorld,
    /// `enlistWorker` (Green Tea): marking made work other Ps can take
    /// (spans spilled to a stealable chain, a work buffer published), a P
    /// is idle and another idle-priority mark worker may run.
    EnlistWorker,
}

impl fmt::Display for MStartReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MStartReason::Wakep => write!(f, "wakep: work is runnable, a P is idle, no M spinning"),
            MStartReason::Handoff => write!(f, "handoffp: P taken from a syscall has work"),
            MStartReason::Netpoll => write!(
                f,
                "injectglist: the netpoller readied goroutines and a P is idle"
            ),
            MStartReason::StartTheWorld => {
                write!(f, "startTheWorld: the P has runnable work after the pause")
            }
            MStartReason::EnlistWorker => write!(
                f,
                "enlistWorker: marking published work other Ps can take, so an idle P runs an idle mark worker"
            ),
            MStartReason::TemplateThread => write!(
                f,
                "template thread: the first LockOSThread starts it to create threads for locked Ms"
            ),
        }
    }
}

/// One thing that happened in a simulated run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceEvent {
    /// `go` statement.
    GoCreate {
        g: Goid,
        parent: Goid,
        /// The workload program it runs; `None` for a runtime goroutine.
        program: Option<ProgramId>,
        placement: Placement,
    },
    /// The scheduler chose `decision.g` on `p`, run by `m`.
    GoStart { p: PId, m: MId, decision: Decision },
    /// The G stopped running but stays runnable.
    GoStop { g: Goid, p: PId, reason: StopReason },
    /// The G parked.
    GoBlock { g: Goid, p: PId, reason: WaitReason },
    /// A parked G became runnable.
    GoUnblock {
        g: Goid,
        reason: WaitReason,
        placement: Placement,
        /// For sleeps: how long after its due time the timer ran.
        late_ns: Option<u64>,
        /// The goroutine whose operation readied it (None: a timer or the netpoller).
        waker: Option<Goid>,
    },
    /// The G returned from its function.
    GoDestroy { g: Goid, p: PId },
    /// entersyscall: the M enters the kernel holding the P.
    GoSyscallBegin { g: Goid, p: PId, m: MId },
    /// exitsyscall.
    GoSyscallEnd { g: Goid, m: MId, exit: SyscallExit },
    /// sysmon (retake) took the P from a thread blocked in a syscall.
    ProcSteal { p: PId, m: MId, in_syscall_ns: u64 },
    /// sysmon asked the G running on `p` to stop.
    PreemptRequest {
        g: Goid,
        p: PId,
        slice_ns: u64,
        asynchronous: bool,
    },
    /// A new OS thread.
    MCreate { m: MId, reason: MStartReason },
    /// A parked M was woken to run `p`.
    MWake {
        m: MId,
        p: PId,
        spinning: bool,
        reason: MStartReason,
    },
    /// The M found no work and parked (stopm).
    MPark { m: MId },
    /// The M had to sleep for `sched.lock` (lock2 spun, then slept) because
    /// another M, or sysmon, held it for `holder`: it slept `slept_ns` (what
    /// `/sync/mutex/wait/total` counts) and was held up `delay_ns` in all,
    /// spinning and the wake-up included.
    MSchedLockWait {
        m: MId,
        holder: SchedLockHolder,
        slept_ns: u64,
        delay_ns: u64,
    },
    /// The M was woken while every CPU ran a thread: Linux queued it on
    /// `cpu`, where it waits for the CPU before it runs.
    MCpuQueued { m: MId, cpu: u32 },
    /// The M, queued for a CPU, gets `cpu` (`why`).
    MCpuGranted { m: MId, cpu: u32, why: CpuGrant },
    /// The M, without a P, blocks in netpoll until the next timer is due.
    NetpollBlock { m: MId, until_ns: u64 },
    /// An M locked to `g` has nothing to run: it hands its P off and parks
    /// until `g` is runnable (`stoplockedm`).
    MLockedPark { m: MId, g: Goid },
    /// M `from` picked `g`, which is locked to M `to`: it hands `to` its P
    /// and stops (`startlockedm`).
    MLockedHandoff { from: MId, to: MId, g: Goid, p: PId },
    /// The thread exited: its goroutine returned while locked to it.
    MExit { m: MId, g: Goid },
    /// The M released its P, which went idle.
    ProcIdle { p: PId, m: MId },
    /// The local ring was full: half of it plus the new G moved to the global queue.
    RunqSpill { p: PId, moved: u32 },
    /// A GC cycle starts (`gcStart`): `g` stops the world for sweep termination.
    GcStart {
        cycle: u32,
        g: Goid,
        /// What triggered it: heap, time (forced after 2 minutes) or runtime.GC.
        trigger: String,
        heap_live_bytes: u64,
        heap_goal_bytes: u64,
    },
    /// M `m` starts stopping the world: every P must reach a safe point.
    StwStart { m: MId, kind: StwKind },
    /// The world restarts after `pause_ns` (stopping included).
    StwDone { kind: StwKind, pause_ns: u64 },
    /// Goroutine `g` allocated while in assist debt and did `work_bytes` of
    /// mark work first (`gcAssistAlloc`).
    GcAssist { g: Goid, work_bytes: u64 },
    /// Goroutine `g` was asked to stop while inside a `mallocgc` call that
    /// took a new span (not preemptible): it stops at the call's first safe
    /// point, the heap-trigger test after it, and runs the test when it
    /// runs again. If a mark termination happens meanwhile, the test sees
    /// the heap reset to what was marked and can start the next cycle at
    /// once.
    StopBeforeTriggerTest { g: Goid },
    /// `suspendG`: goroutine `scanner` (a mark worker or an assist) took the
    /// stack root of `target`, which runs user code on `p`: it asks `target`
    /// to stop at its next safe point (`asynchronous`: with a SIGURG too) and
    /// spins until it has; after the scan `target` goes to `scanner`'s P.
    GcStackSuspend {
        scanner: Goid,
        target: Goid,
        p: PId,
        asynchronous: bool,
    },
    /// A round of `gcMarkDone`'s ragged barrier by goroutine `g` ended after
    /// `waited_ns`: every P flushed its write-barrier buffer. `flushed`: some
    /// object turned grey since the previous round, so marking goes on (or
    /// another round runs); otherwise mark termination follows.
    GcMarkDoneRound {
        g: Goid,
        waited_ns: u64,
        flushed: bool,
    },
    /// A GC cycle ended (mark termination done); `line` is its gctrace line.
    GcDone { cycle: u32, line: String },
    /// The process exited (main returned, or a fatal error).
    Exit { code: i32, why: String },
}

/// A trace event with its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    pub at_ns: u64,
    pub event: TraceEvent,
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEvent::GoCreate {
                g,
                parent,
                program,
                placement,
            } => match program {
                Some(program) => write!(f, "GoCreate {g} by {parent} ({program}) -> {placement}"),
                None => write!(f, "GoCreate {g} by {parent} (runtime) -> {placement}"),
            },
            TraceEvent::GoStart { p, m, decision } => {
                write!(f, "GoStart {} on {p}/{m}: {decision}", decision.g)
            }
            TraceEvent::GoStop { g, p, reason } => write!(f, "GoStop {g} on {p}: {reason}"),
            TraceEvent::GoBlock { g, p, reason } => write!(f, "GoBlock {g} on {p}: {reason}"),
            TraceEvent::GoUnblock {
                g,
                reason,
                placement,
                late_ns,
                waker,
            } => {
                write!(f, "GoUnblock {g} ({reason})")?;
                match waker {
                    Some(w) => write!(f, " by {w}")?,
                    None if *reason == WaitReason::IoWait => write!(f, " by the netpoller")?,
                    None if late_ns.is_some() => write!(f, " by its timer")?,
                    None => {}
                }
                write!(f, " -> {placement}")?;
                if let Some(late) = late_ns {
                    write!(f, ", {} after its due time", format_duration_ns(*late))?;
                }
                Ok(())
            }
            TraceEvent::GoDestroy { g, p } => write!(f, "GoDestroy {g} on {p}"),
            TraceEvent::GoSyscallBegin { g, p, m } => {
                write!(
                    f,
                    "GoSyscallBegin {g} on {p}/{m}: M keeps the P while in the kernel"
                )
            }
            TraceEvent::GoSyscallEnd { g, m, exit } => match exit {
                SyscallExit::KeptP { p } => write!(f, "GoSyscallEnd {g} on {m}: kept {p}"),
                SyscallExit::IdleP { p } => {
                    write!(
                        f,
                        "GoSyscallEnd {g} on {m}: P was retaken, acquired idle {p}"
                    )
                }
                SyscallExit::NoP => write!(
                    f,
                    "GoSyscallEnd {g} on {m}: no P free, G to global runq and M stops"
                ),
            },
            TraceEvent::ProcSteal {
                p,
                m,
                in_syscall_ns,
            } => write!(
                f,
                "ProcSteal {p} from {m}: sysmon retook it after {} in a syscall",
                format_duration_ns(*in_syscall_ns)
            ),
            TraceEvent::PreemptRequest {
                g,
                p,
                slice_ns,
                asynchronous,
            } => write!(
                f,
                "PreemptRequest {g} on {p}: same schedtick for {} >= forcePreemptNS (10ms){}",
                format_duration_ns(*slice_ns),
                if *asynchronous {
                    ", SIGURG sent"
                } else {
                    ", cooperative only"
                }
            ),
            TraceEvent::MCreate { m, reason } => write!(f, "MCreate {m}: {reason}"),
            TraceEvent::MWake {
                m,
                p,
                spinning,
                reason,
            } => write!(
                f,
                "MWake {m} with {p}{}: {reason}",
                if *spinning { " (spinning)" } else { "" }
            ),
            TraceEvent::MPark { m } => write!(f, "MPark {m}: no work found, stopm"),
            TraceEvent::MSchedLockWait {
                m,
                holder,
                slept_ns,
                delay_ns,
            } => write!(
                f,
                "MSchedLockWait {m}: sched.lock held by {holder}; spun, slept {}, held up {} in all",
                format_duration_ns(*slept_ns),
                format_duration_ns(*delay_ns)
            ),
            TraceEvent::MLockedPark { m, g } => write!(
                f,
                "MLockedPark {m}: locked to {g}, which is not runnable; hands off its P and parks"
            ),
            TraceEvent::MLockedHandoff { from, to, g, p } => write!(
                f,
                "MLockedHandoff {from} -> {to}: {g} is locked to {to}; {p} goes to {to} and {from} stops"
            ),
            TraceEvent::MExit { m, g } => write!(
                f,
                "MExit {m}: {g} exited while locked to it (LockOSThread without Unlock), so the thread exits"
            ),
            TraceEvent::MCpuQueued { m, cpu } => write!(
                f,
                "MCpuQueued {m}: woken while every CPU runs a thread; Linux queues it on CPU {cpu}, where it waits"
            ),
            TraceEvent::MCpuGranted { m, cpu, why } => {
                write!(f, "MCpuGranted {m} runs on CPU {cpu}: {why}")
            }
            TraceEvent::NetpollBlock { m, until_ns } => write!(
                f,
                "NetpollBlock {m}: no work found, sleeps in netpoll until the next timer at {until_ns}"
            ),
            TraceEvent::ProcIdle { p, m } => write!(f, "ProcIdle {p} released by {m}"),
            TraceEvent::RunqSpill { p, moved } => write!(
                f,
                "RunqSpill {p}: local runq full (256), moved {moved} Gs to global runq"
            ),
            TraceEvent::GcStart {
                cycle,
                g,
                trigger,
                heap_live_bytes,
                heap_goal_bytes,
            } => write!(
                f,
                "GcStart cycle {cycle} by {g}: {trigger} trigger, heap live {heap_live_bytes} B, goal {heap_goal_bytes} B"
            ),
            TraceEvent::StwStart { m, kind } => {
                write!(f, "StwStart by {m}: stopping the world for {kind}")
            }
            TraceEvent::StwDone { kind, pause_ns } => write!(
                f,
                "StwDone {kind}: the world restarts after {}",
                format_duration_ns(*pause_ns)
            ),
            TraceEvent::GcAssist { g, work_bytes } => write!(
                f,
                "GcAssist {g}: allocated in debt, did {work_bytes} B of mark work first"
            ),
            TraceEvent::StopBeforeTriggerTest { g } => write!(
                f,
                "StopBeforeTriggerTest {g}: asked to stop inside a mallocgc that took a new span; stops at the heap trigger test after it and runs the test when it runs again"
            ),
            TraceEvent::GcStackSuspend {
                scanner,
                target,
                p,
                asynchronous,
            } => write!(
                f,
                "GcStackSuspend by {scanner}: scanning the stack of {target}, which runs on {p}, needs it stopped (suspendG): preemption requested{}; after the scan it goes to {scanner}'s P",
                if *asynchronous {
                    ", SIGURG sent"
                } else {
                    " (cooperative only)"
                }
            ),
            TraceEvent::GcMarkDoneRound {
                g,
                waited_ns,
                flushed,
            } => write!(
                f,
                "GcMarkDoneRound by {g}: every P passed the ragged barrier after {}; {}",
                format_duration_ns(*waited_ns),
                if *flushed {
                    "objects turned grey since the last round, so marking is not done"
                } else {
                    "no P found new work: mark termination"
                }
            ),
            TraceEvent::GcDone { cycle, line } => write!(f, "GcDone cycle {cycle}: {line}"),
            TraceEvent::Exit { code, why } => write!(f, "Exit {code}: {why}"),
        }
    }
}

impl fmt::Display for TraceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12} {}", self.at_ns, self.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_reasons_print_go_text() {
        assert_eq!(WaitReason::Sleep.to_string(), "sleep");
        assert_eq!(
            WaitReason::SyncWaitGroupWait.to_string(),
            "sync.WaitGroup.Wait"
        );
        assert_eq!(WaitReason::ForceGcIdle.to_string(), "force gc (idle)");
        assert_eq!(WaitReason::CleanupWait as u8, 46);
    }

    #[test]
    fn a_decision_explains_itself() {
        let d = Decision {
            source: PickSource::Steal {
                victim: PId(3),
                round: 2,
                taken: 4,
                runnext: false,
            },
            g: Goid(9),
            inherit_time: false,
            trail: vec![TrailStep::LocalEmpty, TrailStep::GlobalEmpty],
        };
        assert_eq!(
            d.to_string(),
            "stole 4 from P3 in round 2 after: local runq empty; global runq empty"
        );
    }
}
