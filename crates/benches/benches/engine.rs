//! Benchmarks of the engine's hot parts and of whole library scenarios.
//! `cargo bench -p benches` runs them all; `cargo bench -p benches -- NAME`
//! one group. Figures are in Criterion's report (target/criterion).
//!
//! Each group's throughput counts the work it names, so runs of different
//! lengths compare:
//! - `event_queue`: events pushed and popped;
//! - `run_queue`: goroutines put on and taken off a P's local run queue
//!   (runqput, runqget, runqgrab's half-steal);
//! - `find_runnable`: scheduling decisions (each a findRunnable pass and an
//!   execute) of goroutines that yield with Gosched, spread over four Ps;
//! - `channel`: channel operations (a send and a receive per hand-off) of
//!   two goroutines batting a value over unbuffered channels;
//! - `alloc`: objects allocated by sim-gc's allocation loop with the GC off
//!   (64-byte objects with one pointer word, kept in a ring);
//! - `mark`: objects marked in one whole GC cycle over a linked list;
//! - `engine_fanout`: goroutine status changes of the performance target's
//!   fixed workload (`benches/engine-fanout.toml`: 10,000 CPU-bound
//!   goroutines at GOMAXPROCS=8); `gmpsim bench benches/engine-fanout.toml`
//!   prints the same run's decisions per second and simulated time per wall
//!   time beside it;
//! - `scenario`: events of whole library scenarios.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sim_core::ids::{Goid, PId};
use sim_core::queue::EventQueue;
use sim_gc::{Gc, GcConfig, GcTrigger, NewRing, ObjectShape, StwTiming};
use sim_sched::g::GIdx;
use sim_sched::p::{P, runqget, runqgrab_half, runqput};
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
    // What a simulation's queue looks like: a handful of pending events,
    // each pop followed by a push a little later.
    group.bench_function("steady_16_pending", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            for i in 0..16u64 {
                q.push(i * 1_000, i);
            }
            for i in 0..10_000u64 {
                let e = q.pop().expect("16 pending");
                q.push(e.at_ns + 1_000 + (i * 7_919) % 5_000, i);
            }
            black_box(q.len())
        })
    });
    group.finish();
}

