//! Whole cycles driven the way sim-sched will drive them: the pacer's goal
//! per cycle, the memory-limit goal, gctrace lines from the model's figures,
//! forced cycles, and a steady allocation run with a stand-in scheduler.

mod common;

use common::{MIB, new_gc, runtime_gc, stw};
use sim_core::ids::{Goid, PId};
use sim_gc::pacer::{DEFAULT_HEAP_MINIMUM_BYTES, NO_MEMORY_LIMIT, SWEEP_MIN_HEAP_DISTANCE_BYTES};
use sim_gc::{
    AssistOutcome, CycleReport, Gc, GcConfig, GcTrigger, LoopStop, NewRing, ObjectShape,
    ParkAssist, RingId, WorkerMode,
};

const G: Goid = Goid(1);
const P0: PId = PId(0);
const P1: PId = PId(1);

/// Costs of the stand-in scheduler (test figures, not the CostModel's).
const MUTATOR_NS_PER_OBJECT: u64 = 90;
const MARK_NS_PER_WORK_BYTE: u64 = 5;
const STW_NS: u64 = 50_000;
const STEP_NS: u64 = 100_000;

struct Run {
    gc: Gc,
    ring: RingId,
    now_ns: u64,
    reports: Vec<CycleReport>,
    /// Spans left unswept when each cycle started (swept by gcStart).
    leftover_sweep_spans: Vec<u64>,
}

impl Run {
    fn new(config: GcConfig, ring_capacity: u32) -> Run {
        let mut gc = Gc::new(config, 0);
        gc.goroutine_created(G, 1024);
        let ring = match gc.new_ring(P0, G, ring_capacity) {
            NewRing::Created { ring, .. } => ring,
            NewRing::AssistNeeded => unreachable!(),
        };
        Run {
            gc,
            ring,
            now_ns: 1_000_000,
            reports: Vec::new(),
            leftover_sweep_spans: Vec::new(),
        }
    }

    /// One goroutine on P0 allocates `total` 64-byte linked objects through
    /// the ring; P1 is otherwise idle, so it runs an idle mark worker during
    /// each mark phase, as Go's findRunnable would.
    fn allocate(&mut self, total: u64) {
        let shape = ObjectShape::with_pointers(64, 1);
        let mut done = 0;
        while done < total {
            let marking = self.gc.blacken_enabled;
            let step_objects = (STEP_NS / MUTATOR_NS_PER_OBJECT).min(total - done);
            let out = self
                .gc
                .alloc_loop(P0, G, self.ring, shape, true, step_objects);
            done += out.allocated;
            let mut mutator_ns = out.allocated * MUTATOR_NS_PER_OBJECT;
            match out.stop {
                Some(LoopStop::GcTriggered) => {
                    self.now_ns += mutator_ns;
                    self.start_cycle(GcTrigger::Heap);
                    continue;
                }
                Some(LoopStop::AssistNeeded) => {
                    if let AssistOutcome::Scanned { work, in_debt, .. } = self.gc.assist(P0, G) {
                        let assist_ns = work.scanned_bytes() * MARK_NS_PER_WORK_BYTE;
                        mutator_ns += assist_ns;
                        self.gc.add_assist_time(self.now_ns + mutator_ns, assist_ns);
                        if in_debt && self.gc.park_assist(G) == ParkAssist::Parked {
                            // Parked until the idle worker's credit or the end
                            // of the cycle readies it: let the worker run.
                            mutator_ns = mutator_ns.max(STEP_NS);
                        }
                    }
                }
                _ => {}
            }
            let step_ns = mutator_ns.max(1);
            if marking {
                self.idle_worker(step_ns);
            }
            self.now_ns += step_ns;
            if self.gc.mark_done_ready() {
                self.finish_cycle();
            }
        }
    }

