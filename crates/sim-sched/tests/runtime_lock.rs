//! sched.lock held by sysmon while it prints a schedtrace report.

mod common;

use common::*;
use sim_core::metrics::MetricValue;
use sim_core::metrics::SYNC_MUTEX_WAIT_TOTAL;
use sim_core::trace::TraceEvent;

/// Eight 50 ms workers on one P: sysmon preempts one every 10 ms and, in the
/// same iteration, prints a schedtrace line under sched.lock; the preempted
/// worker's M needs the lock for the global run queue.
fn run(godebug: &str) -> (f64, Vec<(u64, u64)>) {
    let w = fanout(8, vec![compute(50 * MS, true)]);
    let mut world = world(&w, 1, 1, godebug);
    world.run();
    let waits = world
        .trace()
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::MSchedLockWait {
                slept_ns, delay_ns, ..
            } => Some((slept_ns, delay_ns)),
            _ => None,
        })
        .collect();
    let total = match world.summary().metrics.get(SYNC_MUTEX_WAIT_TOTAL) {
        Some(MetricValue::Float(s)) => *s,
        other => panic!("{other:?}"),
    };
    (total, waits)
}

#[test]
fn a_preempted_goroutine_waits_for_sched_lock_while_sysmon_prints_schedtrace() {
    let (total_s, waits) = run("schedtrace=10");
    let cost = sim_core::cost::CostModel::default();
    // One report on 1 P is 24 write(2) calls.
    let hold_ns = 24 * cost.stderr_write_ns;
    let max_wake_ns = cost.thread_wake_ns * cost.thread_latency_p99_ppm / 1_000_000;
    assert!(waits.len() >= 10, "{waits:?}");
    for &(slept, delay) in &waits {
        assert!(slept > 0 && slept < delay, "{slept} {delay}");
        assert!(delay <= hold_ns + max_wake_ns, "{delay}");
    }
    let slept_s: u64 = waits.iter().map(|w| w.0).sum();
    assert!((total_s - slept_s as f64 / 1e9).abs() < 1e-9, "{total_s}");
}

#[test]
fn without_schedtrace_nothing_holds_sched_lock() {
    let (total_s, waits) = run("");
    assert!(waits.is_empty());
    assert_eq!(total_s, 0.0);
}
