//! Channels, select, mutexes and RWMutexes against Go's semantics.

mod common;
use common::*;
use sim_core::ids::{MutexId, ProgramId, RwMutexId};
use sim_core::trace::{Placement, StopReason, TraceEvent, WaitReason};
use sim_core::workload::{CaseOp, ChanRef, Op, SelectCase};

fn unblocks(w: &sim_sched::World) -> Vec<(u64, WaitReason, Option<u64>, Placement)> {
    w.trace()
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::GoUnblock {
                g,
                reason,
                waker,
                placement,
                ..
            } => Some((g.0, *reason, waker.map(|w| w.0), *placement)),
            _ => None,
        })
        .collect()
}

/// main starts 3 receivers, lets them park, then sends 3 values.
#[test]
fn parked_receivers_are_served_fifo_and_each_lands_in_the_senders_runnext() {
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 3,
                    },
                    Op::Sleep { duration_ns: MS },
                    Op::Repeat {
                        count: 3,
                        body: vec![Op::Send { chan: ch(0) }],
                    },
                    Op::Sleep { duration_ns: MS },
                ],
            ),
            program("receiver", vec![Op::Recv { chan: ch(0) }]),
        ],
        &[("jobs", 0)],
        &[],
        &[],
    );
    let mut world = world(&w, 1, 1, "");
    assert_eq!(world.run().exit_code, 0);
    let parked = blocks(&world, WaitReason::ChanReceive);
    let woken: Vec<u64> = unblocks(&world)
        .into_iter()
        .filter(|(g, r, _, _)| *r == WaitReason::ChanReceive && *g != 1)
        .map(|(g, _, waker, placement)| {
            assert_eq!(waker, Some(1), "the sender (main, G1) wakes each receiver");
            assert!(matches!(placement, Placement::Runnext { .. }));
            g
        })
        .collect();
    let receivers: Vec<u64> = parked.iter().copied().filter(|g| *g != 1).collect();
    assert_eq!(woken, receivers, "FIFO: woken in the order they parked");
}

#[test]
fn close_wakes_every_receiver_then_every_sender_and_senders_panic() {
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 2,
                    },
                    Op::Sleep { duration_ns: MS },
                    Op::Close { chan: ch(0) },
                    Op::Sleep { duration_ns: MS },
                ],
            ),
            program("receiver", vec![Op::Recv { chan: ch(0) }]),
        ],
        &[("done", 0)],
        &[],
        &[],
    );
    let mut world = world(&w, 2, 1, "");
    assert_eq!(world.run().exit_code, 0);
    // (G1 itself was woken twice by runtime init's gcenable handshake.)
    let woken: Vec<_> = unblocks(&world)
        .into_iter()
        .filter(|(g, r, _, _)| *r == WaitReason::ChanReceive && *g != 1)
        .collect();
    assert_eq!(woken.len(), 2, "close wakes all receivers");

    let senders = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 1,
                    },
                    Op::Sleep { duration_ns: MS },
                    Op::Close { chan: ch(0) },
                    Op::Sleep { duration_ns: MS },
                ],
            ),
            program("sender", vec![Op::Send { chan: ch(0) }]),
        ],
        &[("done", 0)],
        &[],
        &[],
    );
    let mut w2 = common::world(&senders, 2, 1, "");
    let outcome = w2.run().clone();
    assert_eq!(outcome.exit_code, 2);
    assert!(
        w2.stderr()
            .starts_with("panic: send on closed channel\n\ngoroutine "),
        "{}",
        w2.stderr()
    );
}

#[test]
fn a_buffered_channel_keeps_values_after_close_and_then_gives_zero_values() {
    let w = workload_sync(
        vec![program(
            "main",
            vec![
                Op::Send { chan: ch(0) },
                Op::Send { chan: ch(0) },
                Op::Close { chan: ch(0) },
                Op::Recv { chan: ch(0) },
                Op::Recv { chan: ch(0) },
                Op::Recv { chan: ch(0) },
            ],
        )],
        &[("buf", 2)],
        &[],
        &[],
    );
    let mut world = world(&w, 1, 1, "");
    let code = world.run().exit_code;
    assert_eq!(code, 0, "{}", world.stderr());
}

