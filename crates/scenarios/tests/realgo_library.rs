//! Every library scenario with real Go: the generated program passes `go vet`,
//! builds with the pinned toolchain, runs, and ends as the model says it does:
//! a completed run reports every figure the simulator reports, and a scenario
//! the model sees deadlock on every seed dies of Go's own fatal error, with
//! exit status 2. Also a real timeout and a real Go fatal error.
//!
//! All tests here need the pinned Go toolchain and are `#[ignore]`d; CI runs
//! them with `cargo test --workspace --release -- --ignored` after
//! `scripts/install-go.sh` (and exports GMPSIM_GO).

use scenarios::realgo::{self, GoToolchain, RealOutcome, RunOptions};
use scenarios::{library, parse_scenario};
use sim_core::cost::CostModel;
use sim_core::metrics::{Outcome, Summary};
use sim_sched::{SimConfig, World};
use std::time::Duration;

/// Seeds the model runs each scenario with, to tell a deterministic ending
/// from a race.
const SEEDS: u64 = 4;

fn simulate(scenario: &scenarios::Scenario, seed: u64) -> Summary {
    let mut world = World::new(
        &scenario.workload,
        SimConfig {
            seed,
            runtime: scenario.runtime.clone(),
            cost: CostModel::default(),
            record_trace: false,
        },
    );
    world.run();
    world.summary()
}

fn go() -> GoToolchain {
    let go = GoToolchain::locate().unwrap_or_else(|e| panic!("{e}"));
    if let Some(warning) = go.version_warning() {
        eprintln!("warning: {warning}");
    }
    go
}

