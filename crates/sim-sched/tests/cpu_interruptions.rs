//! CPU interruptions: a compute step lasts its duration plus the time its
//! CPU is taken away while it runs (`cpu_interruptions_per_s`, the
//! interruption-length quantiles of the cost model).

mod common;

use common::*;
use sim_core::cost::CostModel;
use sim_core::ids::MutexId;
use sim_core::trace::WaitReason;
use sim_core::workload::Op;
use sim_sched::decide::{ChoiceKind, Strategy};
use sim_sched::{RuntimeConfig, SimConfig, World};

/// No jitter, so only interruptions change a step's length; every
/// interruption lasts `length_ns`.
fn cost(per_s: u64, length_ns: u64) -> CostModel {
    CostModel {
        compute_jitter_ppm: 0,
        cpu_interruptions_per_s: per_s,
        cpu_interruption_p10_ns: length_ns,
        cpu_interruption_p50_ns: length_ns,
        cpu_interruption_p90_ns: length_ns,
        cpu_interruption_p99_ns: length_ns,
        cpu_interruption_p999_ns: length_ns,
        ..CostModel::default()
    }
}

fn run(w: &sim_core::workload::Workload, gomaxprocs: u32, seed: u64, cost: CostModel) -> World {
    let mut world = World::with_strategy(
        w,
        SimConfig {
            seed,
            runtime: RuntimeConfig {
                gomaxprocs,
                ..RuntimeConfig::default()
            },
            cost,
            record_trace: true,
        },
        Strategy::Seeded,
        true,
    );
    world.run();
    world
}

/// main alone computes 20 ms in 200 steps of 100 µs.
fn steps() -> sim_core::workload::Workload {
    workload(vec![program(
        "main",
        vec![Op::Repeat {
            count: 200,
            body: vec![compute(100 * US, true)],
        }],
    )])
}

#[test]
fn a_compute_step_lasts_its_duration_plus_the_interruptions_that_fall_into_it() {
    // 1,000 interruptions per second of 10 µs: 20 ms of compute expects 20
    // of them, 200 µs, with a Poisson spread of sqrt(20) * 10 µs = 45 µs.
    let w = steps();
    let mut extras_ns = Vec::new();
    for seed in 1..=10 {
        let quiet = run(&w, 1, seed, cost(0, 10 * US));
        let noisy = run(&w, 1, seed, cost(1_000, 10 * US));
        let extra_ns = noisy.now_ns() - quiet.now_ns();
        let interrupted_ns: u64 = noisy
            .choices()
            .unwrap()
            .iter()
            .filter(|c| c.kind == ChoiceKind::CpuInterruptions)
            .map(|c| c.value)
            .sum();
        // Every interruption is 10 µs, and nothing else in the run moved.
        assert_eq!(interrupted_ns % (10 * US), 0, "seed {seed}");
        assert_eq!(extra_ns, interrupted_ns, "seed {seed}");
        extras_ns.push(extra_ns);
    }
    let mean_ns = extras_ns.iter().sum::<u64>() / 10;
    // The mean of ten runs: 200 µs with a spread of 14 µs.
    assert!((150 * US..=250 * US).contains(&mean_ns), "{extras_ns:?}");
    // Runs differ: interruptions fall differently for each seed.
    assert!(
        extras_ns.iter().any(|&e| e != extras_ns[0]),
        "{extras_ns:?}"
    );
}

#[test]
fn an_unsteered_replay_has_no_interruptions() {
    // A decision list that overrides nothing leaves every timing choice at
    // its undisturbed value: the run with interruptions is the run without.
    let w = steps();
    let replay = |per_s| {
        let mut world = World::with_strategy(
            &w,
            SimConfig {
                seed: 1,
                runtime: RuntimeConfig::default(),
                cost: cost(per_s, 10 * US),
                record_trace: true,
            },
            Strategy::Decisions(Vec::new()),
            false,
        );
        world.run();
        world.now_ns()
    };
    assert_eq!(replay(1_000), replay(0));
}

/// Four workers on two Ps take a lock for 10 µs and work 20 µs without it,
/// 200 times (the library's mutex-contention).
fn contention() -> sim_core::workload::Workload {
    let mu = MutexId(0);
    let mut w = fanout(
        4,
        vec![Op::Repeat {
            count: 200,
            body: vec![
                Op::Lock { mutex: mu },
                compute(10 * US, true),
                Op::Unlock { mutex: mu },
                compute(20 * US, true),
            ],
        }],
    );
    w.mutexes = vec!["mu".to_string()];
    w
}

#[test]
fn interruptions_drift_two_lock_loops_out_of_step_so_they_collide() {
    // Two workers running at once alternate on the lock, each holding it 10
    // of every 30 µs; while their steps stay exactly in step they never
    // meet, and the other two workers wait in run queues. An interruption
    // inside a critical section makes the other worker find the lock held
    // and park, which lets a waiting worker run.
    let w = contention();
    let parks = |seed, cost| blocks(&run(&w, 2, seed, cost), WaitReason::SyncMutexLock).len();
    let (mut quiet, mut noisy) = (0, 0);
    for seed in 1..=3 {
        let without = CostModel {
            cpu_interruptions_per_s: 0,
            ..CostModel::default()
        };
        quiet += parks(seed, without);
        noisy += parks(seed, CostModel::default());
    }
    assert!(
        noisy > 2 * quiet,
        "parks in Lock: {quiet} without interruptions, {noisy} with"
    );
}
