//! The collector as one passive state machine: [`Gc`] and its cycle.
//!
//! Mirrors go1.27.3's cycle in `runtime/mgc.go`: `gcTrigger.test` (heap, time
//! and cycle triggers), `gcStart` (sweep termination: finish sweeping,
//! `work.cycles++`, `startCycle`, the limiter's transition, `_GCmark` with the
//! write barrier on, root jobs, `gcMarkTinyAllocs`, blackening on),
//! `gcMarkDone` (blackening off, the limiter's transition, `gcWakeAllAssists`,
//! `endCycle`) and `gcMarkTermination` (heap1, `gcMark`'s `resetLive`,
//! `_GCoff`, `gcSweep`'s flip, `gcControllerCommit` with `gcPaceSweeper` and
//! `gcPaceScavenger`, pause statistics, `cpuStats.accumulate`, `numgc++`,
//! `freeStackSpans`, the mcache flush, the gctrace line); `cpuStats` from
//! `runtime/mstats.go` for `GCCPUFraction` and gctrace's `P%`.
//!
//! Every method takes the virtual time and the P it runs on, changes state at
//! once, and returns what happened (work done, goroutines to wake, whether a
//! cycle should start) so the scheduler can charge costs and schedule workers.
//! The scheduler owns time, goroutines and Ps; this crate never schedules.
//!
//! Simplified: the pre-STW sweeping loop of `gcStart` runs inside
//! [`Gc::gc_start`] (its spans are reported apart from the in-STW ones so they
//! can be charged before the pause); `gcMarkDone`'s ragged barrier is driven by the
//! scheduler (`forEachP` needs safe points), this module gives it the flush
//! and the `flushedWork` flag ([`Gc::ragged_barrier_flush`],
//! [`Gc::take_flushed_work`]); `forEachP`'s mcache flush happens at the end of
//! mark termination rather than at each P's next safe point; no
//! `gcstoptheworld=2` STW sweep.

use crate::gctrace::{GctraceCycle, format_gctrace_line};
use crate::graph::Graph;
use crate::heap::AllocEnv;
use crate::heap::{Heap, HeapConfig, STACK_MIN_BYTES, SweepWork};
use crate::limiter::CpuLimiter;
use crate::mark::MarkState;
use crate::pacer::{MemoryInputs, NO_MEMORY_LIMIT, Pacer, TriggerKind, WorkerPlan};
use serde::{Deserialize, Serialize};
use sim_core::ids::{Goid, PId};

/// `forcegcperiod`: a GC is forced after two minutes without one.
pub const FORCE_GC_PERIOD_NS: u64 = 2 * 60 * 1_000_000_000;
/// `/gc/scan/globals:bytes` of a go1.27.3 program importing fmt, os,
/// runtime, runtime/metrics, sync and time (as the generated programs do),
/// measured on the reference machine: 158 122 bytes.
pub const DEFAULT_GLOBALS_SCAN_BYTES: u64 = 158_122;
/// `len(memstats.pause_ns)`.
pub const PAUSE_HISTORY_LEN: usize = 256;
/// `physPageSize` on the reference machine.
pub const PHYS_PAGE_SIZE_BYTES: u64 = 4096;
/// `reduceExtraPercent` and `retainExtraPercent` in mgcscavenge.go.
const SCAVENGE_REDUCE_EXTRA_PERCENT: f64 = 5.0;
const SCAVENGE_RETAIN_EXTRA_DIVISOR: u64 = 10;

/// Settings of one simulated process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcConfig {
    /// GOGC (−1 for "off"); see [`crate::pacer::parse_gogc`].
    pub gogc: i32,
    /// GOMEMLIMIT in bytes ([`NO_MEMORY_LIMIT`] when unset).
    pub memory_limit_bytes: i64,
    pub gomaxprocs: u32,
    /// CPUs at start-up (`numCPUStartup`): caps `stwprocs`.
    pub ncpu: u32,
    /// Scannable data and BSS (`globalsScan`, `/gc/scan/globals:bytes`).
    /// It is also part of the scan work the pacer expects, so a cycle never
    /// expects zero work.
    pub globals_scan_bytes: u64,
    /// `GODEBUG=gcstoptheworld=1`: every P gets a dedicated worker.
    pub gcstoptheworld: bool,
    /// Green Tea scans dense spans with AVX-512 (`scan.HasFastScanSpanPacked`;
    /// the scheduler sets it from `CostModel::avx512_span_scan`, true on the
    /// reference machine) and then counts each marked object's whole size
    /// as scan work, where a sparse scan counts its pointer words.
    pub dense_span_scan: bool,
    pub heap: HeapConfig,
}

