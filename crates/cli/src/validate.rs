//! `gmpsim validate`: the model against recorded real-Go baselines (or, with
//! `--live`, against real Go measured now), figure by figure, with the
//! tolerances of `validation/tolerances.toml`; the headline is "N of M
//! comparisons within tolerance; K of K outcomes match". `--live --record`
//! refreshes the baselines from quiet runs; `--update-passing` rewrites the
//! ratchet's list of passing comparisons.

use crate::{ProgressDisplay, bad_input};
use std::path::PathBuf;
use std::process::ExitCode;
use validation::baseline::Baseline;
use validation::tolerance::Tolerances;
use validation::verdict::{
    Headline, Judgement, ScenarioReport, parse_passing, passing_file_text, passing_keys,
    validate_scenario,
};

/// Exit status when a comparison listed as passing fails (the ratchet).
const EXIT_REGRESSED: u8 = 4;

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Library scenarios to validate (default: every one with a baseline).
    scenarios: Vec<String>,
    /// Measure real Go now instead of reading the recorded baselines.
    #[arg(long)]
    live: bool,
    /// With --live: how many times to run each real program.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// With --live: write the measurements as the new baselines (runs made
    /// while other processes used more than 0.25 CPU-s/s, beyond what the
    /// load reading can resolve on a short run, are left out and measured
    /// again, up to three rounds).
    #[arg(long, requires = "live")]
    record: bool,
    /// Rewrite validation/passing.txt with the comparisons that pass now.
    #[arg(long)]
    update_passing: bool,
    /// Print every comparison, not only each scenario's failures.
    #[arg(long)]
    verbose: bool,
    /// The baselines' directory.
    #[arg(long, value_name = "DIR")]
    baselines: Option<PathBuf>,
    /// Also write a self-contained HTML report, DIR/index.html: failing
    /// comparisons first with the likely mechanism, GOGC and GOMAXPROCS
    /// sweeps, latency, and per scenario the table, the model's heap over
    /// time and its stderr.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print the sensitivity check: GOMAXPROCS 1→2→4 (cpu-fanout) and GOGC
    /// 50→100→200 (alloc-steady), the factor each step moves a figure by,
    /// model vs real.
    #[arg(long)]
    sensitivity: bool,
    /// Simulate with the cost model in FILE (e.g. a `gmpsim calibrate` fit)
    /// instead of the committed defaults.
    #[arg(long, value_name = "FILE")]
    cost_model: Option<PathBuf>,
}

