//! Baselines: a library scenario's real-Go runs, recorded once on a quiet
//! machine and committed as `validation/baselines/NAME.json`, so that
//! `gmpsim validate` and the tests compare the model with real Go offline.
//!
//! A file holds the Go release, the machine (CPU model, CPU count, OS and
//! architecture), the settings the program ran with, the date, and every
//! run: its summary (runtime/metrics names, as the model reports them), wall
//! and CPU time, and the CPU other processes used per second during it.
//! Statistics are not stored: they are computed from the runs when read, so
//! the file cannot disagree with itself.

use scenarios::measure::{FigureStats, figure_stats, figures};
use scenarios::realgo::RealMeasurement;
use serde::{Deserialize, Serialize};
use sim_core::metrics::Summary;
use std::path::{Path, PathBuf};

/// Runs with more background load than this (CPU-seconds per second used by
/// other processes) are not recorded: a neighbour's build moves real Go's
/// GC and scheduling figures several-fold. On this 2-CPU machine, quiet,
/// alloc-steady's runs read 0.00-0.09 CPU-s/s and ran in 0.61-0.69 s; runs
/// reading up to 0.56 took 0.79-1.09 s.
pub const MAX_BACKGROUND_LOAD: f64 = 0.25;

/// /proc/stat counts CPU time in ticks of 10 ms per CPU, so a run of
/// `wall_s` cannot tell other processes' load finer than two ticks per CPU
/// over its length: a 0.1 s run on 2 CPUs reads up to 0.4 CPU-s/s of
/// nothing. The threshold for a run is [`MAX_BACKGROUND_LOAD`] plus that.
pub fn max_background_load(wall_s: f64, cpus: usize) -> f64 {
    const TICK_S: f64 = 0.01;
    MAX_BACKGROUND_LOAD + 2.0 * TICK_S * cpus as f64 / wall_s.max(TICK_S)
}

/// One recorded run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineRun {
    pub summary: Summary,
    pub wall_s: f64,
    pub process_cpu_s: f64,
    /// CPU-seconds per second other processes used during the run.
    pub background_load: Option<f64>,
    /// The start of the run's stderr (gctrace and schedtrace lines, a fatal
    /// error), for the report to set beside the model's; kept for the first
    /// run of each measuring round only, to keep the files small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_excerpt: Option<String>,
}

/// At most this many lines of a run's stderr are kept...
pub const STDERR_EXCERPT_LINES: usize = 200;
/// ...and at most this many bytes.
pub const STDERR_EXCERPT_BYTES: usize = 32 * 1024;

/// The first lines of `stderr`, within both caps.
pub fn stderr_excerpt(stderr: &str) -> String {
    let mut out = String::new();
    for line in stderr.lines().take(STDERR_EXCERPT_LINES) {
        if out.len() + line.len() + 1 > STDERR_EXCERPT_BYTES {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The machine the baseline was recorded on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub goos_goarch: String,
}

impl Machine {
    /// This machine (from /proc/cpuinfo on Linux).
    pub fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let goarch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Machine {
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            goos_goarch: format!("{}/{goarch}", std::env::consts::OS),
        }
    }
}

/// A scenario's recorded real-Go runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub scenario: String,
    pub go_version: String,
    pub machine: Machine,
    /// The day it was recorded (`YYYY-MM-DD`).
    pub recorded: String,
    pub gomaxprocs: u32,
    pub godebug: String,
    pub gogc: String,
    pub gomemlimit: String,
    /// Every run, in the order they ran.
    pub runs: Vec<BaselineRun>,
    /// Runs left out because the machine was busy (their loads).
    #[serde(default)]
    pub discarded_loads: Vec<f64>,
}

impl Baseline {
    /// The runs of `measured` as a baseline; runs with more background load
    /// than [`max_background_load`] allows are left out (their loads are
    /// kept), unless `keep_loaded` (a live check that found no quiet run
    /// judges with the loaded ones rather than with none, and says so).
    pub fn from_measurement(
        measured: &RealMeasurement,
        recorded: &str,
        keep_loaded: bool,
    ) -> Baseline {
        let mut runs = Vec::new();
        let mut discarded_loads = Vec::new();
        let cpus = Machine::this().cpus;
        for run in &measured.runs {
            match run.background_cpu_per_wall_s {
                Some(load) if !keep_loaded && load > max_background_load(run.wall_s, cpus) => {
                    discarded_loads.push(load)
                }
                load => runs.push(BaselineRun {
                    summary: run.summary.clone(),
                    wall_s: run.wall_s,
                    process_cpu_s: run.process_cpu_s,
                    background_load: load,
                    stderr_excerpt: runs.is_empty().then(|| stderr_excerpt(&run.stderr)),
                }),
            }
        }
        Baseline {
            scenario: measured.scenario.clone(),
            go_version: measured.go_version.clone(),
            machine: Machine::this(),
            recorded: recorded.to_string(),
            gomaxprocs: measured.gomaxprocs,
            godebug: measured.godebug.clone(),
            gogc: measured.gogc.clone(),
            gomemlimit: measured.gomemlimit.clone(),
            runs,
            discarded_loads,
        }
    }

