//! Linux's placement of a woken thread (cpu.rs): queued on its waker's CPU,
//! the two share it until a balance tick moves one to the idle CPU.

mod common;

use common::{US, compute, fanout};
use sim_core::cost::CostModel;

/// When two goroutines of 300 µs of compute, started by main at
/// GOMAXPROCS=2 on two CPUs, are done.
fn makespan_ns(wake_on_waker_cpu_ppm: u64, cpu_balance_tick_ns: u64) -> u64 {
    let w = fanout(2, vec![compute(300 * US, true)]);
    let cost = CostModel {
        wake_on_waker_cpu_ppm,
        cpu_balance_tick_ns,
        compute_jitter_ppm: 0,
        cpu_interruptions_per_s: 0,
        ..CostModel::default()
    };
    let mut world = common::world_with_cost(&w, 2, 1, "", cost);
    world.run();
    assert_eq!(world.summary().outcome.exit_code, 0);
    world.now_ns()
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
