//! The generated Go program's measuring harness, simulated before the scenario.

mod common;

use common::*;
use sim_core::metrics::MetricValue;

/// The generated Go program calibrates its loops for about 50 ms before the
/// scenario starts; validation simulates that first (`with_go_harness`).
#[test]
fn the_go_harness_runs_first_and_the_clock_starts_after_it() {
    // The worker yields at the end, so whatever was runnable behind it runs.
    let w = fanout(
        1,
        vec![compute(10 * MS, true), sim_core::workload::Op::Gosched],
    );
    let elapsed = |world: &sim_sched::World| match world
        .summary()
        .metrics
        .get(sim_core::metrics::GMPSIM_ELAPSED)
    {
        Some(MetricValue::Float(s)) => *s,
        other => panic!("{other:?}"),
    };
    let mut plain = world(&w, 1, 1, "");
    plain.run();
    let mut harnessed = world(&w, 1, 1, "").with_go_harness();
    harnessed.run();
    // Both measure only the scenario; the harnessed process ran 50 ms longer.
    assert!((elapsed(&plain) - elapsed(&harnessed)).abs() < 1e-3);
    assert!(harnessed.now_ns() >= plain.now_ns() + 45 * MS);
    // Without the harness the runtime's own goroutines (the GOMAXPROCS
    // updater, the finalizer goroutine) are still runnable behind the 10 ms
    // worker when the scenario starts, and some seeds sample that wait; with
    // it they ran while sysmon preempted the calibration.
    let max_latency = |world: &sim_sched::World| match world
        .summary()
        .metrics
        .get(sim_core::metrics::SCHED_LATENCIES)
    {
        Some(MetricValue::Histogram(h)) => h.max,
        other => panic!("{other:?}"),
    };
    let (mut plain_long, mut harnessed_long) = (0, 0);
    for seed in 1..=32 {
        let mut plain = world(&w, 1, seed, "");
        plain.run();
        plain_long += u32::from(max_latency(&plain) > 5e-3);
        let mut harnessed = world(&w, 1, seed, "").with_go_harness();
        harnessed.run();
        harnessed_long += u32::from(max_latency(&harnessed) > 5e-3);
    }
    assert!(plain_long > 0);
    assert_eq!(harnessed_long, 0);
}
