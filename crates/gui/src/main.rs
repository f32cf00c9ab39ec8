//! The gmpsim desktop app: a thin eframe shell around `gui::GmpsimApp`.
//!
//! `gui [SCENARIO] [--seed N] [--tab scheduler|gc|real-go] [--at TIME]
//! [--step-to KIND] [--steps N] [--select G]`: SCENARIO is a library name or a scenario
//! file; `--at`, `--step-to` and `--steps` move the cursor once that part of
//! the run is recorded, in the order given, and `--select` selects a
//! goroutine (the screenshot script uses them).

use gui::app::{GmpsimApp, Pending, Tab};
use gui::stepkind::StepKind;
use std::process::ExitCode;

const USAGE: &str = "usage: gui [SCENARIO] [--seed N] [--tab scheduler|gc|real-go] [--at TIME] [--step-to KIND] [--steps N] [--select G]";

/// Reads the command line into an app; the error names the flag.
fn app_from_args(args: &[String]) -> Result<GmpsimApp, String> {
    let mut app = GmpsimApp::new();
    let mut scenario = None;
    let mut seed = 1;
    let mut pending = Vec::new();
    let mut select = None;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = || {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{flag}: needs a value"))
        };
        match flag {
            "--seed" => {
                let v = value()?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: `{v}` is not a whole number"))?;
                i += 1;
            }
            "--tab" => {
                let v = value()?;
                app.tab = Tab::from_name(&v)
                    .ok_or_else(|| format!("--tab: `{v}` is not scheduler, gc or real-go"))?;
                i += 1;
            }
            "--at" => {
                let v = value()?;
                let ns = scenarios::parse_duration_ns(&v).map_err(|e| format!("--at {v}: {e}"))?;
                pending.push(Pending::At(ns));
                i += 1;
            }
            "--step-to" => {
                let v = value()?;
                let kind = StepKind::from_name(&v).ok_or_else(|| {
                    let names: Vec<&str> = StepKind::ALL.iter().map(|k| k.name()).collect();
                    format!("--step-to: `{v}` is not one of: {}", names.join(", "))
                })?;
                pending.push(Pending::StepTo(kind));
                i += 1;
            }
            "--select" => {
                let v = value()?;
                let g = v
                    .trim_start_matches('G')
                    .parse()
                    .map_err(|_| format!("--select: `{v}` is not a goroutine (G7 or 7)"))?;
                select = Some(sim_core::ids::Goid(g));
                i += 1;
            }
            "--steps" => {
                let v = value()?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--steps: `{v}` is not a whole number"))?;
                pending.push(Pending::Steps(n));
                i += 1;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if flag.starts_with('-') => return Err(format!("unknown flag {flag}\n{USAGE}")),
            _ if scenario.is_none() => scenario = Some(flag.to_string()),
            _ => return Err(format!("one scenario only, got `{flag}` too\n{USAGE}")),
        }
        i += 1;
    }
    if let Some(name) = scenario {
        app.open(&name, seed);
    }
    for p in pending {
        app.queue(p);
    }
    // After `open`, which clears the selection of the previous run.
    if select.is_some() {
        app.selected_g = select;
    }
    Ok(app)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let app = match app_from_args(&args) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gui: {e}");
            return ExitCode::from(1);
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1280.0, 800.0])
            .with_title("gmpsim"),
        ..Default::default()
    };
    let mut app = Some(app);
    let result = eframe::run_native(
        "gmpsim",
        options,
        Box::new(move |_| Ok(Box::new(Shell(app.take().unwrap_or_default())))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gui: {e}");
            ExitCode::from(1)
        }
    }
}

/// The eframe side: one call per frame into the library's UI.
struct Shell(GmpsimApp);

impl eframe::App for Shell {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.show(ui);
    }
}