#[test]
fn an_unbuffered_send_with_no_receiver_is_a_deadlock_with_gos_message_and_dump() {
    let w = workload_sync(
        vec![program("main", vec![Op::Send { chan: ch(0) }])],
        &[("ch", 0)],
        &[],
        &[],
    );
    let mut world = world(&w, 2, 1, "");
    assert_eq!(world.run().exit_code, 2);
    let err = world.stderr();
    assert!(
        err.starts_with("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan send]:\nmain.main()\n\tscenario programs.main.ops[0]: send on ch\n"),
        "{err}"
    );
}

#[test]
fn nil_channels_block_forever() {
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 1,
                    },
                    Op::Sleep { duration_ns: MS },
                ],
            ),
            program("stuck", vec![Op::Recv { chan: ChanRef::Nil }]),
        ],
        &[],
        &[],
        &[],
    );
    let mut world = world(&w, 1, 1, "");
    assert_eq!(world.run().exit_code, 0);
    let leaks = world.leaked_goroutines();
    assert_eq!(leaks.len(), 1);
    assert_eq!(leaks[0].reason, WaitReason::ChanReceiveNilChan);
}

/// Two ready cases: Go picks each with probability 1/2 (uniform poll order).
#[test]
fn select_picks_among_ready_cases_uniformly_over_seeds() {
    let w = workload_sync(
        vec![program(
            "main",
            vec![
                Op::Send { chan: ch(0) },
                Op::Send { chan: ch(1) },
                Op::Select {
                    cases: vec![
                        SelectCase {
                            op: CaseOp::Recv(ch(0)),
                            body: vec![Op::Gosched],
                        },
                        SelectCase {
                            op: CaseOp::Recv(ch(1)),
                            body: vec![],
                        },
                    ],
                    default: None,
                },
            ],
        )],
        &[("a", 1), ("b", 1)],
        &[],
        &[],
    );
    let seeds = 400;
    let mut first = 0;
    for seed in 0..seeds {
        let mut world = world(&w, 1, seed, "");
        world.run();
        first += world
            .trace()
            .iter()
            .filter(|r| {
                matches!(
                    r.event,
                    TraceEvent::GoStop {
                        reason: StopReason::Gosched,
                        ..
                    }
                )
            })
            .count();
    }
    // Binomial(400, 1/2): mean 200, sd 10; ±6 sd.
    assert!(
        (140..=260).contains(&first),
        "case 0 chosen {first} of {seeds} times"
    );
}

#[test]
fn select_with_a_timeout_takes_the_timer_case_when_nothing_arrives() {
    let w = workload_sync(
        vec![program(
            "main",
            vec![Op::Select {
                cases: vec![
                    SelectCase {
                        op: CaseOp::Recv(ch(0)),
                        body: vec![Op::Gosched],
                    },
                    SelectCase {
                        op: CaseOp::After {
                            duration_ns: 5 * MS,
                        },
                        body: vec![],
                    },
                ],
                default: None,
            }],
        )],
        &[("never", 0)],
        &[],
        &[],
    );
    let mut world = world(&w, 2, 1, "");
    let code = world.run().exit_code;
    assert_eq!(code, 0, "{}", world.stderr());
    assert!(world.now_ns() >= 5 * MS);
    assert!(!world.trace().iter().any(|r| matches!(
        r.event,
        TraceEvent::GoStop {
            reason: StopReason::Gosched,
            ..
        }
    )));
}