pub fn validate(args: ValidateArgs) -> ExitCode {
    let dir = validation::data_dir();
    let baselines_dir = args.baselines.clone().unwrap_or(dir.join("baselines"));
    let tolerances = match Tolerances::load(&dir.join("tolerances.toml")) {
        Ok(t) => t,
        Err(e) => return bad_input(&e),
    };
    let cost = match &args.cost_model {
        Some(path) => match scenarios::load_cost_model(path) {
            Ok(c) => c,
            Err(e) => return bad_input(&e.to_string()),
        },
        None => Default::default(),
    };
    let names: Vec<String> = if args.scenarios.is_empty() {
        scenarios::library::entries()
            .iter()
            .map(|e| e.name.to_string())
            .collect()
    } else {
        args.scenarios.clone()
    };
    let mut live_run = None;
    if args.live {
        match scenarios::realgo::GoToolchain::locate() {
            Ok(go) => live_run = Some(go),
            Err(e) => return bad_input(&e.to_string()),
        }
    }
    let mut reports = Vec::new();
    let mut extras = Vec::new();
    let mut missing = Vec::new();
    for name in &names {
        let Some(scenario) = scenarios::library::get(name) else {
            return bad_input(&format!(
                "{name}: no library scenario has this name (see `gmpsim list`)"
            ));
        };
        let baseline = match &live_run {
            Some(go) => {
                // Measure until `runs` quiet runs are in, at most three
                // rounds: a neighbour's burst of work usually passes.
                let wanted = args.runs as usize;
                let mut baseline: Option<Baseline> = None;
                let mut measurements = Vec::new();
                for _ in 0..3 {
                    let have = baseline.as_ref().map_or(0, |b| b.runs.len());
                    if have >= wanted {
                        break;
                    }
                    let options = scenarios::realgo::RunOptions {
                        runs: wanted - have,
                        ..Default::default()
                    };
                    let mut progress = ProgressDisplay::new(name, options.runs);
                    let measured = scenarios::realgo::measure(go, &scenario, &options, &mut |p| {
                        progress.update(p)
                    });
                    progress.finish();
                    let round = match measured {
                        Ok(m) => {
                            let round = Baseline::from_measurement(&m, &today(), false);
                            measurements.push(m);
                            round
                        }
                        Err(e) => {
                            eprintln!("validate: {name}: real Go: {e}");
                            break;
                        }
                    };
                    match &mut baseline {
                        None => baseline = Some(round),
                        Some(b) => {
                            b.runs.extend(round.runs);
                            b.discarded_loads.extend(round.discarded_loads);
                        }
                    }
                }
                let Some(mut baseline) = baseline else {
                    continue;
                };
                if !baseline.discarded_loads.is_empty() {
                    eprintln!(
                        "validate: {name}: left out {} run(s) made while other processes used {:?} CPU-s/s (a neighbour at work)",
                        baseline.discarded_loads.len(),
                        baseline.discarded_loads
                    );
                }
                if baseline.runs.is_empty() && !args.record {
                    // Judging with loaded runs beats judging with none; the
                    // figures may be off, so say so where they are shown.
                    let mut loaded: Option<Baseline> = None;
                    for m in &measurements {
                        let round = Baseline::from_measurement(m, &today(), true);
                        match &mut loaded {
                            None => loaded = Some(round),
                            Some(b) => b.runs.extend(round.runs),
                        }
                    }
                    if let Some(loaded) = loaded {
                        eprintln!(
                            "validate: {name}: no quiet run in three rounds; judging with the {} loaded run(s), whose figures may be off",
                            loaded.runs.len()
                        );
                        baseline = loaded;
                    }
                }
                if args.record {
                    if baseline.runs.is_empty() {
                        eprintln!("validate: {name}: every run was loaded; baseline not written");
                    } else {
                        if let Err(e) = std::fs::create_dir_all(&baselines_dir) {
                            return bad_input(&format!("{}: {e}", baselines_dir.display()));
                        }
                        let path = Baseline::path(&baselines_dir, name);
                        if let Err(e) = baseline.save(&path) {
                            return bad_input(&e);
                        }
                        eprintln!("validate: wrote {}", path.display());
                    }
                }
                baseline
            }
            None => {
                let path = Baseline::path(&baselines_dir, name);
                if !path.is_file() {
                    missing.push(name.clone());
                    continue;
                }
                match Baseline::load(&path) {
                    Ok(b) => b,
                    Err(e) => return bad_input(&e),
                }
            }
        };
        match validate_scenario(&scenario, &baseline, &tolerances, &cost) {
            Ok(report) => {
                print_report(&report, args.verbose);
                if args.report.is_some() {
                    extras.push(report_extras(&scenario, &baseline, &cost));
                }
                reports.push(report);
            }
            Err(e) => return bad_input(&e),
        }
    }
    if !missing.is_empty() {
        println!(
            "\nno baseline for {} scenario(s): {} (record with `gmpsim validate --live --record NAME`)",
            missing.len(),
            missing.join(", ")
        );
    }
    let headline = Headline::of(&reports);
    if args.sensitivity {
        print!("\n{}", validation::report::sensitivity_text(&reports));
    }
    println!("\n{headline}");
    if let Some(out) = &args.report {
        match validation::report::write(out, &reports, &extras, &headline) {
            Ok(path) => println!("report: {}", path.display()),
            Err(e) => return bad_input(&e),
        }
    }

    let passing_path = dir.join("passing.txt");
    let now_passing = passing_keys(&reports);
    if args.update_passing {
        if let Err(e) = std::fs::write(&passing_path, passing_file_text(&now_passing)) {
            return bad_input(&format!("{}: {e}", passing_path.display()));
        }
        println!(
            "wrote {} ({} comparisons)",
            passing_path.display(),
            now_passing.len()
        );
        return ExitCode::SUCCESS;
    }
    let validated: Vec<&str> = reports.iter().map(|r| r.scenario.as_str()).collect();
    let listed = std::fs::read_to_string(&passing_path)
        .map(|t| parse_passing(&t))
        .unwrap_or_default();
    let regressed: Vec<&String> = listed
        .iter()
        .filter(|k| {
            let scenario = k.split('\t').next().unwrap_or_default();
            validated.contains(&scenario) && !now_passing.contains(k)
        })
        .collect();
    if regressed.is_empty() {
        return ExitCode::SUCCESS;
    }
    // The ratchet holds the model to the recorded baselines; live runs on
    // another machine, or under another load, may move a figure out of its
    // band without the model having changed, so they are told, not failed.
    if args.live {
        println!(
            "\n{} comparison(s) listed in {} (passing against the recorded baselines) do not pass against these live runs:",
            regressed.len(),
            passing_path.display()
        );
    } else {
        println!(
            "\n{} comparison(s) listed in {} no longer pass:",
            regressed.len(),
            passing_path.display()
        );
    }
    for k in &regressed {
        println!("  {}", k.replace('\t', "  "));
    }
    if args.live {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REGRESSED)
    }
}

