//! Unit tests of `findRunnable`'s branches, each asserting the Decision's
//! source and trail on a hand-built scheduler state.

use crate::find_runnable::Found;
use crate::g::{GIdx, GKind};
use crate::m::MState;
use crate::p::PStatus;
use crate::world::World;
use crate::{RuntimeConfig, SimConfig};
use sim_core::cost::CostModel;
use sim_core::ids::{Goid, MId, PId, ProgramId};
use sim_core::trace::{PickSource, TraceEvent, TrailStep};
use sim_core::workload::{Op, Program, Workload};
use std::cmp::Reverse;

/// A world whose main goroutine computes for a second, not yet started,
/// with cost model `cost` (also for other modules' unit tests).
pub(crate) fn world_with_cost(gomaxprocs: u32, cost: CostModel) -> World {
    let workload = Workload {
        programs: vec![Program {
            name: "main".into(),
            description: String::new(),
            ops: vec![Op::Compute {
                duration_ns: 1_000_000_000,
                preemptible: true,
            }],
        }],
        main: ProgramId(0),
        wait_groups: vec![],
        channels: vec![],
        mutexes: vec![],
        rwmutexes: vec![],
    };
    World::new(
        &workload,
        SimConfig {
            seed: 1,
            runtime: RuntimeConfig {
                gomaxprocs,
                ..RuntimeConfig::default()
            },
            cost,
            record_trace: true,
        },
    )
}

fn world(gomaxprocs: u32) -> World {
    let mut w = world_with_cost(gomaxprocs, CostModel::default());
    // M0 holds P0; park the main goroutine so M0 is in the scheduler.
    w.ms[0].curg = None;
    w.gs[0].set_status(
        crate::g::GStatus::Waiting(sim_core::trace::WaitReason::SelectNoCases),
        0,
    );
    w
}

/// A new runnable G (not yet in any queue).
fn g(w: &mut World) -> GIdx {
    w.alloc_g(
        PId(0),
        GKind::User {
            program: ProgramId(0),
        },
        Goid(1),
        0,
    )
}

/// A fresh M that owns P `p` (taken off the idle list).
fn m_on(w: &mut World, p: u32) -> MId {
    let m = w.new_m(MState::Switching);
    w.sched.pidle.retain(|&q| q != PId(p));
    w.ps[p as usize].idle_listed = false;
    w.acquirep(m, PId(p));
    m
}

fn run(found: Found) -> (GIdx, sim_core::trace::Decision) {
    match found {
        Found::Run { g, decision } => (g, decision),
        Found::Top => panic!("expected a G, got goto top"),
        Found::Wait => panic!("expected a G, the M waits"),
    }
}

#[test]
fn every_61st_schedtick_takes_exactly_one_g_from_the_global_queue_first() {
    let mut w = world(2);
    let (a, b, c) = (g(&mut w), g(&mut w), g(&mut w));
    w.sched.runq.extend([a, b]);
    w.ps[0].runnext = Some(c);
    w.ps[0].schedtick = 122;
    let (got, d) = run(w.find_runnable(MId(0)));
    assert_eq!(got, a);
    assert_eq!(d.source, PickSource::GlobalFairness { schedtick: 122 });
    assert!(!d.inherit_time);
    assert_eq!(w.sched.runq.len(), 1, "only one G is taken");
    assert_eq!(w.ps[0].runnext, Some(c), "the local queue is untouched");
}

#[test]
fn runnext_comes_first_and_inherits_the_time_slice_when_fairness_is_not_due() {
    let mut w = world(2);
    let (a, b, c) = (g(&mut w), g(&mut w), g(&mut w));
    w.sched.runq.push_back(a);
    w.ps[0].runq.push_back(b);
    w.ps[0].runnext = Some(c);
    w.ps[0].schedtick = 60;
    let (got, d) = run(w.find_runnable(MId(0)));
    assert_eq!(got, c);
    assert_eq!(d.source, PickSource::Runnext);
    assert!(d.inherit_time);
    assert_eq!(
        d.trail,
        vec![TrailStep::FairnessNotDue {
            schedtick: 60,
            global_len: 1
        }]
    );
}

