//! The GC scenarios through the model: gctrace lines in Go's format (read
//! by the same parser as real Go's), and the figures real go1.27.3 produced
//! for the same scenarios on the reference machine.

use scenarios::gctrace::{heap_goal_median_bytes, parse_gctrace};
use scenarios::library;
use sim_core::cost::CostModel;
use sim_core::metrics::{self, MetricValue, Summary};
use sim_sched::{SimConfig, World};

fn run(name: &str, godebug: &str) -> World {
    let scenario = library::get(name).unwrap_or_else(|| panic!("library scenario {name}"));
    run_scenario(&scenario, godebug)
}

/// Runs a scenario given as a file's text.
fn run_toml(source: &str) -> World {
    let scenario = scenarios::parse_scenario(source, "test.toml").unwrap();
    run_scenario(&scenario, "")
}

/// Seed 1, the committed costs; the run must complete.
fn run_scenario(scenario: &scenarios::Scenario, godebug: &str) -> World {
    simulate(scenario, godebug, false)
}

/// Runs a library scenario with its trace recorded (seed 1, committed costs).
fn run_traced(name: &str) -> World {
    let scenario = library::get(name).unwrap_or_else(|| panic!("library scenario {name}"));
    simulate(&scenario, "", true)
}

fn simulate(scenario: &scenarios::Scenario, godebug: &str, record_trace: bool) -> World {
    let name = &scenario.name;
    let mut runtime = scenario.runtime.clone();
    runtime.godebug.apply(godebug).expect("valid GODEBUG");
    let mut world = World::new(
        &scenario.workload,
        SimConfig {
            seed: 1,
            runtime,
            cost: CostModel::default(),
            record_trace,
        },
    );
    let code = world.run().exit_code;
    assert_eq!(code, 0, "{name}: {}", world.stderr());
    world
}