/// The model's stderr (with gctrace, as real Go ran with it) and the
/// baseline's header, for the HTML report.
fn report_extras(
    scenario: &scenarios::Scenario,
    baseline: &Baseline,
    cost: &sim_core::cost::CostModel,
) -> validation::report::ScenarioExtras {
    let mut runtime = scenario.runtime.clone();
    if baseline.godebug.split(',').any(|s| s == "gctrace=1") {
        runtime.godebug.gctrace = true;
    }
    let mut world = sim_sched::World::new(
        &scenario.workload,
        sim_sched::SimConfig {
            seed: 1,
            runtime,
            cost: cost.clone(),
            record_trace: false,
        },
    )
    .with_go_harness();
    world.run();
    let loads: Vec<f64> = baseline
        .runs
        .iter()
        .filter_map(|r| r.background_load)
        .collect();
    validation::report::ScenarioExtras {
        model_stderr: world.stderr().to_string(),
        real_stderr: baseline.stderr_excerpt().map(str::to_string),
        baseline_note: format!(
            "real: {}; background load per run {:?} CPU-s/s; {} loaded run(s) left out",
            baseline.provenance(),
            loads,
            baseline.discarded_loads.len()
        ),
    }
}

fn print_report(report: &ScenarioReport, verbose: bool) {
    let failed = report
        .comparisons
        .iter()
        .filter(|c| c.judgement == Judgement::Fail)
        .count();
    let passed = report
        .comparisons
        .iter()
        .filter(|c| c.judgement == Judgement::Pass)
        .count();
    let loads = if report.loads.is_empty() {
        String::new()
    } else {
        let max = report.loads.iter().copied().fold(0.0, f64::max);
        format!(", background load up to {max:.2} CPU-s/s")
    };
    println!(
        "\n== {}: {passed} of {} within tolerance; outcome {} ({} real runs{loads})",
        report.scenario,
        passed + failed,
        if report.outcome.matches() {
            "matches".to_string()
        } else {
            format!(
                "DIFFERS: model {:?}, real {:?}",
                report.outcome.model, report.outcome.real
            )
        },
        report.real_runs,
    );
    for c in &report.comparisons {
        if !verbose && c.judgement != Judgement::Fail {
            continue;
        }
        let verdict = match c.judgement {
            Judgement::Pass => "ok",
            Judgement::Fail => "FAIL",
            Judgement::NotCompared | Judgement::FewRealSamples { .. } => "-",
        };
        let model = c.simulated.map_or("no samples".to_string(), show);
        let rule = match c.judgement {
            Judgement::FewRealSamples {
                reporting_runs,
                runs,
            } => format!("not compared: samples in {reporting_runs} of {runs} real runs"),
            _ => format!("rule: {:?} {}", c.rule.kind, c.rule.tolerance),
        };
        if c.real.runs == 0 {
            println!(
                "  {verdict:<4} {:<46} model {model:>14} real {:>14}  {rule}",
                c.figure, "no samples"
            );
            continue;
        }
        println!(
            "  {:<4} {:<46} model {:>14} real {:>14} ({} – {}, CV {:.1}%)  {rule}",
            verdict,
            c.figure,
            model,
            show(c.real.mean),
            show(c.real.min),
            show(c.real.max),
            100.0 * c.real_cv,
        );
    }
}

fn show(v: f64) -> String {
    if v != 0.0 && (v.abs() < 0.01 || v.abs() >= 1e7) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// Today's date in UTC, `YYYY-MM-DD` (the day a baseline was recorded).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// Where to write the fitted cost model (TOML, for `--cost-model FILE`).
    #[arg(long, default_value = "host-costs.toml", value_name = "FILE")]
    out: PathBuf,
    /// Kill the benchmark program after this many seconds.
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    timeout: f64,
}

/// `gmpsim calibrate`: Go micro-benchmarks on this machine, the cost model
/// fitted to them, written to a file; the committed default is untouched.
pub fn calibrate(args: CalibrateArgs) -> ExitCode {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return bad_input(&format!(
            "--timeout: must be a positive number of seconds, got {}",
            args.timeout
        ));
    }
    let go = match scenarios::realgo::GoToolchain::locate() {
        Ok(go) => go,
        Err(e) => return bad_input(&e.to_string()),
    };
    match validation::calibrate::run(
        &go,
        &args.out,
        std::time::Duration::from_secs_f64(args.timeout),
    ) {
        Ok(text) => {
            print!("{text}");
            println!(
                "wrote {} (use it with --cost-model {})",
                args.out.display(),
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => bad_input(&e),
    }
}
