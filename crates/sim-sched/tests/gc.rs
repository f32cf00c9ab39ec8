//! The collector driven by the scheduler: cycles start from allocation,
//! workers and assists mark, the world stops twice per cycle, runtime.GC
//! forces a cycle, and a loop without calls holds up a stop-the-world.

mod common;
use common::*;
use sim_core::ids::ProgramId;
use sim_core::metrics;
use sim_core::trace::{PickSource, StwKind, TraceEvent};
use sim_core::workload::Op;
use sim_sched::{RuntimeConfig, SimConfig, World};

fn alloc(size_bytes: u64, pointer_words: u32, count: u64, keep: u32) -> Op {
    Op::Alloc {
        size_bytes,
        pointer_words,
        count,
        keep,
        link: false,
    }
}

fn run(w: &sim_core::workload::Workload, gomaxprocs: u32, gogc: i32, godebug: &str) -> World {
    let mut runtime = RuntimeConfig {
        gomaxprocs,
        gogc,
        ..RuntimeConfig::default()
    };
    runtime.godebug.apply(godebug).expect("valid GODEBUG");
    simulate(w, runtime, sim_core::cost::CostModel::default())
}

/// Runs `w` with seed 7 to a clean exit.
fn simulate(
    w: &sim_core::workload::Workload,
    runtime: RuntimeConfig,
    cost: sim_core::cost::CostModel,
) -> World {
    let mut world = World::new(
        w,
        SimConfig {
            seed: 7,
            runtime,
            cost,
            record_trace: true,
        },
    );
    world.run();
    assert_eq!(
        world.outcome().expect("finished").exit_code,
        0,
        "{}",
        world.stderr()
    );
    world
}

/// 32 MiB of 64-byte objects, the last 1 MiB of them kept.
fn steady() -> sim_core::workload::Workload {
    workload(vec![program(
        "main",
        vec![alloc(64, 1, 32 * 1024 * 1024 / 64, 16_384)],
    )])
}

#[test]
fn each_cycle_stops_the_world_twice_and_prints_one_gctrace_line() {
    let world = run(&steady(), 2, 100, "gctrace=1");
    let numgc = world.summary().count(metrics::GC_CYCLES_TOTAL).unwrap();
    assert!(
        numgc >= 3,
        "32 MiB through a 4 MiB minimum heap: {numgc} cycles"
    );
    let lines: Vec<&str> = world
        .stderr()
        .lines()
        .filter(|l| l.starts_with("gc "))
        .collect();
    assert_eq!(lines.len() as u64, numgc);
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("gc {} @", i + 1)), "{line}");
        assert!(line.ends_with(" 2 P"), "{line}");
    }
    let mut stops = Vec::new();
    for r in world.trace() {
        match &r.event {
            TraceEvent::StwStart { kind, .. } => stops.push((*kind, true)),
            TraceEvent::StwDone { kind, .. } => stops.push((*kind, false)),
            _ => {}
        }
    }
    // main may return while a last cycle marks: then only its sweep
    // termination ran, and it has no gctrace line.
    if stops.len() as u64 == 4 * numgc + 2 {
        assert_eq!(
            stops.split_off(4 * numgc as usize),
            [
                (StwKind::GcSweepTermination, true),
                (StwKind::GcSweepTermination, false)
            ]
        );
    }
    let expected: Vec<(StwKind, bool)> = (0..numgc)
        .flat_map(|_| {
            [
                (StwKind::GcSweepTermination, true),
                (StwKind::GcSweepTermination, false),
                (StwKind::GcMarkTermination, true),
                (StwKind::GcMarkTermination, false),
            ]
        })
        .collect();
    assert_eq!(stops, expected);
}

#[test]
fn background_workers_mark_on_the_idle_p() {
    let world = run(&steady(), 2, 100, "");
    let workers = world
        .trace()
        .iter()
        .filter(|r| {
            matches!(
                &r.event,
                TraceEvent::GoStart { decision, .. }
                    if matches!(decision.source, PickSource::GcWorker { .. } | PickSource::GcIdleWorker)
            )
        })
        .count();
    assert!(workers > 0, "no mark worker ever ran");
}