fn options(runs: usize, timeout: Duration) -> RunOptions {
    RunOptions {
        runs,
        timeout,
        ..RunOptions::default()
    }
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn every_library_scenario_vets_builds_runs_and_reports_every_simulated_metric() {
    let go = go();
    let options = options(1, Duration::from_secs(60));
    for entry in library::entries() {
        let scenario = entry.parse().unwrap();
        let source = scenarios::gosource::generate(&scenario);
        let built = realgo::build(&go, entry.name, &source, &options.cache_root)
            .unwrap_or_else(|e| panic!("{e}"));
        realgo::vet(&go, &built).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let again = realgo::build(&go, entry.name, &source, &options.cache_root).unwrap();
        assert!(
            again.reused,
            "{}: the second build is the cached one",
            entry.name
        );
        assert_eq!(again.binary, built.binary);

        // How the model says the program ends, over a few seeds: when every
        // seed agrees (a deterministic deadlock, or none), real Go must end
        // the same way; when they differ, the scenario is a race (a lock-order
        // deadlock, say) and real Go may end either way.
        let simulated: Vec<Summary> = (1..=SEEDS).map(|seed| simulate(&scenario, seed)).collect();
        let outcomes: Vec<&Outcome> = simulated.iter().map(|s| &s.outcome).collect();
        let deterministic = outcomes.iter().all(|o| *o == outcomes[0]);

        let real = realgo::measure(&go, &scenario, &options, &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let run = &real.runs[0];
        eprintln!(
            "{}: {} after {:.3}s wall, background load {:?} CPU-s/s (simulated, seeds 1-{SEEDS}: {})",
            entry.name,
            run.outcome,
            run.wall_s,
            run.background_cpu_per_wall_s,
            if deterministic {
                outcomes[0].reason.clone()
            } else {
                "differs by seed".to_string()
            }
        );
        let real_outcome = &run.summary.outcome;
        if deterministic {
            assert_eq!(
                (real_outcome.exit_code, &real_outcome.reason),
                (outcomes[0].exit_code, &outcomes[0].reason),
                "{}: stderr:\n{}",
                entry.name,
                run.stderr
            );
        } else {
            assert!(
                outcomes
                    .iter()
                    .any(|o| o.exit_code == real_outcome.exit_code
                        && o.reason == real_outcome.reason),
                "{}: real Go ended with {real_outcome:?}, which no seed of the model did ({outcomes:?}); stderr:\n{}",
                entry.name,
                run.stderr
            );
        }
        if real_outcome.exit_code != 0 {
            continue;
        }
        let simulated = simulated
            .iter()
            .find(|s| s.outcome.exit_code == 0)
            .expect("some seed completes");
        assert_eq!(
            run.outcome,
            RealOutcome::Completed,
            "{}: stderr:\n{}",
            entry.name,
            run.stderr
        );
        assert_eq!(run.summary.go_version, go.version);
        assert_eq!(run.summary.outcome.reason, "main returned");
        for (metric, value) in &simulated.metrics {
            let real_value = run.summary.get(metric).unwrap_or_else(|| {
                panic!(
                    "{}: the simulator reports {metric} but real Go does not; real: {:?}",
                    entry.name, run.summary.metrics
                )
            });
            assert_eq!(
                std::mem::discriminant(value),
                std::mem::discriminant(real_value),
                "{}: {metric} is {value:?} simulated but {real_value:?} real",
                entry.name
            );
        }
        if scenario.runtime.godebug.schedtrace_ms > 0 {
            let lines = scenarios::schedtrace::parse_schedtrace(&run.stderr)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            assert!(
                !lines.is_empty(),
                "{}: no schedtrace lines in:\n{}",
                entry.name,
                run.stderr
            );
        }
    }
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn a_real_program_that_sleeps_past_the_timeout_is_killed_and_reported() {
    let scenario = parse_scenario(
        r#"
format = 1
name = "sleeps-an-hour"
[runtime]
gomaxprocs = 1
[programs.main]
ops = [{ op = "sleep", duration = "1h" }]
"#,
        "sleeps-an-hour.toml",
    )
    .unwrap();
    let start = std::time::Instant::now();
    let real = realgo::measure(
        &go(),
        &scenario,
        &options(2, Duration::from_secs(2)),
        &mut |_| {},
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(60), "it waited");
    for run in &real.runs {
        assert_eq!(run.outcome, RealOutcome::Timeout { after_s: 2.0 });
    }
    assert_eq!(real.completed(), 0);
    assert!(real.figures.is_empty());
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn a_real_deadlock_is_gos_fatal_error_with_exit_status_2() {
    let scenario = parse_scenario(
        r#"
format = 1
name = "waits-forever"
wait_groups = ["never"]
[runtime]
gomaxprocs = 2
[programs.main]
ops = [
  { op = "wg_add", wait_group = "never", delta = 1 },
  { op = "wg_wait", wait_group = "never" },
]
"#,
        "waits-forever.toml",
    )
    .unwrap();
    let real = realgo::measure(
        &go(),
        &scenario,
        &options(1, Duration::from_secs(30)),
        &mut |_| {},
    )
    .unwrap();
    let run = &real.runs[0];
    let message = "fatal error: all goroutines are asleep - deadlock!";
    assert_eq!(
        run.outcome,
        RealOutcome::FatalError {
            message: message.to_string()
        },
        "{}",
        run.stderr
    );
    assert_eq!(run.summary.outcome.exit_code, 2);
    assert_eq!(run.summary.outcome.reason, message);
}

/// Qualitative, so it holds on a loaded machine too: quiet runs of
/// alloc-steady gave 101.25 cycles at GOGC=50 and 23.8 at GOGC=200, and a
/// run with another process using a whole CPU still gave 86.8 and 17.4.
// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn a_lower_gogc_makes_real_go_collect_more_often() {
    let go = go();
    let mut cycles = Vec::new();
    for gogc in [50, 200] {
        let mut scenario = library::get("alloc-steady").unwrap();
        scenario.runtime.gogc = gogc;
        let real = realgo::measure(
            &go,
            &scenario,
            &options(1, Duration::from_secs(60)),
            &mut |_| {},
        )
        .unwrap();
        let run = &real.runs[0];
        assert_eq!(run.summary.outcome.exit_code, 0, "{}", run.stderr);
        cycles.push(
            run.summary
                .count(sim_core::metrics::GC_CYCLES_TOTAL)
                .expect("the program reports its GC cycles"),
        );
    }
    assert!(
        cycles[0] > 2 * cycles[1],
        "GOGC=50: {} cycles, GOGC=200: {}",
        cycles[0],
        cycles[1]
    );
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn a_program_that_does_not_build_is_reported_with_gos_own_message() {
    let dir = std::env::temp_dir().join(format!("gmpsim-build-fails-{}", std::process::id()));
    let source = "package main\n\nfunc main() {\n\tundefinedFunction()\n}\n";
    let err = realgo::build(&go(), "broken", source, &dir).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, realgo::RealGoError::Build { .. }),
        "not a build error: {text}"
    );
    assert!(
        text.contains("failed to build") && text.contains("undefined: undefinedFunction"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