impl Default for GcConfig {
    fn default() -> GcConfig {
        GcConfig {
            gogc: 100,
            memory_limit_bytes: NO_MEMORY_LIMIT,
            gomaxprocs: 1,
            ncpu: 1,
            globals_scan_bytes: DEFAULT_GLOBALS_SCAN_BYTES,
            gcstoptheworld: false,
            dense_span_scan: true,
            heap: HeapConfig::default(),
        }
    }
}

/// `gcphase`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GcPhase {
    /// `_GCoff`: sweeping or idle; no write barrier.
    Off,
    /// `_GCmark`: marking; write barrier on; allocate black.
    Mark,
    /// `_GCmarktermination`: the second stop-the-world.
    MarkTermination,
}

/// `gcTrigger`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GcTrigger {
    /// heapLive reached the trigger.
    Heap,
    /// Sysmon's forcegc check at `now_ns`.
    Time { now_ns: u64 },
    /// `runtime.GC()` wants cycle `n` to have started (`work.cycles + 1`).
    Cycle { n: u32 },
}

impl GcTrigger {
    pub fn kind(self) -> TriggerKind {
        match self {
            GcTrigger::Heap => TriggerKind::Heap,
            GcTrigger::Time { .. } => TriggerKind::Time,
            GcTrigger::Cycle { .. } => TriggerKind::Cycle,
        }
    }
}

/// The instants of a stop-the-world, for pause accounting
/// (`worldStop.startedStopping`, `finishedStopping`, `stoppingCPUTime`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct StwTiming {
    pub started_stopping_ns: u64,
    pub finished_stopping_ns: u64,
    /// CPU time the Ps spent stopping (summed over Ps).
    pub stopping_cpu_ns: u64,
}

/// `work.cpuStats`: cumulative CPU time by class since the program started.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct CpuStats {
    pub gc_assist_ns: u64,
    /// Dedicated and fractional workers.
    pub gc_dedicated_ns: u64,
    pub gc_idle_ns: u64,
    pub gc_pause_ns: u64,
    pub gc_total_ns: u64,
    /// GOMAXPROCS × wall time, over GOMAXPROCS changes.
    pub total_ns: u64,
}

/// The scavenger's goals after the last commit (`gcPaceScavenger`);
/// `u64::MAX` means none.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ScavengeGoals {
    pub memory_limit_goal_bytes: u64,
    pub gc_percent_goal_bytes: u64,
}

/// `work`: the current or last cycle's bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CycleWork {
    /// `work.cycles`: cycles started.
    pub cycles: u32,
    pub user_forced: bool,
    pub kind: Option<TriggerKind>,
    pub heap0_bytes: u64,
    pub heap1_bytes: u64,
    pub heap2_bytes: u64,
    pub t_sweep_term_ns: u64,
    pub t_mark_ns: u64,
    pub t_mark_term_ns: u64,
    pub t_end_ns: u64,
    pub pause_ns: u64,
    pub stw_procs: u32,
    pub max_procs: u32,
}

/// Cumulative GC statistics (MemStats and runtime/metrics figures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GcStats {
    /// `NumGC`.
    pub numgc: u32,
    /// `NumForcedGC`.
    pub num_forced_gc: u32,
    pub pause_total_ns: u64,
    /// `PauseNs`: the most recent at `(numgc + 255) % 256`.
    pub pause_ns: Vec<u64>,
    /// `last_gc_nanotime`: end of the last cycle (0 before the first).
    pub last_gc_ns: u64,
    pub cpu: CpuStats,
    /// `GCCPUFraction`.
    pub gc_cpu_fraction: f64,
    /// `lastHeapInUse`.
    pub last_heap_in_use_bytes: u64,
}

