//! The comparison panel: the recorded real-Go runs of the same scenario
//! (`validation/baselines/NAME.json`) beside the model's figures, each with
//! the verdict of its rule in `validation/tolerances.toml`.
//!
//! The figures are the validation crate's: `measure::compare` lines the
//! model's summary up with the real runs' mean, min and max, and
//! `verdict::judge_figure` applies the tolerance rule (a figure that fewer
//! than half of the real runs have samples of is not judged). The model's side is the
//! summary at the end of the recording, so it appears once the run ends.
//! The baseline was recorded with the scenario's own settings; when the run
//! uses others the panel says which, since the figures are then not like for
//! like.

use crate::recording::Recording;
use egui::{Color32, Ui};
use scenarios::measure::{FigureUnit, compare};
use validation::baseline::Baseline;
use validation::tolerance::Tolerances;
use validation::verdict::{Judgement, judge_figure};

/// A scenario's real-Go record, as loaded (or why it could not be).
#[derive(Clone, Debug)]
pub struct RealGo {
    pub scenario: String,
    pub baseline: Result<Baseline, String>,
    pub tolerances: Result<Tolerances, String>,
}

impl RealGo {
    /// Reads the baseline of `scenario` and the tolerance rules from the
    /// repository's `validation/` directory.
    pub fn load(scenario: &str) -> RealGo {
        let dir = validation::data_dir();
        RealGo {
            scenario: scenario.to_string(),
            baseline: Baseline::load(&Baseline::path(&dir.join("baselines"), scenario)),
            tolerances: Tolerances::load(&dir.join("tolerances.toml")),
        }
    }
}

/// The settings of the recording that differ from the scenario's (which the
/// baseline was recorded with).
pub fn settings_differences(recording: &Recording) -> Vec<String> {
    let ours = &recording.config.runtime;
    let theirs = &recording.scenario.runtime;
    let mut out = Vec::new();
    if ours.gomaxprocs != theirs.gomaxprocs {
        out.push(format!(
            "GOMAXPROCS {} (recorded with {})",
            ours.gomaxprocs, theirs.gomaxprocs
        ));
    }
    if ours.gogc != theirs.gogc {
        out.push(format!(
            "GOGC {} (recorded with {})",
            ours.gogc, theirs.gogc
        ));
    }
    if ours.memory_limit_bytes != theirs.memory_limit_bytes {
        out.push("GOMEMLIMIT differs".to_string());
    }
    if ours.godebug.asyncpreemptoff != theirs.godebug.asyncpreemptoff {
        out.push("asyncpreemptoff differs".to_string());
    }
    out
}

fn format_value(value: f64, unit: FigureUnit) -> String {
    match unit {
        FigureUnit::Seconds => sim_core::time::format_duration_ns((value * 1e9).round() as u64),
        FigureUnit::Count => format!("{value:.0}"),
        FigureUnit::Value => format!("{value:.4}"),
    }
}

/// Shows the real-Go figures beside the model's.
pub fn compare_view(ui: &mut Ui, real: &RealGo, recording: &Recording) {
    let baseline = match &real.baseline {
        Ok(b) => b,
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
    };
    ui.label(format!("Real Go: {}", baseline.provenance()));
    if let Err(e) = &real.tolerances {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let differences = settings_differences(recording);
    if !differences.is_empty() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "This run's settings differ from the recorded ones: {}; the figures are not like for like.",
                differences.join(", ")
            ),
        );
    }
    let Some(ending) = &recording.ending else {
        ui.label("The model's figures appear when the run has been recorded to its end.");
        return;
    };
    if ending.outcome.is_none() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "The recording stopped before the program ended: the model's figures cover only part of the run.",
        );
    }
    let stats: Vec<_> = baseline.stats().into_iter().map(|(s, _)| s).collect();
    let completed_runs = baseline.completed().len();
    let rows = compare(&ending.summary, &stats);
    egui::ScrollArea::vertical()
        .id_salt("compare")
        .show(ui, |ui| {
            egui::Grid::new("compare-grid")
                .striped(true)
                .show(ui, |ui| {
                    for header in ["figure", "model", "real mean", "real min–max", "verdict"] {
                        ui.strong(header);
                    }
                    ui.end_row();
                    for row in rows {
                        ui.label(&row.name);
                        ui.label(
                            row.simulated
                                .map_or("-".to_string(), |v| format_value(v, row.unit)),
                        );
                        match &row.real {
                            Some(r) => {
                                ui.label(format_value(r.mean, row.unit));
                                ui.label(format!(
                                    "{} – {}",
                                    format_value(r.min, row.unit),
                                    format_value(r.max, row.unit)
                                ));
                            }
                            None => {
                                ui.label("-");
                                ui.label("-");
                            }
                        }
                        let verdict = match (&real.tolerances, row.simulated, &row.real) {
                            (Ok(t), Some(sim), Some(r)) => t.rule_for(&row.name).map(|rule| {
                                match judge_figure(rule, Some(sim), r, completed_runs) {
                                    Judgement::Pass => {
                                        ("within tolerance", Color32::from_rgb(0x59, 0xa1, 0x4f))
                                    }
                                    Judgement::Fail => {
                                        ("outside tolerance", ui.visuals().error_fg_color)
                                    }
                                    Judgement::NotCompared => {
                                        ("not compared", ui.visuals().weak_text_color())
                                    }
                                    Judgement::FewRealSamples { .. } => (
                                        "not compared: few real samples",
                                        ui.visuals().weak_text_color(),
                                    ),
                                }
                            }),
                            _ => None,
                        };
                        match verdict {
                            Some((text, color)) => {
                                ui.colored_label(color, text);
                            }
                            None => {
                                ui.label("-");
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}