/// A holder that re-locks at once keeps the mutex in normal mode until the
/// waiter has waited more than 1 ms; then starvation mode hands it over.
#[test]
fn a_mutex_enters_starvation_mode_only_after_a_waiter_waited_over_a_millisecond() {
    let mu = MutexId(0);
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::WaitGroupAdd {
                        wait_group: WG,
                        delta: 2,
                    },
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 1,
                    },
                    Op::Spawn {
                        program: ProgramId(2),
                        count: 1,
                    },
                    Op::WaitGroupWait { wait_group: WG },
                ],
            ),
            program(
                "greedy",
                vec![
                    Op::Repeat {
                        count: 400,
                        body: vec![
                            Op::Lock { mutex: mu },
                            compute(20 * US, true),
                            Op::Unlock { mutex: mu },
                        ],
                    },
                    Op::WaitGroupDone { wait_group: WG },
                ],
            ),
            program(
                "polite",
                vec![
                    Op::Repeat {
                        count: 20,
                        body: vec![
                            Op::Lock { mutex: mu },
                            compute(5 * US, true),
                            Op::Unlock { mutex: mu },
                            Op::Sleep {
                                duration_ns: 100 * US,
                            },
                        ],
                    },
                    Op::WaitGroupDone { wait_group: WG },
                ],
            ),
        ],
        &[],
        &["mu"],
        &[],
    );
    let mut world = world(&w, 2, 3, "");
    while world.step() {
        world.check_invariants().unwrap();
    }
    assert_eq!(world.outcome().unwrap().exit_code, 0, "{}", world.stderr());
    let s = world.summary();
    let entries = s.model_only[sim_core::metrics::MODEL_MUTEX_STARVATION_ENTRIES].clone();
    // More than one entry: the mode was left (the new owner waited under
    // 1 ms, or was the last waiter) and entered again.
    assert!(
        matches!(entries, sim_core::metrics::MetricValue::Count(n) if n >= 2),
        "{entries:?}"
    );
    let Some(sim_core::metrics::MetricValue::Float(max_wait)) = s
        .model_only
        .get(sim_core::metrics::MODEL_MAX_MUTEX_WAIT)
        .cloned()
    else {
        panic!("no max mutex wait");
    };
    // Starvation mode bounds a waiter's wait to about the threshold plus one critical section.
    assert!(
        max_wait > 0.001 && max_wait < 0.0015,
        "max mutex wait {max_wait}s"
    );
    // Hand-offs in starvation mode make the releaser yield to the waiter.
    assert!(world.trace().iter().any(|r| matches!(
        r.event,
        TraceEvent::GoStop {
            reason: StopReason::Yield,
            ..
        }
    )));
}

#[test]
fn short_waits_never_switch_a_mutex_to_starvation_mode() {
    let mu = MutexId(0);
    let worker = vec![
        Op::Repeat {
            count: 50,
            body: vec![
                Op::Lock { mutex: mu },
                compute(10 * US, true),
                Op::Unlock { mutex: mu },
                Op::Sleep {
                    duration_ns: 50 * US,
                },
            ],
        },
        Op::WaitGroupDone { wait_group: WG },
    ];
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::WaitGroupAdd {
                        wait_group: WG,
                        delta: 3,
                    },
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 3,
                    },
                    Op::WaitGroupWait { wait_group: WG },
                ],
            ),
            program("worker", worker),
        ],
        &[],
        &["mu"],
        &[],
    );
    let mut world = world(&w, 2, 1, "");
    assert_eq!(world.run().exit_code, 0);
    let s = world.summary();
    assert_eq!(
        s.model_only[sim_core::metrics::MODEL_MUTEX_STARVATION_ENTRIES],
        sim_core::metrics::MetricValue::Count(0)
    );
}

#[test]
fn unlocking_an_unlocked_mutex_is_a_fatal_error() {
    let w = workload_sync(
        vec![program("main", vec![Op::Unlock { mutex: MutexId(0) }])],
        &[],
        &["mu"],
        &[],
    );
    let mut world = world(&w, 1, 1, "");
    assert_eq!(world.run().exit_code, 2);
    assert!(
        world
            .stderr()
            .starts_with("fatal error: sync: unlock of unlocked mutex\n"),
        "{}",
        world.stderr()
    );
}