#[test]
fn a_lower_gogc_means_more_cycles_and_a_smaller_goal() {
    let low = run(&steady(), 2, 50, "").summary();
    let high = run(&steady(), 2, 200, "").summary();
    let cycles = |s: &sim_core::metrics::Summary| s.count(metrics::GC_CYCLES_TOTAL).unwrap();
    let goal = |s: &sim_core::metrics::Summary| s.count(metrics::GMPSIM_GC_GOAL_MEDIAN).unwrap();
    assert!(
        cycles(&low) > 2 * cycles(&high),
        "{} vs {}",
        cycles(&low),
        cycles(&high)
    );
    assert!(goal(&low) < goal(&high));
}

#[test]
fn runtime_gc_forces_a_cycle_and_says_so() {
    let w = workload(vec![program(
        "main",
        vec![alloc(64, 1, 1000, 100), Op::Gc, Op::Gc],
    )]);
    let world = run(&w, 2, 100, "gctrace=1");
    let s = world.summary();
    assert_eq!(s.count(metrics::GC_CYCLES_TOTAL), Some(2));
    assert_eq!(s.count(metrics::GC_CYCLES_FORCED), Some(2));
    let forced = world
        .stderr()
        .lines()
        .filter(|l| l.ends_with("(forced)"))
        .count();
    assert_eq!(forced, 2, "{}", world.stderr());
}

#[test]
fn a_loop_without_calls_holds_up_the_stop_the_world_without_async_preemption() {
    // main allocates until a cycle starts; a second goroutine spins in a
    // loop with no calls. Without signals the STW waits for the loop.
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::Spawn {
                    program: ProgramId(1),
                    count: 1,
                },
                Op::Sleep {
                    duration_ns: 100 * US,
                },
                alloc(64, 1, 8 * 1024 * 1024 / 64, 1024),
            ],
        ),
        program("spinner", vec![compute(20 * MS, false)]),
    ]);
    let longest_pause = |godebug: &str| {
        let world = run(&w, 2, 100, godebug);
        world
            .trace()
            .iter()
            .filter_map(|r| match r.event {
                TraceEvent::StwDone { pause_ns, .. } => Some(pause_ns),
                _ => None,
            })
            .max()
            .expect("a cycle ran")
    };
    let with_signals = longest_pause("");
    let without = longest_pause("asyncpreemptoff=1");
    assert!(
        with_signals < MS,
        "SIGURG stops the loop within µs: {with_signals} ns"
    );
    assert!(without > 5 * MS, "the STW waits for the loop: {without} ns");
}

#[test]
fn stack_growth_shows_in_stack_in_use() {
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::WaitGroupAdd {
                    wait_group: WG,
                    delta: 10,
                },
                Op::Spawn {
                    program: ProgramId(1),
                    count: 10,
                },
                Op::WaitGroupWait { wait_group: WG },
            ],
        ),
        program(
            "deep",
            vec![
                Op::StackGrow {
                    used_bytes: 100 * 1024,
                },
                Op::WaitGroupDone { wait_group: WG },
                Op::Sleep {
                    duration_ns: 10 * MS,
                },
            ],
        ),
    ]);
    let world = run(&w, 2, 100, "");
    let stacks = world.summary().count(metrics::MEMORY_STACKS).unwrap();
    // Ten 128 KiB stacks (100 KiB rounds up by doubling from 2 KiB).
    assert!(stacks >= 10 * 128 * 1024, "{stacks}");
}

#[test]
fn sysmon_forces_a_cycle_after_two_minutes_without_one() {
    let w = workload(vec![program(
        "main",
        vec![
            alloc(64, 1, 1000, 100),
            Op::Gc,
            Op::Sleep {
                duration_ns: 130 * 1_000 * MS,
            },
        ],
    )]);
    let mut runtime = RuntimeConfig {
        gomaxprocs: 2,
        max_sim_time_ns: 200 * 1_000 * MS,
        ..RuntimeConfig::default()
    };
    runtime.godebug.apply("gctrace=1").unwrap();
    let mut world = World::new(
        &w,
        SimConfig {
            seed: 3,
            runtime,
            cost: sim_core::cost::CostModel::default(),
            record_trace: true,
        },
    );
    world.run();
    let starts: Vec<(u64, String)> = world
        .trace()
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::GcStart { trigger, .. } => Some((r.at_ns, trigger.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0].1, "runtime.GC");
    // The forced cycle: sysmon's deep sleeps last at most a minute, so it
    // looks at 60 s and 120 s; at 120 s two minutes have passed.
    assert!(starts[1].1.starts_with("time"), "{starts:?}");
    assert!(
        (120_000 * MS..121_000 * MS).contains(&starts[1].0),
        "{starts:?}"
    );
}