fn run_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("run_queue");
    // 256 puts (runnext, then the ring) and 256 gets.
    group.throughput(Throughput::Elements(512));
    group.bench_function("put_get_256", |b| {
        let mut p = P::new(PId(0));
        b.iter(|| {
            for i in 0..256u32 {
                black_box(runqput(&mut p, GIdx(i), i % 8 == 0));
            }
            while let Some(g) = runqget(&mut p) {
                black_box(g);
            }
        })
    });
    // A full ring stolen from half by half.
    group.throughput(Throughput::Elements(255));
    group.bench_function("grab_half_of_full_ring", |b| {
        b.iter_batched(
            || {
                let mut p = P::new(PId(0));
                for i in 0..255u32 {
                    runqput(&mut p, GIdx(i), false);
                }
                p
            },
            |mut p| {
                while !p.runq_empty() {
                    black_box(runqgrab_half(&mut p));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A scenario given as TOML text, with seed 1 and no trace.
fn inline_world(toml: &str, name: &str) -> (scenarios::Scenario, SimConfig) {
    let scenario = scenarios::parse_scenario(toml, name).expect("the bench workload parses");
    let config = SimConfig {
        seed: 1,
        runtime: scenario.runtime.clone(),
        cost: Default::default(),
        record_trace: false,
    };
    (scenario, config)
}

/// Runs whole worlds of `scenario`, with `count` of a probe run as throughput.
fn bench_world(
    c: &mut Criterion,
    group_name: &str,
    id: &str,
    (scenario, config): (scenarios::Scenario, SimConfig),
    count: impl Fn(&World) -> u64,
) {
    let mut probe = World::new(&scenario.workload, config.clone());
    probe.run();
    assert_eq!(
        probe.outcome().map(|o| o.exit_code),
        Some(0),
        "{id} runs to the end"
    );
    let mut group = c.benchmark_group(group_name);
    group.sample_size(20);
    group.throughput(Throughput::Elements(count(&probe)));
    group.bench_function(id, |b| {
        b.iter_batched(
            || World::new(&scenario.workload, config.clone()),
            |mut world| {
                world.run();
                black_box(world.events_processed())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn find_runnable(c: &mut Criterion) {
    let toml = r#"
format = 1
name = "bench-gosched"
description = "1,000 goroutines on four Ps each yield 20 times."
[runtime]
gomaxprocs = 4
ncpu = 4
[programs.main]
description = "Starts the yielders."
ops = [{ op = "spawn", program = "yielder", count = 1000 }]
[programs.yielder]
description = "Yields 20 times."
ops = [{ op = "repeat", count = 20, body = [{ op = "gosched" }] }]
"#;
    bench_world(
        c,
        "find_runnable",
        "gosched_1000x20_p4",
        inline_world(toml, "bench-gosched"),
        World::decisions_made,
    );
}

fn channel(c: &mut Criterion) {
    let toml = r#"
format = 1
name = "bench-pingpong"
description = "10,000 round trips over two unbuffered channels."
channels = [{ name = "ping" }, { name = "pong" }]
[runtime]
gomaxprocs = 2
[programs.main]
description = "Sends a ping and waits for the pong, 10,000 times."
ops = [
  { op = "spawn", program = "ponger" },
  { op = "repeat", count = 10000, body = [
    { op = "send", chan = "ping" },
    { op = "recv", chan = "pong" },
  ] },
]
[programs.ponger]
description = "Answers each ping."
ops = [
  { op = "repeat", count = 10000, body = [
    { op = "recv", chan = "ping" },
    { op = "send", chan = "pong" },
  ] },
]
"#;
    // Two sends and two receives per round trip.
    bench_world(
        c,
        "channel",
        "unbuffered_pingpong_10k",
        inline_world(toml, "bench-pingpong"),
        |_| 4 * 10_000,
    );
}

const OBJECT: ObjectShape = ObjectShape {
    size_bytes: 64,
    pointer_words: 1,
};
const G: Goid = Goid(1);

/// A collector (GOGC `gogc`) with goroutine 1 holding a ring of `capacity`.
fn gc_with_ring(gogc: i32, capacity: u32) -> (Gc, sim_gc::RingId) {
    let mut gc = Gc::new(
        GcConfig {
            gogc,
            ..GcConfig::default()
        },
        0,
    );
    gc.goroutine_created(G, 1024);
    let NewRing::Created { ring, .. } = gc.new_ring(PId(0), G, capacity) else {
        panic!("no assist with the GC off");
    };
    (gc, ring)
}

fn alloc(c: &mut Criterion) {
    const COUNT: u64 = 100_000;
    let mut group = c.benchmark_group("alloc");
    group.throughput(Throughput::Elements(COUNT));
    group.bench_function("loop_64b_1ptr_gc_off", |b| {
        b.iter_batched(
            || gc_with_ring(-1, 4096),
            |(mut gc, ring)| {
                let out = gc.alloc_loop(PId(0), G, ring, OBJECT, false, COUNT);
                assert_eq!(out.allocated, COUNT);
                black_box(gc)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn mark(c: &mut Criterion) {
    const LIVE: u64 = 100_000;
    // A linked list of LIVE objects, every one reachable from the ring.
    let (mut heap, ring) = gc_with_ring(-1, LIVE as u32);
    let out = heap.alloc_loop(PId(0), G, ring, OBJECT, true, LIVE);
    assert_eq!(out.allocated, LIVE);
    let stw = |ns| StwTiming {
        started_stopping_ns: ns,
        finished_stopping_ns: ns,
        stopping_cpu_ns: 0,
    };
    let mut group = c.benchmark_group("mark");
    group.sample_size(20);
    group.throughput(Throughput::Elements(LIVE));
    group.bench_function("cycle_100k_linked", |b| {
        b.iter_batched(
            || heap.clone(),
            |mut gc| {
                let n = gc.cycles() + 1;
                gc.gc_start(1_000, GcTrigger::Cycle { n })
                    .expect("a forced cycle starts");
                gc.sweep_termination_done(2_000, stw(1_000));
                let drained = gc.mark_worker_drain(PId(0), u64::MAX);
                assert!(drained.mark_done_ready);
                black_box(gc)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn engine_fanout(c: &mut Criterion) {
    bench_world(
        c,
        "engine_fanout",
        "g_transitions",
        inline_world(
            include_str!("../../../benches/engine-fanout.toml"),
            "benches/engine-fanout.toml",
        ),
        World::g_transitions,
    );
}

fn whole_scenarios(c: &mut Criterion) {
    for name in [
        "steal-imbalance",
        "spawn-storm",
        "gosched-pingpong",
        "unbuffered-pingpong",
        "mutex-starvation",
        "syscall-handoff",
        "alloc-steady",
        "million-parked",
    ] {
        let scenario = scenarios::library::get(name).expect("library scenario");
        let config = SimConfig {
            seed: 1,
            runtime: scenario.runtime.clone(),
            cost: Default::default(),
            record_trace: false,
        };
        let mut group = c.benchmark_group("scenario");
        group.sample_size(10);
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
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    event_queue,
    run_queue,
    find_runnable,
    channel,
    alloc,
    mark,
    engine_fanout,
    whole_scenarios
);
criterion_main!(benches);
