//! The ratchet: every comparison listed in validation/passing.txt must still
//! pass against the committed baselines, offline (no Go needed). When the
//! model gets closer to real Go, `gmpsim validate --update-passing` adds the
//! new passes to the list; a comparison leaves it only by a deliberate edit.

use std::path::Path;
use validation::baseline::Baseline;
use validation::tolerance::Tolerances;
use validation::verdict::{Headline, parse_passing, passing_keys, validate_scenario};

/// Too slow for a debug-build test run, five seeds each (a million
/// goroutines, hundreds of MiB allocated object by object); the release test
/// below covers them (`cargo test --release -- --ignored`, which CI runs).
const HEAVY: &[&str] = &[
    "alloc-steady",
    "alloc-steady-gogc50",
    "alloc-steady-gogc200",
    "assist-burst",
    "tiny-alloc",
    "fragmentation",
    "slow-leak",
    "memlimit-gogc-off",
    "memlimit-death-spiral",
    "memlimit-death-spiral-p1",
    "million-parked",
];

fn check(names: &[&str]) {
    let dir = validation::data_dir();
    let tolerances = Tolerances::load(&dir.join("tolerances.toml")).unwrap();
    let listed =
        parse_passing(&std::fs::read_to_string(dir.join("passing.txt")).unwrap_or_default());
    let mut reports = Vec::new();
    for name in names {
        let path = Baseline::path(&dir.join("baselines"), name);
        if !Path::new(&path).is_file() {
            continue;
        }
        let baseline = Baseline::load(&path).unwrap();
        let scenario = scenarios::library::get(name).unwrap();
        reports.push(
            validate_scenario(&scenario, &baseline, &tolerances, &Default::default()).unwrap(),
        );
    }
    let passing = passing_keys(&reports);
    let regressed: Vec<&String> = listed
        .iter()
        .filter(|k| names.contains(&k.split('\t').next().unwrap()) && !passing.contains(k))
        .collect();
    eprintln!("{}", Headline::of(&reports));
    assert!(
        regressed.is_empty(),
        "comparisons that passed no longer do:\n{}",
        regressed
            .iter()
            .map(|k| k.replace('\t', "  "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_comparison_that_passed_still_passes() {
    let names: Vec<&str> = scenarios::library::entries()
        .iter()
        .map(|e| e.name)
        .filter(|n| !HEAVY.contains(n))
        .collect();
    check(&names);
}

#[test]
#[ignore = "slow in a debug build: run in release (`cargo test --release -- --ignored`)"]
fn every_comparison_of_the_heavy_scenarios_that_passed_still_passes() {
    check(HEAVY);
}

#[test]
fn every_library_scenario_has_a_baseline_with_runs_on_this_go_release() {
    let dir = validation::data_dir().join("baselines");
    for entry in scenarios::library::entries() {
        let baseline = Baseline::load(&Baseline::path(&dir, entry.name)).unwrap_or_else(|e| {
            panic!(
                "{e} (record it: gmpsim validate --live --record {})",
                entry.name
            )
        });
        assert_eq!(baseline.go_version, sim_sched::GO_VERSION, "{}", entry.name);
        assert!(!baseline.runs.is_empty(), "{}: no runs", entry.name);
    }
}

#[test]
fn every_tolerance_rule_applies_to_some_recorded_figure() {
    let dir = validation::data_dir();
    let tolerances = Tolerances::load(&dir.join("tolerances.toml")).unwrap();
    let mut names: Vec<String> = Vec::new();
    for entry in scenarios::library::entries() {
        let baseline = Baseline::load(&Baseline::path(&dir.join("baselines"), entry.name)).unwrap();
        names.extend(baseline.stats().into_iter().map(|(s, _)| s.name));
    }
    for rule in &tolerances.rules {
        assert!(
            names.iter().any(|n| rule.matches(n)),
            "the rule for `{}` matches no figure of any baseline",
            rule.figure
        );
    }
}

/// The model's figure is the mean over its seeds, and only over the seeds
/// whose run completed, as the real side's is over the runs that completed:
/// in the lock-order race some seeds deadlock with more goroutines alive,
/// and those must not pull the goroutine count away from the completed runs'.
#[test]
fn model_figures_are_means_over_the_seeds_that_completed() {
    let dir = validation::data_dir();
    let tolerances = Tolerances::load(&dir.join("tolerances.toml")).unwrap();
    let name = "deadlock-lock-order";
    let baseline = Baseline::load(&Baseline::path(&dir.join("baselines"), name)).unwrap();
    let scenario = scenarios::library::get(name).unwrap();
    let report = validate_scenario(&scenario, &baseline, &tolerances, &Default::default()).unwrap();
    let mut completed = Vec::new();
    for seed in 1..=validation::verdict::MIN_MODEL_SEEDS.max(baseline.runs.len() as u64) {
        let mut world = sim_sched::World::new(
            &scenario.workload,
            sim_sched::SimConfig {
                seed,
                runtime: scenario.runtime.clone(),
                cost: Default::default(),
                record_trace: false,
            },
        )
        .with_go_harness();
        world.run();
        let summary = world.summary();
        if summary.outcome.exit_code == 0 {
            completed.push(summary);
        }
    }
    assert!(
        !completed.is_empty() && completed.len() < 5,
        "the race should both complete and deadlock among the seeds"
    );
    let figure = "/gmpsim/process/elapsed:seconds";
    let expected: f64 = completed
        .iter()
        .map(|s| {
            scenarios::measure::figures(s)
                .into_iter()
                .find(|f| f.name == figure)
                .unwrap()
                .value
        })
        .sum::<f64>()
        / completed.len() as f64;
    let c = report
        .comparisons
        .iter()
        .find(|c| c.figure == figure)
        .unwrap();
    let simulated = c
        .simulated
        .expect("the completed seeds report the makespan");
    assert!(
        (simulated - expected).abs() <= 1e-12 * expected,
        "{simulated} vs {expected}"
    );
}
