//! Benchmarks of the engine's hot parts and of whole library scenarios.
//! `cargo bench -p benches` runs them; figures are in Criterion's report.
//!
//! "events" are the simulation events the world processes (an M's activity
//! completing, a sysmon wake-up), reported as throughput so runs of different
//! lengths compare. `engine_fanout` is the performance target's fixed
//! workload (`benches/engine-fanout.toml`: 10,000 CPU-bound goroutines at
//! GOMAXPROCS=8); its throughput counts goroutine status changes, and
//! `gmpsim bench benches/engine-fanout.toml` prints the same run's decisions
//! per second and simulated time per wall time beside it.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sim_core::queue::EventQueue;
use sim_sched::{SimConfig, World};
use std::hint::black_box;

fn event_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("push_pop_10k", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            for i in 0..10_000u64 {
                q.push((i * 7_919) % 10_007, i);
            }
            while let Some(e) = q.pop() {
                black_box(e);
            }
        })
    });
    group.finish();
}

fn scenario_world(name: &str) -> (scenarios::Scenario, SimConfig) {
    let scenario = scenarios::library::get(name).expect("library scenario");
    let config = SimConfig {
        seed: 1,
        runtime: scenario.runtime.clone(),
        cost: Default::default(),
        record_trace: false,
    };
    (scenario, config)
}

fn whole_scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenario");
    group.sample_size(10);
    for name in [
        "steal-imbalance",
        "spawn-storm",
        "gosched-pingpong",
        "unbuffered-pingpong",
        "mutex-starvation",
        "syscall-handoff",
    ] {
        let (scenario, config) = scenario_world(name);
        let mut probe = World::new(&scenario.workload, config.clone());
        probe.run();
        group.throughput(Throughput::Elements(probe.events_processed()));
        group.bench_function(name, |b| {
            b.iter_batched(
                || World::new(&scenario.workload, config.clone()),
                |mut world| {
                    world.run();
                    black_box(world.events_processed())
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn engine_fanout(c: &mut Criterion) {
    let scenario = scenarios::parse_scenario(
        include_str!("../../../benches/engine-fanout.toml"),
        "benches/engine-fanout.toml",
    )
    .expect("the engine workload parses");
    let config = SimConfig {
        seed: 1,
        runtime: scenario.runtime.clone(),
        cost: Default::default(),
        record_trace: false,
    };
    let mut probe = World::new(&scenario.workload, config.clone());
    probe.run();
    let mut group = c.benchmark_group("engine_fanout");
    group.sample_size(20);
    group.throughput(Throughput::Elements(probe.g_transitions()));
    group.bench_function("g_transitions", |b| {
        b.iter_batched(
            || World::new(&scenario.workload, config.clone()),
            |mut world| {
                world.run();
                black_box(world.g_transitions())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, event_queue, engine_fanout, whole_scenarios);
criterion_main!(benches);
