//! sim-gc: the garbage collector and allocator of go1.27.3 as a passive
//! state machine.
//!
//! It owns Go's size classes ([`sizeclass`]); the heap of spans with per-P
//! mcaches, per-span-class mcentrals, the page heap, goroutine stacks and the
//! MemStats figures ([`heap`]); the object graph with its roots and the
//! mutator's operations, batched allocation loops included ([`graph`]);
//! tricolor marking with the hybrid write barrier, assists and sweeping
//! ([`mark`]); the pacer: GOGC and GOMEMLIMIT goals, trigger, background
//! workers, assist ratio ([`pacer`]); the GC CPU limiter ([`limiter`]); the
//! background scavenger's pacing ([`scavenger`]); the
//! cycle from `gcStart` to `gcMarkTermination` with its statistics
//! ([`collector`]); and gctrace lines ([`gctrace`]).
//!
//! sim-sched drives it. [`Gc`] has no clock and schedules nothing: every
//! method takes the virtual time and the goroutine or P it acts for, changes
//! state at once, and returns what happened (objects allocated, scan work
//! done, whether a cycle should start, which parked assists to ready), so the
//! scheduler charges costs from its `CostModel`, runs the two stop-the-world
//! pauses, and runs mark workers and assists as scheduled work. A cycle goes:
//!
//! 1. an allocation reports `gc_triggered` (or sysmon's time trigger, or
//!    `runtime.GC()`, holds): [`Gc::gc_start`] at tSweepTerm, then
//!    [`Gc::sweep_termination_done`] when the first pause ends;
//! 2. during mark, Ps ask [`Gc::assign_mark_worker`] /
//!    [`Gc::start_idle_mark_worker`], run [`Gc::mark_worker_drain`], flush
//!    each batch's credit with [`Gc::mark_worker_flush_credit`] when its time
//!    has passed (readying the assists it paid) and report
//!    [`Gc::mark_worker_stop`]; allocations that return `AssistNeeded` run
//!    [`Gc::assist`], [`Gc::add_assist_time`] and maybe [`Gc::park_assist`];
//! 3. when [`Gc::mark_done_ready`]: [`Gc::mark_done`] at tMarkTerm, then
//!    [`Gc::mark_termination_done`] when the second pause ends, which returns
//!    the [`CycleReport`] with its gctrace line;
//! 4. between cycles, the background sweeper calls [`Gc::sweep_one`]; the
//!    background scavenger, woken at sweep termination and when
//!    [`Gc::take_scavenger_ready`] says sweeping drained, returns memory with
//!    [`Gc::scavenge_background_step`] until [`Gc::scavenger_should_stop`],
//!    then sleeps as [`scavenger::ScavengerPacing`] says.
//!
//! Architecture invariant: integer bytes and nanoseconds, named with their
//! units; `f64` only where Go's pacer uses `float64`; no wall clock, no
//! randomness, no hash maps, no threads. A `Gc` clone is a complete snapshot.

pub mod collector;
pub mod gctrace;
pub mod graph;
pub mod heap;
pub mod limiter;
pub mod mark;
pub mod pacer;
pub mod scavenger;
pub mod sizeclass;

pub use collector::{
    CycleReport, Gc, GcConfig, GcPhase, GcStartOutcome, GcTrigger, MarkDoneOutcome, StwTiming,
};
pub use graph::{
    AllocLoopOutcome, AllocOne, Allocation, LoopStop, NewRing, ObjectShape, PtrLoc, RingId,
};
pub use heap::{ClassMarking, MemStats, ObjRef, ObjectCounts, SpanId, SweepWork};
pub use mark::{AssistOutcome, Color, DrainOutcome, ParkAssist, ScanWork};
pub use pacer::{TriggerKind, WorkerMode, WorkerPlan};