    fn idle_worker(&mut self, step_ns: u64) {
        let mode = match self.gc.assign_mark_worker(P1, self.now_ns) {
            Some(mode) => mode,
            None if self.gc.start_idle_mark_worker(P1) => WorkerMode::Idle,
            None => return,
        };
        // Drain budgets are scan work, time is scanned bytes (dense span
        // scans count more work than they read): drain in small steps.
        let mut worked_ns = 0;
        while worked_ns < step_ns {
            let drained = self.gc.mark_worker_drain(P1, 2048);
            if drained.work.total_bytes() == 0 && drained.work.objects_scanned == 0 {
                break;
            }
            worked_ns += drained.work.scanned_bytes() * MARK_NS_PER_WORK_BYTE;
        }
        self.gc.mark_worker_stop(P1, mode, worked_ns.min(step_ns));
    }

    fn start_cycle(&mut self, trigger: GcTrigger) {
        let start = self.now_ns;
        if let Some(started) = self.gc.gc_start(start, trigger) {
            self.leftover_sweep_spans
                .push(started.swept_before_stw.spans + started.swept_in_stw.spans);
            self.now_ns += STW_NS;
            self.gc.sweep_termination_done(self.now_ns, stw(start));
        }
    }

    /// gcMarkDone: `mark_done` flushes every P's buffers; work they hid
    /// sends the worker back to marking.
    fn finish_cycle(&mut self) {
        let start = self.now_ns;
        while self.gc.mark_done(start).is_none() {
            self.gc.mark_worker_drain(P1, u64::MAX);
        }
        self.now_ns += STW_NS;
        let report = self.gc.mark_termination_done(self.now_ns, stw(start));
        self.reports.push(report);
    }
}

/// The goal `commit` must produce after a cycle: the GOGC formula in integer
/// arithmetic, floored at 4 MiB × GOGC/100 and at the sweep distance
/// (heapLive + 1 MiB, sweeping being unfinished right after the cycle).
fn expected_goal(gogc: u64, marked: u64, stacks: u64, globals: u64) -> u64 {
    let gogc_goal = marked + (marked + stacks + globals) * gogc / 100;
    let minimum = DEFAULT_HEAP_MINIMUM_BYTES * gogc / 100;
    gogc_goal
        .max(minimum)
        .max(marked + SWEEP_MIN_HEAP_DISTANCE_BYTES)
}

#[test]
fn each_cycles_goal_is_the_gogc_formula_in_integer_arithmetic() {
    for gogc in [50, 100, 200] {
        let config = GcConfig {
            gogc,
            gomaxprocs: 2,
            ncpu: 2,
            ..GcConfig::default()
        };
        let mut run = Run::new(config, 20_000);
        run.allocate(600_000);
        assert!(
            run.reports.len() >= 3,
            "GOGC={gogc}: {} cycles",
            run.reports.len()
        );
        for r in &run.reports {
            let t = &r.gctrace;
            let goal = expected_goal(
                gogc as u64,
                t.heap2_bytes,
                t.stack_scan_bytes,
                t.globals_scan_bytes,
            );
            // next_heap_goal is read after the mcache flush, which can only
            // lower heapLive; the goal depends on heapMarked alone.
            assert_eq!(
                r.next_heap_goal_bytes, goal,
                "GOGC={gogc} cycle {}",
                r.numgc
            );
        }
    }
}

