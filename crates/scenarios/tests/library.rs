//! The embedded scenario library: every entry loads, and every scenario is a
//! program that ends (main waits for every goroutine it starts, every send
//! has its receive, every Lock its Unlock), except where a scenario breaks a
//! rule on purpose and says so in [`ON_PURPOSE`].

use scenarios::library::{self, summary_line};
use scenarios::{Scenario, resolve};
use sim_core::ids::{ChannelId, MutexId, ProgramId, RwMutexId, WaitGroupId};
use sim_core::workload::{CaseOp, ChanRef, Op, Workload};
use std::collections::BTreeMap;
use std::path::Path;

fn all() -> Vec<Scenario> {
    library::entries()
        .iter()
        .map(|entry| entry.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_library_scenario_parses_and_is_named_after_its_entry() {
    let entries = library::entries();
    assert!(
        entries.len() >= 26,
        "the library has {} scenarios",
        entries.len()
    );
    for (entry, scenario) in entries.iter().zip(all()) {
        assert_eq!(scenario.name, entry.name);
        assert_eq!(scenario.origin, format!("library:{}", entry.name));
        assert_eq!(scenario.source, entry.source);
        assert_eq!(library::get(entry.name), Some(scenario));
    }
    assert_eq!(library::get("no-such-scenario"), None);
}

#[test]
fn every_file_in_the_library_directory_is_an_entry_and_vice_versa() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("library/ exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = library::entries()
        .iter()
        .map(|e| e.name.to_string())
        .collect();
    embedded.sort();
    assert_eq!(on_disk, embedded);
}

#[test]
fn every_description_has_a_summary_line_and_says_what_to_look_for() {
    for scenario in all() {
        let summary = summary_line(&scenario);
        assert!(!summary.is_empty(), "{}: no summary line", scenario.name);
        assert!(
            summary.len() <= 120,
            "{}: summary too long for a listing: {summary}",
            scenario.name
        );
        assert!(
            scenario.description.contains("What to look for:"),
            "{}: the description should say what to look for",
            scenario.name
        );
        for program in &scenario.workload.programs {
            assert!(
                !program.description.is_empty(),
                "{}: programs.{} has no description",
                scenario.name,
                program.name
            );
        }
    }
}

/// The most goroutines a library scenario starts: million-parked's waiters
/// and main. More means a spawn loop gone wrong.
const MAX_GOROUTINES: u64 = 1_000_001;

/// Calls `visit` with every op in `ops` and how many times it runs when
/// `ops` runs `times` times: repeat bodies multiply, and the bodies of a
/// select's cases and default count as if each ran (an upper bound).
fn walk(ops: &[Op], times: u64, visit: &mut dyn FnMut(&Op, u64)) {
    for op in ops {
        visit(op, times);
        match op {
            Op::Repeat { count, body } => walk(body, times * count, visit),
            Op::Select { cases, default } => {
                for case in cases {
                    walk(&case.body, times, visit);
                }
                if let Some(body) = default {
                    walk(body, times, visit);
                }
            }
            _ => {}
        }
    }
}

/// How many goroutines run each program: main once, plus every spawn
/// (spawns inside a loop count once per iteration).
fn goroutines_per_program(workload: &Workload) -> BTreeMap<ProgramId, u64> {
    let mut counts = BTreeMap::new();
    let mut pending = vec![(workload.main, 1u64)];
    while let Some((program, instances)) = pending.pop() {
        *counts.entry(program).or_insert(0) += instances;
        walk(
            &workload.program(program).ops,
            instances,
            &mut |op, times| {
                if let Op::Spawn { program, count } = op {
                    pending.push((*program, times * u64::from(*count)));
                }
            },
        );
        assert!(
            counts.values().sum::<u64>() <= MAX_GOROUTINES,
            "runaway spawning"
        );
    }
    counts
}

/// Every op of every goroutine, with how many times it runs in all.
fn all_ops(workload: &Workload, visit: &mut dyn FnMut(&Op, u64)) {
    for (program, instances) in goroutines_per_program(workload) {
        walk(&workload.program(program).ops, instances, visit);
    }
}

/// A property every library scenario has unless it breaks it on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Each wait group's wg.Add deltas and wg.Done calls sum to 0.
    WaitGroupsBalance,
    /// main waits for something (wg.Wait, a receive, a select without
    /// default), or Go would exit before the goroutines it starts run.
    MainWaits,
    /// No goroutine is left blocked on a channel: sends at most receives
    /// plus the buffer, receives at most sends unless the channel is closed,
    /// and no channel closed twice. Channels in select cases are not counted
    /// (which case wins is up to the run).
    ChannelsBalance,
    /// Every goroutine unlocks what it locks, as often as it locks it.
    LocksBalance,
}

/// Scenarios that break a rule on purpose, because the broken rule is what
/// they show. The test checks that each really breaks its rule.
const ON_PURPOSE: [(&str, Rule, &str); 3] = [
    (
        "deadlock-unbuffered",
        Rule::ChannelsBalance,
        "one send that no receive matches: the deadlock it shows",
    ),
    (
        "deadlock-waitgroup",
        Rule::WaitGroupsBalance,
        "wg.Add(3) with two Dones: the deadlock it shows",
    ),
    (
        "leaky-worker-pool",
        Rule::ChannelsBalance,
        "four sends and one receive: the three leaked workers it shows",
    ),
];

/// Why `scenario` breaks `rule`, or `None` when it keeps it.
fn breaks(scenario: &Scenario, rule: Rule) -> Option<String> {
    let workload = &scenario.workload;
    match rule {
        Rule::WaitGroupsBalance => {
            let mut balance: BTreeMap<WaitGroupId, i64> = BTreeMap::new();
            all_ops(workload, &mut |op, times| match op {
                Op::WaitGroupAdd { wait_group, delta } => {
                    *balance.entry(*wait_group).or_insert(0) += times as i64 * delta
                }
                Op::WaitGroupDone { wait_group } => {
                    *balance.entry(*wait_group).or_insert(0) -= times as i64
                }
                _ => {}
            });
            workload
                .wait_groups
                .iter()
                .enumerate()
                .find_map(|(index, name)| {
                    let net = balance
                        .get(&WaitGroupId(index as u32))
                        .copied()
                        .unwrap_or(0);
                    (net != 0).then(|| format!("wait group {name}: Add minus Done is {net}"))
                })
        }
        Rule::MainWaits => {
            let mut waits = false;
            let mut spawns = false;
            walk(&workload.program(workload.main).ops, 1, &mut |op, _| {
                spawns |= matches!(op, Op::Spawn { .. });
                waits |= matches!(
                    op,
                    Op::WaitGroupWait { .. }
                        | Op::Recv {
                            chan: ChanRef::Chan(_)
                        }
                        | Op::Select { default: None, .. }
                );
            });
            // A main that starts nobody does the work itself.
            (spawns && !waits).then(|| "main starts goroutines and never waits".to_string())
        }
        Rule::ChannelsBalance => {
            #[derive(Default)]
            struct Uses {
                sends: u64,
                receives: u64,
                closes: u64,
                in_select: bool,
            }
            let mut uses: BTreeMap<ChannelId, Uses> = BTreeMap::new();
            all_ops(workload, &mut |op, times| {
                let mut count = |chan: &ChanRef, field: fn(&mut Uses) -> &mut u64| {
                    if let ChanRef::Chan(id) = chan {
                        *field(uses.entry(*id).or_default()) += times;
                    }
                };
                match op {
                    Op::Send { chan } => count(chan, |u| &mut u.sends),
                    Op::Recv { chan } => count(chan, |u| &mut u.receives),
                    Op::Close { chan } => count(chan, |u| &mut u.closes),
                    Op::Select { cases, .. } => {
                        for case in cases {
                            if let CaseOp::Send(ChanRef::Chan(id))
                            | CaseOp::Recv(ChanRef::Chan(id)) = case.op
                            {
                                uses.entry(id).or_default().in_select = true;
                            }
                        }
                    }
                    _ => {}
                }
            });
            uses.iter().find_map(|(id, u)| {
                let channel = &workload.channels[id.index()];
                let name = &channel.name;
                if u.in_select {
                    None
                } else if u.closes > 1 {
                    Some(format!("channel {name} is closed {} times", u.closes))
                } else if u.sends > u.receives + u64::from(channel.capacity) {
                    Some(format!(
                        "channel {name}: {} sends, {} receives and {} buffer slots",
                        u.sends, u.receives, channel.capacity
                    ))
                } else if u.closes == 0 && u.receives > u.sends {
                    Some(format!(
                        "channel {name} is never closed and has {} receives for {} sends",
                        u.receives, u.sends
                    ))
                } else {
                    None
                }
            })
        }
        Rule::LocksBalance => workload.programs.iter().find_map(|program| {
            // (kind, index) -> locks minus unlocks, for one run of the program.
            let mut held: BTreeMap<(&str, u32), i64> = BTreeMap::new();
            walk(&program.ops, 1, &mut |op, times| {
                let times = times as i64;
                let (key, delta) = match op {
                    Op::Lock { mutex: MutexId(m) } => (("mutex", *m), times),
                    Op::Unlock { mutex: MutexId(m) } => (("mutex", *m), -times),
                    Op::RLock {
                        rwmutex: RwMutexId(m),
                    } => (("read lock", *m), times),
                    Op::RUnlock {
                        rwmutex: RwMutexId(m),
                    } => (("read lock", *m), -times),
                    Op::WLock {
                        rwmutex: RwMutexId(m),
                    } => (("write lock", *m), times),
                    Op::WUnlock {
                        rwmutex: RwMutexId(m),
                    } => (("write lock", *m), -times),
                    _ => return,
                };
                *held.entry(key).or_insert(0) += delta;
            });
            held.iter()
                .find(|(_, net)| **net != 0)
                .map(|((kind, index), net)| {
                    format!(
                        "programs.{}: {kind} {index} is locked {net} more times than unlocked",
                        program.name
                    )
                })
        }),
    }
}

#[test]
fn every_program_is_started_and_every_scenario_ends_unless_it_shows_why_not() {
    let mut failures = Vec::new();
    for scenario in all() {
        let workload = &scenario.workload;
        let goroutines = goroutines_per_program(workload);
        for (index, program) in workload.programs.iter().enumerate() {
            if !goroutines.contains_key(&ProgramId(index as u32)) {
                failures.push(format!(
                    "{}: programs.{} is never started",
                    scenario.name, program.name
                ));
            }
        }
        for rule in [
            Rule::WaitGroupsBalance,
            Rule::MainWaits,
            Rule::ChannelsBalance,
            Rule::LocksBalance,
        ] {
            let on_purpose = ON_PURPOSE
                .iter()
                .find(|(name, r, _)| *name == scenario.name && *r == rule);
            match (breaks(&scenario, rule), on_purpose) {
                (Some(why), None) => {
                    failures.push(format!("{}: {rule:?} broken: {why}", scenario.name))
                }
                (None, Some((_, _, reason))) => failures.push(format!(
                    "{}: listed in ON_PURPOSE as breaking {rule:?} ({reason}), but it does not",
                    scenario.name
                )),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_declared_channel_mutex_and_rwmutex_is_used() {
    for scenario in all() {
        let workload = &scenario.workload;
        let mut channels = vec![false; workload.channels.len()];
        let mut mutexes = vec![false; workload.mutexes.len()];
        let mut rwmutexes = vec![false; workload.rwmutexes.len()];
        all_ops(workload, &mut |op, _| {
            let mut chan = |c: &ChanRef| {
                if let ChanRef::Chan(id) = c {
                    channels[id.index()] = true;
                }
            };
            match op {
                Op::Send { chan: c } | Op::Recv { chan: c } | Op::Close { chan: c } => chan(c),
                Op::Select { cases, .. } => {
                    for case in cases {
                        if let CaseOp::Send(c) | CaseOp::Recv(c) = &case.op {
                            chan(c);
                        }
                    }
                }
                Op::Lock { mutex } | Op::Unlock { mutex } => mutexes[mutex.index()] = true,
                Op::RLock { rwmutex }
                | Op::RUnlock { rwmutex }
                | Op::WLock { rwmutex }
                | Op::WUnlock { rwmutex } => rwmutexes[rwmutex.index()] = true,
                _ => {}
            }
        });
        let unused = |used: &[bool], names: Vec<&str>| -> Vec<String> {
            names
                .into_iter()
                .zip(used)
                .filter(|(_, used)| !**used)
                .map(|(name, _)| name.to_string())
                .collect()
        };
        let mut all_unused = unused(
            &channels,
            workload.channels.iter().map(|c| c.name.as_str()).collect(),
        );
        all_unused.extend(unused(
            &mutexes,
            workload.mutexes.iter().map(String::as_str).collect(),
        ));
        all_unused.extend(unused(
            &rwmutexes,
            workload.rwmutexes.iter().map(String::as_str).collect(),
        ));
        assert!(
            all_unused.is_empty(),
            "{}: declared but never used: {all_unused:?}",
            scenario.name
        );
    }
}

fn scenario(name: &str) -> Scenario {
    library::get(name).unwrap_or_else(|| panic!("library scenario {name}"))
}

#[test]
fn the_cpu_fanout_family_differs_only_in_gomaxprocs() {
    let base = scenario("cpu-fanout");
    assert_eq!(base.runtime.gomaxprocs, 4);
    assert_eq!(base.runtime.godebug.schedtrace_ms, 10);
    for (name, gomaxprocs) in [("cpu-fanout-p1", 1), ("cpu-fanout-p2", 2)] {
        let variant = scenario(name);
        assert_eq!(variant.runtime.gomaxprocs, gomaxprocs, "{name}");
        assert_eq!(
            variant.workload, base.workload,
            "{name}: same program as cpu-fanout"
        );
    }
    let worker = base
        .workload
        .programs
        .iter()
        .find(|p| p.name == "worker")
        .expect("worker");
    assert_eq!(
        worker.ops[0],
        Op::Compute {
            duration_ns: 50_000_000,
            preemptible: true
        }
    );
    assert_eq!(
        goroutines_per_program(&base.workload).values().sum::<u64>(),
        9
    );
}

#[test]
fn the_starvation_spinner_has_no_preemption_points_on_one_p() {
    let s = scenario("starvation-tight-loop");
    assert_eq!(s.runtime.gomaxprocs, 1);
    assert!(
        !s.runtime.godebug.asyncpreemptoff,
        "the default is the Go 1.14+ behaviour"
    );
    let spinner = s
        .workload
        .programs
        .iter()
        .find(|p| p.name == "spinner")
        .expect("spinner");
    assert_eq!(
        spinner.ops[0],
        Op::Compute {
            duration_ns: 200_000_000,
            preemptible: false
        }
    );
    let main = s.workload.program(s.workload.main);
    assert!(main.ops.iter().any(|op| matches!(
        op,
        Op::Repeat { count: 250, body } if body == &vec![Op::Sleep { duration_ns: 1_000_000 }]
    )));
}

#[test]
fn the_spawn_storm_overflows_a_256_slot_local_run_queue() {
    let s = scenario("spawn-storm");
    let main = s.workload.program(s.workload.main);
    let spawned: u32 = main
        .ops
        .iter()
        .map(|op| {
            if let Op::Spawn { count, .. } = op {
                *count
            } else {
                0
            }
        })
        .sum();
    assert!(
        spawned > 256 + 1,
        "{spawned} goroutines fit in runq plus runnext"
    );
}

fn program<'w>(workload: &'w Workload, name: &str) -> &'w [Op] {
    &workload
        .programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("programs.{name}"))
        .ops
}

#[test]
fn the_fixed_worker_pool_differs_from_the_leaky_one_only_in_the_buffer() {
    let leaky = scenario("leaky-worker-pool").workload;
    let fixed = scenario("leaky-worker-pool-fixed").workload;
    assert_eq!(leaky.channels[0].capacity, 0);
    let workers = goroutines_per_program(&fixed)[&ProgramId(1)];
    assert_eq!(
        fixed.channels[0].capacity as u64, workers,
        "one slot per worker"
    );
    let strip =
        |w: &Workload| -> Vec<Vec<Op>> { w.programs.iter().map(|p| p.ops.clone()).collect() };
    assert_eq!(strip(&leaky), strip(&fixed));
}

#[test]
fn the_lock_order_deadlock_takes_the_two_mutexes_in_opposite_orders() {
    let s = scenario("deadlock-lock-order");
    assert_eq!(s.workload.mutexes, ["a", "b"]);
    let order = |name: &str| -> Vec<MutexId> {
        let mut locks = Vec::new();
        walk(program(&s.workload, name), 1, &mut |op, _| {
            if let Op::Lock { mutex } = op {
                locks.push(*mutex);
            }
        });
        locks.truncate(2);
        locks
    };
    assert_eq!(order("transferAB"), [MutexId(0), MutexId(1)]);
    assert_eq!(order("transferBA"), [MutexId(1), MutexId(0)]);
    assert_eq!(s.runtime.gomaxprocs, 2);
    // The coin: a select between two channels main has filled, so both cases
    // are ready and Go (and the model, from the seed) picks one at random.
    let Op::Select { cases, default } = &program(&s.workload, "transferBA")[0] else {
        panic!("transferBA starts with the coin flip");
    };
    assert_eq!(*default, None);
    let coins: Vec<CaseOp> = cases.iter().map(|c| c.op).collect();
    let (heads, tails) = (ChanRef::Chan(ChannelId(0)), ChanRef::Chan(ChannelId(1)));
    assert_eq!(coins, [CaseOp::Recv(heads), CaseOp::Recv(tails)]);
    let main = program(&s.workload, "main");
    assert_eq!(
        main[..2],
        [Op::Send { chan: heads }, Op::Send { chan: tails }]
    );
    assert!(s.workload.channels.iter().all(|c| c.capacity == 1));
}

#[test]
fn the_mutex_scenarios_run_on_two_ps_and_the_greedy_holder_relocks_at_once() {
    for name in [
        "mutex-contention",
        "mutex-starvation",
        "deadlock-lock-order",
    ] {
        assert_eq!(scenario(name).runtime.gomaxprocs, 2, "{name}");
    }
    let s = scenario("mutex-starvation");
    let Op::Repeat { body, .. } = &program(&s.workload, "greedy")[0] else {
        panic!("greedy loops");
    };
    // Unlock is the last op of the loop: the next op is the next Lock.
    assert!(matches!(body.first(), Some(Op::Lock { .. })), "{body:?}");
    assert!(matches!(body.last(), Some(Op::Unlock { .. })), "{body:?}");
}

#[test]
fn the_select_timeout_waits_with_a_time_after_case() {
    let s = scenario("select-timeout");
    let mut afters = Vec::new();
    walk(program(&s.workload, "main"), 1, &mut |op, _| {
        if let Op::Select { cases, default } = op {
            assert_eq!(*default, None, "a select that waits has no default");
            afters.extend(cases.iter().filter_map(|c| match c.op {
                CaseOp::After { duration_ns } => Some(duration_ns),
                _ => None,
            }));
        }
    });
    assert_eq!(afters, [5_000_000, 5_000_000]);
}

#[test]
fn a_million_goroutines_park_on_one_channel_that_main_closes() {
    let s = scenario("million-parked");
    assert_eq!(s.runtime.gomaxprocs, 2);
    let goroutines = goroutines_per_program(&s.workload);
    assert_eq!(goroutines.values().sum::<u64>(), 1_000_001);
    let start = ChanRef::Chan(ChannelId(0));
    assert_eq!(s.workload.channels[0].capacity, 0);
    assert_eq!(program(&s.workload, "waiter")[0], Op::Recv { chan: start });
    assert!(program(&s.workload, "main").contains(&Op::Close { chan: start }));
}

#[test]
fn resolve_finds_library_names_and_files_and_lists_the_library_otherwise() {
    let by_name = resolve("gosched-pingpong").expect("library scenario");
    assert_eq!(by_name.origin, "library:gosched-pingpong");

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("library")
        .join("spawn-storm.toml");
    let path_text = path.display().to_string();
    let by_path = resolve(&path_text).expect("scenario file");
    assert_eq!(by_path.origin, path_text);
    assert_eq!(by_path.workload, scenario("spawn-storm").workload);

    let e = resolve("cpu-fanuot").expect_err("neither a name nor a file");
    let shown = e.to_string();
    assert!(shown.starts_with("cpu-fanuot: "), "{shown}");
    for entry in library::entries() {
        assert!(
            shown.contains(entry.name),
            "{shown} should list {}",
            entry.name
        );
    }
}

/// scenarios/README.md has one line per library scenario, in `gmpsim list`'s
/// order, each naming the seed experiment it comes from.
#[test]
fn the_readme_lists_every_library_scenario_in_order() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let listed: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let library: Vec<&str> = library::entries().iter().map(|e| e.name).collect();
    assert_eq!(listed, library);
}