fn float(s: &Summary, name: &str) -> f64 {
    match s.get(name) {
        Some(MetricValue::Float(v)) => *v,
        Some(MetricValue::Count(v)) => *v as f64,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn the_models_gctrace_lines_parse_like_real_gos_and_agree_with_its_summary() {
    let world = run("runtime-gc", "gctrace=1");
    let lines = parse_gctrace(world.stderr()).expect("every gctrace line parses");
    let summary = world.summary();
    assert_eq!(
        lines.len() as u64,
        summary.count(metrics::GC_CYCLES_TOTAL).unwrap()
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.cycle, i as u32 + 1);
        assert_eq!(line.procs, 2);
        // Before mark >= 0, after mark >= marked: the heap only grows while
        // marking, and what is marked was there at the end of mark.
        assert!(line.heap_end_mb >= line.heap_live_mb, "{line:?}");
    }
    // runtime.GC three times: the last three cycles are forced.
    let forced: Vec<bool> = lines.iter().map(|l| l.forced).collect();
    assert!(forced.ends_with(&[true, true, true]), "{forced:?}");
    assert_eq!(summary.count(metrics::GC_CYCLES_FORCED), Some(3));
    assert_eq!(
        heap_goal_median_bytes(&lines),
        summary.count(metrics::GMPSIM_GC_GOAL_MEDIAN)
    );
}

#[test]
fn the_slow_leak_grows_the_live_heap_and_the_goal_with_it() {
    let world = run("slow-leak", "gctrace=1");
    let lines = parse_gctrace(world.stderr()).expect("parses");
    assert!(lines.len() >= 3, "{}", world.stderr());
    for pair in lines.windows(2) {
        assert!(pair[1].heap_live_mb >= pair[0].heap_live_mb, "{pair:?}");
        assert!(pair[1].goal_mb >= pair[0].goal_mb, "{pair:?}");
    }
    let first = &lines[0];
    let last = lines.last().unwrap();
    assert!(last.goal_mb >= 2 * first.goal_mb, "{first:?} .. {last:?}");
}

#[test]
fn grown_stacks_are_stack_in_use() {
    let world = run("stack-growth", "");
    let stacks = world.summary().count(metrics::MEMORY_STACKS).unwrap();
    // 1,000 goroutines whose 100 KiB call chains grew their stacks to 128 KiB.
    assert!(stacks >= 1_000 * 128 * 1024, "{stacks}");
    assert!(stacks < 1_100 * 128 * 1024, "{stacks}");
}

/// Real go1.27.3 on the reference machine (validation/baselines, recorded
/// 2026-12-02 on the AMD EPYC host, 5 quiet runs each): the GC CPU limiter
/// never engaged (`/gc/limiter/last-enabled:gc-cycle` 0 in every run),
/// because with one allocating goroutine on two Ps the spare P marks in its
/// idle-priority worker, whose time the limiter leaves out.
/// memlimit-gogc-off: 99.8 [97-104] cycles, GCCPUFraction 0.161;
/// memlimit-death-spiral: 131.2 [105-147] cycles, GCCPUFraction 0.209
/// (1.3 times as much; 1.5 times on the Intel host of 2026-12-01, 2.1 times
/// on the AMD host before it). With one P (memlimit-death-spiral-p1) the
/// limiter engaged in every run: last enabled in cycle 70.4 [65-75] of 69.4
/// [64-74], GCCPUFraction 0.692.
#[test]
#[ignore = "long allocation loops: run in release with `cargo test --release -- --ignored`"]
fn the_cpu_limiter_engages_where_real_go_engages_it_and_only_there() {
    let mut fractions = Vec::new();
    for (name, real_cycles, real_fraction) in [
        ("memlimit-gogc-off", 99.8, 0.161),
        ("memlimit-death-spiral", 131.2, 0.209),
    ] {
        let s = run(name, "").summary();
        assert_eq!(
            s.count(metrics::GC_LIMITER_LAST_ENABLED),
            Some(0),
            "{name}: the limiter engaged"
        );
        let cycles = float(&s, metrics::GC_CYCLES_TOTAL);
        let fraction = float(&s, metrics::GMPSIM_GC_CPU_FRACTION);
        eprintln!(
            "{name}: {cycles} cycles (real {real_cycles}), GC CPU fraction {fraction:.3} (real {real_fraction})"
        );
        fractions.push(fraction);
    }
    // As in Go, the live heap near the limit costs a larger share of the CPU
    // than the same limit with half the live heap: real 1.3 times; the
    // model (seed 1) 0.291 against 0.221, 1.32 times, and 114 and 96
    // cycles against real 131.2 and 99.8 (2026-12-07, with the cycles that
    // start with no runway; 2026-12-06 1.15 times and 89 cycles, since
    // sweeping costs what it does in Go). Both fractions are high because
    // the model runs these programs faster than Go (1.93 s against 2.38 s
    // and 0.30 s against 0.36 s over five seeds): real Go's marking at
    // GOMAXPROCS=2 slows under the re-faults more than the modelled TLB
    // shootdowns explain (ARCHITECTURE.md, the background scavenger).
    assert!(fractions[1] > 1.1 * fractions[0], "{fractions:?}");
    // On one P the limiter engages, as in every real run, in the run's last
    // cycles (real: last enabled in cycle 65-75 of 64-74 cycles; the model:
    // 63 of 62, so it engages where Go does but the run is shorter; three
    // real runs on 2026-12-07: 58-60 of 57-59).
    let s = run("memlimit-death-spiral-p1", "").summary();
    let cycles = s.count(metrics::GC_CYCLES_TOTAL).unwrap();
    let last = s.count(metrics::GC_LIMITER_LAST_ENABLED).unwrap();
    eprintln!("memlimit-death-spiral-p1: limiter last enabled in cycle {last} of {cycles}");
    assert!(last > 0, "the limiter never engaged on one P");
    assert!(last + 5 >= cycles, "engaged at {last} of {cycles}");
}

/// A heap that shrinks leaves free pages above what the next goal needs:
/// the background scavenger, woken at sweep termination, returns them to
/// the OS while the program sleeps (no allocation scavenges here), and the
/// pages the program touches again fault back in.
#[test]
fn the_background_scavenger_returns_a_shrunk_heaps_free_pages_to_the_os() {
    let source = |tail: &str| {
        format!(
            r#"
format = 1
name = "scavenge"
description = "A goroutine keeps 32 MiB live, then exits; main collects and sleeps."
wait_groups = ["done"]
[runtime]
gomaxprocs = 2
[programs.main]
ops = [
  {{ op = "wg_add", wait_group = "done", delta = 1 }},
  {{ op = "spawn", program = "big" }},
  {{ op = "wg_wait", wait_group = "done" }},
  {tail}
]
[programs.big]
ops = [
  {{ op = "alloc", size = "1KiB", count = 32768, keep = 32768 }},
  {{ op = "wg_done", wait_group = "done" }},
]
"#
        )
    };
    let released = |tail: &str| {
        let s = run_toml(&source(tail)).summary();
        (
            float(&s, "/memory/classes/heap/released:bytes"),
            s.model_only
                .get("/gmpsim/model/memory/scavenge-assist:bytes")
                .cloned(),
        )
    };
    // Before any collection: only the grown chunks' pages the heap never
    // used count as released.
    let (at_once, assist) = released(r#"{ op = "compute", duration = "1us" },"#);
    let collect_then =
        |tail: &str| released(&format!(r#"{{ op = "gc" }}, {{ op = "gc" }}, {tail}"#));
    let (after_50ms, _) = collect_then(r#"{ op = "sleep", duration = "50ms" },"#);
    let (after_2500ms, _) = collect_then(r#"{ op = "sleep", duration = "2500ms" },"#);
    // No memory limit: the allocator never scavenged itself.
    assert_eq!(assist, Some(MetricValue::Count(0)));
    // The 32 MiB heap died. Woken by the forced cycles' sweep terminations,
    // the scavenger works 1 ms (minScavWorkTime), then sleeps a thousand
    // times as long (startingScavSleepRatio) unless a GC wakes it: Go's
    // background scavenger returns memory slowly, at about 1% of the CPU.
    let per_run = after_50ms - at_once;
    let mib = 1024.0 * 1024.0;
    assert!(
        per_run >= 0.5 * mib && per_run <= 4.0 * mib,
        "released {at_once} B at once, {after_50ms} B after 50 ms"
    );
    // Then it runs once a second. Its PI controller measures about 0.05% of
    // the CPU over each such period against a 1% target; over a period that
    // long the integral term jumps (kp × period / ti ≈ 100 per unit of
    // error), the sleep ratio goes to about 1, and the scavenger works about
    // as long as it sleeps until the dead heap's pages are all returned.
    // The first ramp can take two periods: when the scavenger's first burst
    // starts before the second forced cycle, that cycle's sweep termination
    // cuts its sleep short (about 0.15 ms slept after 1 ms of work, 44% of
    // the CPU), which leaves the integral negative.
    let second = after_2500ms - after_50ms;
    assert!(
        second > 10.0 * per_run && after_2500ms >= 28.0 * mib,
        "first run {per_run} B, later {second} B (at once {at_once}, 50 ms {after_50ms}, 2.5 s {after_2500ms})"
    );
}

/// Every thread has a 32 KiB signal stack and, but for M0, a 16 KiB g0
/// stack from the stack allocator (`mpreinit`, `allocm`), so StackInuse is
/// more than the goroutines' 2 KiB stacks: go1.27.3 reports 256-320 KiB for
/// alloc-steady's four threads and eight goroutines.
#[test]
fn stack_memory_counts_every_threads_signal_and_g0_stacks() {
    let source = r#"
format = 1
name = "stacks"
description = "Allocates a little on two Ps."
[runtime]
gomaxprocs = 2
[programs.main]
ops = [ { op = "alloc", size = "64B", count = 1000, keep = 10 } ]
"#;
    let s = run_toml(source).summary();
    let threads = s.count("/sched/threads/total:threads").unwrap();
    let goroutines = s.count("/sched/goroutines-created:goroutines").unwrap();
    const KIB: u64 = 1024;
    // 32 KiB stacks have spans of their own; 16 and 2 KiB stacks are carved
    // from 32 KiB pool spans, one pool per size.
    let pool = |n: u64, size: u64| (n * size).div_ceil(32 * KIB) * 32 * KIB;
    let expected = threads * 32 * KIB + pool(threads - 1, 16 * KIB) + pool(goroutines, 2 * KIB);
    assert_eq!(
        s.count("/memory/classes/heap/stacks:bytes"),
        Some(expected),
        "{threads} threads, {goroutines} goroutines"
    );
}

/// gcMarkDone's ragged barrier in alloc-steady: whenever marking looks done,
/// every P must flush its buffers at a safe point, which stops the
/// allocating goroutine (to the global queue, as gopreempt_m does); mark
/// termination follows only a round in which no object turned grey.
#[test]
fn mark_termination_follows_a_ragged_barrier_round_that_found_no_new_work() {
    use sim_core::trace::{StopReason, TraceEvent};
    let world = run_traced("alloc-steady");
    let (mut cycles, mut rounds, mut restarts, mut safe_point_stops) = (0, 0, 0, 0);
    let mut last_round_flushed = None;
    for r in world.trace() {
        match &r.event {
            TraceEvent::GcMarkDoneRound { flushed, .. } => {
                rounds += 1;
                restarts += *flushed as u32;
                last_round_flushed = Some(*flushed);
            }
            TraceEvent::GoStop {
                reason: StopReason::SafePoint,
                ..
            } => safe_point_stops += 1,
            TraceEvent::GcDone { .. } => {
                cycles += 1;
                assert_eq!(
                    last_round_flushed.take(),
                    Some(false),
                    "cycle {cycles} ended without a clean round"
                );
            }
            _ => {}
        }
    }
    assert!(cycles > 40, "{cycles} cycles");
    assert!(rounds >= 2 * cycles, "{rounds} rounds for {cycles} cycles");
    assert!(restarts >= cycles, "{restarts} rounds found work");
    assert!(
        safe_point_stops >= cycles,
        "{safe_point_stops} safe-point stops"
    );
}

/// gcStart sweeps what the last cycle left before it stops the world
/// (go1.27.3's `sweepone` loop ahead of `work.startSema`), so runtime.GC
/// called right after an allocation loop does not sweep the heap inside the
/// pause: runtime-gc's first forced sweep termination paused 957 µs when
/// the model swept there; Go's gctrace shows 0.03 ms for it.
#[test]
fn gc_start_sweeps_the_last_cycles_spans_before_stopping_the_world() {
    use sim_core::trace::{StwKind, TraceEvent};
    let world = run_traced("runtime-gc");
    let pauses: Vec<u64> = world
        .trace()
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::StwDone {
                kind: StwKind::GcSweepTermination,
                pause_ns,
            } => Some(pause_ns),
            _ => None,
        })
        .collect();
    let cycles = world
        .summary()
        .count(sim_core::metrics::GC_CYCLES_TOTAL)
        .expect("cycles");
    assert_eq!(pauses.len() as u64, cycles, "{pauses:?}");
    assert!(cycles >= 5, "{cycles} cycles");
    assert!(
        pauses.iter().all(|&ns| ns < 200_000),
        "sweep-termination pauses {pauses:?} ns"
    );
}

/// Green Tea's enlistWorker: when a drain spills spans to its P's stealable
/// chain or publishes a work buffer, an idle P is woken to run an
/// idle-priority mark worker. In alloc-steady-gogc50 the allocating
/// goroutine's assists keep spilling while the other P sleeps between its
/// workers; without the wake-ups that P idled through most of each mark
/// (0.10 ms of idle marking per cycle against Go's 0.87).
#[test]
fn marking_that_publishes_work_wakes_an_idle_p_for_an_idle_worker() {
    use sim_core::trace::{MStartReason, TraceEvent};
    let world = run_traced("alloc-steady-gogc50");
    let (mut wakes, mut cycles) = (0, 0);
    for r in world.trace() {
        match r.event {
            TraceEvent::MWake {
                reason: MStartReason::EnlistWorker,
                ..
            } => wakes += 1,
            TraceEvent::GcDone { .. } => cycles += 1,
            _ => {}
        }
    }
    assert!(cycles > 100, "{cycles} cycles");
    assert!(
        wakes >= cycles / 2,
        "{wakes} enlistWorker wake-ups in {cycles} cycles"
    );
}

/// gcEndWork: only the last worker or assist to stop calls gcMarkDone
/// (`work.nwait == work.nproc`), so no ragged-barrier round starts while a
/// mark worker on another P is inside its drain. Before the model had the
/// rule, a worker that ran dry in alloc-steady-gogc200 started rounds while
/// the other P's fractional worker was mid-oblet, three in a row per cycle,
/// each holding its P ~145 µs.
#[test]
fn no_ragged_barrier_round_starts_while_another_ps_worker_drains() {
    use sim_core::trace::{PickSource, TraceEvent};
    for name in ["alloc-steady-gogc200", "alloc-steady"] {
        let world = run_traced(name);
        // Per P: the mark worker running there and since when.
        let mut running: Vec<Option<(sim_core::ids::Goid, u64)>> = vec![None; 2];
        let mut intervals = Vec::new(); // (p, g, from, to)
        let mut rounds = Vec::new(); // (initiator, start)
        for r in world.trace() {
            match &r.event {
                TraceEvent::GoStart { p, decision, .. } => {
                    let worker = matches!(
                        decision.source,
                        PickSource::GcWorker { .. } | PickSource::GcIdleWorker
                    );
                    running[p.index()] = worker.then_some((decision.g, r.at_ns));
                }
                TraceEvent::GoStop { g, p, .. } | TraceEvent::GoBlock { g, p, .. } => {
                    if let Some((w, from)) = running[p.index()]
                        && w == *g
                    {
                        intervals.push((p.index(), w, from, r.at_ns));
                        running[p.index()] = None;
                    }
                }
                TraceEvent::GcMarkDoneRound { g, waited_ns, .. } => {
                    rounds.push((*g, r.at_ns - waited_ns));
                }
                _ => {}
            }
        }
        assert!(rounds.len() > 40, "{name}: {} rounds", rounds.len());
        for (initiator, start) in rounds {
            let busy: Vec<_> = intervals
                .iter()
                .filter(|&&(_, w, from, to)| w != initiator && from < start && start < to)
                .collect();
            assert!(
                busy.is_empty(),
                "{name}: a round by {initiator:?} started at {start} ns while {busy:?} drained"
            );
        }
    }
}