    /// The first recorded stderr excerpt, if any run has one.
    pub fn stderr_excerpt(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| r.stderr_excerpt.as_deref())
    }

    /// Where the runs come from: "5 runs of go1.27.3 on CPU (2 CPUs,
    /// linux/amd64), recorded DATE; GOMAXPROCS=2 GOGC=100 GOMEMLIMIT=off
    /// GODEBUG=-".
    pub fn provenance(&self) -> String {
        format!(
            "{} runs of {} on {} ({} CPUs, {}), recorded {}; GOMAXPROCS={} GOGC={} GOMEMLIMIT={} GODEBUG={}",
            self.runs.len(),
            self.go_version,
            self.machine.cpu_model,
            self.machine.cpus,
            self.machine.goos_goarch,
            self.recorded,
            self.gomaxprocs,
            self.gogc,
            self.gomemlimit,
            if self.godebug.is_empty() {
                "-"
            } else {
                &self.godebug
            }
        )
    }

    /// Where the baseline of `scenario` lives under `dir`.
    pub fn path(dir: &Path, scenario: &str) -> PathBuf {
        dir.join(format!("{scenario}.json"))
    }

    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the baseline: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a baseline file: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("a baseline serialises");
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The runs that completed (the others have no figures).
    pub fn completed(&self) -> Vec<&Summary> {
        self.runs
            .iter()
            .map(|r| &r.summary)
            .filter(|s| s.outcome.exit_code == 0 && !s.metrics.is_empty())
            .collect()
    }

    /// Mean, min, max and coefficient of variation of every figure the
    /// completed runs report.
    pub fn stats(&self) -> Vec<(FigureStats, f64)> {
        let completed = self.completed();
        figure_stats(&completed)
            .into_iter()
            .map(|s| {
                let values: Vec<f64> = completed
                    .iter()
                    .flat_map(|c| figures(c))
                    .filter(|f| f.name == s.name)
                    .map(|f| f.value)
                    .collect();
                let cv = coefficient_of_variation(&values, s.mean);
                (s, cv)
            })
            .collect()
    }
}

/// Standard deviation (of the sample) over the mean; 0 for fewer than two
/// values or a zero mean.
pub fn coefficient_of_variation(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 || mean == 0.0 {
        return 0.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    var.sqrt() / mean.abs()
}

/// How a real run ended, as the outcome comparison sees it.
pub fn outcome_of(run: &BaselineRun) -> (i32, String) {
    (
        run.summary.outcome.exit_code,
        run.summary.outcome.reason.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stderr_excerpt_keeps_whole_lines_within_both_caps() {
        let many: String = (0..500).map(|i| format!("gc {i} line\n")).collect();
        let kept = stderr_excerpt(&many);
        assert_eq!(kept.lines().count(), STDERR_EXCERPT_LINES);
        assert!(kept.starts_with("gc 0 line\n") && kept.ends_with("gc 199 line\n"));
        let long: String = (0..100)
            .map(|_| format!("{}\n", "x".repeat(1000)))
            .collect();
        let kept = stderr_excerpt(&long);
        assert!(kept.len() <= STDERR_EXCERPT_BYTES, "{}", kept.len());
        assert_eq!(kept.lines().count(), STDERR_EXCERPT_BYTES / 1001);
        assert!(kept.lines().all(|l| l.len() == 1000));
    }

    #[test]
    fn the_coefficient_of_variation_is_the_sample_deviation_over_the_mean() {
        let values = [9.0, 10.0, 11.0];
        assert!((coefficient_of_variation(&values, 10.0) - 0.1).abs() < 1e-12);
        assert_eq!(coefficient_of_variation(&[5.0], 5.0), 0.0);
        assert_eq!(coefficient_of_variation(&[0.0, 0.0], 0.0), 0.0);
    }

    #[test]
    fn short_runs_allow_for_the_tick_granularity_of_the_load_reading() {
        assert!((max_background_load(0.1, 2) - 0.65).abs() < 1e-9);
        assert!((max_background_load(10.0, 2) - 0.254).abs() < 1e-9);
    }
}
