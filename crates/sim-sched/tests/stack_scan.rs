//! `suspendG`: a mark worker or an assist that takes the stack root of a
//! goroutine running user code stops it first (the goroutine parks as
//! "preempted"), scans, and readies it onto the scanner's own P.

mod common;
use common::*;
use sim_core::ids::{Goid, ProgramId};
use sim_core::trace::{Placement, StwKind, TraceEvent, TraceRecord, WaitReason};
use sim_core::workload::Op;
use sim_sched::World;

/// main starts 2,000 sleeping goroutines (their stacks are root jobs
/// ahead of the spinner's, so the workers reach the spinner's stack some
/// hundreds of µs into the mark phase, once it runs again after sweep
/// termination's stop-the-world), then a goroutine running `spinner`, then
/// allocates 8 MiB of 64-byte objects (two or more cycles) and outlives the
/// spinner. GOMAXPROCS=3: main, the spinner and a P for the mark workers.
fn run(spinner: Vec<Op>, godebug: &str) -> World {
    let w = workload(vec![
        program(
            "main",
            vec![
                Op::Spawn {
                    program: ProgramId(2),
                    count: 2000,
                },
                Op::Spawn {
                    program: ProgramId(1),
                    count: 1,
                },
                Op::Sleep { duration_ns: MS },
                Op::Alloc {
                    size_bytes: 64,
                    pointer_words: 1,
                    count: 8 * 1024 * 1024 / 64,
                    keep: 1024,
                    link: false,
                },
                Op::Sleep {
                    duration_ns: 30 * MS,
                },
            ],
        ),
        program("spinner", spinner),
        program(
            "sleeper",
            vec![Op::Sleep {
                duration_ns: 40 * MS,
            }],
        ),
    ]);
    let mut world = world(&w, 3, 3, godebug);
    world.run();
    assert_eq!(world.outcome().expect("finished").exit_code, 0);
    world
}

fn spinner(trace: &[TraceRecord]) -> Goid {
    trace
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GoCreate {
                g,
                program: Some(ProgramId(1)),
                ..
            } => Some(g),
            _ => None,
        })
        .expect("the spinner was created")
}

/// The first suspension of the spinner: (scanner, request time).
fn first_suspend(trace: &[TraceRecord], target: Goid) -> (Goid, u64) {
    trace
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GcStackSuspend {
                scanner, target: t, ..
            } if t == target => Some((scanner, r.at_ns)),
            _ => None,
        })
        .expect("a stack scan had to suspend the spinner")
}

#[test]
fn a_running_goroutine_parks_for_its_stack_scan_and_resumes_on_the_scanners_p() {
    let world = run(vec![compute(20 * MS, false)], "");
    let trace = world.trace();
    let spin = spinner(trace);
    let (scanner, asked_ns) = first_suspend(trace, spin);
    let after: Vec<&TraceRecord> = trace.iter().filter(|r| r.at_ns >= asked_ns).collect();
    // The loop has no calls: the SIGURG stops it, signal_preempt_ns later.
    let parked_ns = after
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GoBlock {
                g,
                reason: WaitReason::Preempted,
                ..
            } if g == spin => Some(r.at_ns),
            _ => None,
        })
        .expect("the spinner parks as preempted");
    let signal_ns = sim_core::cost::CostModel::default().signal_preempt_ns;
    assert_eq!(parked_ns - asked_ns, signal_ns);
    // resumeG: ready onto the scanner's P, into runnext, woken by the scanner.
    let (placement, waker) = after
        .iter()
        .find_map(|r| match &r.event {
            TraceEvent::GoUnblock {
                g,
                reason: WaitReason::Preempted,
                placement,
                waker,
                ..
            } if *g == spin => Some((*placement, *waker)),
            _ => None,
        })
        .expect("the scanner readies the spinner");
    assert_eq!(waker, Some(scanner));
    // The scanner's P: where it last started running before the park.
    let scanner_p = trace
        .iter()
        .rev()
        .filter(|r| r.at_ns <= parked_ns)
        .find_map(|r| match &r.event {
            TraceEvent::GoStart { p, decision, .. } if decision.g == scanner => Some(*p),
            _ => None,
        });
    assert!(
        matches!(placement, Placement::Runnext { p, .. } if Some(p) == scanner_p),
        "{placement:?} scanner on {scanner_p:?}"
    );
    // Each cycle's stack roots include the spinner's: it is suspended once
    // per cycle that ran while it spun (and never while it was not running).
    let cycles_while_spinning = trace
        .iter()
        .filter(|r| matches!(r.event, TraceEvent::GcStart { .. }) && r.at_ns < 20 * MS)
        .count();
    let suspensions = trace
        .iter()
        .filter(|r| matches!(r.event, TraceEvent::GcStackSuspend { target, .. } if target == spin))
        .count();
    assert!(cycles_while_spinning >= 2, "{cycles_while_spinning}");
    assert!(
        suspensions >= 1 && suspensions <= cycles_while_spinning,
        "{suspensions} suspensions, {cycles_while_spinning} cycles"
    );
}

#[test]
fn without_async_preemption_a_loop_without_calls_holds_up_marking() {
    // Without signals, sweep termination's stop-the-world would wait for a
    // loop that is already spinning; this one starts just after the second
    // cycle's sweep termination, in cycle 2's mark phase, before the
    // workers reach its stack. A first run, whose spinner only sleeps,
    // says when that is.
    let probe = run(
        vec![Op::Sleep {
            duration_ns: 30 * MS,
        }],
        "asyncpreemptoff=1",
    );
    let created_ns = probe
        .trace()
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GoCreate {
                program: Some(ProgramId(1)),
                ..
            } => Some(r.at_ns),
            _ => None,
        })
        .expect("the spinner was created");
    let mark2_ns = probe
        .trace()
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                TraceEvent::StwDone {
                    kind: StwKind::GcSweepTermination,
                    ..
                }
            )
        })
        .nth(1)
        .expect("a second cycle")
        .at_ns;
    let late_loop = vec![
        Op::Sleep {
            duration_ns: mark2_ns + 20 * US - created_ns,
        },
        compute(10 * MS, false),
    ];
    let world = run(late_loop, "asyncpreemptoff=1");
    let trace = world.trace();
    let spin = spinner(trace);
    let (_, asked_ns) = first_suspend(trace, spin);
    // suspendG can only wait: the loop ends (the goroutine exits), and only
    // then can the scanner finish the root and marking end.
    let exited_ns = trace
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GoDestroy { g, .. } if g == spin => Some(r.at_ns),
            _ => None,
        })
        .expect("the spinner exits");
    assert!(
        exited_ns > asked_ns + MS,
        "asked {asked_ns}, exited {exited_ns}"
    );
    let done_ns = trace
        .iter()
        .find_map(|r| match r.event {
            TraceEvent::GcDone { .. } if r.at_ns > asked_ns => Some(r.at_ns),
            _ => None,
        })
        .expect("the cycle ends");
    assert!(
        done_ns >= exited_ns,
        "mark ended at {done_ns} before the spinner stopped at {exited_ns}"
    );
    assert!(!trace.iter().any(|r| matches!(
        r.event,
        TraceEvent::GoBlock { g, reason: WaitReason::Preempted, .. } if g == spin
    )));
}
