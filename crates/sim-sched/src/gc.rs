//! The garbage collector driven by the scheduler: allocation ops, assists,
//! background mark workers, the two stop-the-world pauses, the background
//! sweeper, runtime.GC() and sysmon's forced GC.
//!
//! sim-gc's [`sim_gc::Gc`] is a passive state machine: it changes state at
//! once and reports what happened. This module gives that work time and a
//! place: it runs on Ms, as CPU work charged from the `CostModel`, by the
//! goroutines Go runs it on.
//!
//! Mirrors go1.27.3: `mallocgc`'s path into `gcStart` (the allocating
//! goroutine starts the cycle, first sweeping what the last cycle left while
//! the world runs, 10 spans per batch) and into `gcAssistAlloc` (an assist scans
//! before the allocation; `gcParkAssist` parks in "GC assist wait");
//! `gcBgMarkStartWorkers` (one `go gcBgMarkWorker` per P, the starter
//! waiting for each to start); `stopTheWorldWithSema` (`gcwaiting`,
//! `preemptall` every 100 µs until every P stopped, idle and syscall Ps taken
//! at once, `gcstopm` in `findRunnable` and `handoffp`) and
//! `startTheWorldWithSema` (Ps with work get an M, the rest go idle,
//! `wakep`); `findRunnableGCWorker` before anything else in `findRunnable`
//! and an idle-priority worker instead of dropping the P; `gcBgMarkWorker`'s
//! three modes (dedicated: until no work, kicking its run queue to the global
//! queue when preempted; fractional: until `pollFractionalWorkerExit`; idle:
//! until `pollWork`), draining in batches of `drainCheckThreshold` work and
//! checking whether to stop after every root job as well (`gcDrain`'s
//! markroot loop);
//! `gcEndWork` (a worker that stops, or an assist whose `gcAssistAlloc1`
//! ends, calls `gcMarkDone` when no work is left that every P can see and no
//! other worker or assist is inside its drain: `work.nwait == work.nproc`,
//! whatever its own `gcWork` still holds); Green Tea's `enlistWorker` (a
//! drain step that spilled spans to its P's stealable chain or published a
//! work buffer wakes an idle P for an idle-priority worker, when one may
//! still start and no M spins); `gcMarkDone`'s ragged barrier
//! (`forEachP`: the caller's P, idle Ps and Ps in syscalls flush their
//! write-barrier buffer and `gcWork` at once, every other P at its next
//! safe point, its G preempted to the global queue as `gopreempt_m` does;
//! `preemptall` again every 100 µs; a round that found new grey work sends
//! the caller back to `gcMarkDone`'s top, one that found none leads to mark
//! termination); `markroot`'s `suspendG` for the stack of a goroutine
//! running user code (the scanner asks it to stop, with a SIGURG unless
//! async preemption is off, and spins, asking again every 5 µs, until it
//! parks as "preempted"; after the scan `resumeG` readies it onto the
//! scanner's P; a goroutine in an assist or stopped already is scanned in
//! place); `bgsweep` (10 spans per batch,
//! yielding when no P is idle); `runtime.GC` (wait for the running cycle,
//! start the next, wait for its mark termination, sweep span by span with a
//! Gosched after each); sysmon's `forcegc` after two minutes without a GC;
//! `bgscavenge` (woken by `finishsweep_m` at sweep termination and by sysmon
//! once sweeping drains, it returns free pages to the OS 64 KiB at a time
//! until 1 ms of work or its goals are met, as a goroutine competing for Ps
//! with the idle mark workers, then sleeps as its pacing says or parks when
//! it released nothing). Allocation and stack growth pay for the OS work
//! their pages need: faults on released pages (twice per 4 KiB page when
//! the write barrier reads a malloc header's word first), scavenge assists'
//! `madvise`, and the TLB shootdowns both send to the other CPUs running the
//! process ([`World::tlb_shootdowns`]).
//!
//! A preemption request that reaches a goroutine inside a `mallocgc` call
//! that took a new span stops it at the call's first safe point, the
//! heap-trigger test's prologue (`gcTrigger.test` is a call): the test runs
//! when the goroutine runs again. After a mark termination that test sees
//! heapLive reset to the marked heap; when the memory-limit goal is clamped
//! to the marked heap, the next cycle starts with no runway and assists
//! hold the allocator back for all of it (real go1.27.3 starts about a
//! quarter of memlimit-death-spiral's cycles so). `forEachP` and
//! `stopTheWorldWithSema` sleep in `notetsleep` until the last P is done;
//! its `notewakeup` costs their thread a wake-up. Both hold `sched.lock`
//! while `preemptall` signals the running Ps, and the last P holds it
//! while its `notewakeup` system call runs: an M that needs the lock
//! meanwhile (a preempted goroutine's global-queue put, `gcstopm`) spins,
//! then sleeps for it (`World::sched_lock`).
//!
//! Simplifications: a goroutine that finds another inside `gcStart` goes
//! on at once instead of waiting on `work.startSema` to find the trigger
//! gone; a batch of allocations changes the heap at its start and
//! is charged afterwards (at most `ALLOC_BATCH_NS` of CPU plus one span's
//! work with the OS: a batch ends after an allocation whose span needed
//! the OS), so another P may see a heap up to one batch ahead; allocation,
//! assist and drain batches are not interrupted by preemption (mallocgc and
//! the system stack are not preemptible), the request takes effect after the
//! batch, and whether it arrived inside a call that took a span is read off
//! the request's place in the batch, laid out as equal stretches that each
//! end with such a call (`SpanCalls`; the call carries its refill, sweeping
//! and the page heap's OS work, and the fault of its span's first 4 KiB
//! page); the pause work of
//! each STW is one cost; a second caller of `gcMarkDone` while a barrier
//! round runs goes on instead of waiting on `markDoneSema`; `enlistWorker`
//! wakes an idle P but never preempts a running one for a missing dedicated
//! worker (the dedicated worker starts at that P's next `schedule`); the
//! `mayNeedWorker` hint is taken after each drain step of up to 2 KiB of
//! work, not after each object; the safe-point
//! function costs nothing; a P in a syscall flushes at the barrier's start
//! without being taken from its M (Go hands it off); sim-gc knows
//! goroutines by their G slot (`GIdx` as a `Goid`), which is unique among
//! live goroutines; the runtime's own goroutines are scanned in place even
//! while they run; a suspended goroutine is readied when its scan starts,
//! the scan's cost charged to the scanner's next batch.

use crate::g::{GIdx, GKind, GStatus, GcStage, GcWork, PreemptFor, SpanCalls, WorkerRun};
use crate::m::MState;
use crate::p::PStatus;
use crate::world::World;
use sim_core::ids::{Goid, MId, PId};
use sim_core::time::MICROSECOND_NS;
use sim_core::trace::{
    Decision, GcWorkerMode, MStartReason, PickSource, Placement, SchedLockHolder, StopReason,
    StwKind, TraceEvent, WaitReason,
};
use sim_gc::{
    AllocLoopOutcome, AssistOutcome, GcTrigger, LoopStop, NewRing, ObjectShape, ParkAssist,
    StwTiming, SweepWork, WorkerMode,
};

/// Allocation batches are cut to about this much CPU work.
pub const ALLOC_BATCH_NS: u64 = 10 * MICROSECOND_NS;
/// `drainCheckThreshold`: fractional and idle workers check whether to
/// stop every this much work.
pub const DRAIN_CHECK_BYTES: u64 = 100_000;
/// A worker drains in steps of this much work...
const DRAIN_STEP_BYTES: u64 = 2_048;
/// ...until a batch has about this much CPU work; then it checks for
/// preemption (Go checks before every object).
pub const MARK_BATCH_NS: u64 = 10 * MICROSECOND_NS;
/// `sweepBatchSize`: bgsweep yields (if the machine is busy) every this many spans.
pub const SWEEP_BATCH_SPANS: u32 = 10;
/// `stopTheWorldWithSema` re-preempts every 100 µs until every P stopped.
pub const STW_REPREEMPT_NS: u64 = 100 * MICROSECOND_NS;
/// Stack bytes a goroutine uses outside its program's own calls (a stack
/// grow op's chain): the frames of a goroutine parked in the runtime, which
/// is what a stack scan reads (`stack.hi - sched.sp`). Real go1.27.3's
/// gctrace for million-parked, a million goroutines parked in a channel
/// receive (2026-12-07, one run): `244 MB stacks`, 256 bytes each.
pub const INITIAL_STACK_USED_BYTES: u64 = 256;

/// `suspendG` sends its preemption request again (`preemptM`) every this
/// long while the goroutine it waits for runs on (`yieldDelay / 2`).
pub const SUSPEND_RETRY_NS: u64 = 5 * MICROSECOND_NS;

/// The kernel's page size on the machine modelled (x86-64 Linux): a
/// runtime page of 8 KiB is two of them.
const OS_PAGE_BYTES: u64 = 4_096;

/// The CPU cost of some of the page heap's work with the OS, by kind.
#[derive(Clone, Copy, Debug)]
struct OsMemoryCost {
    /// Faulting released pages in (twice per 4 KiB page when read first).
    fault_ns: u64,
    /// The scavenge assists' `madvise` work.
    scavenge_ns: u64,
    /// TLB flushes of the scavenge assists' `madvise` calls.
    madvise_flushes: u64,
    /// TLB flushes of the copies on write of pages that were read first.
    cow_flushes: u64,
}

impl OsMemoryCost {
    fn ns(&self) -> u64 {
        self.fault_ns + self.scavenge_ns
    }

    fn tlb_flushes(&self) -> u64 {
        self.madvise_flushes + self.cow_flushes
    }
}

/// The page heap's work with the OS, counted since the run began.
#[derive(Clone, Copy, Debug)]
struct OsMemoryWork {
    faulted_in_pages: u64,
    scavenged_bytes: u64,
    madvise_calls: u64,
}

/// A stop-the-world in progress.
#[derive(Clone, Debug)]
pub(crate) struct Stw {
    pub initiator: MId,
    pub kind: StwKind,
    pub started_ns: u64,
    pub stopped_ns: u64,
    /// Ps still running that must stop (`sched.stopwait`).
    pub remaining: u32,
    /// Time the Ps spent stopping, summed over Ps.
    pub stopping_cpu_ns: u64,
    /// Pause work to charge once stopped (sweep finished in the pause).
    pub pause_work_ns: u64,
}

/// A round of `gcMarkDone`'s ragged barrier in progress (`forEachP`).
#[derive(Clone, Debug)]
pub(crate) struct Barrier {
    pub initiator: MId,
    pub started_ns: u64,
    /// Ps that have not yet run the safe-point function
    /// (`sched.safePointWait`).
    pub remaining: u32,
}

