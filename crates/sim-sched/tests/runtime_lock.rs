//! sched.lock held for a long critical section: by sysmon while it prints
//! a schedtrace report, by the GC while it signals the running Ps.

mod common;

use common::*;
use sim_core::cost::CostModel;
use sim_core::ids::ProgramId;
use sim_core::metrics::MetricValue;
use sim_core::metrics::SYNC_MUTEX_WAIT_TOTAL;
use sim_core::trace::{SchedLockHolder, TraceEvent};
use sim_core::workload::Op;
use sim_sched::World;

/// Runs `world` and returns its `/sync/mutex/wait/total` and every
/// sched.lock wait: holder, time slept, time held up.
fn lock_waits(mut world: World) -> (f64, Vec<(SchedLockHolder, u64, u64)>) {
    world.run();
    let waits = world
        .trace()
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::MSchedLockWait {
                holder,
                slept_ns,
                delay_ns,
                ..
            } => Some((holder, slept_ns, delay_ns)),
            _ => None,
        })
        .collect();
    let total = match world.summary().metrics.get(SYNC_MUTEX_WAIT_TOTAL) {
        Some(MetricValue::Float(s)) => *s,
        other => panic!("{other:?}"),
    };
    (total, waits)
}

/// Eight 50 ms workers on one P: sysmon preempts one every 10 ms and, in the
/// same iteration, prints a schedtrace line under sched.lock; the preempted
/// worker's M needs the lock for the global run queue.
fn run(godebug: &str) -> (f64, Vec<(u64, u64)>) {
    let w = fanout(8, vec![compute(50 * MS, true)]);
    let (total, waits) = lock_waits(world(&w, 1, 1, godebug));
    (total, waits.into_iter().map(|w| (w.1, w.2)).collect())
}

#[test]
fn a_preempted_goroutine_waits_for_sched_lock_while_sysmon_prints_schedtrace() {
    let (total_s, waits) = run("schedtrace=10");
    let cost = sim_core::cost::CostModel::default();
    // One report on 1 P is 24 write(2) calls.
    let hold_ns = 24 * cost.stderr_write_ns;
    // A sleeper sleeps less than the hold, and wakes as a thread does
    // after so short a sleep (the wake-up curve rises with the sleep).
    let max_wake_ns = cost.thread_wake_median_ns(hold_ns) * cost.thread_latency_p99_ppm / 1_000_000;
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

/// main allocates 16 MiB of 64-byte objects on one P while a second
/// goroutine computes with calls on the other: every stop-the-world and
/// ragged barrier preempts it while their M holds sched.lock for the
/// SIGURG it sends, and the preempted M needs the lock for the global run
/// queue.
fn gc_run(godebug: &str) -> (f64, Vec<(SchedLockHolder, u64, u64)>) {
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::Spawn {
                    program: ProgramId(1),
                    count: 1,
                },
                Op::Alloc {
                    size_bytes: 64,
                    pointer_words: 1,
                    count: 262_144,
                    keep: 16_384,
                    link: false,
                },
            ],
        ),
        program("spin", vec![compute(200 * MS, true)]),
    ]);
    lock_waits(world(&w, 2, 3, godebug))
}

#[test]
fn a_goroutine_preempted_by_the_gc_waits_for_sched_lock_while_the_gc_signals() {
    let (total_s, waits) = gc_run("");
    let cost = CostModel::default();
    // One other P runs a goroutine: one signal under the lock.
    let hold_ns = cost.signal_send_ns.max(cost.futex_wake_call_ns);
    let max_wake_ns = cost.thread_wake_median_ns(hold_ns) * cost.thread_latency_p99_ppm / 1_000_000;
    let signalled = waits
        .iter()
        .filter(|w| {
            matches!(
                w.0,
                SchedLockHolder::StopTheWorld | SchedLockHolder::ForEachP
            )
        })
        .count();
    assert!(signalled >= 3, "{waits:?}");
    for &(_, slept, delay) in &waits {
        assert!(slept > 0 && slept < delay, "{slept} {delay}");
        assert!(delay <= hold_ns + max_wake_ns, "{delay}");
    }
    let slept_s: u64 = waits.iter().map(|w| w.1).sum();
    assert!((total_s - slept_s as f64 / 1e9).abs() < 1e-9, "{total_s}");
}

#[test]
fn without_async_preemption_the_gc_sends_no_signal_under_sched_lock() {
    let (_, waits) = gc_run("asyncpreemptoff=1");
    assert!(
        waits.iter().all(|w| !matches!(
            w.0,
            SchedLockHolder::StopTheWorld | SchedLockHolder::ForEachP
        )),
        "{waits:?}"
    );
}
