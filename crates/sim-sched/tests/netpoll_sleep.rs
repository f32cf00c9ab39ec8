//! A sleep that the idle runtime waits out in netpoll: epoll_wait's timeout
//! is truncated to whole milliseconds and ends as late as the kernel's slack
//! for it allows, 0.1% of the timeout.

mod common;

use common::{MS, US, program, workload};
use sim_core::metrics::GMPSIM_SLEEP_LATENESS;
use sim_core::workload::Op;

/// How late main's one sleep of `sleep_ns` returned, alone in the program.
fn lateness_ns(sleep_ns: u64) -> f64 {
    let w = workload(vec![program(
        "main",
        vec![Op::Sleep {
            duration_ns: sleep_ns,
        }],
    )]);
    let mut world = common::world(&w, 1, 1, "");
    world.run();
    let summary = world.summary();
    let h = summary
        .histogram(GMPSIM_SLEEP_LATENESS)
        .expect("a sleep was measured");
    assert_eq!(h.count, 1);
    h.mean * 1e9
}

#[test]
fn a_long_sleep_ends_late_by_the_slack_of_its_epoll_timeout() {
    // 2 s: a 1,999 ms timeout (truncated) with 1.999 ms of slack ends about
    // 1 ms after the timer; the timer is then due. A thread wake-up on top.
    let late = lateness_ns(2_000 * MS);
    assert!(
        (990.0 * US as f64..1_300.0 * US as f64).contains(&late),
        "2 s sleep {late} ns late"
    );
    // 20 ms: a 19 ms timeout with the thread's 50 µs of slack, then a 1 ms
    // one for the rest: a fraction of a millisecond late.
    let late = lateness_ns(20 * MS);
    assert!(late < 300.0 * US as f64, "20 ms sleep {late} ns late");
}