/// The GC side of the world.
#[derive(Clone, Debug)]
pub(crate) struct GcDriver {
    pub stw: Option<Stw>,
    pub barrier: Option<Barrier>,
    /// Parked mark workers (`gcBgMarkWorkerPool`), last parked on top.
    pub worker_pool: Vec<GIdx>,
    /// Mark workers created so far (`gcBgMarkWorkerCount`).
    pub worker_count: u32,
    /// The goroutine waiting in `gcBgMarkStartWorkers` for a new worker.
    pub worker_starter: Option<GIdx>,
    /// The background sweeper and whether it is parked.
    pub bgsweep: Option<GIdx>,
    pub bgsweep_parked: bool,
    /// The sweeper has made its start-up run (later runs sweep).
    pub bgsweep_started: bool,
    /// The background scavenger (`bgscavenge`) and where it stands.
    pub scavenger: Option<GIdx>,
    pub scavenger_state: ScavengerState,
    /// The scavenger's current run (`scavengerState.run`).
    pub scavenger_run: ScavengerRun,
    /// The forcegc helper, parked until sysmon wakes it.
    pub forcegc: Option<GIdx>,
    pub forcegc_parked: bool,
    /// sysmon woke the forcegc helper to start a cycle.
    pub forcegc_wanted: bool,
    /// Goroutines in runtime.GC waiting for a cycle's mark termination
    /// (`work.sweepWaiters`), with the cycle they wait for.
    pub cycle_waiters: Vec<(GIdx, u32)>,
    /// Each finished cycle's record.
    pub cycles: Vec<CycleRecord>,
    /// Ms spinning in `suspendG` (`MState::StackScanWait`).
    pub stack_scan_waits: u32,
}

/// Where the background scavenger stands (`scavengerState.parked` and the
/// loop of `bgscavenge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScavengerState {
    /// Not yet through its start-up run.
    Starting,
    /// Parked in "GC scavenge wait": it released nothing last time.
    Parked,
    /// Asleep (its timer set) after a run that counts as `counted_ns` of work.
    Sleeping { since_ns: u64, counted_ns: u64 },
    /// Woken; on its next run it updates its pacing from the sleep, if any.
    Woken { slept: Option<(u64, u64)> },
    /// In a run.
    Running,
}

/// The background scavenger's run in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScavengerRun {
    pub worked_ns: u64,
    pub released_bytes: u64,
    /// The run is over (1 ms of work, the goals met, or no free page left).
    pub ended: bool,
}

/// One finished GC cycle, as the run summary and `gmpsim run` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleRecord {
    /// The cycle's number (gctrace's `gc N`).
    pub numgc: u32,
    /// The heap goal the cycle aimed at.
    pub heap_goal_bytes: u64,
    /// Heap marked live at the end of mark.
    pub heap_marked_bytes: u64,
    /// Both stop-the-world pauses together.
    pub pause_ns: u64,
    /// Started by runtime.GC.
    pub forced: bool,
}

impl GcDriver {
    pub fn new() -> GcDriver {
        GcDriver {
            stw: None,
            barrier: None,
            worker_pool: Vec::new(),
            worker_count: 0,
            worker_starter: None,
            bgsweep: None,
            bgsweep_parked: false,
            bgsweep_started: false,
            scavenger: None,
            scavenger_state: ScavengerState::Starting,
            scavenger_run: ScavengerRun::default(),
            forcegc: None,
            forcegc_parked: false,
            forcegc_wanted: false,
            cycle_waiters: Vec::new(),
            cycles: Vec::new(),
            stack_scan_waits: 0,
        }
    }
}

/// sim-gc's name for a goroutine: its slot.
pub(crate) fn gc_key(g: GIdx) -> Goid {
    Goid(u64::from(g.0))
}

pub(crate) fn from_gc_key(g: Goid) -> GIdx {
    GIdx(g.0 as u32)
}

fn trace_mode(mode: WorkerMode) -> GcWorkerMode {
    match mode {
        WorkerMode::Dedicated => GcWorkerMode::Dedicated,
        WorkerMode::Fractional => GcWorkerMode::Fractional,
        WorkerMode::Idle => GcWorkerMode::Idle,
    }
}

/// The collector's state at a moment, for live views.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcStatus {
    /// "off" (sweeping or idle), "mark", "mark termination", or the pause
    /// in progress.
    pub phase: String,
    /// Cycles finished (`NumGC`).
    pub cycles: u32,
    /// `heapLive` now, and the current heap goal.
    pub heap_live_bytes: u64,
    pub heap_goal_bytes: u64,
    /// Goroutine stacks in use.
    pub stack_bytes: u64,
}

/// What the model charges, on average, for faulting in a fresh goroutine's
/// 2 KiB stack: its share of a new stack pool span's pages.
pub fn fresh_stack_fault_ns(cost: &sim_core::cost::CostModel) -> f64 {
    let span_pages = sim_gc::heap::STACK_POOL_SPAN_BYTES / sim_gc::sizeclass::PAGE_SIZE_BYTES;
    let stacks_per_span = sim_gc::heap::STACK_POOL_SPAN_BYTES / sim_gc::heap::STACK_MIN_BYTES;
    (span_pages * cost.page_fault_ns_per_page) as f64 / stacks_per_span as f64
}

impl World {
    /// The collector now.
    pub fn gc_status(&self) -> GcStatus {
        let phase = match (&self.gc_driver.stw, self.gc.phase) {
            (Some(stw), _) => format!("stopping the world ({})", stw.kind),
            (None, sim_gc::GcPhase::Off) => "off".to_string(),
            (None, sim_gc::GcPhase::Mark) => "mark".to_string(),
            (None, sim_gc::GcPhase::MarkTermination) => "mark termination".to_string(),
        };
        GcStatus {
            phase,
            cycles: self.gc.stats.numgc,
            heap_live_bytes: self.gc.pacer.heap_live_bytes,
            heap_goal_bytes: self.gc.heap_goal_bytes(),
            stack_bytes: self.gc.heap.mem_stats().stack_in_use_bytes,
        }
    }

    /// The collector itself, read-only: its spans and their mark bits, the
    /// pacer, MemStats (for views; the scheduler alone drives it).
    pub fn gc(&self) -> &sim_gc::Gc {
        &self.gc
    }

    /// Every GC cycle finished so far, in order.
    pub fn gc_cycles(&self) -> &[CycleRecord] {
        &self.gc_driver.cycles
    }

    /// CPU time of mark work.
    fn mark_cost_ns(&self, work: &sim_gc::ScanWork) -> u64 {
        let c = &self.config.cost;
        (work.scanned_bytes() - work.in_span_bytes) * c.mark_ns_per_kib / 1024
            + work.in_span_bytes * c.mark_ns_per_kib_in_span / 1024
            + (work.objects_scanned - work.large_objects_scanned + work.stacks_scanned)
                * c.mark_ns_per_object
            + work.large_objects_scanned * c.mark_ns_per_large_object
            + work.spans_scanned * c.mark_ns_per_span
            + work.pointers_followed * c.mark_ns_per_pointer
    }

    /// CPU time of a batch of allocations of `shape`, each object making
    /// `stores_per_object` pointer stores; `marking`: the GC marked when the
    /// batch started, so the write barrier is on and allocation is black.
    /// Also returns, of that time, the part inside the `mallocgc` calls that
    /// took a new span: each call's own allocation, the refill and the
    /// sweeping it did.
    fn alloc_cost_ns(
        &self,
        shape: ObjectShape,
        out: &AllocLoopOutcome,
        marking: bool,
        stores_per_object: u64,
    ) -> (u64, u64) {
        let c = &self.config.cost;
        let route = sim_gc::sizeclass::alloc_route(shape.size_bytes, shape.is_noscan());
        let mut per_object = match route {
            sim_gc::sizeclass::AllocRoute::Tiny => c.malloc_tiny_ns,
            sim_gc::sizeclass::AllocRoute::Large { .. } => c.malloc_large_ns,
            _ => c.malloc_small_ns,
        };
        if marking {
            per_object += stores_per_object * c.write_barrier_ns;
            if !matches!(route, sim_gc::sizeclass::AllocRoute::Tiny) {
                per_object += c.malloc_marking_ns;
            }
        }
        let zeroing_ns = out.slot_bytes * c.malloc_ns_per_kib / 1024;
        let sweep_ns = self.sweep_cost_ns(out.sweep);
        let total_ns = out.allocated * per_object
            + zeroing_ns
            + out.spans_refilled * c.mcache_refill_ns
            + sweep_ns;
        let per_call_zeroing_ns = zeroing_ns / out.allocated.max(1);
        let span_calls_ns =
            out.spans_refilled * (per_object + per_call_zeroing_ns + c.mcache_refill_ns) + sweep_ns;
        (total_ns, span_calls_ns.min(total_ns))
    }

    /// The `mallocgc` calls of a batch of `ns` that took a span: `calls_ns`
    /// of their own CPU work, plus what comes with the span they take, the
    /// page heap's work with the OS (scavenge assists and their flushes)
    /// and the fault of its first 4 KiB page; the faults of its other pages
    /// come in the calls that first touch them.
    fn span_calls(
        &self,
        shape: ObjectShape,
        out: &AllocLoopOutcome,
        calls_ns: u64,
        os: OsMemoryCost,
        flush_wait_ns: u64,
        ns: u64,
    ) -> SpanCalls {
        use sim_gc::sizeclass::{AllocRoute, PAGE_SIZE_BYTES, TINY_SIZE_BYTES, size_to_class};
        let span_pages = match sim_gc::sizeclass::alloc_route(shape.size_bytes, shape.is_noscan()) {
            AllocRoute::Small { span_class, .. } => span_class.size_class().span_pages(),
            AllocRoute::Tiny => size_to_class(TINY_SIZE_BYTES).map_or(1, |c| c.span_pages()),
            AllocRoute::Large { .. } | AllocRoute::Zero => 0,
        };
        // A large object's span is its own call's: all of its faults are.
        let span_os_pages = (span_pages * PAGE_SIZE_BYTES / OS_PAGE_BYTES).max(1);
        let flushes = os.tlb_flushes();
        let calls_flush_wait_ns = if flushes == 0 {
            0
        } else {
            flush_wait_ns * (os.madvise_flushes * span_os_pages + os.cow_flushes)
                / (flushes * span_os_pages)
        };
        let calls_ns =
            calls_ns + os.scavenge_ns + os.fault_ns / span_os_pages + calls_flush_wait_ns;
        SpanCalls {
            batch_started_ns: self.now_ns,
            count: out.spans_refilled,
            share_ppm: (u128::from(calls_ns.min(ns)) * 1_000_000 / u128::from(ns.max(1))) as u64,
        }
    }

