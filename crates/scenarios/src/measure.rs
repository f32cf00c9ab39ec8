//! Summaries as lists of numbers, and their spread over several runs.
//!
//! A [`Summary`] holds counts, floats and histogram summaries by metric name.
//! To show a simulated run beside N real ones, each is flattened into
//! [`Figure`]s, one number each (`/sched/latencies:seconds p99`), real runs
//! are reduced to mean, min and max per figure ([`figure_stats`]), and
//! [`compare`] lines them up with the simulated value.
//!
//! This is plain arithmetic for display. Judging whether a difference is
//! acceptable (tolerances per metric) belongs to the validation crate.

use serde::Serialize;
use sim_core::metrics::{MetricValue, Summary};

/// What a figure counts or measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureUnit {
    /// A duration in seconds (metrics named `...:seconds`, and CPU time,
    /// `...:cpu-seconds`).
    Seconds,
    /// A count: goroutines, threads, samples, events.
    Count,
    /// Any other quantity, in the unit the metric's name gives.
    Value,
}

/// One number from a summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// The metric and, for a histogram, the field: `/sched/latencies:seconds p99`.
    pub name: String,
    pub unit: FigureUnit,
    pub value: f64,
}

/// The fields of a histogram summary, in the order they are shown.
const HISTOGRAM_FIELDS: [&str; 5] = ["count", "p50", "p99", "max", "mean"];

/// The summary's metrics (not the model-only ones) as figures, in metric-name
/// order, a histogram's fields in the order count, p50, p99, max, mean. A
/// histogram that holds no samples has a count and nothing else: its
/// quantiles and mean do not exist (its summary's zeros are placeholders),
/// so a run without samples does not pull a mean over runs towards zero.
pub fn figures(summary: &Summary) -> Vec<Figure> {
    let mut out = Vec::new();
    for (metric, value) in &summary.metrics {
        let float_unit = if metric.ends_with(":seconds") || metric.ends_with(":cpu-seconds") {
            FigureUnit::Seconds
        } else {
            FigureUnit::Value
        };
        match value {
            MetricValue::Count(v) => out.push(Figure {
                name: metric.clone(),
                unit: FigureUnit::Count,
                value: *v as f64,
            }),
            MetricValue::Float(v) => out.push(Figure {
                name: metric.clone(),
                unit: float_unit,
                value: *v,
            }),
            MetricValue::Histogram(h) => {
                let values = [h.count as f64, h.p50, h.p99, h.max, h.mean];
                let fields = if h.count == 0 { 1 } else { values.len() };
                for (field, v) in HISTOGRAM_FIELDS.iter().zip(values).take(fields) {
                    out.push(Figure {
                        name: format!("{metric} {field}"),
                        unit: if *field == "count" {
                            FigureUnit::Count
                        } else {
                            float_unit
                        },
                        value: v,
                    });
                }
            }
        }
    }
    out
}

/// One figure over several runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FigureStats {
    pub name: String,
    pub unit: FigureUnit,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// How many of the runs reported it.
    pub runs: usize,
}

/// Mean, min and max of every figure the summaries report, in the order
/// they first appear.
pub fn figure_stats(summaries: &[&Summary]) -> Vec<FigureStats> {
    let mut stats: Vec<(FigureStats, f64)> = Vec::new(); // with the running sum
    for summary in summaries {
        for f in figures(summary) {
            match stats.iter_mut().find(|(s, _)| s.name == f.name) {
                Some((s, sum)) => {
                    *sum += f.value;
                    s.runs += 1;
                    s.min = s.min.min(f.value);
                    s.max = s.max.max(f.value);
                }
                None => stats.push((
                    FigureStats {
                        name: f.name,
                        unit: f.unit,
                        mean: 0.0,
                        min: f.value,
                        max: f.value,
                        runs: 1,
                    },
                    f.value,
                )),
            }
        }
    }
    stats
        .into_iter()
        .map(|(mut s, sum)| {
            s.mean = sum / s.runs as f64;
            s
        })
        .collect()
}

/// A figure, simulated and real.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonRow {
    pub name: String,
    pub unit: FigureUnit,
    /// The model's value, if the simulated run reports it.
    pub simulated: Option<f64>,
    /// The real runs' spread, if any completed run reports it.
    pub real: Option<FigureStats>,
    /// Real mean minus simulated.
    pub difference: Option<f64>,
    /// The difference relative to the simulated value, where that means
    /// something: durations, and counts of at least 10 (one goroutine more
    /// than 2 is not "+50%" in any useful sense).
    pub relative_difference: Option<f64>,
}

/// Smallest simulated count whose relative difference is shown.
const MIN_COUNT_FOR_RELATIVE: f64 = 10.0;

/// The simulated figures beside the real ones: every figure either side
/// reports, the simulated ones first.
pub fn compare(simulated: &Summary, real: &[FigureStats]) -> Vec<ComparisonRow> {
    let sim = figures(simulated);
    let mut rows: Vec<ComparisonRow> = sim
        .iter()
        .map(|f| row(&f.name, f.unit, Some(f.value), real))
        .collect();
    for r in real {
        if !sim.iter().any(|f| f.name == r.name) {
            rows.push(row(&r.name, r.unit, None, real));
        }
    }
    rows
}

