//! The embedded scenario library: every entry loads, and every scenario is a
//! program that ends (main waits for every goroutine it starts).

use scenarios::library::{self, summary_line};
use scenarios::{Scenario, resolve};
use sim_core::ids::{ProgramId, WaitGroupId};
use sim_core::workload::{Op, Workload};
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
        entries.len() >= 8,
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

/// How many goroutines run each program: main once, plus every spawn
/// (spawns inside a loop count once per iteration).
fn goroutines_per_program(workload: &Workload) -> BTreeMap<ProgramId, u64> {
    fn spawns(ops: &[Op], times: u64, out: &mut Vec<(ProgramId, u64)>) {
        for op in ops {
            match op {
                Op::Spawn { program, count } => out.push((*program, times * u64::from(*count))),
                Op::Repeat { count, body } => spawns(body, times * count, out),
                _ => {}
            }
        }
    }
    let mut counts = BTreeMap::new();
    let mut pending = vec![(workload.main, 1u64)];
    while let Some((program, instances)) = pending.pop() {
        *counts.entry(program).or_insert(0) += instances;
        let mut started = Vec::new();
        spawns(&workload.program(program).ops, instances, &mut started);
        pending.extend(started);
        assert!(counts.values().sum::<u64>() < 1_000_000, "runaway spawning");
    }
    counts
}

/// The net wg.Add minus wg.Done per wait group, for one run of `ops`.
fn wait_group_balance(ops: &[Op], times: i64, out: &mut BTreeMap<WaitGroupId, i64>) {
    for op in ops {
        match op {
            Op::WaitGroupAdd { wait_group, delta } => {
                *out.entry(*wait_group).or_insert(0) += times * delta
            }
            Op::WaitGroupDone { wait_group } => *out.entry(*wait_group).or_insert(0) -= times,
            Op::Repeat { count, body } => wait_group_balance(body, times * *count as i64, out),
            _ => {}
        }
    }
}

#[test]
fn every_program_is_started_and_main_waits_for_every_goroutine() {
    for scenario in all() {
        let workload = &scenario.workload;
        let goroutines = goroutines_per_program(workload);
        for (index, program) in workload.programs.iter().enumerate() {
            assert!(
                goroutines.contains_key(&ProgramId(index as u32)),
                "{}: programs.{} is never started",
                scenario.name,
                program.name
            );
        }
        let mut balance = BTreeMap::new();
        for (program, instances) in &goroutines {
            wait_group_balance(
                &workload.program(*program).ops,
                *instances as i64,
                &mut balance,
            );
        }
        for (index, name) in workload.wait_groups.iter().enumerate() {
            assert_eq!(
                balance.get(&WaitGroupId(index as u32)),
                Some(&0),
                "{}: wait group {name} does not balance (Add minus Done)",
                scenario.name
            );
        }
        let main_waits = workload
            .program(workload.main)
            .ops
            .iter()
            .any(|op| matches!(op, Op::WaitGroupWait { .. }));
        assert!(
            main_waits,
            "{}: main must wait, or Go would exit at once",
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