/// An assist that finds no work while another goroutine's gcMarkDone round
/// waits for a P (here a loop without preemption points, asyncpreemptoff=1)
/// parks on the assist queue; it used to allocate again and re-assist a few
/// nanoseconds later, millions of times (a random workload of the invariant
/// property test: 3.9 M events in 96 ms simulated).
#[test]
fn an_assist_that_finds_no_work_during_a_barrier_round_parks_instead_of_spinning() {
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::WaitGroupAdd {
                    wait_group: WG,
                    delta: 28,
                },
                Op::Spawn {
                    program: ProgramId(1),
                    count: 28,
                },
                Op::Repeat {
                    count: 2,
                    body: vec![alloc(8, 0, 276, 444)],
                },
                Op::Syscall {
                    duration_ns: 2_235_000,
                },
                Op::Sleep {
                    duration_ns: 1_575_000,
                },
                Op::Repeat {
                    count: 3,
                    body: vec![compute(11_211_000, true)],
                },
                Op::WaitGroupWait { wait_group: WG },
            ],
        ),
        program(
            "worker",
            vec![
                Op::Spawn {
                    program: ProgramId(2),
                    count: 1,
                },
                Op::Gosched,
                Op::Repeat {
                    count: 3,
                    body: vec![alloc(64, 0, 2343, 460), Op::Gc],
                },
                Op::Gosched,
                compute(3_049_000, false),
                alloc(40_000, 0, 18, 622),
                Op::WaitGroupDone { wait_group: WG },
            ],
        ),
        program(
            "helper",
            vec![
                Op::Gosched,
                compute(11_877_000, false),
                Op::Syscall {
                    duration_ns: 2_700_000,
                },
            ],
        ),
    ]);
    let mut world = world(&w, 6, 11_354_123_054_466_431_094, "asyncpreemptoff=1");
    world.run();
    assert_eq!(world.outcome().expect("finished").exit_code, 0);
    let events = world.events_processed();
    assert!(
        events < 200_000,
        "{events} events for {} ns simulated",
        world.now_ns()
    );
}

/// A live heap close to GOMEMLIMIT (GOGC=off): allocation keeps scavenging
/// and faulting pages back in, as memlimit-death-spiral does.
fn near_the_limit(gomaxprocs: u32, pointer_words: u32, cost: sim_core::cost::CostModel) -> World {
    let w = workload(vec![program(
        "main",
        vec![alloc(1024, pointer_words, 48 * 1024, 10 * 1024)],
    )]);
    let runtime = RuntimeConfig {
        gomaxprocs,
        gogc: -1,
        memory_limit_bytes: 16 << 20,
        ..RuntimeConfig::default()
    };
    simulate(&w, runtime, cost)
}

fn model_count(world: &World, name: &str) -> u64 {
    match world.summary().model_only.get(name) {
        Some(metrics::MetricValue::Count(n)) => *n,
        other => panic!("{name}: {other:?}"),
    }
}