fn row(
    name: &str,
    unit: FigureUnit,
    simulated: Option<f64>,
    real: &[FigureStats],
) -> ComparisonRow {
    let real = real.iter().find(|r| r.name == name).cloned();
    let difference = match (simulated, &real) {
        (Some(s), Some(r)) => Some(r.mean - s),
        _ => None,
    };
    let relative_difference = match (simulated, difference) {
        (Some(s), Some(d)) if s > 0.0 => match unit {
            FigureUnit::Seconds | FigureUnit::Value => Some(d / s),
            FigureUnit::Count if s >= MIN_COUNT_FOR_RELATIVE => Some(d / s),
            FigureUnit::Count => None,
        },
        _ => None,
    };
    ComparisonRow {
        name: name.to_string(),
        unit,
        simulated,
        real,
        difference,
        relative_difference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::metrics::{HistogramSummary, Outcome};
    use std::collections::BTreeMap;

    fn summary(elapsed_s: f64, goroutines: u64, p99: f64) -> Summary {
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "/gmpsim/process/elapsed:seconds".to_string(),
            MetricValue::Float(elapsed_s),
        );
        metrics.insert(
            "/sched/goroutines:goroutines".to_string(),
            MetricValue::Count(goroutines),
        );
        metrics.insert(
            "/sched/latencies:seconds".to_string(),
            MetricValue::Histogram(HistogramSummary {
                count: 100,
                p50: 0.001,
                p99,
                max: 0.05,
                mean: 0.002,
            }),
        );
        Summary {
            go_version: "go1.27.3".to_string(),
            outcome: Outcome {
                exit_code: 0,
                reason: "main returned".to_string(),
            },
            metrics,
            model_only: BTreeMap::new(),
        }
    }

    #[test]
    fn a_histogram_becomes_five_figures_in_reading_order() {
        let names: Vec<String> = figures(&summary(1.0, 3, 0.01))
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "/gmpsim/process/elapsed:seconds",
                "/sched/goroutines:goroutines",
                "/sched/latencies:seconds count",
                "/sched/latencies:seconds p50",
                "/sched/latencies:seconds p99",
                "/sched/latencies:seconds max",
                "/sched/latencies:seconds mean",
            ]
        );
    }

    #[test]
    fn an_empty_histogram_has_a_count_and_no_quantiles() {
        let mut empty = summary(1.0, 3, 0.0);
        empty.metrics.insert(
            "/sched/latencies:seconds".to_string(),
            MetricValue::Histogram(HistogramSummary {
                count: 0,
                p50: 0.0,
                p99: 0.0,
                max: 0.0,
                mean: 0.0,
            }),
        );
        let sampled = summary(2.0, 3, 0.03);
        let stats = figure_stats(&[&empty, &sampled]);
        let get = |name: &str| stats.iter().find(|s| s.name == name).unwrap();
        let count = get("/sched/latencies:seconds count");
        assert_eq!((count.runs, count.mean), (2, 50.0));
        // Only the run with samples has a p99: its value, not half of it.
        let p99 = get("/sched/latencies:seconds p99");
        assert_eq!((p99.runs, p99.mean), (1, 0.03));
    }

    #[test]
    fn cpu_seconds_are_durations_and_ratios_plain_values() {
        let mut s = summary(1.0, 3, 0.01);
        s.metrics.insert(
            "/cpu/classes/gc/total:cpu-seconds".to_string(),
            MetricValue::Float(0.25),
        );
        s.metrics.insert(
            "/gmpsim/gc/cpu-fraction:ratio".to_string(),
            MetricValue::Float(0.07),
        );
        let unit = |name: &str| {
            figures(&s)
                .into_iter()
                .find(|f| f.name == name)
                .unwrap()
                .unit
        };
        assert_eq!(
            unit("/cpu/classes/gc/total:cpu-seconds"),
            FigureUnit::Seconds
        );
        assert_eq!(unit("/gmpsim/gc/cpu-fraction:ratio"), FigureUnit::Value);
    }

    #[test]
    fn stats_give_mean_min_and_max_over_runs() {
        let (a, b) = (summary(1.0, 3, 0.01), summary(2.0, 5, 0.03));
        let stats = figure_stats(&[&a, &b]);
        let elapsed = &stats[0];
        assert_eq!((elapsed.mean, elapsed.min, elapsed.max), (1.5, 1.0, 2.0));
        assert_eq!(elapsed.runs, 2);
        let p99 = stats
            .iter()
            .find(|s| s.name == "/sched/latencies:seconds p99")
            .unwrap();
        assert!((p99.mean - 0.02).abs() < 1e-12);
    }

    #[test]
    fn differences_are_relative_for_durations_and_large_counts_only() {
        let sim = summary(1.0, 3, 0.01);
        let real = figure_stats(&[&summary(1.5, 4, 0.01)]);
        let rows = compare(&sim, &real);
        let elapsed = &rows[0];
        assert_eq!(elapsed.difference, Some(0.5));
        assert_eq!(elapsed.relative_difference, Some(0.5));
        let goroutines = &rows[1];
        assert_eq!(goroutines.difference, Some(1.0));
        assert_eq!(goroutines.relative_difference, None);
        let count = &rows[2];
        assert_eq!(count.relative_difference, Some(0.0));
    }

    #[test]
    fn a_figure_only_one_side_reports_still_gets_a_row() {
        let sim = summary(1.0, 3, 0.01);
        let mut real_summary = summary(1.0, 3, 0.01);
        real_summary.metrics.insert(
            "/gmpsim/sleep/lateness:seconds".to_string(),
            MetricValue::Float(0.1),
        );
        let rows = compare(&sim, &figure_stats(&[&real_summary]));
        let last = rows.last().unwrap();
        assert_eq!(last.name, "/gmpsim/sleep/lateness:seconds");
        assert_eq!(last.simulated, None);
        assert!(last.difference.is_none());
        let no_real = compare(&sim, &[]);
        assert!(no_real.iter().all(|r| r.real.is_none()));
    }
}
