//! The schedtrace parser on what real Go printed and on what the model prints.

use scenarios::library;
use scenarios::schedtrace::{SchedtraceTail, parse_schedtrace};
use sim_core::cost::CostModel;
use sim_sched::{SimConfig, World};

/// go1.27.3's stderr with `schedtrace=1`, then `schedtrace=1,scheddetail=1`
/// (the file's header says how it was captured).
const REAL: &str = include_str!("data/schedtrace-go1.27.3.txt");

#[test]
fn every_sched_line_real_go_printed_parses() {
    let lines = parse_schedtrace(REAL).unwrap_or_else(|e| panic!("{e}"));
    let sched_lines = REAL.lines().filter(|l| l.starts_with("SCHED ")).count();
    assert!(
        sched_lines >= 30,
        "the fixture has {sched_lines} SCHED lines"
    );
    assert_eq!(lines.len(), sched_lines);
    let detailed = lines
        .iter()
        .filter(|l| matches!(l.tail, SchedtraceTail::Detail { .. }))
        .count();
    assert!(
        detailed > 0 && detailed < lines.len(),
        "both kinds: {detailed}"
    );
    for l in &lines {
        assert_eq!(l.gomaxprocs, 2);
        assert!(l.idle_procs <= l.gomaxprocs, "{l:?}");
        assert!(l.idle_threads < l.threads, "{l:?}");
    }
    assert!(
        lines.iter().any(|l| match &l.tail {
            SchedtraceTail::Queues {
                local_runqueues, ..
            } => local_runqueues.iter().any(|n| *n > 0),
            SchedtraceTail::Detail { .. } => false,
        }),
        "the fixture shows some local run queue with work in it"
    );
}

/// The model prints Go's format: its lines parse with the same reader, and
/// say what the model's own state said.
#[test]
fn the_models_lines_parse_with_the_same_reader() {
    for (name, godebug) in [
        ("cpu-fanout", "schedtrace=1"),
        ("syscall-handoff", "schedtrace=1,scheddetail=1"),
        ("steal-imbalance", "schedtrace=1"),
    ] {
        let scenario = library::get(name).unwrap();
        let mut runtime = scenario.runtime.clone();
        runtime.godebug.apply(godebug).unwrap();
        let gomaxprocs = u64::from(runtime.gomaxprocs);
        let mut world = World::new(
            &scenario.workload,
            SimConfig {
                seed: 1,
                runtime,
                cost: CostModel::default(),
                record_trace: false,
            },
        );
        world.run();
        let lines = parse_schedtrace(world.stderr()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(lines.len() >= 2, "{name}: {} SCHED lines", lines.len());
        for pair in lines.windows(2) {
            assert!(pair[0].at_ms <= pair[1].at_ms, "{name}: time only grows");
        }
        for l in &lines {
            assert_eq!(l.gomaxprocs, gomaxprocs, "{name}");
            assert!(l.idle_procs <= gomaxprocs, "{name}: {l:?}");
            assert_eq!(
                matches!(l.tail, SchedtraceTail::Detail { .. }),
                godebug.contains("scheddetail"),
                "{name}"
            );
        }
    }
}