    /// CPU time of sweeping `swept`.
    fn sweep_cost_ns(&self, swept: SweepWork) -> u64 {
        let c = &self.config.cost;
        swept.spans * c.sweep_span_ns + swept.freed_spans * c.sweep_span_freed_ns
    }

    /// The page heap's work with the OS so far.
    fn os_memory_work(&self) -> OsMemoryWork {
        let c = &self.gc.heap.counters;
        OsMemoryWork {
            faulted_in_pages: c.faulted_in_pages,
            scavenged_bytes: c.scavenge_assist_bytes,
            madvise_calls: c.scavenge_assist_calls,
        }
    }

    /// The OS memory work done since `before`: its CPU time and the TLB
    /// flushes other CPUs must hear of (one per `madvise`). `read_first`:
    /// the pages faulted in were first read, then written (see
    /// `page_fault_read_first_extra_ns_per_page`), so each 4 KiB page's copy
    /// on write flushes the TLB too.
    fn os_memory_cost(&self, before: OsMemoryWork, read_first: bool) -> OsMemoryCost {
        let now = self.os_memory_work();
        let c = &self.config.cost;
        let faulted = now.faulted_in_pages - before.faulted_in_pages;
        let mut cost = OsMemoryCost {
            fault_ns: faulted * c.page_fault_ns_per_page,
            scavenge_ns: (now.scavenged_bytes - before.scavenged_bytes)
                .div_ceil(sim_gc::sizeclass::PAGE_SIZE_BYTES)
                * c.scavenge_ns_per_page,
            madvise_flushes: now.madvise_calls - before.madvise_calls,
            cow_flushes: 0,
        };
        if read_first {
            cost.fault_ns += faulted * c.page_fault_read_first_extra_ns_per_page;
            cost.cow_flushes = faulted * (sim_gc::sizeclass::PAGE_SIZE_BYTES / OS_PAGE_BYTES);
        }
        cost
    }

    /// M `m`'s work of `work_ns` plus `os`: its OS memory work, whose TLB
    /// flushes interrupt the CPUs where other threads of the process run
    /// ([`World::tlb_shootdowns`]). Returns the total and, of it, the time
    /// M `m` waited for the other CPUs to flush.
    fn with_os_memory_ns(&mut self, m: MId, work_ns: u64, os: OsMemoryCost) -> (u64, u64) {
        let own_ns = work_ns + os.ns();
        let flush_wait_ns = self.tlb_shootdowns(m, os.tlb_flushes(), own_ns);
        (own_ns + flush_wait_ns, flush_wait_ns)
    }

    /// Objects in one allocation batch.
    fn alloc_batch_objects(&self, shape: ObjectShape) -> u64 {
        let c = &self.config.cost;
        let per_object = c.malloc_small_ns + shape.size_bytes * c.malloc_ns_per_kib / 1024;
        (ALLOC_BATCH_NS / per_object.max(1)).max(1)
    }

    /// G `g`, running, leaves running and comes straight back `times`
    /// times ([`crate::g::G::leave_and_return_to_running`]); the latency
    /// samples that starts go to `/sched/latencies`.
    fn running_round_trips(&mut self, g: GIdx, times: u32) {
        for _ in 0..times {
            if let Some(runnable_ns) = self.gs[g.index()].leave_and_return_to_running() {
                self.stats.latencies.record(runnable_ns);
            }
        }
    }

    /// Starts CPU work `work` of `ns` for M `m`'s G.
    fn gc_work_start(&mut self, m: MId, work: GcWork, ns: u64) {
        let g = self.ms[m.index()].curg.expect("M runs a G");
        self.gs[g.index()].gc_mut().work = Some(work);
        self.compute_start(m, ns.max(1));
    }

    /// What M `m`'s go statement costs its goroutine: newproc1, plus, when
    /// no dead G can be reused (`gfget` finds none), `malg`'s new g and its
    /// 2 KiB stack, whose fresh pages the spawner faults in when it writes
    /// the goroutine's first frame.
    pub(crate) fn go_statement_ns(&mut self, m: MId) -> u64 {
        let p = self.p_of(m);
        let cost = &self.config.cost;
        let reused_ns = cost.go_statement_ns;
        if !self.needs_malg(p) {
            return reused_ns;
        }
        let fresh_ns = reused_ns + cost.malg_ns;
        let before = self.os_memory_work();
        let spawner = gc_key(self.curg(m));
        self.gc.reserve_malg(p, spawner);
        let os = self.os_memory_cost(before, false);
        self.with_os_memory_ns(m, fresh_ns, os).0
    }

    /// `timeSleep`'s `new(timer)` on M `m`'s goroutine's first sleep: its
    /// CPU is charged with the park. True when the allocation's span
    /// refill reached the heap trigger and the M starts a cycle (the
    /// goroutine sleeps once the world restarts).
    pub(crate) fn sleep_timer_starts_gc(&mut self, m: MId) -> bool {
        let p = self.p_of(m);
        let g = gc_key(self.curg(m));
        let Some(a) = self.gc.sleep_timer(p, g) else {
            return false;
        };
        self.ms[m.index()].g0_cost_ns += self.config.cost.malloc_small_ns;
        a.gc_triggered && self.gc_start(m, GcTrigger::Heap)
    }

    /// `acquireSudog` `n` times for M `m`'s goroutine, about to block on a
    /// channel, a select's cases or a semaphore; a `new(sudog)` costs a
    /// small allocation.
    pub(crate) fn acquire_sudogs(&mut self, m: MId, n: usize) {
        let p = self.p_of(m);
        let g = gc_key(self.curg(m));
        for _ in 0..n {
            if self.gc.acquire_sudog(p, g) {
                self.ms[m.index()].g0_cost_ns += self.config.cost.malloc_small_ns;
            }
        }
    }

    /// A go statement on P `p` would find no dead G to reuse (`gfget`).
    pub(crate) fn needs_malg(&self, p: PId) -> bool {
        self.ps[p.index()].gfree.is_empty() && self.sched.gfree.is_empty()
    }

    /// A G was created: the GC gives it a stack.
    pub(crate) fn gc_goroutine_created(&mut self, g: GIdx) {
        self.gc
            .goroutine_created(gc_key(g), INITIAL_STACK_USED_BYTES);
    }

