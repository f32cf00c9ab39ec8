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
    let mut runtime = scenario.runtime.clone();
    runtime.godebug.apply(godebug).expect("valid GODEBUG");
    let mut world = World::new(
        &scenario.workload,
        SimConfig {
            seed: 1,
            runtime,
            cost: CostModel::default(),
            record_trace: false,
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
