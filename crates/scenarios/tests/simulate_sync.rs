//! The parking and synchronisation scenarios through the model: Go's fatal
//! errors, leaks, races that depend on the interleaving, the netpoller.

use scenarios::library;
use sim_core::cost::CostModel;
use sim_core::trace::{PickSource, TraceEvent, WaitReason};
use sim_sched::{SimConfig, World};

fn run(name: &str, seed: u64) -> World {
    let scenario = library::get(name).unwrap_or_else(|| panic!("library scenario {name}"));
    let mut w = World::new(
        &scenario.workload,
        SimConfig {
            seed,
            runtime: scenario.runtime.clone(),
            cost: CostModel::default(),
            record_trace: true,
        },
    );
    w.run();
    w
}

#[test]
fn the_unbuffered_send_and_waitgroup_deadlocks_always_exit_2_with_gos_message_and_dump() {
    for (name, reason) in [
        ("deadlock-unbuffered", "chan send"),
        ("deadlock-waitgroup", "sync.WaitGroup.Wait"),
    ] {
        for seed in 1..=5 {
            let w = run(name, seed);
            let outcome = w.outcome().unwrap();
            assert_eq!(outcome.exit_code, 2, "{name} seed {seed}: {outcome:?}");
            let err = w.stderr();
            assert!(
                err.starts_with(
                    "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 ["
                ),
                "{name}: {err}"
            );
            assert!(
                err.contains(&format!("[{reason}]:\nmain.main()\n")),
                "{name}: {err}"
            );
        }
    }
}

#[test]
fn the_lock_order_deadlock_depends_on_the_interleaving() {
    let outcomes: Vec<(u64, World)> = (1..=20)
        .map(|seed| (seed, run("deadlock-lock-order", seed)))
        .collect();
    let deadlocked: Vec<&(u64, World)> = outcomes
        .iter()
        .filter(|(_, w)| w.outcome().unwrap().exit_code == 2)
        .collect();
    let completed = outcomes
        .iter()
        .filter(|(_, w)| w.outcome().unwrap().exit_code == 0)
        .count();
    assert!(
        !deadlocked.is_empty() && completed > 0,
        "{} deadlocked, {completed} completed",
        deadlocked.len()
    );
    let (seed, w) = deadlocked[0];
    let err = w.stderr();
    assert_eq!(
        err.matches("[sync.Mutex.Lock]").count(),
        2,
        "seed {seed}: {err}"
    );
    assert!(err.starts_with("fatal error: all goroutines are asleep - deadlock!"));
}

#[test]
fn the_leaky_worker_pool_reports_exactly_its_blocked_senders() {
    let w = run("leaky-worker-pool", 1);
    assert_eq!(w.outcome().unwrap().exit_code, 0);
    let leaks = w.leaked_goroutines();
    assert_eq!(leaks.len(), 3, "{leaks:?}");
    for leak in &leaks {
        assert_eq!(leak.reason, WaitReason::ChanSend);
        assert_eq!(leak.program, "worker");
        assert_eq!(leak.op, "send on results");
    }
    let fixed = run("leaky-worker-pool-fixed", 1);
    assert_eq!(fixed.outcome().unwrap().exit_code, 0);
    assert!(fixed.leaked_goroutines().is_empty());
}

#[test]
fn network_waiters_park_in_io_wait_and_the_netpoller_readies_them() {
    let w = run("netpoll-io-wait", 1);
    assert_eq!(w.outcome().unwrap().exit_code, 0);
    let io_blocks = w
        .trace()
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                TraceEvent::GoBlock {
                    reason: WaitReason::IoWait,
                    ..
                }
            )
        })
        .count();
    assert_eq!(io_blocks, 80, "8 clients x 10 reads");
    let io_wakes = w
        .trace()
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                TraceEvent::GoUnblock {
                    reason: WaitReason::IoWait,
                    ..
                }
            )
        })
        .count();
    assert_eq!(io_wakes, 80);
    // Some are found by findRunnable's netpoll step while Ps are busy.
    assert!(w.trace().iter().any(|r| matches!(
        &r.event,
        TraceEvent::GoStart { decision, .. } if matches!(decision.source, PickSource::Netpoll | PickSource::NetpollBlocked)
    )));
}

#[test]
fn the_greedy_locker_drives_the_mutex_into_starvation_mode() {
    let w = run("mutex-starvation", 3);
    assert_eq!(w.outcome().unwrap().exit_code, 0);
    let s = w.summary();
    let sim_core::metrics::MetricValue::Count(entries) =
        s.model_only[sim_core::metrics::MODEL_MUTEX_STARVATION_ENTRIES]
    else {
        panic!("no starvation count");
    };
    assert!(entries > 0, "no switch to starvation mode");
}

#[test]
fn starved_goroutines_are_flagged_with_their_worst_waits() {
    let scenario = library::get("starvation-tight-loop").unwrap();
    let mut runtime = scenario.runtime.clone();
    runtime.godebug.apply("asyncpreemptoff=1").unwrap();
    let mut w = World::new(
        &scenario.workload,
        SimConfig {
            seed: 1,
            runtime,
            cost: CostModel::default(),
            record_trace: false,
        },
    );
    w.run();
    let starved = w.starved_goroutines(50 * sim_core::time::MILLISECOND_NS);
    assert_eq!(starved.len(), 1, "{starved:?}");
    assert_eq!(
        starved[0].goid, 1,
        "main, the ticker, waited for the spinner"
    );
    assert!(starved[0].max_runnable_wait_ns >= 190 * sim_core::time::MILLISECOND_NS);
    // With async preemption nobody waits that long.
    let w = run("starvation-tight-loop", 1);
    assert!(
        w.starved_goroutines(50 * sim_core::time::MILLISECOND_NS)
            .is_empty()
    );
}
