//! Helpers shared by the integration tests: a collector, and a whole cycle
//! driven the way sim-sched will drive it (with made-up, fixed durations).

#![allow(dead_code)]

use sim_core::ids::PId;
use sim_gc::{CycleReport, Gc, GcConfig, GcTrigger, StwTiming};

const P0: PId = PId(0);

pub const MIB: u64 = 1 << 20;

pub fn new_gc(gomaxprocs: u32, gogc: i32) -> Gc {
    Gc::new(
        GcConfig {
            gogc,
            gomaxprocs,
            ncpu: gomaxprocs,
            ..GcConfig::default()
        },
        0,
    )
}

/// A pause from `start_ns` lasting `duration_ns`, stopping instantly.
pub fn stw(start_ns: u64) -> StwTiming {
    StwTiming {
        started_stopping_ns: start_ns,
        finished_stopping_ns: start_ns,
        stopping_cpu_ns: 0,
    }
}

/// Starts the first cycle with `runtime.GC()`'s trigger at 1 µs: sweep
/// termination over at 2 µs, marking under way.
pub fn start_first_cycle(gc: &mut Gc) {
    gc.gc_start(1_000, GcTrigger::Cycle { n: 1 }).unwrap();
    gc.sweep_termination_done(2_000, stw(1_000));
}

/// One whole cycle started by `trigger` at `now_ns`: 10 µs sweep termination,
/// marking drained by a background worker, 10 µs mark termination. Returns
/// `None` when the trigger does not hold.
pub fn run_cycle(gc: &mut Gc, now_ns: u64, trigger: GcTrigger) -> Option<CycleReport> {
    gc.gc_start(now_ns, trigger)?;
    gc.sweep_termination_done(now_ns + 10_000, stw(now_ns));
    let drained = gc.mark_worker_drain(P0, u64::MAX);
    assert!(drained.mark_done_ready);
    // mark_done flushes the write-barrier buffers; their work restarts
    // marking.
    while gc.mark_done(now_ns + 20_000).is_none() {
        gc.mark_worker_drain(P0, u64::MAX);
    }
    Some(gc.mark_termination_done(now_ns + 30_000, stw(now_ns + 20_000)))
}

/// `runtime.GC()`: a forced cycle, then sweeping to the end.
pub fn runtime_gc(gc: &mut Gc, now_ns: u64) -> CycleReport {
    let n = gc.cycles() + 1;
    let report = run_cycle(gc, now_ns, GcTrigger::Cycle { n }).expect("forced cycle starts");
    while gc.sweep_one().is_some() {}
    report
}