/// Readers inside, a writer arrives, then a new reader: the new reader waits
/// behind the writer (writer preference).
#[test]
fn a_pending_writer_blocks_new_readers() {
    let rw = RwMutexId(0);
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::WaitGroupAdd {
                        wait_group: WG,
                        delta: 3,
                    },
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 1,
                    },
                    Op::Sleep {
                        duration_ns: 10 * US,
                    },
                    Op::Spawn {
                        program: ProgramId(2),
                        count: 1,
                    },
                    Op::Sleep {
                        duration_ns: 10 * US,
                    },
                    Op::Spawn {
                        program: ProgramId(3),
                        count: 1,
                    },
                    Op::WaitGroupWait { wait_group: WG },
                ],
            ),
            program(
                "reader",
                vec![
                    Op::RLock { rwmutex: rw },
                    compute(MS, true),
                    Op::RUnlock { rwmutex: rw },
                    Op::WaitGroupDone { wait_group: WG },
                ],
            ),
            program(
                "writer",
                vec![
                    Op::WLock { rwmutex: rw },
                    compute(100 * US, true),
                    Op::WUnlock { rwmutex: rw },
                    Op::WaitGroupDone { wait_group: WG },
                ],
            ),
            program(
                "late-reader",
                vec![
                    Op::RLock { rwmutex: rw },
                    Op::RUnlock { rwmutex: rw },
                    Op::WaitGroupDone { wait_group: WG },
                ],
            ),
        ],
        &[],
        &[],
        &["rw"],
    );
    let mut world = world(&w, 4, 1, "");
    while world.step() {
        world.check_invariants().unwrap();
    }
    assert_eq!(world.outcome().unwrap().exit_code, 0, "{}", world.stderr());
    assert_eq!(
        blocks(&world, WaitReason::SyncRwMutexLock).len(),
        1,
        "the writer waits for the reader"
    );
    assert_eq!(
        blocks(&world, WaitReason::SyncRwMutexRLock).len(),
        1,
        "the late reader waits for the writer"
    );
}

mod random_programs {
    use super::*;
    use proptest::prelude::*;

    fn sync_op() -> impl Strategy<Value = Vec<Op>> {
        let chan = 0u32..3;
        prop_oneof![
            chan.clone().prop_map(|c| vec![Op::Send { chan: ch(c) }]),
            chan.clone().prop_map(|c| vec![Op::Recv { chan: ch(c) }]),
            (1u64..200).prop_map(|us| vec![
                Op::Lock { mutex: MutexId(0) },
                compute(us * US, true),
                Op::Unlock { mutex: MutexId(0) }
            ]),
            (1u64..200).prop_map(|us| vec![
                Op::RLock {
                    rwmutex: RwMutexId(0)
                },
                compute(us * US, true),
                Op::RUnlock {
                    rwmutex: RwMutexId(0)
                }
            ]),
            (1u64..200).prop_map(|us| vec![
                Op::WLock {
                    rwmutex: RwMutexId(0)
                },
                compute(us * US, true),
                Op::WUnlock {
                    rwmutex: RwMutexId(0)
                }
            ]),
            (chan.clone(), chan.clone(), any::<bool>(), 1u64..500).prop_map(
                |(a, b, default, after_us)| {
                    let mut cases = vec![
                        SelectCase {
                            op: CaseOp::Recv(ch(a)),
                            body: vec![],
                        },
                        SelectCase {
                            op: CaseOp::Send(ch(b)),
                            body: vec![Op::Gosched],
                        },
                    ];
                    if !default {
                        cases.push(SelectCase {
                            op: CaseOp::After {
                                duration_ns: after_us * US,
                            },
                            body: vec![],
                        });
                    }
                    vec![Op::Select {
                        cases,
                        default: default.then(Vec::new),
                    }]
                }
            ),
            (1u64..2_000).prop_map(|us| vec![Op::NetWait {
                latency_ns: us * US
            }]),
            (1u64..500).prop_map(|us| vec![Op::Sleep {
                duration_ns: us * US
            }]),
            (1u64..300, any::<bool>()).prop_map(|(us, p)| vec![compute(us * US, p)]),
            Just(vec![Op::Close { chan: ch(2) }]),
        ]
    }