/// What `gcStart` did.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub struct GcStartOutcome {
    /// The cycle's number (`work.cycles`, = the next `numgc`).
    pub cycle: u32,
    pub workers: WorkerPlan,
    /// Sweeping the triggering goroutine did before stopping the world.
    pub swept_before_stw: SweepWork,
    /// Sweeping finished inside the pause (`finishsweep_m`).
    pub swept_in_stw: SweepWork,
    /// Root jobs queued (globals plus one per goroutine stack).
    pub root_jobs: u64,
}

/// What `gcMarkDone` did when it stopped the world for mark termination.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct MarkDoneOutcome {
    /// Goroutines parked in "GC assist wait", to be readied.
    pub woken_assists: Vec<Goid>,
    pub heap_marked_bytes: u64,
}

/// A finished cycle.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct CycleReport {
    pub numgc: u32,
    pub forced: bool,
    pub kind: TriggerKind,
    /// Both pauses of the cycle (`PauseNs` entry).
    pub pause_ns: u64,
    /// The goal this cycle aimed at (`lastHeapGoal`).
    pub heap_goal_bytes: u64,
    /// The goal and trigger for the next cycle.
    pub next_heap_goal_bytes: u64,
    pub next_trigger_bytes: u64,
    pub gctrace: GctraceCycle,
    /// Sweeping done by the mcache flush (spans cached before the flip).
    pub flush_sweep: SweepWork,
}

impl CycleReport {
    /// The `GODEBUG=gctrace=1` line.
    pub fn gctrace_line(&self) -> String {
        format_gctrace_line(&self.gctrace)
    }
}

/// The garbage collector of one simulated process.
#[derive(Clone, Debug)]
pub struct Gc {
    pub config: GcConfig,
    pub heap: Heap,
    pub pacer: Pacer,
    pub limiter: CpuLimiter,
    pub(crate) graph: Graph,
    pub(crate) mark: MarkState,
    pub phase: GcPhase,
    /// `gcBlackenEnabled`: workers and assists may mark.
    pub blacken_enabled: bool,
    pub gomaxprocs: u32,
    pub work: CycleWork,
    pub stats: GcStats,
    pub scavenge_goals: ScavengeGoals,
    /// The background scavenger's sleep pacing (`scavengerState`).
    pub scavenger: crate::scavenger::ScavengerPacing,
    runtime_init_ns: u64,
    cpu_total_base_ns: u64,
    procresize_time_ns: u64,
}

impl Gc {
    /// The collector at `runtimeInitTime = now_ns`, before any allocation.
    pub fn new(config: GcConfig, now_ns: u64) -> Gc {
        let mut pacer = Pacer::new(config.gogc, config.memory_limit_bytes, config.gomaxprocs);
        pacer.globals_scan_bytes = config.globals_scan_bytes;
        pacer.commit(true);
        Gc {
            heap: Heap::new(config.heap.clone(), config.gomaxprocs),
            limiter: CpuLimiter::new(now_ns as i64, config.gomaxprocs),
            graph: Graph::default(),
            mark: MarkState::default(),
            phase: GcPhase::Off,
            blacken_enabled: false,
            gomaxprocs: config.gomaxprocs,
            work: CycleWork::default(),
            stats: GcStats {
                numgc: 0,
                num_forced_gc: 0,
                pause_total_ns: 0,
                pause_ns: vec![0; PAUSE_HISTORY_LEN],
                last_gc_ns: 0,
                cpu: CpuStats::default(),
                gc_cpu_fraction: 0.0,
                last_heap_in_use_bytes: 0,
            },
            scavenge_goals: ScavengeGoals {
                memory_limit_goal_bytes: u64::MAX,
                gc_percent_goal_bytes: u64::MAX,
            },
            scavenger: Default::default(),
            runtime_init_ns: now_ns,
            cpu_total_base_ns: 0,
            procresize_time_ns: now_ns,
            pacer,
            config,
        }
    }

    /// The memory figures the memory-limit goal reads, now.
    pub fn memory_inputs(&self) -> MemoryInputs {
        MemoryInputs {
            heap_free_bytes: self.heap.heap_free_bytes(),
            heap_alloc_bytes: self.heap.pacer_heap_alloc_bytes(),
            mapped_ready_bytes: self.heap.mapped_ready_bytes(),
        }
    }