/// Checks a gctrace line against the shape real Go prints (the same fields
/// the shared parser in the scenarios crate will read).
fn assert_gctrace_shape(line: &str) {
    let rest = line.strip_prefix("gc ").expect("starts with gc");
    let (numgc, rest) = rest.split_once(" @").unwrap();
    numgc.parse::<u32>().unwrap();
    let (secs, rest) = rest.split_once("s ").unwrap();
    let (whole, frac) = secs.split_once('.').unwrap();
    whole.parse::<u64>().unwrap();
    assert_eq!(frac.len(), 3, "{line}");
    let (pct, rest) = rest.split_once("%: ").unwrap();
    pct.parse::<u32>().unwrap();
    let (clock, rest) = rest.split_once(" ms clock, ").unwrap();
    assert_eq!(clock.split('+').count(), 3, "{line}");
    let (cpu, rest) = rest.split_once(" ms cpu, ").unwrap();
    assert_eq!(cpu.split(['+', '/']).count(), 5, "{line}");
    let (heaps, rest) = rest.split_once(" MB, ").unwrap();
    assert_eq!(heaps.split("->").count(), 3, "{line}");
    let fields: Vec<&str> = rest.split(", ").collect();
    assert!(fields[0].ends_with(" MB goal"), "{line}");
    assert!(fields[1].ends_with(" MB stacks"), "{line}");
    assert!(fields[2].ends_with(" MB globals"), "{line}");
    assert!(
        fields[3].ends_with(" P") || fields[3].ends_with(" P (forced)"),
        "{line}"
    );
}

#[test]
fn gctrace_lines_come_from_the_models_figures() {
    let config = GcConfig {
        gogc: 100,
        gomaxprocs: 2,
        ncpu: 2,
        ..GcConfig::default()
    };
    let mut run = Run::new(config, 131_072);
    run.allocate(400_000);
    assert!(!run.reports.is_empty());
    for r in &run.reports {
        let line = r.gctrace_line();
        assert_gctrace_shape(&line);
        assert!(line.ends_with(", 2 P"), "{line}");
        assert!(!r.forced);
        // H0 ≤ H1: heapLive only grows during mark. Once the ring is full,
        // H2 (bytes marked) holds at least the ring's objects and its slice.
        assert!(r.gctrace.heap0_bytes <= r.gctrace.heap1_bytes);
        if r.numgc > 3 {
            assert!(
                r.gctrace.heap2_bytes >= 131_072 * 64 + MIB,
                "{}",
                r.gctrace_line()
            );
        }
    }
    let first = &run.reports[0];
    // The first cycle triggers at 61/64 of the 4 MiB minimum and aims at it.
    assert_eq!(first.gctrace.heap_goal_bytes, 4 * MIB);
    assert!(
        first.gctrace_line().contains(" 4 MB goal, "),
        "{}",
        first.gctrace_line()
    );
    // runtime.GC(): "(forced)".
    let n = run.gc.cycles() + 1;
    run.start_cycle(GcTrigger::Cycle { n });
    run.gc.mark_worker_drain(P1, u64::MAX);
    run.finish_cycle();
    let forced = run.reports.last().unwrap();
    assert!(forced.forced);
    assert!(forced.gctrace_line().ends_with(" 2 P (forced)"));
    assert_eq!(run.gc.stats.num_forced_gc, 1);
    assert_eq!(run.gc.stats.numgc as usize, run.reports.len());
}

#[test]
fn pause_and_cpu_statistics_add_up() {
    let mut gc = new_gc(2, 100);
    gc.goroutine_created(G, 512);
    let report = runtime_gc(&mut gc, 5_000_000);
    // Both pauses: 10 µs each (see common::run_cycle).
    assert_eq!(report.pause_ns, 20_000);
    assert_eq!(gc.stats.pause_total_ns, 20_000);
    assert_eq!(gc.stats.pause_ns[0], 20_000);
    // GC CPU: two pauses × 2 Ps = 40 µs; total CPU 2 Ps × 5.03 ms.
    assert_eq!(gc.stats.cpu.gc_pause_ns, 40_000);
    assert_eq!(gc.stats.cpu.total_ns, 2 * 5_030_000);
    assert_eq!(gc.stats.gc_cpu_fraction, 40_000.0 / 10_060_000.0);
    assert_eq!(report.gctrace.t_sweep_term_ns, 5_000_000);
    assert!(
        report
            .gctrace_line()
            .starts_with("gc 1 @0.005s 0%: 0.010+0.010+0.010 ms clock, 0.020+0/0/0+0.020 ms cpu, ")
    );
    // Two minutes after the last GC, sysmon's time trigger holds.
    let last = gc.stats.last_gc_ns;
    assert!(!gc.trigger_test(GcTrigger::Time {
        now_ns: last + 120_000_000_000
    }));
    assert!(gc.trigger_test(GcTrigger::Time {
        now_ns: last + 120_000_000_001
    }));
}