    /// The `alloc` op at M `m`'s G's pc: allocate the next batch.
    pub(crate) fn alloc_op(
        &mut self,
        m: MId,
        shape: ObjectShape,
        count: u64,
        keep: u32,
        link: bool,
    ) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        if self.gc_stw_pending() {
            // preemptall asked this G to stop; mallocgc is a safe point.
            self.preempt_stop(m, false);
            return;
        }
        let p = self.p_of(m);
        let key = gc_key(gi);
        let pc = self.gs[gi.index()].pc;
        let known = self.gs[gi.index()]
            .gc_get(|x| x.rings.iter().find(|(at, _)| *at == pc).map(|(_, r)| *r));
        let ring = match known {
            Some(ring) => ring,
            None => match self.gc.new_ring(p, key, keep) {
                NewRing::Created { ring, backing } => {
                    self.gs[gi.index()].gc_mut().rings.push((pc, ring));
                    if let Some(a) = backing {
                        let ns = self.config.cost.malloc_large_ns
                            + a.slot_bytes * self.config.cost.malloc_ns_per_kib / 1024;
                        let stop = if a.gc_triggered {
                            LoopStop::GcTriggered
                        } else {
                            LoopStop::Completed
                        };
                        // One large allocation: the whole batch is the
                        // call that took its span.
                        let span_calls = SpanCalls {
                            batch_started_ns: self.now_ns,
                            count: 1,
                            share_ppm: 1_000_000,
                        };
                        self.gc_work_start(m, GcWork::Alloc { stop, span_calls }, ns);
                        return;
                    }
                    ring
                }
                NewRing::AssistNeeded => {
                    self.assist(m, true);
                    return;
                }
            },
        };
        let left = self.gs[gi.index()]
            .gc_get(|x| x.alloc_left)
            .unwrap_or(count);
        if left == 0 {
            // The last batch started a cycle; the op is done.
            let g = &mut self.gs[gi.index()];
            g.gc_mut().alloc_left = None;
            g.pc += 1;
            self.exec_g(m);
            return;
        }
        let batch = left.min(self.alloc_batch_objects(shape));
        // The phase at the batch's start decides the batch's costs.
        let marking = self.gc.phase != sim_gc::GcPhase::Off;
        let stores_per_object = u64::from(keep > 0) + u64::from(link);
        let os_before = self.os_memory_work();
        let out = self.gc.alloc_loop(p, key, ring, shape, link, batch);
        let heap_in_use_bytes = self.gc.heap.heap_in_use_bytes();
        if heap_in_use_bytes > self.config.runtime.max_heap_bytes {
            self.finish(
                crate::world::EXIT_LIMIT_REACHED,
                format!(
                    "stopped: the simulated heap in use grew to {heap_in_use_bytes} bytes, \
                     past the limit of {} bytes",
                    self.config.runtime.max_heap_bytes
                ),
            );
            return;
        }
        // With the write barrier on, a malloc header's store is preceded by
        // the barrier's load of the old header word.
        let read_first =
            marking && sim_gc::sizeclass::has_malloc_header(shape.size_bytes, shape.is_noscan());
        let os = self.os_memory_cost(os_before, read_first);
        self.gs[gi.index()].gc_mut().alloc_left = Some(left - out.allocated);
        let stop = out.stop.expect("a loop reports why it stopped");
        if out.allocated == 0 {
            debug_assert_eq!(stop, LoopStop::AssistNeeded);
            self.assist(m, true);
            return;
        }
        let (work_ns, span_calls_ns) = self.alloc_cost_ns(shape, &out, marking, stores_per_object);
        let (ns, flush_wait_ns) = self.with_os_memory_ns(m, work_ns, os);
        let span_calls = self.span_calls(shape, &out, span_calls_ns, os, flush_wait_ns, ns);
        self.gc_work_start(m, GcWork::Alloc { stop, span_calls }, ns);
    }

    /// The G's runtime CPU work ended: continue.
    pub(crate) fn gc_work_done(&mut self, m: MId, gi: GIdx, work: GcWork) {
        let left = self.compute_stop(m);
        debug_assert_eq!(left, 0, "runtime work is not interrupted");
        match work {
            GcWork::Alloc { stop, span_calls } => match stop {
                _ if self.stopped_in_a_span_call(gi, span_calls)
                    && stop != LoopStop::GcTriggered =>
                {
                    // Stopped at the heap-trigger test after the call
                    // (gcTrigger.test's prologue): the test runs when the G
                    // runs again.
                    self.finish_alloc_op_if_done(gi);
                    self.gs[gi.index()].gc_mut().starting_gc = Some(GcTrigger::Heap);
                    let goid = self.goid(gi);
                    self.emit(TraceEvent::StopBeforeTriggerTest { g: goid });
                    self.preempt_stop(m, false);
                }
                LoopStop::Completed => self.alloc_batch_done(m, gi),
                LoopStop::GcTriggered => {
                    if !self.gc_start(m, GcTrigger::Heap) {
                        self.alloc_batch_done(m, gi);
                    }
                }
                // The next mallocgc's prologue is a safe point: a pending
                // preemption request stops the G before it assists.
                LoopStop::AssistNeeded if self.gs[gi.index()].preempt => {
                    self.preempt_stop(m, false)
                }
                LoopStop::AssistNeeded => self.assist(m, true),
            },
            GcWork::Assist {
                since_ns,
                in_debt,
                ran_out,
            } => {
                let now = self.now_ns;
                self.gc.add_assist_time(now, now - since_ns);
                if self.gc.claimed_stack(self.p_of(m)).is_some() {
                    // The batch stopped at a stack root whose goroutine runs.
                    self.assist(m, false);
                    return;
                }
                // gcEndWork: the last one out with no work any P can see
                // calls gcMarkDone, whatever its own gcWork still holds (the
                // ragged barrier publishes it). When another caller's
                // barrier round or a stop is under way it returns at once
                // (after markDoneSema in Go) and the assist goes on to its
                // debt below: parking, not allocating again and
                // re-assisting in a loop.
                if self.gc_mark_done(m) {
                    return;
                }
                if !in_debt {
                    self.exec_g(m);
                    return;
                }
                if self.gs[gi.index()].preempt {
                    // gcAssistAlloc: preempted with debt left: Gosched, retry.
                    self.gc.assist_stopped(gc_key(gi));
                    self.preempt_stop(m, false);
                    return;
                }
                if !ran_out {
                    self.assist(m, false);
                    return;
                }
                match self.gc.park_assist(gc_key(gi)) {
                    ParkAssist::Parked => {
                        self.park(m, WaitReason::GcAssistWait);
                        self.schedule(m);
                    }
                    ParkAssist::Retry => self.assist(m, true),
                    ParkAssist::Proceed => self.exec_g(m),
                }
            }
            GcWork::MarkDrain => {
                let woken = self.gc.mark_worker_flush_credit(self.p_of(m));
                self.ready_assists(m, woken);
                if self.gc.mark_done_ready_on(self.p_of(m)) {
                    self.worker_stop(m);
                } else {
                    self.exec_g(m);
                }
            }
            GcWork::Sweep { spans } => self.sweep_batch_done(m, gi, spans),
            GcWork::Scavenge => self.scavenge_batch_done(m, gi),
            GcWork::StackCopy => {
                self.gs[gi.index()].pc += 1;
                self.exec_g(m);
            }
        }
    }

    /// Whether the preemption request G `gi` received during the allocation
    /// batch that just ended arrived inside one of its `mallocgc` calls that
    /// took a span ([`SpanCalls`]). The batch is laid out as `count` equal
    /// stretches, each ending with such a call of `share_ppm` of it (a span
    /// is taken when the cached one has run out): the request's place in
    /// the batch says whether it fell inside one.
    fn stopped_in_a_span_call(&mut self, gi: GIdx, calls: SpanCalls) -> bool {
        let Some(requested_ns) = self.gs[gi.index()]
            .gc
            .as_mut()
            .and_then(|x| x.preempt_requested_ns.take())
        else {
            return false;
        };
        if calls.count == 0 || !self.gs[gi.index()].preempt {
            return false;
        }
        let batch_ns = self.now_ns.saturating_sub(calls.batch_started_ns).max(1);
        let offset_ns = requested_ns
            .saturating_sub(calls.batch_started_ns)
            .min(batch_ns - 1);
        // The request's place within its stretch, in parts per million.
        let place_ppm = (u128::from(offset_ns) * u128::from(calls.count) * 1_000_000
            / u128::from(batch_ns))
            % 1_000_000;
        place_ppm >= 1_000_000 - u128::from(calls.share_ppm.min(1_000_000))
    }

    /// An allocation batch ended without starting a cycle.
    fn alloc_batch_done(&mut self, m: MId, gi: GIdx) {
        self.finish_alloc_op_if_done(gi);
        self.exec_g(m);
    }

    /// After a batch: when the `alloc` op has no objects left, G `gi` moves
    /// on to its next op.
    fn finish_alloc_op_if_done(&mut self, gi: GIdx) {
        let g = &mut self.gs[gi.index()];
        if g.gc_get(|x| x.alloc_left) == Some(0) {
            g.gc_mut().alloc_left = None;
            g.pc += 1;
        }
    }

    /// `gcAssistAlloc` for M `m`'s G, which is in allocation debt; `fresh`
    /// when this is a new `gcAssistAlloc1` (from an allocation, or a retry
    /// after `gcParkAssist`), not the next batch of one under way.
    fn assist(&mut self, m: MId, fresh: bool) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        if self.gc_stw_pending() {
            self.gc.assist_stopped(gc_key(gi));
            self.preempt_stop(m, false);
            return;
        }
        let p = self.p_of(m);
        if self.stack_scan_suspend(m) {
            return;
        }
        // gcDrainN in steps, up to MARK_BATCH_NS of work: it checks for a
        // preemption request before every object.
        let mut ns = 0;
        let mut bytes = 0;
        let mut in_debt = false;
        let mut ran_out = false;
        self.tell_gc_running_goroutines(gi);
        loop {
            match self
                .gc
                .assist_up_to(self.p_of(m), gc_key(gi), DRAIN_STEP_BYTES)
            {
                AssistOutcome::Skipped | AssistOutcome::Stolen { .. } => break,
                AssistOutcome::Scanned {
                    work, in_debt: d, ..
                } => {
                    self.enlist_worker(p);
                    in_debt = d;
                    ns += self.mark_cost_ns(&work);
                    bytes += work.total_bytes();
                    if self.gc.claimed_stack(p).is_some() {
                        break; // suspendG after this batch
                    }
                    if work.total_bytes() == 0 && work.objects_scanned == 0 {
                        ran_out = true;
                        break;
                    }
                    if !in_debt || ns >= MARK_BATCH_NS {
                        break;
                    }
                }
            }
        }
        if ns == 0 {
            if self.stack_scan_suspend(m) {
                return;
            }
            if !in_debt {
                self.exec_g(m);
                return;
            }
        }
        if fresh {
            // gcAssistAlloc1 marks with its G in _Gwaiting.
            self.running_round_trips(gi, 1);
        }
        let goid = self.goid(gi);
        self.emit(TraceEvent::GcAssist {
            g: goid,
            work_bytes: bytes,
        });
        let since_ns = self.now_ns;
        self.gc_work_start(
            m,
            GcWork::Assist {
                since_ns,
                in_debt,
                ran_out,
            },
            ns,
        );
    }

    /// Readies goroutines whose assist debt background marking paid, onto
    /// M `m`'s P.
    fn ready_assists(&mut self, m: MId, woken: Vec<Goid>) {
        let p = self.p_of(m);
        for g in woken {
            let gi = from_gc_key(g);
            if self.gs[gi.index()].status == GStatus::Waiting(WaitReason::GcAssistWait) {
                self.ready(gi, p, None);
            }
        }
    }

    /// `gcStart` by M `m`'s G for `trigger`. Returns false if no cycle
    /// started (the trigger no longer holds): the G goes on.
    pub(crate) fn gc_start(&mut self, m: MId, trigger: GcTrigger) -> bool {
        // Another goroutine is inside gcStart (work.startSema): in Go this
        // one would wait for it and then find the trigger gone; it goes on.
        if self.gc_stw_pending()
            || self.gc_driver.worker_starter.is_some()
            || !self.gc.trigger_test(trigger)
        {
            return false;
        }
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        // The sweeping left of the last cycle, while the world runs (`for
        // trigger.test() && sweepone() != ^uintptr(0) {}`, before
        // work.startSema): a batch of spans at a time, coming back here
        // through `starting_gc` when the batch's time has passed.
        let swept = self
            .gc
            .sweep_for_start(trigger, u64::from(SWEEP_BATCH_SPANS));
        if swept.spans > 0 {
            self.gs[gi.index()].gc_mut().starting_gc = Some(trigger);
            let ns = self.sweep_cost_ns(swept);
            let spans = swept.spans as u32;
            self.gc_work_start(m, GcWork::Sweep { spans }, ns);
            return true;
        }
        if self.gc_driver.worker_count < self.gomaxprocs() {
            // gcBgMarkStartWorkers: go gcBgMarkWorker(ready); <-ready.
            self.gs[gi.index()].gc_mut().starting_gc = Some(trigger);
            self.gc_driver.worker_starter = Some(gi);
            self.newproc(m, GKind::MarkWorker);
            self.park(m, WaitReason::ChanReceive);
            self.schedule(m);
            return true;
        }
        let now = self.now_ns;
        let heap_live_bytes = self.gc.pacer.heap_live_bytes;
        let heap_goal_bytes = self.gc.heap_goal_bytes();
        let Some(start) = self.gc.gc_start(now, trigger) else {
            return false;
        };
        let goid = self.goid(gi);
        self.emit(TraceEvent::GcStart {
            cycle: start.cycle,
            g: goid,
            trigger: match trigger {
                GcTrigger::Heap => "heap".to_string(),
                GcTrigger::Time { .. } => "time (2 minutes without a GC)".to_string(),
                GcTrigger::Cycle { .. } => "runtime.GC".to_string(),
            },
            heap_live_bytes,
            heap_goal_bytes,
        });
        let mut swept = start.swept_in_stw;
        swept.add(start.swept_before_stw);
        let pause_work_ns = self.config.cost.stw_sweep_termination_ns + self.sweep_cost_ns(swept);
        self.stop_the_world(m, StwKind::GcSweepTermination, pause_work_ns);
        true
    }

    /// No other `gcMarkDone` round and no stop-the-world is under way.
    fn gc_mark_done_may_start(&self) -> bool {
        !self.gc_stw_pending() && self.gc_driver.barrier.is_none()
    }

    /// `gcEndWork`'s answer for M `m`'s G, which has just stopped marking:
    /// it was the last to stop (`work.nwait == work.nproc`: no mark worker
    /// on another M is inside its drain, no assist inside
    /// `gcAssistAlloc1`) and no work is left that every P can see, so it
    /// calls `gcMarkDone` (and no round or stop is under way).
    fn mark_done_may_be_called(&self, m: MId) -> bool {
        self.gc_mark_done_may_start()
            && self.gc.mark_done_ready()
            && !self.mark_work_in_progress_elsewhere(m)
    }

    /// Whether a mark worker or an assist on an M other than `m` is inside
    /// its drain (Go's `work.nwait < work.nproc`). A worker counts from its
    /// start until it stops, between batches too; an assist while its batch
    /// of `gcAssistAlloc1` runs.
    fn mark_work_in_progress_elsewhere(&self, m: MId) -> bool {
        self.ms.iter().enumerate().any(|(i, other)| {
            i != m.index()
                && other.curg.is_some_and(|g| {
                    self.gs[g.index()].gc_get(|x| {
                        x.worker.is_some() || matches!(x.work, Some(GcWork::Assist { .. }))
                    })
                })
        })
    }

    /// `gcMarkDone` by M `m`'s G when `gcEndWork` says so
    /// ([`World::mark_done_may_be_called`]): rounds of the ragged barrier
    /// until one finds that no object turned grey since the previous round,
    /// then mark termination. Returns false, doing nothing, otherwise: a
    /// second caller while a round runs goes on (in Go it waits on
    /// `markDoneSema`, then finds marking not complete or the cycle over).
    fn gc_mark_done(&mut self, m: MId) -> bool {
        if !self.mark_done_may_be_called(m) {
            return false;
        }
        self.ragged_barrier_start(m);
        true
    }

    /// `forEachP(flush write-barrier buffer)`: M `m`'s own P, idle Ps and
    /// Ps in syscalls flush at once; every other P is asked to stop its G
    /// at the next safe point and flush in `schedule`. M `m` sleeps, holding
    /// its P, until the last one has.
    fn ragged_barrier_start(&mut self, m: MId) {
        debug_assert!(self.gc_driver.barrier.is_none());
        let me = self.p_of(m);
        self.gc.ragged_barrier_flush(me);
        let mut remaining = 0;
        for i in 0..self.ps.len() {
            let p = PId(i as u32);
            if p == me {
                continue;
            }
            if self.running_m(i).is_some() {
                self.ps[i].run_safe_point_fn = true;
                remaining += 1;
            } else {
                self.gc.ragged_barrier_flush(p);
            }
        }
        // forEachP holds sched.lock while preemptall signals the Ps.
        let hold_ns = self.preemptall_signals(m) * self.config.cost.signal_send_ns;
        self.sched_lock_held_for(m, SchedLockHolder::ForEachP, hold_ns);
        let now = self.now_ns;
        self.gc_driver.barrier = Some(Barrier {
            initiator: m,
            started_ns: now,
            remaining,
        });
        self.ms[m.index()].state = MState::SafePointWait;
        self.ragged_barrier_event(m);
    }

    /// How many SIGURGs `preemptall` by M `m` sends while it holds
    /// `sched.lock`: one to each other P that runs a goroutine, unless
    /// asynchronous preemption is off (then it only sets flags).
    fn preemptall_signals(&self, m: MId) -> u64 {
        if self.config.runtime.godebug.asyncpreemptoff {
            return 0;
        }
        (0..self.ps.len())
            .filter_map(|i| self.running_m(i))
            .filter(|&pm| pm != m && self.ms[pm.index()].curg.is_some())
            .count() as u64
    }

    /// `preemptall` for the ragged barrier: the G on every P that still
    /// owes the safe-point function is asked to stop.
    fn preempt_for_safe_point(&mut self) {
        for i in 0..self.ps.len() {
            if !self.ps[i].run_safe_point_fn {
                continue;
            }
            let Some(m) = self.running_m(i) else { continue };
            let Some(g) = self.ms[m.index()].curg else {
                continue;
            };
            let gg = &mut self.gs[g.index()];
            if !gg.preempt {
                gg.preempt = true;
                gg.preempt_for = PreemptFor::SafePoint;
            }
            self.interrupt_compute_for_preempt(m, g);
        }
    }

    /// `runSafePointFn` on P `p` (in `schedule`, before dropping the P, on
    /// entering a syscall): flush its write-barrier buffer if the ragged
    /// barrier asked it to; the last P wakes the barrier's M.
    pub(crate) fn run_safe_point_fn(&mut self, p: PId) {
        if !std::mem::take(&mut self.ps[p.index()].run_safe_point_fn) {
            return;
        }
        self.gc.ragged_barrier_flush(p);
        let barrier = self
            .gc_driver
            .barrier
            .as_mut()
            .expect("a safe-point request belongs to a barrier");
        barrier.remaining -= 1;
        let last = barrier.remaining == 0;
        let initiator = barrier.initiator;
        // safePointWait-- under sched.lock; the last P makes the
        // notewakeup(&sched.safePointNote) there too.
        let waker = self.ps[p.index()].m;
        self.notewakeup_under_sched_lock(
            waker,
            last.then_some(initiator),
            SchedLockHolder::SafePointWake,
        );
    }

    /// M `waker` (none: a P without one) takes `sched.lock` to count a P
    /// done; if it is the last, it wakes `sleeper` from `notetsleep` with
    /// the lock held: the `FUTEX_WAKE` call holds the lock for
    /// `futex_wake_call_ns`, and the sleeper runs a thread wake-up after
    /// the call began.
    fn notewakeup_under_sched_lock(
        &mut self,
        waker: Option<MId>,
        sleeper: Option<MId>,
        holder: SchedLockHolder,
    ) {
        if let Some(w) = waker {
            self.sched_lock(w);
        }
        let Some(sleeper) = sleeper else { return };
        let mut from = self.now_ns;
        if let Some(w) = waker {
            from += self.ms[w.index()].g0_cost_ns;
            self.sched_lock_held_for(w, holder, self.config.cost.futex_wake_call_ns);
        }
        let at = from + self.thread_wake_latency_at(sleeper, from);
        self.schedule_m(sleeper, at);
    }

    /// The barrier's M woke: every P flushed, or 100 µs passed and the Ps
    /// still owing the function are preempted again (`notetsleep`).
    pub(crate) fn ragged_barrier_event(&mut self, m: MId) {
        let remaining = self
            .gc_driver
            .barrier
            .as_ref()
            .expect("in a barrier")
            .remaining;
        if remaining == 0 {
            self.ragged_barrier_end(m);
        } else {
            self.preempt_for_safe_point();
            self.notetsleep_to_repreempt(m);
        }
    }

    /// A round is over: if an object turned grey since the last round, go
    /// back to `gcMarkDone`'s top (another round if marking still looks
    /// complete, else back to marking); otherwise mark termination.
    fn ragged_barrier_end(&mut self, m: MId) {
        let barrier = self.gc_driver.barrier.take().expect("in a barrier");
        self.ms[m.index()].state = MState::RunningG;
        // forEachP clears sched.safePointFn under sched.lock.
        self.sched_lock(m);
        let flushed = self.gc.take_flushed_work();
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        // forEachP waits for the Ps with its caller in _Gwaiting.
        self.running_round_trips(gi, 1);
        let g = self.goid(gi);
        self.emit(TraceEvent::GcMarkDoneRound {
            g,
            waited_ns: self.now_ns - barrier.started_ns,
            flushed,
        });
        if !flushed {
            self.mark_termination_start(m);
        } else if self.gc.mark_done_ready() && !self.mark_work_in_progress_elsewhere(m) {
            // gcMarkDone's `goto top`: marking still looks complete.
            self.ragged_barrier_start(m);
        } else {
            self.exec_g(m);
        }
    }

    /// The transition to mark termination, then its stop-the-world; if
    /// flushing the write-barrier buffers found work, marking goes on.
    fn mark_termination_start(&mut self, m: MId) {
        let now = self.now_ns;
        let Some(done) = self.gc.mark_done(now) else {
            self.exec_g(m);
            return;
        };
        // gcWakeAllAssists: parked assists go to the global queue.
        for g in done.woken_assists {
            let gi = from_gc_key(g);
            if self.gs[gi.index()].status == GStatus::Waiting(WaitReason::GcAssistWait) {
                self.sched.runq.push_back(gi);
                self.mark_unblocked(gi, Placement::Global, None, None);
            }
        }
        let pause_work_ns = self.config.cost.stw_mark_termination_ns * u64::from(self.gomaxprocs());
        self.stop_the_world(m, StwKind::GcMarkTermination, pause_work_ns);
    }

    pub(crate) fn gc_stw_pending(&self) -> bool {
        self.gc_driver.stw.is_some()
    }

    /// `stopTheWorldWithSema` by M `m`: idle Ps and Ps in syscalls stop at
    /// once; running Ps are asked to stop at their next safe point.
    fn stop_the_world(&mut self, m: MId, kind: StwKind, pause_work_ns: u64) {
        self.emit(TraceEvent::StwStart { m, kind });
        // stopTheWorld waits with its caller in _Gwaiting, and
        // gcMarkTermination runs with it in _Gwaiting once more.
        if let Some(gi) = self.ms[m.index()].curg
            && matches!(self.gs[gi.index()].status, GStatus::Running { .. })
        {
            let trips = if kind == StwKind::GcMarkTermination {
                2
            } else {
                1
            };
            self.running_round_trips(gi, trips);
        }
        // stopTheWorldWithSema holds sched.lock while preemptall signals
        // the running Ps and it takes the idle ones.
        let hold_ns = self.preemptall_signals(m) * self.config.cost.signal_send_ns;
        self.sched_lock_held_for(m, SchedLockHolder::StopTheWorld, hold_ns);
        let me = self.p_of(m);
        let mut remaining = 0;
        while let Some(p) = self.pidleget() {
            self.ps[p.index()].status = PStatus::GcStop;
        }
        for i in 0..self.ps.len() {
            let p = PId(i as u32);
            if p == me || self.ps[i].status == PStatus::GcStop {
                continue;
            }
            let pm = self.ps[i].m;
            match (self.ps[i].status, pm) {
                (PStatus::Running, Some(pm))
                    if matches!(self.ms[pm.index()].state, MState::Syscall { .. }) =>
                {
                    self.ps[i].m = None;
                    self.ms[pm.index()].p = None;
                    self.ps[i].syscalltick += 1;
                    self.ps[i].status = PStatus::GcStop;
                }
                _ => remaining += 1,
            }
        }
        let now = self.now_ns;
        self.gc_driver.stw = Some(Stw {
            initiator: m,
            kind,
            started_ns: now,
            stopped_ns: now,
            remaining,
            stopping_cpu_ns: 0,
            pause_work_ns,
        });
        self.ms[m.index()].state = MState::Stw { stopped: false };
        self.stw_wait(m);
    }

    /// The initiator waits for the world to stop: done when no P is left,
    /// else it preempts every running P again and looks again in 100 µs
    /// (`notetsleep` with the timer slack), unless the last P wakes it first.
    fn stw_wait(&mut self, m: MId) {
        if self.gc_driver.stw.as_ref().expect("stopping").remaining == 0 {
            self.world_stopped(m);
        } else {
            self.preemptall();
            self.notetsleep_to_repreempt(m);
        }
    }

    /// `notetsleep(100 µs)` by the ragged barrier's or the stop-the-world's
    /// M `m`, once its g0 work (sched.lock) is done: it wakes to preempt
    /// again unless the last P wakes it first.
    fn notetsleep_to_repreempt(&mut self, m: MId) {
        let g0_ns = std::mem::take(&mut self.ms[m.index()].g0_cost_ns);
        self.ms[m.index()].asleep_since_ns = self.now_ns + g0_ns;
        let at = self.now_ns + g0_ns + STW_REPREEMPT_NS + self.config.cost.os_timer_slack_ns;
        self.schedule_m(m, at);
    }

    /// The M of P `i` if the P is running and its M is not in a syscall:
    /// the M whose G a preemption request reaches.
    fn running_m(&self, i: usize) -> Option<MId> {
        let m = self.ps[i]
            .m
            .filter(|_| self.ps[i].status == PStatus::Running)?;
        (!matches!(self.ms[m.index()].state, MState::Syscall { .. })).then_some(m)
    }

    /// `preemptall`: ask the G on every running P to stop.
    fn preemptall(&mut self) {
        let initiator = self.gc_driver.stw.as_ref().map(|s| s.initiator);
        for i in 0..self.ps.len() {
            let Some(m) = self.running_m(i).filter(|&m| Some(m) != initiator) else {
                continue;
            };
            let Some(g) = self.ms[m.index()].curg else {
                continue;
            };
            self.gs[g.index()].preempt = true;
            self.gs[g.index()].preempt_for = PreemptFor::StopTheWorld;
            self.interrupt_compute_for_preempt(m, g);
        }
    }

    /// The initiator's STW event: re-preempt, or the world has stopped, or
    /// the pause is over.
    pub(crate) fn stw_event(&mut self, m: MId, stopped: bool) {
        if stopped {
            self.start_the_world(m);
        } else {
            self.stw_wait(m);
        }
    }

    fn world_stopped(&mut self, m: MId) {
        let now = self.now_ns;
        let g0_ns = std::mem::take(&mut self.ms[m.index()].g0_cost_ns);
        let stw = self.gc_driver.stw.as_mut().expect("stopping");
        stw.stopped_ns = now;
        let at = now + g0_ns + stw.pause_work_ns;
        self.ms[m.index()].state = MState::Stw { stopped: true };
        self.schedule_m(m, at);
    }

    /// `gcstopm`: M `m` (holding a P) found the world stopping: its P stops
    /// and the M parks.
    pub(crate) fn gcstopm(&mut self, m: MId) {
        if self.ms[m.index()].spinning {
            self.ms[m.index()].spinning = false;
            self.sched.nmspinning -= 1;
        }
        let p = self.releasep(m);
        self.p_stopped(p, Some(m));
        self.stopm(m);
    }

    /// P `p` reached the stop (`_Pgcstop`, `stopwait--` under sched.lock,
    /// by M `waker` unless the P has none); the last wakes the initiator.
    pub(crate) fn p_stopped(&mut self, p: PId, waker: Option<MId>) {
        self.ps[p.index()].status = PStatus::GcStop;
        let now = self.now_ns;
        let wake = {
            let stw = self.gc_driver.stw.as_mut().expect("stopping");
            stw.remaining -= 1;
            stw.stopping_cpu_ns += now - stw.started_ns;
            (stw.remaining == 0).then_some(stw.initiator)
        };
        self.notewakeup_under_sched_lock(waker, wake, SchedLockHolder::StopWake);
    }

    /// `startTheWorldWithSema` after the pause: the cycle moves on, Ps with
    /// work get Ms, the others go idle, and the initiator's G continues.
    fn start_the_world(&mut self, m: MId) {
        let stw = self.gc_driver.stw.take().expect("stopped");
        // startTheWorldWithSema works under sched.lock.
        self.sched_lock(m);
        let now = self.now_ns;
        let timing = StwTiming {
            started_stopping_ns: stw.started_ns,
            finished_stopping_ns: stw.stopped_ns,
            stopping_cpu_ns: stw.stopping_cpu_ns,
        };
        self.emit(TraceEvent::StwDone {
            kind: stw.kind,
            pause_ns: now - stw.started_ns,
        });
        self.stats.gc_pauses.record(now - stw.started_ns);
        let me = self.p_of(m);
        match stw.kind {
            StwKind::GcSweepTermination => {
                self.gc.sweep_termination_done(now, timing);
                // finishsweep_m: sweeping is done, so the scavenger has work.
                self.scavenger_wake();
            }
            StwKind::GcMarkTermination => {
                let report = self.gc.mark_termination_done(now, timing);
                let line = report.gctrace_line();
                if self.config.runtime.godebug.gctrace {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                }
                self.emit(TraceEvent::GcDone {
                    cycle: report.numgc,
                    line,
                });
                self.gc_driver.cycles.push(CycleRecord {
                    numgc: report.numgc,
                    heap_goal_bytes: report.heap_goal_bytes,
                    heap_marked_bytes: report.gctrace.heap2_bytes,
                    pause_ns: report.pause_ns,
                    forced: report.forced,
                });
                let numgc = report.numgc;
                let mut waiters = std::mem::take(&mut self.gc_driver.cycle_waiters);
                waiters.retain(|&(g, cycle)| {
                    if cycle <= numgc {
                        self.ready(g, me, None);
                        false
                    } else {
                        true
                    }
                });
                self.gc_driver.cycle_waiters = waiters;
                if self.gc_driver.bgsweep_parked
                    && let Some(sweeper) = self.gc_driver.bgsweep
                {
                    self.gc_driver.bgsweep_parked = false;
                    self.ready(sweeper, me, None);
                }
            }
        }
        for i in 0..self.ps.len() {
            let q = PId(i as u32);
            if q == me || self.ps[i].status != PStatus::GcStop {
                continue;
            }
            if self.ps[i].runq_empty() {
                self.pidleput(q);
            } else {
                self.ps[i].status = PStatus::Idle;
                self.startm(q, false, MStartReason::StartTheWorld);
            }
        }
        self.wakep();
        self.ms[m.index()].state = MState::RunningG;
        let gi = self.ms[m.index()].curg.expect("the initiator runs a G");
        self.gs[gi.index()].running_since_ns = now;
        if stw.kind == StwKind::GcMarkTermination && self.gs[gi.index()].kind == GKind::MarkWorker {
            self.worker_stop(m);
            return;
        }
        self.exec_g(m);
    }

    /// P `p` leaves the idle list: its idle time goes to the CPU limiter.
    pub(crate) fn account_idle_end(&mut self, p: PId) {
        let idle_ns = self.now_ns - self.ps[p.index()].idle_since_ns;
        self.gc.add_idle_time(idle_ns);
    }

    /// `findRunnableGCWorker`: a parked worker for P `p`, if the pacer wants one.
    pub(crate) fn find_gc_worker(&mut self, p: PId) -> Option<(GIdx, Decision)> {
        if !self.gc.blacken_enabled || self.gc_driver.worker_pool.is_empty() {
            return None;
        }
        let now = self.now_ns;
        let mode = self.gc.assign_mark_worker(p, now)?;
        let g = self.take_worker(mode, p);
        let decision = Decision {
            source: PickSource::GcWorker {
                mode: trace_mode(mode),
            },
            g: self.goid(g),
            inherit_time: false,
            trail: Vec::new(),
        };
        Some((g, decision))
    }

    /// An idle-priority worker for a P with nothing else to run.
    pub(crate) fn find_idle_gc_worker(
        &mut self,
        p: PId,
        trail: &[sim_core::trace::TrailStep],
    ) -> Option<(GIdx, Decision)> {
        if self.gc_driver.worker_pool.is_empty() || !self.gc.start_idle_mark_worker(p) {
            return None;
        }
        let g = self.take_worker(WorkerMode::Idle, p);
        let trail = trail.to_vec();
        let decision = Decision {
            source: PickSource::GcIdleWorker,
            g: self.goid(g),
            inherit_time: false,
            trail,
        };
        Some((g, decision))
    }

    fn take_worker(&mut self, mode: WorkerMode, p: PId) -> GIdx {
        let g = self.gc_driver.worker_pool.pop().expect("checked");
        self.gs[g.index()].gc_mut().worker = Some(WorkerRun {
            mode,
            since_ns: self.now_ns,
            kicked_runq: false,
            work_since_check_bytes: 0,
        });
        self.mark_unblocked(g, Placement::RunsNow { p }, None, None);
        g
    }

    /// Before a drain by `scanner`, tells sim-gc whose stacks a root job
    /// may not scan in place: the goroutines running user code (Go's
    /// `_Grunning`), `scanner` excepted (it scans its own stack in place).
    /// A goroutine in an assist or spinning in suspendG is `_Gwaiting` in
    /// Go, and so is a mark worker.
    fn tell_gc_running_goroutines(&mut self, scanner: GIdx) {
        let running: Vec<Goid> = self
            .ps
            .iter()
            .filter_map(|p| p.m.and_then(|m| self.ms[m.index()].curg))
            .filter(|g| *g != scanner && self.stack_needs_suspend(*g))
            .map(gc_key)
            .collect();
        self.gc.set_running_goroutines(&running);
    }

    /// G `g` runs user code, so suspendG must stop it before its stack is
    /// scanned. The runtime's own goroutines (bgsweep, the scavenger,
    /// forcegc) are scanned in place (a simplification: they run briefly
    /// between yields).
    fn stack_needs_suspend(&self, g: GIdx) -> bool {
        let gg = &self.gs[g.index()];
        let GStatus::Running { m } = gg.status else {
            return false;
        };
        matches!(gg.kind, GKind::User { .. })
            && !matches!(self.ms[m.index()].state, MState::StackScanWait { .. })
            && !gg.gc_get(|x| matches!(x.work, Some(GcWork::Assist { .. })))
    }

    /// `suspendG` for the stack root M `m`'s P claimed: if its goroutine
    /// still runs user code, ask it to stop at its next safe point (a
    /// SIGURG too unless async preemption is off) and spin until it has
    /// (true: M `m` waits). Otherwise the next drain scans it in place.
    fn stack_scan_suspend(&mut self, m: MId) -> bool {
        let p = self.p_of(m);
        let Some(target) = self.gc.claimed_stack(p).map(from_gc_key) else {
            return false;
        };
        if !self.stack_needs_suspend(target) {
            self.clear_scan_preempt(target);
            return false;
        }
        let GStatus::Running { m: target_m } = self.gs[target.index()].status else {
            unreachable!("a goroutine that needs suspending runs");
        };
        let target_p = self.p_of(target_m);
        let scanner = self.goid(self.ms[m.index()].curg.expect("M runs a G"));
        let target_goid = self.goid(target);
        self.emit(TraceEvent::GcStackSuspend {
            scanner,
            target: target_goid,
            p: target_p,
            asynchronous: !self.config.runtime.godebug.asyncpreemptoff,
        });
        self.request_scan_stop(target, target_m);
        let now = self.now_ns;
        self.ms[m.index()].state = MState::StackScanWait {
            target,
            since_ns: now,
        };
        self.gc_driver.stack_scan_waits += 1;
        self.schedule_m(m, now + SUSPEND_RETRY_NS);
        true
    }

    /// suspendG's request to running G `g` on M `m` (made again on every
    /// retry, as Go's loop does): stop at the next safe point, and a signal.
    fn request_scan_stop(&mut self, g: GIdx, m: MId) {
        let gg = &mut self.gs[g.index()];
        gg.preempt = true;
        gg.preempt_for = PreemptFor::StackScan;
        self.interrupt_compute_for_preempt(m, g);
    }

    /// suspendG found G `g` stopped by something else (it parked, entered
    /// a syscall, was preempted to a run queue): its stop request is void.
    fn clear_scan_preempt(&mut self, g: GIdx) {
        let gg = &mut self.gs[g.index()];
        if gg.preempt_for == PreemptFor::StackScan {
            gg.preempt = false;
            gg.preempt_for = PreemptFor::Slice;
        }
    }

    /// G `g` stopped running: an M spinning in suspendG for it looks again.
    pub(crate) fn stack_scan_target_left(&mut self, g: GIdx) {
        if self.gc_driver.stack_scan_waits == 0 {
            return;
        }
        for i in 0..self.ms.len() {
            if let MState::StackScanWait { target, .. } = self.ms[i].state
                && target == g
            {
                self.schedule_m(MId(i as u32), self.now_ns);
            }
        }
    }

    /// M `m`, spinning in suspendG since `since_ns`, looks at `target`
    /// again: still running, it sends the request again; stopped, the
    /// scanner scans the stack (its next drain starts with it), and a
    /// goroutine suspendG parked goes to the scanner's P (`resumeG`:
    /// `ready`, into runnext).
    pub(crate) fn stack_scan_wait_event(&mut self, m: MId, target: GIdx, since_ns: u64) {
        if self.stack_needs_suspend(target) {
            if let GStatus::Running { m: target_m } = self.gs[target.index()].status {
                self.request_scan_stop(target, target_m);
            }
            self.schedule_m(m, self.now_ns + SUSPEND_RETRY_NS);
            return;
        }
        self.gc_driver.stack_scan_waits -= 1;
        self.ms[m.index()].state = MState::RunningG;
        let p = self.p_of(m);
        if self.gs[target.index()].status == GStatus::Waiting(WaitReason::Preempted) {
            self.ready(target, p, None);
        } else {
            self.clear_scan_preempt(target);
        }
        let scanner = self.ms[m.index()].curg.expect("M runs a G");
        if self.gs[scanner.index()].kind == GKind::MarkWorker {
            // gcDrain checks whether to stop after every root job.
            if let Some(w) = self.gs[scanner.index()].gc_mut().worker.as_mut() {
                w.work_since_check_bytes = DRAIN_CHECK_BYTES;
            }
            self.worker_run(m);
        } else {
            let now = self.now_ns;
            self.gc.add_assist_time(now, now - since_ns);
            self.assist(m, false);
        }
    }

    /// A mark worker runs (M `m`'s current G).
    pub(crate) fn worker_run(&mut self, m: MId) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        let Some(run) = self.gs[gi.index()].gc_get(|x| x.worker) else {
            // The first run (gcBgMarkWorker's start: tell the starter, which
            // waits in gcBgMarkStartWorkers), or a run whose work is over:
            // park in the pool.
            if let Some(starter) = self.gc_driver.worker_starter
                && self.gs[starter.index()].status == GStatus::Waiting(WaitReason::ChanReceive)
            {
                self.gc_driver.worker_starter = None;
                self.gc_driver.worker_count += 1;
                let p = self.p_of(m);
                self.ready(starter, p, None);
            }
            self.park(m, WaitReason::GcWorkerIdle);
            self.gc_driver.worker_pool.push(gi);
            self.schedule(m);
            return;
        };
        let p = self.p_of(m);
        // markroot is not interrupted: a stack root this P took is scanned
        // (after suspendG stops its goroutine) before the worker may stop.
        let claimed = self.gc.claimed_stack(p).is_some();
        if claimed && self.stack_scan_suspend(m) {
            return;
        }
        let stop = !claimed
            && (self.gc_stw_pending()
                || self.ps[p.index()].run_safe_point_fn
                || match run.mode {
                    WorkerMode::Dedicated => {
                        if self.gs[gi.index()].preempt && !run.kicked_runq {
                            // Kick the run queue to the global queue so those Gs
                            // run elsewhere, then keep marking.
                            let pp = &mut self.ps[p.index()];
                            let mut moved: Vec<GIdx> = pp.runnext.take().into_iter().collect();
                            moved.extend(pp.runq.drain(..));
                            self.sched.runq.extend(moved);
                            let g = &mut self.gs[gi.index()];
                            g.preempt = false;
                            if let Some(w) = g.gc_mut().worker.as_mut() {
                                w.kicked_runq = true;
                            }
                            self.wakep();
                        }
                        false
                    }
                    WorkerMode::Fractional => {
                        self.gs[gi.index()].preempt
                            || (run.work_since_check_bytes >= DRAIN_CHECK_BYTES
                                && self.fractional_worker_should_exit(p, run.since_ns))
                    }
                    WorkerMode::Idle => {
                        self.gs[gi.index()].preempt
                            || (run.work_since_check_bytes >= DRAIN_CHECK_BYTES
                                && self.poll_work(p))
                    }
                });
        if stop {
            self.worker_stop(m);
            return;
        }
        if run.work_since_check_bytes >= DRAIN_CHECK_BYTES
            && let Some(w) = self.gs[gi.index()].gc_mut().worker.as_mut()
        {
            w.work_since_check_bytes = 0;
        }
        // Drain in small steps up to MARK_BATCH_NS of work, so a preemption
        // request (a stop-the-world) is seen soon, as gcDrain checks it
        // before every object.
        let mut ns = 0;
        let mut bytes = 0;
        let mut mark_done_ready;
        let mut root_job = false;
        self.tell_gc_running_goroutines(gi);
        loop {
            let out = self.gc.mark_worker_drain(p, DRAIN_STEP_BYTES);
            self.enlist_worker(p);
            mark_done_ready = out.mark_done_ready;
            let w = &out.work;
            if w.total_bytes() == 0 && w.objects_scanned == 0 && w.stacks_scanned == 0 {
                break;
            }
            ns += self.mark_cost_ns(w);
            bytes += w.total_bytes();
            // gcDrain checks whether to stop after every root job (its
            // markroot loop), not only every drainCheckThreshold of work.
            root_job = w.stacks_scanned > 0 || w.globals_bytes > 0;
            if ns >= MARK_BATCH_NS || mark_done_ready || root_job {
                break;
            }
        }
        if ns == 0 {
            if self.stack_scan_suspend(m) {
                return;
            }
            self.worker_stop(m);
            return;
        }
        if let Some(w) = self.gs[gi.index()].gc_mut().worker.as_mut() {
            w.work_since_check_bytes += bytes;
            if root_job {
                w.work_since_check_bytes = w.work_since_check_bytes.max(DRAIN_CHECK_BYTES);
            }
        }
        self.gc_work_start(m, GcWork::MarkDrain, ns);
    }

    /// `enlistWorker` after a drain step on P `p` (Green Tea's
    /// `mayNeedWorker`): if the step published work other Ps can take and
    /// another idle-priority worker may run, wake an idle P when no M spins.
    /// (Go also preempts a running P when a dedicated worker is missing;
    /// the model's dedicated workers start at the next `schedule` instead.)
    fn enlist_worker(&mut self, p: PId) {
        if self.gc.take_may_need_worker(p)
            && self.gc.pacer.need_idle_mark_worker()
            && self.npidle() != 0
            && self.sched.nmspinning == 0
        {
            self.wakep_for(MStartReason::EnlistWorker);
        }
    }

    /// `pollFractionalWorkerExit`.
    fn fractional_worker_should_exit(&self, p: PId, since_ns: u64) -> bool {
        let pacer = &self.gc.pacer;
        let now = self.now_ns as i64;
        let delta = now - pacer.mark_start_time_ns;
        if delta <= 0 {
            return true;
        }
        let own = pacer.p_fractional_mark_time_ns[p.index()] + (now - since_ns as i64);
        own as f64 / delta as f64 > 1.2 * pacer.fractional_utilization_goal
    }

    /// `pollWork`: something else could run on P `p`.
    fn poll_work(&self, p: PId) -> bool {
        !self.sched.runq.is_empty()
            || !self.ps[p.index()].runq_empty()
            || self
                .netpoll_next_ready_ns()
                .is_some_and(|t| t <= self.now_ns)
    }

    /// `markWorkerStop`: the worker's time goes to the pacer (before it
    /// calls `gcMarkDone`, if it does).
    fn worker_account_stop(&mut self, m: MId) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        let p = self.p_of(m);
        if let Some(run) = self.gs[gi.index()].gc_mut().worker.take() {
            let duration = self.now_ns - run.since_ns;
            self.gc.mark_worker_stop(p, run.mode, duration);
            // gcBgMarkWorker drains in _Gwaiting and returns to _Grunning.
            self.running_round_trips(gi, 1);
        }
    }

    /// The worker stops and parks in the pool; if it was the last one out
    /// and no work is left that every P can see, it calls `gcMarkDone`
    /// first (`gcEndWork`).
    fn worker_stop(&mut self, m: MId) {
        self.worker_account_stop(m);
        if self.gc_mark_done(m) {
            return;
        }
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        self.park(m, WaitReason::GcWorkerIdle);
        self.gc_driver.worker_pool.push(gi);
        self.schedule(m);
    }

    /// `bgsweep` runs: sweep a batch of spans, or park when none is left.
    pub(crate) fn bgsweep_run(&mut self, m: MId) {
        let mut swept = SweepWork::default();
        while swept.spans < u64::from(SWEEP_BATCH_SPANS) {
            match self.gc.sweep_one() {
                Some(span) => swept.add(span.into()),
                None => break,
            }
        }
        let spans = swept.spans as u32;
        if spans == 0 {
            self.gc_driver.bgsweep_parked = true;
            self.park(m, WaitReason::GcSweepWait);
            self.schedule(m);
            return;
        }
        let ns = self.sweep_cost_ns(swept);
        self.gc_work_start(m, GcWork::Sweep { spans }, ns);
    }

    fn sweep_batch_done(&mut self, m: MId, gi: GIdx, _spans: u32) {
        if self.gs[gi.index()].gc_get(|x| x.starting_gc.is_some()) {
            // gcStart's sweep loop goes on (exec_g re-enters gcStart).
            self.exec_g(m);
            return;
        }
        if Some(gi) == self.gc_driver.bgsweep {
            // goschedIfBusy: yield unless a P is idle and nobody asked us to stop.
            if self.gs[gi.index()].preempt || self.npidle() == 0 {
                self.stop_to_global(m, StopReason::Gosched);
                return;
            }
            self.bgsweep_run(m);
            return;
        }
        // runtime.GC's own sweeping: Gosched after each span.
        self.stop_to_global(m, StopReason::Gosched);
    }

    /// `scavengerState.wake`: a parked or sleeping scavenger becomes
    /// runnable (`injectglist`); a sleeping one's timer is stopped.
    pub(crate) fn scavenger_wake(&mut self) {
        let Some(g) = self.gc_driver.scavenger else {
            return;
        };
        let slept = match self.gc_driver.scavenger_state {
            ScavengerState::Parked => None,
            ScavengerState::Sleeping {
                since_ns,
                counted_ns,
            } => {
                for p in &mut self.ps {
                    p.timers
                        .retain(|t| t.0.kind != crate::p::TimerKind::ScavengerWake);
                }
                Some((since_ns, counted_ns))
            }
            _ => return,
        };
        self.gc_driver.scavenger_state = ScavengerState::Woken { slept };
        self.injectglist(vec![g], None);
    }

    /// The scavenger runs (`bgscavenge`'s loop): after a sleep it updates its
    /// pacing, then it releases memory quantum by quantum.
    fn scavenger_work(&mut self, m: MId) {
        if let ScavengerState::Woken { slept } = self.gc_driver.scavenger_state {
            if let Some((since_ns, counted_ns)) = slept {
                let slept_ns = self.now_ns - since_ns;
                let procs = self.ps.len() as u32;
                self.gc.scavenger.after_sleep(slept_ns, counted_ns, procs);
            }
            self.gc_driver.scavenger_state = ScavengerState::Running;
            self.gc_driver.scavenger_run = ScavengerRun::default();
        }
        self.scavenger_continue(m);
    }

    /// `scavengerState.run`: quanta of 64 KiB until 1 ms of work, the goals
    /// met, or a quantum came back short; charged a batch at a time.
    fn scavenger_continue(&mut self, m: MId) {
        let per_page = self.config.cost.background_scavenge_ns_per_page;
        let mut batch_ns = 0;
        let run = &mut self.gc_driver.scavenger_run;
        loop {
            if run.worked_ns >= sim_gc::scavenger::MIN_SCAV_WORK_NS
                || self.gc.scavenger_should_stop()
            {
                run.ended = true;
                break;
            }
            let released = self.gc.scavenge_background_step();
            let ns = released.div_ceil(sim_gc::sizeclass::PAGE_SIZE_BYTES) * per_page;
            run.worked_ns += ns;
            run.released_bytes += released;
            batch_ns += ns;
            if released < sim_gc::scavenger::SCAVENGE_QUANTUM_BYTES {
                run.ended = true;
                break;
            }
            if batch_ns >= MARK_BATCH_NS {
                break;
            }
        }
        if batch_ns > 0 {
            self.gc_work_start(m, GcWork::Scavenge, batch_ns);
        } else {
            self.scavenger_run_end(m);
        }
    }

    /// A batch of the scavenger's run ended.
    fn scavenge_batch_done(&mut self, m: MId, gi: GIdx) {
        if self.gc_driver.scavenger_run.ended {
            self.scavenger_run_end(m);
        } else if self.gs[gi.index()].preempt {
            self.preempt_stop(m, false);
        } else {
            self.scavenger_continue(m);
        }
    }

    /// The run is over: park if it released nothing, else sleep
    /// (`scavengerState.sleep`) on a timer that a `wake` can cut short.
    fn scavenger_run_end(&mut self, m: MId) {
        let run = self.gc_driver.scavenger_run;
        if run.released_bytes == 0 {
            self.gc_driver.scavenger_state = ScavengerState::Parked;
            self.park(m, WaitReason::GcScavengeWait);
            self.schedule(m);
            return;
        }
        let counted_ns = sim_gc::scavenger::ScavengerPacing::counted_work_ns(run.worked_ns);
        let when_ns = self.now_ns + self.gc.scavenger.sleep_ns(counted_ns);
        self.gc_driver.scavenger_state = ScavengerState::Sleeping {
            since_ns: self.now_ns,
            counted_ns,
        };
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        self.park(m, WaitReason::Sleep);
        self.ms[m.index()].g0_cost_ns += self.config.cost.timer_add_ns;
        self.add_timer(p, when_ns, crate::p::TimerKind::ScavengerWake);
        self.schedule(m);
    }

    /// The `gc` op (runtime.GC) at M `m`'s G's pc.
    pub(crate) fn gc_op(&mut self, m: MId) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        match self.gs[gi.index()].gc_get(|x| x.gc_stage) {
            None => {
                let n = self.gc.cycles();
                self.gs[gi.index()].gc_mut().gc_stage = Some(GcStage::GcOpStart { n });
                if self.gc.phase != sim_gc::GcPhase::Off || self.gc.stats.numgc < n {
                    // gcWaitOnMark(n): the running cycle finishes first.
                    self.gc_driver.cycle_waiters.push((gi, n));
                    self.park(m, WaitReason::WaitForGcCycle);
                    self.schedule(m);
                    return;
                }
                self.gc_op(m);
            }
            Some(GcStage::GcOpStart { n }) => {
                self.gs[gi.index()].gc_mut().gc_stage = Some(GcStage::GcOpSweep { n });
                if self.gc_start(m, GcTrigger::Cycle { n: n + 1 }) {
                    return;
                }
                self.gc_op(m);
            }
            Some(GcStage::GcOpSweep { n }) => {
                if self.gc.stats.numgc < n + 1 {
                    // gcWaitOnMark(n + 1).
                    self.gc_driver.cycle_waiters.push((gi, n + 1));
                    self.park(m, WaitReason::WaitForGcCycle);
                    self.schedule(m);
                    return;
                }
                if self.gc.cycles() == n + 1
                    && let Some(span) = self.gc.sweep_one()
                {
                    let ns = self.sweep_cost_ns(span.into());
                    self.gc_work_start(m, GcWork::Sweep { spans: 1 }, ns);
                    return;
                }
                let g = &mut self.gs[gi.index()];
                g.gc_mut().gc_stage = None;
                g.pc += 1;
                self.exec_g(m);
            }
        }
    }

    /// The `stack_grow` op: the stack grows if needed (copying it), then
    /// the call chain returns.
    pub(crate) fn stack_grow_op(&mut self, m: MId, used_bytes: u64) {
        let gi = self.ms[m.index()].curg.expect("M runs a G");
        let key = gc_key(gi);
        let os_before = self.os_memory_work();
        match self.gc.set_stack_used(key, used_bytes) {
            Some(growth) => {
                self.gc.set_stack_used(key, INITIAL_STACK_USED_BYTES);
                // Each doubling (newstack) copies the stack so far: from the
                // old size to the new one that is old + 2 old + ... + new/2
                // = new - old bytes. The new stack's pages fault in when the
                // calls touch them.
                let copied = growth.new_size_bytes - growth.old_size_bytes;
                // Each doubling's copystack is a trip through _Gcopystack.
                let doublings = (growth.new_size_bytes / growth.old_size_bytes).ilog2();
                self.running_round_trips(gi, doublings);
                let os = self.os_memory_cost(os_before, false);
                let copy_ns = copied * self.config.cost.stack_copy_ns_per_kib / 1024;
                let (ns, _) = self.with_os_memory_ns(m, copy_ns, os);
                self.gc_work_start(m, GcWork::StackCopy, ns);
            }
            None => {
                self.gc.set_stack_used(key, INITIAL_STACK_USED_BYTES);
                self.gs[gi.index()].pc += 1;
                self.exec_g(m);
            }
        }
    }

    /// sysmon's forcegc check: wake the helper when 2 minutes passed.
    pub(crate) fn sysmon_forcegc(&mut self) {
        let now = self.now_ns;
        if self.gc_driver.forcegc_parked
            && self.gc.trigger_test(GcTrigger::Time { now_ns: now })
            && let Some(g) = self.gc_driver.forcegc
        {
            self.gc_driver.forcegc_parked = false;
            self.gc_driver.forcegc_wanted = true;
            self.injectglist(vec![g], None);
        }
    }

    /// The forcegc helper was woken: start a time-triggered cycle. Returns
    /// true if the M is now stopping the world.
    pub(crate) fn forcegc_run(&mut self, m: MId) -> bool {
        let now = self.now_ns;
        self.gc_start(m, GcTrigger::Time { now_ns: now })
    }

    /// A runtime goroutine runs: the background sweeper sweeps, a woken
    /// forcegc helper starts a cycle; otherwise (its first run, or its work
    /// done) it parks. Returns true if the G is still busy.
    pub(crate) fn system_g_work(&mut self, m: MId, gi: GIdx) -> bool {
        let d = &mut self.gc_driver;
        if Some(gi) == d.bgsweep && d.bgsweep_started {
            self.bgsweep_run(m);
            return true;
        }
        if Some(gi) == d.forcegc && std::mem::take(&mut d.forcegc_wanted) && self.forcegc_run(m) {
            return true;
        }
        let d = &mut self.gc_driver;
        if Some(gi) == d.scavenger {
            if d.scavenger_state == ScavengerState::Starting {
                d.scavenger_state = ScavengerState::Parked;
                return false;
            }
            self.scavenger_work(m);
            return true;
        }
        if Some(gi) == d.bgsweep {
            d.bgsweep_started = true;
            d.bgsweep_parked = true;
        }
        if Some(gi) == d.forcegc {
            d.forcegc_parked = true;
        }
        false
    }
}