    pub(crate) fn alloc_env(&self) -> AllocEnv {
        AllocEnv {
            heap_live_bytes: self.pacer.heap_live_bytes,
            memory_limit_bytes: self.pacer.memory_limit_bytes as u64,
            limiter_limiting: self.limiter.limiting(),
            scavenge_gc_percent_goal_bytes: self.scavenge_goals.gc_percent_goal_bytes,
        }
    }

    /// `(trigger, goal)` now.
    pub fn trigger_and_goal(&self) -> (u64, u64) {
        self.pacer.trigger(&self.memory_inputs())
    }

    /// `/gc/heap/goal:bytes`.
    pub fn heap_goal_bytes(&self) -> u64 {
        self.pacer.heap_goal(&self.memory_inputs())
    }

    /// `work.cycles`: for `runtime.GC()`, which waits for cycle `cycles + 1`.
    pub fn cycles(&self) -> u32 {
        self.work.cycles
    }

    /// `gcTrigger.test`.
    pub fn trigger_test(&self, trigger: GcTrigger) -> bool {
        if self.phase != GcPhase::Off {
            return false;
        }
        match trigger {
            GcTrigger::Heap => {
                let (trigger_bytes, _) = self.trigger_and_goal();
                self.pacer.heap_live_bytes >= trigger_bytes
            }
            GcTrigger::Time { now_ns } => {
                self.pacer.gc_percent >= 0
                    && self.stats.last_gc_ns != 0
                    && now_ns.saturating_sub(self.stats.last_gc_ns) > FORCE_GC_PERIOD_NS
            }
            GcTrigger::Cycle { n } => (n.wrapping_sub(self.work.cycles) as i32) > 0,
        }
    }

    /// `gcStart`'s sweep of what the last cycle left while the world runs
    /// (`for trigger.test() && sweepone() != ^uintptr(0) {}`), at most
    /// `max_spans` spans: the scheduler sweeps in batches before it calls
    /// [`Gc::gc_start`].
    pub fn sweep_for_start(&mut self, trigger: GcTrigger, max_spans: u64) -> SweepWork {
        let mut swept = SweepWork::default();
        while swept.spans < max_spans && self.trigger_test(trigger) {
            match self.heap.sweep_one() {
                Some(span) => swept.add(span.into()),
                None => break,
            }
        }
        swept
    }

    /// `gcStart`: when the trigger still holds, sweep what is left, stop the
    /// world at `now_ns` (tSweepTerm) and do sweep termination: the cycle
    /// starts, background workers are planned, the write barrier goes on,
    /// roots are queued and blackening begins. The world restarts when the
    /// scheduler calls [`Gc::sweep_termination_done`].
    pub fn gc_start(&mut self, now_ns: u64, trigger: GcTrigger) -> Option<GcStartOutcome> {
        let swept_before_stw = self.sweep_for_start(trigger, u64::MAX);
        if !self.trigger_test(trigger) {
            return None;
        }
        self.work.user_forced = matches!(trigger, GcTrigger::Cycle { .. });
        self.clear_sudog_pool();
        self.work.kind = Some(trigger.kind());
        self.graph.reset_assist_bytes();
        self.mark.reset();
        self.work.stw_procs = self.gomaxprocs.min(self.config.ncpu);
        self.work.max_procs = self.gomaxprocs;
        self.work.heap0_bytes = self.pacer.heap_live_bytes;
        self.work.pause_ns = 0;
        self.work.t_sweep_term_ns = now_ns;

        let swept_in_stw = self.heap.finish_sweep();
        self.heap.gc_has_run = true;
        self.work.cycles += 1;
        let mem = self.memory_inputs();
        let workers = self.pacer.start_cycle(
            now_ns as i64,
            self.gomaxprocs,
            trigger.kind(),
            self.config.gcstoptheworld,
            &mem,
        );
        self.limiter
            .start_gc_transition(true, now_ns as i64, self.stats.numgc);
        self.phase = GcPhase::Mark;
        let root_jobs = self.prepare_mark_roots();
        self.mark_tiny_allocs();
        self.blacken_enabled = true;
        Some(GcStartOutcome {
            cycle: self.work.cycles,
            workers,
            swept_before_stw,
            swept_in_stw,
            root_jobs,
        })
    }