#[test]
fn gogc_off_with_a_memory_limit_paces_to_the_limit_goal() {
    let limit = 32 * MIB;
    let config = GcConfig {
        gogc: -1,
        memory_limit_bytes: limit as i64,
        gomaxprocs: 2,
        ncpu: 2,
        ..GcConfig::default()
    };
    let mut run = Run::new(config, 131_072);
    let mem = run.gc.memory_inputs();
    let non_heap = mem.mapped_ready_bytes - mem.heap_free_bytes - mem.heap_alloc_bytes;
    // goal = limit − nonHeap − headroom (no overage yet), the headroom being
    // 3 % of that or 1 MiB, whichever is more: here 3 % is 896829 bytes.
    let base = limit - non_heap;
    let headroom = (base / 100 * 3).max(MIB);
    assert_eq!(headroom, MIB);
    assert_eq!(run.gc.heap_goal_bytes(), base - headroom);
    assert_eq!(run.gc.pacer.gc_percent_heap_goal_bytes, u64::MAX);
    run.allocate(1_500_000);
    assert!(run.reports.len() >= 2, "{} cycles", run.reports.len());
    for r in &run.reports {
        // Each cycle aimed at the memory-limit goal, well below the limit.
        assert!(r.heap_goal_bytes < limit, "{}", r.gctrace_line());
        assert!(r.heap_goal_bytes > 20 * MIB, "{}", r.gctrace_line());
    }
    // Mapped memory stays under the limit: the scavenge assist releases
    // free pages when an allocation would exceed it.
    assert!(run.gc.heap.mapped_ready_bytes() <= limit + 8 * MIB);
    assert_eq!(NO_MEMORY_LIMIT, i64::MAX);
}

/// The shape of the acceptance scenario (one goroutine, 512 MiB of
/// 64-byte objects, a ring of 8 MiB live) with a crude stand-in scheduler.
/// Real go1.27.3 on the reference machine: GOGC=50 → 111.6 cycles,
/// GOGC=100 → 58.6, GOGC=200 → 28.4; median goal 15.0 / 20.8 / 33.2 MiB
/// (validation/baselines, 2026-12-02). `gmpsim validate` judges the
/// integrated model against those; here only the order of magnitude and the
/// halving with GOGC are checked, since the costs are made up.
#[test]
fn steady_allocation_cycles_scale_with_gogc() {
    let objects = (512 * MIB) / 64;
    let mut cycles = Vec::new();
    for gogc in [50, 100, 200] {
        let config = GcConfig {
            gogc,
            gomaxprocs: 2,
            ncpu: 2,
            ..GcConfig::default()
        };
        let mut run = Run::new(config, 131_072);
        run.allocate(objects);
        let mut goals: Vec<u64> = run.reports.iter().map(|r| r.heap_goal_bytes).collect();
        goals.sort_unstable();
        let median_goal_mib = goals[goals.len() / 2] as f64 / MIB as f64;
        let marked: Vec<u64> = run.reports.iter().map(|r| r.gctrace.heap2_bytes).collect();
        println!(
            "GOGC={gogc}: {} cycles, median goal {median_goal_mib:.1} MiB, last marked {:.1} MiB, {}",
            run.reports.len(),
            *marked.last().unwrap() as f64 / MIB as f64,
            run.reports.last().unwrap().gctrace_line()
        );
        cycles.push(run.reports.len());
    }
    assert!(cycles[0] > cycles[1] && cycles[1] > cycles[2], "{cycles:?}");
    assert!((40..=80).contains(&cycles[1]), "{cycles:?}");
}