    fn body() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(sync_op(), 1..8).prop_map(|v| v.into_iter().flatten().collect())
    }

    fn workload() -> impl Strategy<Value = sim_core::workload::Workload> {
        (1u32..12, body(), body(), 0u32..3, 0u32..3, 0u32..3).prop_map(
            |(n, worker, main_tail, c0, c1, c2)| {
                let mut main_ops = vec![Op::Spawn {
                    program: ProgramId(1),
                    count: n,
                }];
                main_ops.extend(main_tail);
                main_ops.push(Op::Sleep {
                    duration_ns: 3 * MS,
                });
                workload_sync(
                    vec![program("main", main_ops), program("worker", worker)],
                    &[("a", c0), ("b", c1), ("c", c2)],
                    &["mu"],
                    &["rw"],
                )
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn no_goroutine_is_lost_buffers_fit_and_no_mutex_has_two_holders(
            w in workload(),
            gomaxprocs in 1u32..5,
            seed in any::<u64>(),
        ) {
            let mut world = common::world(&w, gomaxprocs, seed, "");
            let mut steps = 0;
            while world.step() {
                steps += 1;
                if let Err(e) = world.check_invariants() {
                    return Err(TestCaseError::fail(format!("after event {steps}: {e}")));
                }
            }
            let outcome = world.outcome().unwrap().clone();
            prop_assert!(outcome.exit_code == 0 || outcome.exit_code == 2, "{:?}", outcome);
            if outcome.reason.contains("deadlock") {
                // Every blocked goroutine is named in the dump.
                for g in world.gs().iter().filter(|g| g.is_user()) {
                    if let sim_sched::g::GStatus::Waiting(reason) = g.status {
                        let header = format!("goroutine {} [{reason}", g.goid.0);
                        prop_assert!(world.stderr().contains(&header), "{header} missing from:\n{}", world.stderr());
                    }
                }
            }
            if outcome.exit_code == 0 {
                // Leaked goroutines are blocked ones, and only those.
                for leak in world.leaked_goroutines() {
                    let g = world.gs().iter().find(|g| g.goid.0 == leak.goid).unwrap();
                    prop_assert!(matches!(g.status, sim_sched::g::GStatus::Waiting(_)));
                }
            }
        }
    }
}

/// `/sync/mutex/wait/total` counts a park on a mutex until the waiter is
/// readied, as casgstatus does (_Gwaiting -> _Grunnable): not the time the
/// readied waiter then waits for its P. At GOMAXPROCS=1, main holds the lock
/// while it sleeps, unlocks (readying the parked waiter) and computes 300 µs
/// more before it lets the waiter run.
#[test]
fn mutex_wait_ends_when_the_waiter_is_readied_not_when_it_runs() {
    let mu = MutexId(0);
    let w = workload_sync(
        vec![
            program(
                "main",
                vec![
                    Op::Lock { mutex: mu },
                    Op::Spawn {
                        program: ProgramId(1),
                        count: 1,
                    },
                    Op::Sleep {
                        duration_ns: 100 * US,
                    },
                    Op::Unlock { mutex: mu },
                    compute(300 * US, true),
                    Op::Sleep { duration_ns: MS },
                ],
            ),
            program(
                "waiter",
                vec![Op::Lock { mutex: mu }, Op::Unlock { mutex: mu }],
            ),
        ],
        &[],
        &["mu"],
        &[],
    );
    let mut world = world(&w, 1, 1, "");
    assert_eq!(world.run().exit_code, 0);
    let at = |pick: &dyn Fn(&TraceEvent) -> bool| {
        world
            .trace()
            .iter()
            .find(|r| pick(&r.event))
            .map(|r| r.at_ns)
            .expect("the event happened")
    };
    // The waiter is the one goroutine that parks on the mutex.
    let parked = at(&|e| {
        matches!(
            e,
            TraceEvent::GoBlock {
                reason: WaitReason::SyncMutexLock,
                ..
            }
        )
    });
    let readied = at(&|e| {
        matches!(
            e,
            TraceEvent::GoUnblock {
                reason: WaitReason::SyncMutexLock,
                ..
            }
        )
    });
    let runs_at = world
        .trace()
        .iter()
        .filter(|r| r.at_ns > readied)
        .find(|r| {
            matches!(
                r.event,
                TraceEvent::GoBlock {
                    reason: WaitReason::Sleep,
                    ..
                }
            )
        })
        .map(|r| r.at_ns)
        .expect("main sleeps after its compute");
    assert!(runs_at >= readied + 300 * US, "{readied} -> {runs_at}");
    assert!(readied >= parked + 100 * US, "{parked} -> {readied}");
    let total = match world.summary().metrics[sim_core::metrics::SYNC_MUTEX_WAIT_TOTAL] {
        sim_core::metrics::MetricValue::Float(s) => s,
        ref other => panic!("{other:?}"),
    };
    // Nanoseconds as seconds: exact to well under a nanosecond here.
    let total_ns = (total * 1e9).round() as u64;
    assert_eq!(total_ns, readied - parked, "{}", trace_text(&world));
}
