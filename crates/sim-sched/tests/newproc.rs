//! What a go statement costs the goroutine that makes it: a dead G to
//! reuse makes it cheap, a fresh one adds `malg` and its stack's page
//! faults.

mod common;

use common::*;
use sim_core::cost::CostModel;
use sim_core::ids::{Goid, ProgramId};
use sim_core::trace::TraceEvent;
use sim_core::workload::Op;

/// The times main (G1) created `quick` goroutines.
fn creations(world: &sim_sched::World) -> Vec<u64> {
    world
        .trace()
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::GoCreate {
                parent, program, ..
            } if parent == Goid(1) && program == Some(ProgramId(1)) => Some(r.at_ns),
            _ => None,
        })
        .collect()
}

/// 32 goroutines that return at once, a pause in which they all run and
/// exit, then 32 more: the first batch needs fresh Gs, the second reuses
/// the dead ones. One P, so main makes every go statement back to back.
#[test]
fn a_go_statement_that_reuses_a_dead_g_costs_less_than_one_that_needs_malg() {
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::Spawn {
                    program: ProgramId(1),
                    count: 32,
                },
                Op::Sleep { duration_ns: MS },
                Op::Spawn {
                    program: ProgramId(1),
                    count: 32,
                },
                Op::Sleep { duration_ns: MS },
            ],
        ),
        program("quick", vec![]),
    ]);
    let mut world = world(&w, 1, 1, "");
    world.run();
    // Its gs are heap objects, but a program that neither allocates nor
    // collects reports no GC figures (nor does its Go program).
    assert!(
        !world
            .summary()
            .metrics
            .contains_key(sim_core::metrics::GC_CYCLES_TOTAL)
    );
    let at = creations(&world);
    assert_eq!(at.len(), 64);
    let cost = CostModel::default();
    // Reused: each go statement costs go_statement_ns, nothing else.
    for pair in at[32..].windows(2) {
        assert_eq!(pair[1] - pair[0], cost.go_statement_ns, "{at:?}");
    }
    // Fresh: go_statement_ns + malg_ns each, plus the page faults of the
    // stack pool spans the 2 KiB stacks came from (16 per 32 KiB span) and
    // of the spans of the g objects (17 per 8 KiB page) and of the growing
    // allgs array.
    let fresh_ns = cost.go_statement_ns + cost.malg_ns;
    let gaps: Vec<u64> = at[..32].windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps.iter().all(|&g| g >= fresh_ns), "{gaps:?}");
    let span_faults_ns = 4 * cost.page_fault_ns_per_page;
    assert!(
        gaps.iter().any(|&g| g >= fresh_ns + span_faults_ns),
        "some go statement took a new stack span: {gaps:?}"
    );
    let total: u64 = gaps.iter().sum();
    let stacks = 31 * fresh_ns + 31 * span_faults_ns / 16;
    let heap_pages_ns = 8 * cost.page_fault_ns_per_page;
    assert!(
        total + span_faults_ns >= stacks && total <= stacks + span_faults_ns + heap_pages_ns,
        "{total} {stacks}"
    );
}
