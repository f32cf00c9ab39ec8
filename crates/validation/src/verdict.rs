//! Judging the model against a baseline, figure by figure, and outcomes.

use crate::baseline::{Baseline, outcome_of};
use crate::tolerance::{Rule, RuleKind, Tolerances};
use scenarios::Scenario;
use scenarios::measure::{FigureStats, figure_stats};
use sim_core::cost::CostModel;
use sim_core::metrics::Summary;
use sim_sched::{SimConfig, World};
use std::fmt::Write;

/// The seeds whose outcomes the model contributes (as many as the real
/// runs, at least this many).
pub const MIN_MODEL_SEEDS: u64 = 5;

/// What a comparison came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Judgement {
    Pass,
    Fail,
    /// Shown, not judged (the rule's basis says why).
    NotCompared,
    /// Shown, not judged: fewer than half of the completed real runs report
    /// the figure (a distribution that held no samples in the others), so
    /// its real value rests on a sample or two that Go's 1-in-8 sampling
    /// happened to draw.
    FewRealSamples {
        reporting_runs: usize,
        runs: usize,
    },
}

/// One figure of one scenario, model beside real.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub figure: String,
    /// The mean over the model's seeds that report the figure; none if no
    /// seed does (a distribution without samples in every seed).
    pub simulated: Option<f64>,
    /// The real runs' spread; `runs` is 0 if no completed run reports it.
    pub real: FigureStats,
    /// The real runs' coefficient of variation.
    pub real_cv: f64,
    pub rule: Rule,
    pub judgement: Judgement,
}

/// How the program ends: the distinct outcomes (exit status, reason) of the
/// model's seeds and of the real runs.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeCheck {
    pub model: Vec<(i32, String)>,
    pub real: Vec<(i32, String)>,
}

impl OutcomeCheck {
    /// Both sides show the same outcomes: the same one everywhere for a
    /// deterministic program, the same mix for a race.
    pub fn matches(&self) -> bool {
        self.model == self.real
    }
}

/// One scenario's validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioReport {
    pub scenario: String,
    pub comparisons: Vec<Comparison>,
    pub outcome: OutcomeCheck,
    /// Real runs in the baseline and their background loads.
    pub real_runs: usize,
    pub loads: Vec<f64>,
}

/// Judges `simulated` against `real` by `rule`.
pub fn judge(rule: &Rule, simulated: f64, real: &FigureStats) -> Judgement {
    let mean = real.mean;
    let pass = match rule.kind {
        RuleKind::Skip => return Judgement::NotCompared,
        RuleKind::Relative => {
            if mean == 0.0 {
                simulated == 0.0
            } else {
                (simulated - mean).abs() <= rule.tolerance * mean.abs()
            }
        }
        RuleKind::Bound => {
            if mean <= 0.0 || simulated <= 0.0 {
                simulated == mean
            } else {
                simulated >= mean / rule.tolerance && simulated <= mean * rule.tolerance
            }
        }
        RuleKind::Range => {
            let slack = rule.tolerance * mean.abs();
            simulated >= real.min - slack && simulated <= real.max + slack
        }
    };
    if pass {
        Judgement::Pass
    } else {
        Judgement::Fail
    }
}

/// Judges a figure that the model's seeds may lack (`simulated` is none:
/// a distribution without samples in every seed) and that only some of the
/// `real_completed` runs may report: fewer than half of them is too few to
/// judge by; most of them with samples and no seed with any is a failure.
pub fn judge_figure(
    rule: &Rule,
    simulated: Option<f64>,
    real: &FigureStats,
    real_completed: usize,
) -> Judgement {
    if rule.kind == RuleKind::Skip {
        return Judgement::NotCompared;
    }
    if real.runs * 2 < real_completed {
        return Judgement::FewRealSamples {
            reporting_runs: real.runs,
            runs: real_completed,
        };
    }
    match simulated {
        Some(value) => judge(rule, value, real),
        None => Judgement::Fail,
    }
}

