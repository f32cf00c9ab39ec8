//! Helpers to build workloads in tests without a scenario file.
#![allow(dead_code)]

use sim_core::cost::CostModel;
use sim_core::ids::{ProgramId, WaitGroupId};
use sim_core::time::{MICROSECOND_NS, MILLISECOND_NS};
use sim_core::workload::{Op, Program, Workload};
use sim_sched::{RuntimeConfig, SimConfig, World};

pub const MS: u64 = MILLISECOND_NS;
pub const US: u64 = MICROSECOND_NS;
pub const WG: WaitGroupId = WaitGroupId(0);

pub fn program(name: &str, ops: Vec<Op>) -> Program {
    Program {
        name: name.to_string(),
        description: String::new(),
        ops,
    }
}

/// Program 0 is main; the others follow in order.
pub fn workload(programs: Vec<Program>) -> Workload {
    Workload {
        programs,
        main: ProgramId(0),
        wait_groups: vec!["wg".to_string()],
        channels: Vec::new(),
        mutexes: Vec::new(),
        rwmutexes: Vec::new(),
    }
}

pub fn compute(ns: u64, preemptible: bool) -> Op {
    Op::Compute {
        duration_ns: ns,
        preemptible,
    }
}

pub fn world(w: &Workload, gomaxprocs: u32, seed: u64, godebug: &str) -> World {
    world_with_cost(w, gomaxprocs, seed, godebug, CostModel::default())
}

/// [`world`] with the cost model `cost`.
pub fn world_with_cost(
    w: &Workload,
    gomaxprocs: u32,
    seed: u64,
    godebug: &str,
    cost: CostModel,
) -> World {
    let mut runtime = RuntimeConfig {
        gomaxprocs,
        ..RuntimeConfig::default()
    };
    runtime.godebug.apply(godebug).expect("valid GODEBUG");
    World::new(
        w,
        SimConfig {
            seed,
            runtime,
            cost,
            record_trace: true,
        },
    )
}

/// main: spawn `n` workers of `work` each and wait for them.
pub fn fanout(n: u32, work: Vec<Op>) -> Workload {
    let mut worker_ops = work;
    worker_ops.push(Op::WaitGroupDone { wait_group: WG });
    workload(vec![
        program(
            "main",
            vec![
                Op::WaitGroupAdd {
                    wait_group: WG,
                    delta: i64::from(n),
                },
                Op::Spawn {
                    program: ProgramId(1),
                    count: n,
                },
                Op::WaitGroupWait { wait_group: WG },
            ],
        ),
        program("worker", worker_ops),
    ])
}

pub fn trace_text(w: &World) -> String {
    w.trace().iter().map(|r| format!("{r}\n")).collect()
}

/// A workload with declared channels (name, capacity) and mutexes.
pub fn workload_sync(
    programs: Vec<Program>,
    channels: &[(&str, u32)],
    mutexes: &[&str],
    rwmutexes: &[&str],
) -> Workload {
    let mut w = workload(programs);
    w.channels = channels
        .iter()
        .map(|(name, capacity)| sim_core::workload::ChannelDecl {
            name: name.to_string(),
            capacity: *capacity,
        })
        .collect();
    w.mutexes = mutexes.iter().map(|s| s.to_string()).collect();
    w.rwmutexes = rwmutexes.iter().map(|s| s.to_string()).collect();
    w
}

/// The goids of the goroutines that parked with `reason`, in trace order
/// (one entry per park).
pub fn blocks(w: &World, reason: sim_core::trace::WaitReason) -> Vec<u64> {
    w.trace()
        .iter()
        .filter_map(|r| match &r.event {
            sim_core::trace::TraceEvent::GoBlock { g, reason: rr, .. } if *rr == reason => {
                Some(g.0)
            }
            _ => None,
        })
        .collect()
}

pub fn ch(i: u32) -> sim_core::workload::ChanRef {
    sim_core::workload::ChanRef::Chan(sim_core::ids::ChannelId(i))
}