    /// The end of the sweep-termination pause at `now_ns` (tMark).
    pub fn sweep_termination_done(&mut self, now_ns: u64, stw: StwTiming) {
        self.stats.cpu.gc_pause_ns += stw.stopping_cpu_ns;
        self.stats.cpu.gc_total_ns += stw.stopping_cpu_ns;
        self.accumulate_pause(now_ns - stw.finished_stopping_ns);
        self.work.pause_ns += now_ns - stw.started_stopping_ns;
        self.work.t_mark_ns = now_ns;
        self.limiter
            .finish_gc_transition(now_ns as i64, self.stats.numgc);
    }

    fn accumulate_pause(&mut self, duration_ns: u64) {
        let cpu = duration_ns * self.work.max_procs as u64;
        self.stats.cpu.gc_pause_ns += cpu;
        self.stats.cpu.gc_total_ns += cpu;
    }

    /// `gcMarkDone` at `now_ns` (tMarkTerm) when marking is complete: stop
    /// blackening, wake parked assists, measure cons/mark, and do mark
    /// termination's work (heap1, heap2, `resetLive`, `_GCoff`, the sweepgen
    /// flip, the new goal and trigger). `None` if marking is not complete.
    /// The world restarts when the scheduler calls
    /// [`Gc::mark_termination_done`].
    pub fn mark_done(&mut self, now_ns: u64) -> Option<MarkDoneOutcome> {
        if self.phase != GcPhase::Mark || !self.mark_done_ready() {
            return None;
        }
        // Stores made after their P passed the ragged barrier may have left
        // unmarked objects in write-barrier buffers: if flushing them finds
        // work, marking goes on (issue 27993's restart).
        self.flush_every_p();
        if self.has_mark_work() {
            return None;
        }
        self.work.t_mark_term_ns = now_ns;
        self.blacken_enabled = false;
        self.limiter
            .start_gc_transition(false, now_ns as i64, self.stats.numgc);
        let woken_assists = self.graph.take_assist_queue();
        let mem = self.memory_inputs();
        self.pacer.end_cycle(now_ns as i64, self.gomaxprocs, &mem);

        // gcMarkTermination
        self.phase = GcPhase::MarkTermination;
        self.work.heap1_bytes = self.pacer.heap_live_bytes;
        self.work.heap2_bytes = self.mark.bytes_marked;
        self.pacer.reset_live(self.mark.bytes_marked);
        self.phase = GcPhase::Off;
        self.heap.flip_sweepgen();
        self.stats.last_heap_in_use_bytes = self.heap.heap_in_use_bytes();
        self.commit();
        Some(MarkDoneOutcome {
            woken_assists,
            heap_marked_bytes: self.work.heap2_bytes,
        })
    }

    /// `gcControllerCommit`: new goal and trigger, sweeper and scavenger pacing.
    fn commit(&mut self) {
        self.pacer.commit(self.heap.is_sweep_done());
        let mem = self.memory_inputs();
        if self.phase != GcPhase::Off {
            self.pacer.revise(&mem);
        }
        let (trigger, goal) = self.pacer.trigger(&mem);
        self.heap.pace_sweeper(trigger, self.pacer.heap_live_bytes);
        self.pace_scavenger(goal);
    }

    /// `gcPaceScavenger`.
    fn pace_scavenger(&mut self, heap_goal_bytes: u64) {
        let limit = self.pacer.memory_limit_bytes;
        let limit_goal = (limit as f64 * (1.0 - SCAVENGE_REDUCE_EXTRA_PERCENT / 100.0)) as u64;
        self.scavenge_goals.memory_limit_goal_bytes =
            if self.heap.mapped_ready_bytes() <= limit_goal {
                u64::MAX
            } else {
                limit_goal
            };
        let last_goal = self.pacer.last_heap_goal_bytes;
        if last_goal == 0 {
            self.scavenge_goals.gc_percent_goal_bytes = u64::MAX;
            return;
        }
        let ratio = heap_goal_bytes as f64 / last_goal as f64;
        let mut goal = (self.stats.last_heap_in_use_bytes as f64 * ratio) as u64;
        goal += goal / SCAVENGE_RETAIN_EXTRA_DIVISOR;
        goal = goal.next_multiple_of(PHYS_PAGE_SIZE_BYTES);
        let retained = self.heap.heap_retained_bytes();
        self.scavenge_goals.gc_percent_goal_bytes =
            if retained <= goal || retained - goal < PHYS_PAGE_SIZE_BYTES {
                u64::MAX
            } else {
                goal
            };
    }