/// Simulates `scenario` with `cost` (the committed default unless the user
/// named a `--cost-model` file) and seeds 1..=N (N = the real runs, at least
/// [`MIN_MODEL_SEEDS`]) and judges it against `baseline`: each figure is the
/// mean over the seeds that completed, as the real side is the mean over the
/// runs that completed, so one seed's luck (a latency sample that happened to
/// be empty, a pause that happened to be long) weighs as one real run's does.
/// An error names a figure that has no rule.
pub fn validate_scenario(
    scenario: &Scenario,
    baseline: &Baseline,
    tolerances: &Tolerances,
    cost: &CostModel,
) -> Result<ScenarioReport, String> {
    let seeds = MIN_MODEL_SEEDS.max(baseline.runs.len() as u64);
    let mut model_outcomes = Vec::new();
    let mut model_summaries = Vec::new();
    for seed in 1..=seeds {
        let mut world = World::new(
            &scenario.workload,
            SimConfig {
                seed,
                runtime: scenario.runtime.clone(),
                cost: cost.clone(),
                record_trace: false,
            },
        )
        .with_go_harness();
        world.run();
        let summary = world.summary();
        model_outcomes.push((summary.outcome.exit_code, summary.outcome.reason.clone()));
        model_summaries.push(summary);
    }
    // Like real Go's figures (`Baseline::completed`), the model's come from
    // the runs that completed: a seed that deadlocked reports none.
    let completed: Vec<&Summary> = model_summaries
        .iter()
        .filter(|s| s.outcome.exit_code == 0)
        .collect();
    let model_stats = figure_stats(&completed);
    let mut real_outcomes: Vec<(i32, String)> = baseline.runs.iter().map(outcome_of).collect();
    for list in [&mut model_outcomes, &mut real_outcomes] {
        list.sort();
        list.dedup();
    }
    let stats = baseline.stats();
    let real_completed = baseline.completed().len();
    // The model's figures, then the fields of a distribution whose samples
    // only real runs drew (the model's seeds report its count alone). A
    // metric the model does not keep at all is not compared, and nothing is
    // when no real run completed (real Go reported no figures: outcomes only).
    let mut names: Vec<(String, scenarios::measure::FigureUnit)> = if real_completed == 0 {
        Vec::new()
    } else {
        model_stats
            .iter()
            .map(|f| (f.name.clone(), f.unit))
            .collect()
    };
    for (real, _) in &stats {
        let of_a_model_distribution = real.name.rsplit_once(' ').is_some_and(|(metric, _)| {
            let count = format!("{metric} count");
            model_stats.iter().any(|f| f.name == count)
        });
        if of_a_model_distribution && !names.iter().any(|(n, _)| *n == real.name) {
            names.push((real.name.clone(), real.unit));
        }
    }
    let mut comparisons = Vec::new();
    for (name, unit) in names {
        let rule = tolerances.rule_for(&name).ok_or_else(|| {
            format!(
                "{}: no rule for the figure `{name}`: add one to validation/tolerances.toml",
                scenario.name
            )
        })?;
        let simulated = model_stats.iter().find(|f| f.name == name).map(|f| f.mean);
        let (real, cv) = match stats.iter().find(|(s, _)| s.name == name) {
            Some((real, cv)) => (real.clone(), *cv),
            None => (
                FigureStats {
                    name: name.clone(),
                    unit,
                    mean: 0.0,
                    min: 0.0,
                    max: 0.0,
                    runs: 0,
                },
                0.0,
            ),
        };
        let judgement = judge_figure(rule, simulated, &real, real_completed);
        comparisons.push(Comparison {
            judgement,
            figure: name,
            simulated,
            real,
            real_cv: cv,
            rule: rule.clone(),
        });
    }
    Ok(ScenarioReport {
        scenario: scenario.name.clone(),
        comparisons,
        outcome: OutcomeCheck {
            model: model_outcomes,
            real: real_outcomes,
        },
        real_runs: baseline.runs.len(),
        loads: baseline
            .runs
            .iter()
            .filter_map(|r| r.background_load)
            .collect(),
    })
}

/// The whole library's tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Headline {
    pub passed: usize,
    pub compared: usize,
    pub outcomes_matched: usize,
    pub outcomes: usize,
}

impl Headline {
    pub fn of(reports: &[ScenarioReport]) -> Headline {
        let mut h = Headline::default();
        for r in reports {
            for c in &r.comparisons {
                match c.judgement {
                    Judgement::Pass => {
                        h.passed += 1;
                        h.compared += 1;
                    }
                    Judgement::Fail => h.compared += 1,
                    Judgement::NotCompared | Judgement::FewRealSamples { .. } => {}
                }
            }
            h.outcomes += 1;
            h.outcomes_matched += usize::from(r.outcome.matches());
        }
        h
    }
}

impl std::fmt::Display for Headline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let percent = if self.compared == 0 {
            0.0
        } else {
            100.0 * self.passed as f64 / self.compared as f64
        };
        write!(
            f,
            "{} of {} comparisons within tolerance ({percent:.1}%); {} of {} outcomes match",
            self.passed, self.compared, self.outcomes_matched, self.outcomes
        )
    }
}

