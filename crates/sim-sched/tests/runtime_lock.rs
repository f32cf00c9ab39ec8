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

/// One sched.lock wait: who held the lock, how long the waiter slept, how
/// long it was held up in all.
#[derive(Clone, Copy, Debug)]
struct Wait {
    holder: SchedLockHolder,
    slept_ns: u64,
    delay_ns: u64,
}

/// Runs `world` and returns its `/sync/mutex/wait/total` and every
/// sched.lock wait.
fn lock_waits(mut world: World) -> (f64, Vec<Wait>) {
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
            } => Some(Wait {
                holder,
                slept_ns,
                delay_ns,
            }),
            _ => None,
        })
        .collect();
    let total = match world.summary().metrics.get(SYNC_MUTEX_WAIT_TOTAL) {
        Some(MetricValue::Float(s)) => *s,
        other => panic!("{other:?}"),
    };
    (total, waits)
}

/// The longest a waiter can be held up by a holder keeping the lock
/// `hold_ns`: the hold, then a wake-up at its 99th percentile after a sleep
/// no longer than the hold (the wake-up curve rises with the sleep).
fn longest_delay_ns(cost: &CostModel, hold_ns: u64) -> u64 {
    hold_ns + cost.thread_wake_median_ns(hold_ns) * cost.thread_latency_p99_ppm / 1_000_000
}

/// Every wait slept, for less than it was held up and at most
/// `longest_delay_ns`, and `/sync/mutex/wait/total` is the sum of the sleeps.
fn assert_waits_slept_within(total_s: f64, waits: &[Wait], cost: &CostModel, hold_ns: u64) {
    let longest_ns = longest_delay_ns(cost, hold_ns);
    for w in waits {
        assert!(w.slept_ns > 0 && w.slept_ns < w.delay_ns, "{w:?}");
        assert!(w.delay_ns <= longest_ns, "{w:?}");
    }
    let slept_s: u64 = waits.iter().map(|w| w.slept_ns).sum();
    assert!((total_s - slept_s as f64 / 1e9).abs() < 1e-9, "{total_s}");
}

/// Eight 50 ms workers on one P: sysmon preempts one every 10 ms and, in the
/// same iteration, prints a schedtrace line under sched.lock; the preempted
/// worker's M needs the lock for the global run queue.
fn run(godebug: &str) -> (f64, Vec<Wait>) {
    let w = fanout(8, vec![compute(50 * MS, true)]);
    lock_waits(world(&w, 1, 1, godebug))
}

#[test]
fn a_preempted_goroutine_waits_for_sched_lock_while_sysmon_prints_schedtrace() {
    let (total_s, waits) = run("schedtrace=10");
    let cost = CostModel::default();
    // One report on 1 P is 24 write(2) calls.
    let hold_ns = 24 * cost.stderr_write_ns;
    assert!(waits.len() >= 10, "{waits:?}");
    assert!(
        waits
            .iter()
            .all(|w| w.holder == SchedLockHolder::Schedtrace),
        "{waits:?}"
    );
    assert_waits_slept_within(total_s, &waits, &cost, hold_ns);
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
fn gc_run(godebug: &str) -> (f64, Vec<Wait>) {
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
    let signalled = waits
        .iter()
        .filter(|w| {
            matches!(
                w.holder,
                SchedLockHolder::StopTheWorld | SchedLockHolder::ForEachP
            )
        })
        .count();
    assert!(signalled >= 3, "{waits:?}");
    assert_waits_slept_within(total_s, &waits, &cost, hold_ns);
}

#[test]
fn without_async_preemption_the_gc_sends_no_signal_under_sched_lock() {
    let (_, waits) = gc_run("asyncpreemptoff=1");
    assert!(
        waits.iter().all(|w| !matches!(
            w.holder,
            SchedLockHolder::StopTheWorld | SchedLockHolder::ForEachP
        )),
        "{waits:?}"
    );
}

/// 20,000 goroutines park on a channel; closing it readies them all onto
/// main's P, whose full ring spills to the global run queue, and both Ps'
/// Ms take batches of up to 128 from it: each walk down the queue holds
/// sched.lock for `global_runq_ns_per_g` per G (real million-parked: a
/// mutex profile blames 3,575 waits, 33 ms, on findRunnable's unlock after
/// globrunqgetbatch).
fn close_run(cost: CostModel) -> (f64, Vec<Wait>) {
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 20_000,
                    },
                    Op::Sleep {
                        duration_ns: 50 * MS,
                    },
                    Op::Close { chan: ch(0) },
                    Op::Sleep {
                        duration_ns: 50 * MS,
                    },
                ],
            ),
            program("waiter", vec![Op::Recv { chan: ch(0) }]),
        ],
        &[("start", 0)],
        &[],
        &[],
    );
    lock_waits(world_with_cost(&w, 2, 1, "", cost))
}

#[test]
fn ms_taking_batches_from_a_long_global_queue_wait_for_each_other() {
    let cost = CostModel::default();
    let (total_s, waits) = close_run(cost.clone());
    let batch: Vec<&Wait> = waits
        .iter()
        .filter(|w| w.holder == SchedLockHolder::GlobalRunqBatch)
        .collect();
    assert!(batch.len() >= 5, "{waits:?}");
    // A waiter may queue behind another M that is itself still waiting for
    // the lock: it is then held up by that M's wait and batch as well (seen
    // since the mark costs changed in d78ee0a: one wait of 106 us against
    // 95 us for a single batch).
    let longest_ns = 2 * longest_delay_ns(&cost, 128 * cost.global_runq_ns_per_g);
    for w in &batch {
        assert!(w.slept_ns > 0 && w.delay_ns <= longest_ns, "{w:?}");
    }
    assert!(total_s > 0.0);
    // A queue that costs nothing to walk holds the lock for no time.
    let (_, free) = close_run(CostModel {
        global_runq_ns_per_g: 0,
        ..cost
    });
    assert!(
        free.iter()
            .all(|w| w.holder != SchedLockHolder::GlobalRunqBatch),
        "{free:?}"
    );
}