/// Pages faulted back in by a write barrier's read and then the header's
/// write flush the TLB of the other CPU running the process, slowing both
/// threads; with one P no other thread of the process runs, and only the
/// read-first fault's own cost remains.
#[test]
fn refaulting_released_pages_while_marking_interrupts_the_other_cpu() {
    use sim_core::cost::CostModel;
    let no_shootdowns = || CostModel {
        tlb_shootdown_ns: 0,
        tlb_shootdown_received_ns: 0,
        ..CostModel::default()
    };
    let elapsed = |w: &World| w.now_ns();

    let two = near_the_limit(2, 128, CostModel::default());
    let two_free = near_the_limit(2, 128, no_shootdowns());
    let shootdowns = model_count(&two, metrics::MODEL_TLB_SHOOTDOWNS);
    let faulted = model_count(&two, metrics::MODEL_PAGES_FAULTED);
    assert!(
        shootdowns > faulted,
        "{shootdowns} shootdowns for {faulted} pages faulted in"
    );
    assert!(elapsed(&two) > elapsed(&two_free));

    // Pointer-free objects have no malloc header: only madvise flushes.
    let noscan = near_the_limit(2, 0, CostModel::default());
    let noscan_shootdowns = model_count(&noscan, metrics::MODEL_TLB_SHOOTDOWNS);
    assert!(
        noscan_shootdowns * 10 < shootdowns,
        "noscan {noscan_shootdowns}, pointerful {shootdowns}"
    );

    let one = near_the_limit(1, 128, CostModel::default());
    assert_eq!(model_count(&one, metrics::MODEL_TLB_SHOOTDOWNS), 0);
    assert_eq!(
        elapsed(&one),
        elapsed(&near_the_limit(1, 128, no_shootdowns()))
    );
    let write_first = near_the_limit(
        1,
        128,
        CostModel {
            page_fault_read_first_extra_ns_per_page: 0,
            ..CostModel::default()
        },
    );
    assert!(elapsed(&one) > elapsed(&write_first));
}

/// A goroutine asked to stop inside a mallocgc that took a span stops at
/// the heap-trigger test after the call and runs the test when it runs
/// again. When the request was mark termination's, the test then sees
/// heapLive reset to the marked heap, which is the memory-limit goal once
/// the heap is past the limit: the next cycle starts at once with no runway
/// (heapLive = goal), and assists hold the allocator back until it ends.
/// Real go1.27.3 starts 30 of ~115 death-spiral cycles that way
/// (instrumented `revise`: live = heapMarked = triggered, no work done).
#[test]
fn a_goroutine_stopped_in_a_span_refill_tests_the_trigger_after_the_stop() {
    let world = near_the_limit(2, 128, sim_core::cost::CostModel::default());
    let mut deferred = 0;
    let mut stopped_since_last_start = false;
    let mut no_runway_starts = 0;
    let mut starts = 0;
    for r in world.trace() {
        match &r.event {
            TraceEvent::StopBeforeTriggerTest { .. } => {
                deferred += 1;
                stopped_since_last_start = true;
            }
            TraceEvent::GcStart {
                heap_live_bytes,
                heap_goal_bytes,
                ..
            } => {
                starts += 1;
                if heap_live_bytes == heap_goal_bytes {
                    assert!(
                        stopped_since_last_start,
                        "cycle {starts} started with no runway without a deferred trigger test"
                    );
                    no_runway_starts += 1;
                }
                stopped_since_last_start = false;
            }
            _ => {}
        }
    }
    assert!(deferred > 0, "no deferred trigger test in {starts} cycles");
    assert!(
        no_runway_starts > 0 && no_runway_starts * 2 < starts,
        "{no_runway_starts} of {starts} cycles started with no runway"
    );
}

/// `forEachP` sleeps in `notetsleep` until the last P has run the
/// safe-point function; that P's `notewakeup` wakes its thread, which takes
/// a thread wake-up. A round that had to wait for a running goroutine lasts
/// at least that (real go1.27.3, memlimit-gogc-off: rounds of 41-99 µs).
#[test]
fn a_ragged_barrier_round_that_waits_ends_with_a_thread_wake_up() {
    let cost = sim_core::cost::CostModel::default();
    // The shortest sleep has the fastest wake-up.
    let least_wake_ns = cost.thread_wake_median_ns(0) * cost.thread_latency_p10_ppm / 1_000_000;
    let world = run(&steady(), 2, 100, "");
    let waits: Vec<u64> = world
        .trace()
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::GcMarkDoneRound { waited_ns, .. } if waited_ns > 0 => Some(waited_ns),
            _ => None,
        })
        .collect();
    assert!(!waits.is_empty(), "no round waited for a running goroutine");
    assert!(
        waits.iter().all(|&w| w >= least_wake_ns),
        "rounds shorter than a wake-up ({least_wake_ns} ns): {waits:?}"
    );
}