/// `scenario<TAB>figure` for every comparison that passes: the ratchet's
/// list (`validation/passing.txt`).
pub fn passing_keys(reports: &[ScenarioReport]) -> Vec<String> {
    let mut keys: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r.comparisons
                .iter()
                .filter(|c| c.judgement == Judgement::Pass)
                .map(move |c| format!("{}\t{}", r.scenario, c.figure))
        })
        .collect();
    keys.sort();
    keys
}

/// The ratchet's list as a file's text, with a header saying what it is.
pub fn passing_file_text(keys: &[String]) -> String {
    let mut out = String::from(
        "# Comparisons (scenario, figure) that pass today. A test fails when one of them\n\
         # stops passing. `gmpsim validate --update-passing` rewrites this file.\n",
    );
    for k in keys {
        let _ = writeln!(out, "{k}");
    }
    out
}

/// The keys a passing-list file holds (comments and blank lines skipped).
pub fn parse_passing(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::measure::FigureUnit;

    fn stats(mean: f64, min: f64, max: f64) -> FigureStats {
        FigureStats {
            name: "f".into(),
            unit: FigureUnit::Value,
            mean,
            min,
            max,
            runs: 5,
        }
    }

    fn rule(kind: RuleKind, tolerance: f64) -> Rule {
        Rule {
            figure: "f".into(),
            kind,
            tolerance,
            basis: "test".into(),
        }
    }

    #[test]
    fn each_kind_of_rule_judges_as_documented() {
        let r = stats(100.0, 95.0, 104.0);
        let relative = rule(RuleKind::Relative, 0.10);
        assert_eq!(judge(&relative, 110.0, &r), Judgement::Pass);
        assert_eq!(judge(&relative, 110.1, &r), Judgement::Fail);
        assert_eq!(judge(&relative, 89.9, &r), Judgement::Fail);
        let bound = rule(RuleKind::Bound, 3.0);
        assert_eq!(judge(&bound, 300.0, &r), Judgement::Pass);
        assert_eq!(judge(&bound, 33.4, &r), Judgement::Pass);
        assert_eq!(judge(&bound, 33.3, &r), Judgement::Fail);
        assert_eq!(judge(&bound, 0.0, &r), Judgement::Fail);
        let range = rule(RuleKind::Range, 0.0);
        assert_eq!(judge(&range, 95.0, &r), Judgement::Pass);
        assert_eq!(judge(&range, 104.5, &r), Judgement::Fail);
        assert_eq!(
            judge(&rule(RuleKind::Range, 0.01), 104.5, &r),
            Judgement::Pass
        );
        assert_eq!(
            judge(&rule(RuleKind::Skip, 0.0), 1e9, &r),
            Judgement::NotCompared
        );
        // A real mean of zero: only zero passes.
        let zero = stats(0.0, 0.0, 0.0);
        assert_eq!(judge(&relative, 0.0, &zero), Judgement::Pass);
        assert_eq!(judge(&relative, 1.0, &zero), Judgement::Fail);
    }

    #[test]
    fn a_figure_few_real_runs_report_is_not_judged_and_one_no_seed_reports_fails() {
        let bound = rule(RuleKind::Bound, 3.0);
        let mut real = stats(100.0, 50.0, 150.0);
        real.runs = 2;
        assert_eq!(
            judge_figure(&bound, Some(1e9), &real, 5),
            Judgement::FewRealSamples {
                reporting_runs: 2,
                runs: 5
            }
        );
        real.runs = 3;
        assert_eq!(judge_figure(&bound, Some(100.0), &real, 5), Judgement::Pass);
        assert_eq!(judge_figure(&bound, Some(1e9), &real, 5), Judgement::Fail);
        assert_eq!(judge_figure(&bound, None, &real, 5), Judgement::Fail);
        // Half of an even number of runs is enough.
        real.runs = 1;
        assert_eq!(judge_figure(&bound, Some(100.0), &real, 2), Judgement::Pass);
        assert_eq!(
            judge_figure(&rule(RuleKind::Skip, 0.0), None, &real, 2),
            Judgement::NotCompared
        );
    }

    #[test]
    fn the_passing_list_round_trips_through_its_file() {
        let keys = vec!["a\t/x".to_string(), "b\t/y p99".to_string()];
        assert_eq!(parse_passing(&passing_file_text(&keys)), keys);
    }
}