#[test]
fn the_local_ring_head_runs_when_runnext_is_empty() {
    let mut w = world(2);
    let (a, b) = (g(&mut w), g(&mut w));
    w.ps[0].runq.extend([a, b]);
    w.ps[0].schedtick = 5;
    let (got, d) = run(w.find_runnable(MId(0)));
    assert_eq!(got, a);
    assert_eq!(d.source, PickSource::LocalRunq);
    assert!(!d.inherit_time);
}

#[test]
fn the_global_batch_is_min_of_128_size_and_size_over_gomaxprocs_plus_one() {
    let mut w = world(4);
    let gs: Vec<GIdx> = (0..10).map(|_| g(&mut w)).collect();
    w.sched.runq.extend(gs.iter().copied());
    w.ps[0].schedtick = 1;
    let (got, d) = run(w.find_runnable(MId(0)));
    // min(128, 10, 10/4 + 1) = 3: run one, queue two locally.
    assert_eq!(got, gs[0]);
    assert_eq!(d.source, PickSource::GlobalBatch { queued: 2 });
    assert_eq!(
        w.ps[0].runq.iter().copied().collect::<Vec<_>>(),
        vec![gs[1], gs[2]]
    );
    assert_eq!(w.sched.runq.len(), 7);
    assert_eq!(
        d.trail,
        vec![
            TrailStep::FairnessNotDue {
                schedtick: 1,
                global_len: 10
            },
            TrailStep::LocalEmpty
        ]
    );
}

#[test]
fn own_expired_timers_run_first_and_ready_their_g_into_runnext() {
    let mut w = world(2);
    let a = g(&mut w);
    w.gs[a.index()].set_status(crate::g::GStatus::Running { m: MId(0) }, 0);
    w.gs[a.index()].set_status(
        crate::g::GStatus::Waiting(sim_core::trace::WaitReason::Sleep),
        0,
    );
    w.ps[0].timers.push(Reverse(crate::p::Timer {
        when_ns: 0,
        seq: 0,
        kind: crate::p::TimerKind::Wake(a),
    }));
    w.ps[0].schedtick = 1;
    let (got, d) = run(w.find_runnable(MId(0)));
    assert_eq!(got, a);
    assert_eq!(d.source, PickSource::Runnext);
    assert_eq!(d.trail[0], TrailStep::OwnTimers { fired: 1 });
}

#[test]
fn a_thief_steals_half_of_a_victims_ring_rounded_up_in_round_one() {
    let mut w = world(3);
    let victim_gs: Vec<GIdx> = (0..7).map(|_| g(&mut w)).collect();
    w.ps[0].runq.extend(victim_gs.iter().copied());
    w.ps[0].schedtick = 3;
    let thief = m_on(&mut w, 2);
    w.ps[2].schedtick = 1;
    let (got, d) = run(w.find_runnable(thief));
    // 7 - 7/2 = 4 taken: the thief runs the last one stolen.
    assert_eq!(got, victim_gs[3]);
    assert_eq!(
        d.source,
        PickSource::Steal {
            victim: PId(0),
            round: 1,
            taken: 4,
            runnext: false
        }
    );
    assert_eq!(w.ps[2].runq.len(), 3);
    assert_eq!(w.ps[0].runq.len(), 3);
    assert_eq!(
        &d.trail[1..],
        &[TrailStep::LocalEmpty, TrailStep::GlobalEmpty]
    );
    assert!(
        w.ms[thief.index()].spinning,
        "a thief spins until it runs the G"
    );
}

