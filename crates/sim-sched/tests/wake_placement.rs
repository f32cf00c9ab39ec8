//! Linux's placement of a woken thread (cpu.rs): queued on its waker's CPU,
//! the two share it until a balance tick moves one to the idle CPU.

mod common;

use common::{MS, US, WG, compute, fanout, program, workload};
use sim_core::cost::CostModel;
use sim_core::ids::ProgramId;
use sim_core::trace::TraceEvent;
use sim_core::workload::{Op, Workload};
use sim_sched::World;

/// The default costs on a host whose compute steps neither vary nor are
/// interrupted, so that only placement moves the times.
fn quiet_host() -> CostModel {
    CostModel {
        compute_jitter_ppm: 0,
        cpu_interruptions_per_s: 0,
        ..CostModel::default()
    }
}

/// `w` run to its end at `gomaxprocs` with `cost` (seed 1).
fn finished(w: &Workload, gomaxprocs: u32, cost: CostModel) -> World {
    let mut world = common::world_with_cost(w, gomaxprocs, 1, "", cost);
    world.run();
    assert_eq!(world.summary().outcome.exit_code, 0);
    world
}

/// When two goroutines of 300 µs of compute, started by main at
/// GOMAXPROCS=2 on two CPUs, are done.
fn makespan_ns(wake_on_waker_cpu_ppm: u64, cpu_balance_tick_ns: u64) -> u64 {
    let w = fanout(2, vec![compute(300 * US, true)]);
    let cost = CostModel {
        wake_on_waker_cpu_ppm,
        cpu_balance_tick_ns,
        ..quiet_host()
    };
    finished(&w, 2, cost).now_ns()
}

#[test]
fn a_thread_queued_on_its_wakers_cpu_shares_it_until_a_balance_tick() {
    let apart = makespan_ns(0, 4_000 * US);
    let stacked = makespan_ns(1_000_000, 4_000 * US);
    // On one CPU the two 300 µs steps, started about 50 µs apart (the woken
    // thread's wake-up), take turns: 250 µs more than side by side.
    assert!(
        (240 * US..260 * US).contains(&(stacked - apart)),
        "stacked {stacked} ns, apart {apart} ns"
    );
    // A balance tick while both compute moves the woken thread to the idle
    // CPU: every 50 µs that the tick comes later, both ran at half speed
    // for 50 µs more, and the last one ends 25 µs later.
    let by_tick: Vec<u64> = [200, 250, 300, 350, 400, 450, 500]
        .map(|t| makespan_ns(1_000_000, t * US))
        .to_vec();
    for pair in by_tick.windows(2) {
        assert!(
            (24 * US..=26 * US).contains(&(pair[1] - pair[0])),
            "makespans by tick: {by_tick:?}"
        );
    }
    assert!(apart < by_tick[0] && by_tick[6] < stacked, "{by_tick:?}");
}

/// One phase of waitgroup-barrier at GOMAXPROCS=4 on two CPUs: main starts
/// three 1 ms goroutines and one of 5 ms, which main's own thread runs. The
/// first woken thread takes the idle CPU; the ones woken after it find both
/// CPUs running a thread and wait queued (real Go on the reference VM, `perf
/// sched`: 1.9-3.3 ms in every phase of three runs), so the first thread
/// runs the three short goroutines one after another and the long one keeps
/// its CPU: about 5 ms. With a time slice shorter than the wait, the
/// queued threads share the CPUs and the long goroutine takes longer.
#[test]
fn threads_woken_while_every_cpu_is_busy_wait_for_one() {
    let phase = |cpu_slice_ns: u64| {
        let w = workload(vec![
            program(
                "main",
                vec![
                    Op::WaitGroupAdd {
                        wait_group: WG,
                        delta: 4,
                    },
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 3,
                    },
                    Op::Spawn {
                        program: ProgramId(2),
                        count: 1,
                    },
                    Op::WaitGroupWait { wait_group: WG },
                ],
            ),
            program(
                "quick",
                vec![compute(MS, true), Op::WaitGroupDone { wait_group: WG }],
            ),
            program(
                "slow",
                vec![compute(5 * MS, true), Op::WaitGroupDone { wait_group: WG }],
            ),
        ]);
        let cost = CostModel {
            wake_on_waker_cpu_ppm: 0,
            cpu_slice_ns,
            ..quiet_host()
        };
        let world = finished(&w, 4, cost);
        let queued = world
            .trace()
            .iter()
            .filter(|r| matches!(r.event, TraceEvent::MCpuQueued { .. }))
            .count();
        (world.now_ns(), queued)
    };
    let (waiting_ns, queued) = phase(10 * MS);
    assert!(queued >= 1, "no thread was queued for a CPU");
    assert!(
        (5 * MS..5 * MS + 300 * US).contains(&waiting_ns),
        "{waiting_ns} ns"
    );
    let (sharing_ns, _) = phase(50 * US);
    assert!(sharing_ns > waiting_ns + 500 * US, "{sharing_ns} ns");
}
