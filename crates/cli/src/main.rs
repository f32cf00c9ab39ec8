//! gmpsim: the command-line front end of the simulator.
//!
//! It parses arguments, loads scenarios through the `scenarios` crate, runs
//! them in `sim-sched`, and prints what a Go program would print (schedtrace
//! lines, fatal errors) followed by a summary. No model logic lives here.

use clap::{Parser, Subcommand};
use sim_core::metrics::{MetricValue, Summary};
use sim_core::time::format_duration_ns;
use sim_core::trace::chrome::chrome_trace_json;
use sim_sched::{GO_VERSION, SimConfig, World};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for bad input (unknown scenario, malformed file, bad flag).
const EXIT_BAD_INPUT: u8 = 1;

#[derive(Parser)]
#[command(
    name = "gmpsim",
    version,
    about = "A deterministic simulator of the Go runtime's GMP scheduler (models go1.27.3)",
    long_about = "gmpsim simulates Go programs described by scenario files: goroutines, Ms, Ps, \
run queues, work stealing, sysmon, preemption, syscalls and timers, following go1.27.3's runtime. \
The same scenario and seed always produce the same bytes.",
    after_help = "Examples:\n  gmpsim list\n  gmpsim run cpu-fanout --seed 7 --godebug schedtrace=1\n  gmpsim run starvation-tight-loop --godebug asyncpreemptoff=1\n  gmpsim run steal-imbalance --events --trace-out run.trace.json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenario library with one-line descriptions.
    List {
        /// Print only the names, one per line (for scripts).
        #[arg(long)]
        names: bool,
    },
    /// Print a scenario's description and its file.
    Show {
        /// A library scenario name or a path to a scenario file.
        scenario: String,
    },
    /// Simulate a scenario and print its schedtrace output and a summary.
    #[command(
        after_help = "Examples:\n  gmpsim run cpu-fanout --seed 7 --godebug schedtrace=1\n  gmpsim run starvation-tight-loop --godebug asyncpreemptoff=1\n  gmpsim run my-scenario.toml --gomaxprocs 8 --json summary.json\n  gmpsim run steal-imbalance --seed 3 --check-determinism"
    )]
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// A library scenario name (see `gmpsim list`) or a path to a scenario file.
    scenario: String,
    /// Seed for every random choice the runtime makes (steal order, ...).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Override the scenario's GOMAXPROCS.
    #[arg(long, value_name = "N")]
    gomaxprocs: Option<u32>,
    /// GODEBUG settings, applied on top of the scenario's:
    /// schedtrace=MS, scheddetail=1, asyncpreemptoff=1.
    #[arg(long, value_name = "k=v,...")]
    godebug: Option<String>,
    /// Write the summary (runtime/metrics names) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a Chrome trace-event JSON file (open it in https://ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// Print every scheduling event with the reason for it.
    #[arg(long)]
    events: bool,
    /// Run twice and compare the traces byte for byte.
    #[arg(long)]
    check_determinism: bool,
    /// Use the cost model in FILE (TOML) instead of the committed defaults.
    #[arg(long, value_name = "FILE")]
    cost_model: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List { names } => {
            for entry in scenarios::library::entries() {
                if names {
                    println!("{}", entry.name);
                } else {
                    match scenarios::library::get(entry.name) {
                        Some(s) => println!(
                            "{:<24} {}",
                            entry.name,
                            scenarios::library::summary_line(&s)
                        ),
                        None => println!(
                            "{:<24} (does not parse: run `gmpsim show {}`)",
                            entry.name, entry.name
                        ),
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Command::Show { scenario } => match scenarios::resolve(&scenario) {
            Ok(s) => {
                println!("# {} ({})\n", s.name, s.origin);
                println!("{}\n", s.description.trim_end());
                println!("{}", s.source);
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e.to_string()),
        },
        Command::Run(args) => run(args),
    }
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("gmpsim: error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

fn run(args: RunArgs) -> ExitCode {
    let scenario = match scenarios::resolve(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    let mut runtime = scenario.runtime.clone();
    if let Some(n) = args.gomaxprocs {
        if n == 0 {
            return bad_input("--gomaxprocs: must be at least 1, got 0");
        }
        runtime.gomaxprocs = n;
    }
    if let Some(spec) = &args.godebug
        && let Err(e) = runtime.godebug.apply(spec)
    {
        return bad_input(&format!("--godebug: {e}"));
    }
    let cost = match &args.cost_model {
        Some(path) => match scenarios::load_cost_model(path) {
            Ok(c) => c,
            Err(e) => return bad_input(&e.to_string()),
        },
        None => Default::default(),
    };
    let config = SimConfig {
        seed: args.seed,
        runtime,
        cost,
        record_trace: args.events || args.trace_out.is_some() || args.check_determinism,
    };

    let mut world = World::new(&scenario.workload, config.clone());
    world.run();
    print!("{}", world.stderr());
    if args.events {
        for r in world.trace() {
            println!("{r}");
        }
    }
    let summary = world.summary();
    print_summary(&scenario.name, &config, &summary, world.events_processed());

    if let Some(path) = &args.trace_out {
        let json = chrome_trace_json(world.trace(), world.now_ns());
        if let Err(e) = std::fs::write(path, json) {
            return bad_input(&format!("--trace-out {}: {e}", path.display()));
        }
        println!(
            "trace written to {} (open it in https://ui.perfetto.dev)",
            path.display()
        );
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "scenario": scenario.name,
            "seed": config.seed,
            "gomaxprocs": config.runtime.gomaxprocs,
            "godebug": config.runtime.godebug.to_string(),
            "summary": summary,
        });
        let text = serde_json::to_string_pretty(&doc).expect("a summary serialises");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(&format!("--json {}: {e}", path.display()));
        }
    }
    if args.check_determinism {
        let mut again = World::new(&scenario.workload, config);
        again.run();
        match first_difference(&world, &again) {
            None => println!(
                "determinism: two runs with seed {} produced identical traces ({} events, {} bytes of output)",
                args.seed,
                world.trace().len(),
                world.stderr().len()
            ),
            Some(diff) => {
                println!("determinism: FAILED: {diff}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let code = summary.outcome.exit_code;
    ExitCode::from(u8::try_from(code).unwrap_or(EXIT_BAD_INPUT))
}

/// Where two runs' traces first differ, in words.
fn first_difference(a: &World, b: &World) -> Option<String> {
    let (ta, tb) = (a.trace(), b.trace());
    for (i, (x, y)) in ta.iter().zip(tb).enumerate() {
        if x != y {
            return Some(format!(
                "event {i} differs:\n  first run:  {x}\n  second run: {y}"
            ));
        }
    }
    if ta.len() != tb.len() {
        return Some(format!(
            "the runs have {} and {} events",
            ta.len(),
            tb.len()
        ));
    }
    if a.stderr() != b.stderr() {
        return Some("the traces match but the printed output differs".to_string());
    }
    None
}

fn print_summary(name: &str, config: &SimConfig, summary: &Summary, events: u64) {
    let godebug = config.runtime.godebug.to_string();
    println!(
        "\n== {name}: seed {}, GOMAXPROCS={}{} (model of {GO_VERSION})",
        config.seed,
        config.runtime.gomaxprocs,
        if godebug.is_empty() {
            String::new()
        } else {
            format!(", GODEBUG={godebug}")
        }
    );
    let elapsed_s = match summary.get(sim_core::metrics::GMPSIM_ELAPSED) {
        Some(MetricValue::Float(s)) => *s,
        _ => 0.0,
    };
    println!(
        "exit status {}: {} at {} simulated ({} events)",
        summary.outcome.exit_code,
        summary.outcome.reason,
        format_duration_ns((elapsed_s * 1e9).round() as u64),
        events
    );
    let model_only = summary
        .model_only
        .iter()
        .map(|(k, v)| (k, v, " (model only)"));
    for (metric, value, note) in summary
        .metrics
        .iter()
        .map(|(k, v)| (k, v, ""))
        .chain(model_only)
    {
        let shown = match value {
            MetricValue::Count(v) => v.to_string(),
            MetricValue::Float(v) => format!("{v}"),
            MetricValue::Histogram(h) => format!(
                "n={} p50={} p99={} max={}",
                h.count,
                format_duration_ns((h.p50 * 1e9).round() as u64),
                format_duration_ns((h.p99 * 1e9).round() as u64),
                format_duration_ns((h.max * 1e9).round() as u64)
            ),
        };
        println!("  {metric:<42} {shown}{note}");
    }
}