    /// `scavengerState.shouldStop`: retained memory is within the GOGC goal
    /// and mapped memory within the memory-limit goal.
    pub fn scavenger_should_stop(&self) -> bool {
        let goals = self.scavenge_goals;
        self.heap.heap_retained_bytes() <= goals.gc_percent_goal_bytes
            && self.heap.mapped_ready_bytes() <= goals.memory_limit_goal_bytes
    }

    /// One step of the background scavenger's run
    /// (`pageAlloc.scavenge(scavengeQuantum)`): returns free memory to the OS
    /// and says how many bytes; less than a quantum means none is left.
    pub fn scavenge_background_step(&mut self) -> u64 {
        self.heap
            .scavenge_background(crate::scavenger::SCAVENGE_QUANTUM_BYTES)
    }

    /// Sweeping drained since the last call (`sweepone` then calls
    /// `scavenger.ready`, and sysmon wakes the scavenger).
    pub fn take_scavenger_ready(&mut self) -> bool {
        self.heap.take_sweep_drained_signal()
    }

    /// The end of the mark-termination pause at `now_ns` (tEnd): pause and
    /// CPU statistics, `numgc++`, the limiter's transition, stack spans freed,
    /// every P's mcache flushed, and the gctrace figures.
    pub fn mark_termination_done(&mut self, now_ns: u64, stw: StwTiming) -> CycleReport {
        self.stats.cpu.gc_pause_ns += stw.stopping_cpu_ns;
        self.stats.cpu.gc_total_ns += stw.stopping_cpu_ns;
        self.work.pause_ns += now_ns - stw.started_stopping_ns;
        self.work.t_end_ns = now_ns;
        self.stats.last_gc_ns = now_ns;
        let slot = self.stats.numgc as usize % PAUSE_HISTORY_LEN;
        self.stats.pause_ns[slot] = self.work.pause_ns;
        self.stats.pause_total_ns += self.work.pause_ns;
        self.accumulate_pause(now_ns - stw.finished_stopping_ns);
        self.accumulate_cpu(now_ns, true);
        let cpu = self.stats.cpu;
        self.stats.gc_cpu_fraction = if cpu.total_ns == 0 {
            0.0
        } else {
            (cpu.gc_total_ns - cpu.gc_idle_ns) as f64 / cpu.total_ns as f64
        };
        if self.work.user_forced {
            self.stats.num_forced_gc += 1;
        }
        self.stats.numgc += 1;
        self.limiter
            .finish_gc_transition(now_ns as i64, self.stats.numgc);
        self.heap.free_stack_spans();
        let mut flush_sweep = SweepWork::default();
        for p in 0..self.heap.num_mcaches() {
            let (delta, sweep) = self.heap.release_all(PId(p as u32));
            flush_sweep.add(sweep);
            let mem = self.memory_inputs();
            self.pacer
                .update(delta.heap_live_bytes, delta.heap_scan_bytes, false, &mem);
        }
        let (next_trigger, next_goal) = self.trigger_and_goal();
        let gctrace = GctraceCycle {
            numgc: self.stats.numgc,
            runtime_init_ns: self.runtime_init_ns,
            t_sweep_term_ns: self.work.t_sweep_term_ns,
            t_mark_ns: self.work.t_mark_ns,
            t_mark_term_ns: self.work.t_mark_term_ns,
            t_end_ns: self.work.t_end_ns,
            gc_cpu_fraction: self.stats.gc_cpu_fraction,
            goroutine_leak_check: false,
            stw_procs: self.work.stw_procs,
            assist_time_ns: self.pacer.assist_time_ns as u64,
            background_mark_time_ns: (self.pacer.dedicated_mark_time_ns
                + self.pacer.fractional_mark_time_ns) as u64,
            idle_mark_time_ns: self.pacer.idle_mark_time_ns as u64,
            heap0_bytes: self.work.heap0_bytes,
            heap1_bytes: self.work.heap1_bytes,
            heap2_bytes: self.work.heap2_bytes,
            heap_goal_bytes: self.pacer.last_heap_goal_bytes,
            stack_scan_bytes: self.pacer.last_stack_scan_bytes,
            globals_scan_bytes: self.pacer.globals_scan_bytes,
            procs: self.work.max_procs,
            forced: self.work.user_forced,
        };
        CycleReport {
            numgc: self.stats.numgc,
            forced: self.work.user_forced,
            kind: self.work.kind.unwrap_or(TriggerKind::Heap),
            pause_ns: self.work.pause_ns,
            heap_goal_bytes: self.pacer.last_heap_goal_bytes,
            next_heap_goal_bytes: next_goal,
            next_trigger_bytes: next_trigger,
            gctrace,
            flush_sweep,
        }
    }