#[test]
fn a_running_victims_runnext_is_stolen_only_in_the_last_round_after_a_back_off() {
    let mut w = world(2);
    let a = g(&mut w);
    w.ps[0].runnext = Some(a);
    let thief = m_on(&mut w, 1);
    w.ps[1].schedtick = 1;
    assert!(matches!(w.find_runnable(thief), Found::Wait));
    let MState::StealBackoff { victim, cursor } = w.ms[thief.index()].state else {
        panic!("expected a back-off, got {:?}", w.ms[thief.index()].state);
    };
    assert_eq!((victim, cursor.round), (PId(0), 4));
    assert_eq!(w.ps[0].runnext, Some(a), "not taken before the back-off");
    let trail = w.ms[thief.index()].pending_trail.clone();
    for round in 1..=3 {
        assert!(
            trail.contains(&TrailStep::StealRoundEmpty { round, victims: 1 }),
            "{trail:?}"
        );
    }
    // The back-off ends and the runnext is still there: the thief takes it.
    w.handle_m_event(thief);
    let Some(TraceEvent::GoStart { p, decision, .. }) = w.trace.last().map(|r| r.event.clone())
    else {
        panic!("expected a GoStart");
    };
    assert_eq!(p, PId(1));
    assert_eq!(
        decision.source,
        PickSource::Steal {
            victim: PId(0),
            round: 4,
            taken: 1,
            runnext: true
        }
    );
    assert_eq!(w.ps[0].runnext, None);
}

#[test]
fn if_the_owner_runs_its_runnext_during_the_back_off_the_thief_finds_nothing() {
    let mut w = world(2);
    let a = g(&mut w);
    w.ps[0].runnext = Some(a);
    let thief = m_on(&mut w, 1);
    assert!(matches!(w.find_runnable(thief), Found::Wait));
    w.ps[0].runnext = None; // the owner took it meanwhile
    w.handle_m_event(thief);
    assert!(matches!(w.ms[thief.index()].state, MState::Spinning { .. }));
}

#[test]
fn in_the_last_round_a_thief_runs_a_victims_expired_timers() {
    let mut w = world(2);
    let a = g(&mut w);
    w.gs[a.index()].set_status(crate::g::GStatus::Running { m: MId(0) }, 0);
    w.gs[a.index()].set_status(
        crate::g::GStatus::Waiting(sim_core::trace::WaitReason::Sleep),
        0,
    );
    w.ps[0].timers.push(Reverse(crate::p::Timer {
        when_ns: 0,
        seq: 0,
        kind: crate::p::TimerKind::Wake(a),
    }));
    let thief = m_on(&mut w, 1);
    let (got, d) = run(w.find_runnable(thief));
    assert_eq!(got, a);
    assert_eq!(d.source, PickSource::StolenTimer { victim: PId(0) });
    assert!(d.trail.contains(&TrailStep::StealRoundEmpty {
        round: 3,
        victims: 1
    }));
    assert!(w.ps[0].timers.is_empty());
}

#[test]
fn with_nothing_anywhere_a_spinning_m_gives_up_its_p_and_parks() {
    let mut w = world(2);
    w.ps[0].schedtick = 1;
    assert!(matches!(w.find_runnable(MId(0)), Found::Wait));
    assert!(matches!(w.ms[0].state, MState::Spinning { .. }));
    let trail = w.ms[0].pending_trail.clone();
    assert_eq!(
        trail
            .iter()
            .filter(|s| matches!(s, TrailStep::StealRoundEmpty { .. }))
            .count(),
        4
    );
    w.handle_m_event(MId(0));
    assert_eq!(w.ms[0].state, MState::Idle);
    assert_eq!(w.ps[0].status, PStatus::Idle);
    assert_eq!(w.sched.nmspinning, 0);
}

#[test]
fn stealing_is_skipped_when_spinning_ms_are_at_least_half_the_busy_ps() {
    let mut w = world(4);
    // P0 is busy (M0); P1..P3 idle: busy = 1; one M already spins.
    w.sched.nmspinning = 1;
    w.ps[0].schedtick = 1;
    let found = w.find_runnable(MId(0));
    assert!(matches!(found, Found::Wait));
    assert!(
        w.trace
            .iter()
            .any(|r| matches!(r.event, TraceEvent::ProcIdle { p: PId(0), .. }))
    );
    assert_eq!(
        w.ms[0].state,
        MState::Idle,
        "a non-spinning M parks at once"
    );
}