#[test]
fn proportional_sweeping_finishes_before_the_next_trigger() {
    // No background sweeper runs here: only allocation sweeps (mcentral's
    // deductSweepCredit, unswept spans taken by cacheSpan, reclaim).
    let config = GcConfig {
        gogc: 100,
        gomaxprocs: 2,
        ncpu: 2,
        ..GcConfig::default()
    };
    let mut run = Run::new(config, 50_000);
    run.allocate(1_000_000);
    assert!(run.leftover_sweep_spans.len() >= 5);
    assert_eq!(
        run.leftover_sweep_spans[0], 0,
        "nothing to sweep before the first cycle"
    );
    for (i, left) in run.leftover_sweep_spans.iter().enumerate() {
        assert_eq!(
            *left,
            0,
            "cycle {} started with {left} unswept spans",
            i + 1
        );
    }
}

#[test]
fn set_gc_percent_and_gomaxprocs_recommit_the_pacer() {
    let mut gc = new_gc(2, 100);
    gc.goroutine_created(G, 512);
    let report = runtime_gc(&mut gc, 1_000_000);
    let marked = gc.pacer.heap_marked_bytes;
    assert_eq!(report.numgc, 1);
    // debug.SetGCPercent(50): goal and heap minimum follow at once.
    assert_eq!(gc.set_gc_percent(50), 100);
    assert_eq!(gc.pacer.heap_minimum_bytes, 2 * MIB);
    assert_eq!(
        gc.pacer.gc_percent_heap_goal_bytes,
        (marked
            + (marked + gc.pacer.last_stack_scan_bytes + gc.pacer.globals_scan_bytes) * 50 / 100)
            .max(2 * MIB)
    );
    // GOMAXPROCS 2 → 4: four mcaches, a 4 s limiter bucket, CPU time counted
    // at the new rate from now on.
    gc.set_gomaxprocs(2_000_000, 4);
    assert_eq!(gc.heap.num_mcaches(), 4);
    assert_eq!(gc.limiter.capacity_ns, 4_000_000_000);
    let n = gc.cycles() + 1;
    common::run_cycle(&mut gc, 3_000_000, GcTrigger::Cycle { n }).unwrap();
    // 2 Ps × 2 ms, then 4 Ps × 1.03 ms.
    assert_eq!(gc.stats.cpu.total_ns, 2 * 2_000_000 + 4 * 1_030_000);
    assert!(gc.stats.numgc == 2 && gc.stats.num_forced_gc == 2);
}

/// The collector's own metadata (GC bitmap arenas, work buffers, span-queue
/// rings) counts as mapped memory from the first cycle on, so under a
/// memory limit it lowers the goal by as much.
#[test]
fn the_collectors_metadata_counts_against_the_memory_limit_from_the_first_cycle() {
    let mut gc = Gc::new(
        GcConfig {
            gogc: -1,
            memory_limit_bytes: (32 * MIB) as i64,
            gomaxprocs: 2,
            ncpu: 2,
            ..GcConfig::default()
        },
        0,
    );
    let before = gc.heap.mapped_ready_bytes();
    let goal_before = gc.pacer.memory_limit_heap_goal(&gc.memory_inputs());
    runtime_gc(&mut gc, 1_000_000);
    let gc_metadata = sim_gc::heap::DEFAULT_GC_METADATA_BYTES;
    assert_eq!(gc.heap.config.gc_metadata_bytes, gc_metadata);
    assert_eq!(gc.heap.mapped_ready_bytes(), before + gc_metadata);
    // goal = (limit − nonHeap) less the headroom, here 1 MiB (3 % of about
    // 30 MiB is less): the goal drops by the metadata exactly.
    let goal_after = gc.pacer.memory_limit_heap_goal(&gc.memory_inputs());
    assert!(goal_after / 100 * 3 < MIB);
    assert_eq!(goal_before - goal_after, gc_metadata);
}