    /// `cpuStats.accumulate`.
    fn accumulate_cpu(&mut self, now_ns: u64, gc_mark_phase: bool) {
        let cpu = &mut self.stats.cpu;
        if gc_mark_phase {
            let p = &self.pacer;
            cpu.gc_assist_ns += p.assist_time_ns as u64;
            cpu.gc_dedicated_ns += (p.dedicated_mark_time_ns + p.fractional_mark_time_ns) as u64;
            cpu.gc_idle_ns += p.idle_mark_time_ns as u64;
            cpu.gc_total_ns += (p.assist_time_ns
                + p.dedicated_mark_time_ns
                + p.fractional_mark_time_ns
                + p.idle_mark_time_ns) as u64;
        }
        cpu.total_ns =
            self.cpu_total_base_ns + (now_ns - self.procresize_time_ns) * self.gomaxprocs as u64;
    }

    /// `procresize` with a new GOMAXPROCS (`runtime.GOMAXPROCS(n)`, which Go
    /// does with the world stopped and never during a cycle's mark phase).
    pub fn set_gomaxprocs(&mut self, now_ns: u64, gomaxprocs: u32) {
        self.cpu_total_base_ns += (now_ns - self.procresize_time_ns) * self.gomaxprocs as u64;
        self.procresize_time_ns = now_ns;
        self.gomaxprocs = gomaxprocs;
        self.limiter
            .reset_capacity(now_ns as i64, gomaxprocs, self.stats.numgc);
        let mut live = self.pacer.heap_live_bytes;
        self.heap.resize_mcaches(gomaxprocs, &mut live);
        self.pacer.heap_live_bytes = live;
        self.pacer
            .p_fractional_mark_time_ns
            .resize(gomaxprocs as usize, 0);
    }

    /// `debug.SetGCPercent`; returns the previous value.
    pub fn set_gc_percent(&mut self, gogc: i32) -> i32 {
        let old = self.pacer.set_gc_percent(gogc);
        self.commit();
        old
    }

    /// `debug.SetMemoryLimit`; returns the previous value.
    pub fn set_memory_limit(&mut self, limit_bytes: i64) -> i64 {
        let old = self.pacer.set_memory_limit(limit_bytes);
        if limit_bytes >= 0 && old != limit_bytes {
            self.commit();
        }
        old
    }

    /// Time spent in a mark assist (`gcAssistAlloc1`'s duration): charged to
    /// the pacer's assist time and the CPU limiter, which then updates.
    pub fn add_assist_time(&mut self, now_ns: u64, duration_ns: u64) {
        self.pacer.assist_time_ns += duration_ns as i64;
        self.limiter.add_assist_time(duration_ns as i64);
        self.limiter.update(now_ns as i64, self.stats.numgc);
    }

    /// Time a P spent idle (or in an idle mark worker), for the limiter.
    pub fn add_idle_time(&mut self, duration_ns: u64) {
        self.limiter.add_idle_time(duration_ns as i64);
    }

    /// `findRunnableGCWorker`'s limiter refresh: update when 10 ms passed.
    pub fn limiter_poll(&mut self, now_ns: u64) {
        if self.limiter.need_update(now_ns as i64) {
            self.limiter.update(now_ns as i64, self.stats.numgc);
        }
    }

    /// The starting stack size for new goroutines.
    pub fn starting_stack_bytes(&self) -> u64 {
        STACK_MIN_BYTES
    }
}
