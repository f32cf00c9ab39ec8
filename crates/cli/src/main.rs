//! gmpsim: the command-line front end of the simulator.
//!
//! It parses arguments, loads scenarios through the `scenarios` crate, runs
//! them in `sim-sched`, and prints what a Go program would print (schedtrace
//! lines, fatal errors) followed by a summary. `go-source` prints the Go
//! program a scenario stands for, and `compare` runs it with real Go beside
//! the model (through `scenarios::realgo`). No model logic lives here.

mod bench;
mod top;
mod validate;

#[global_allocator]
static ALLOCATOR: bench::CountingAllocator = bench::CountingAllocator;

use clap::{Parser, Subcommand};
use scenarios::explore::{self, Properties};
use scenarios::replay::{CostSource, Replay};
use sim_core::metrics::{MetricValue, Summary};
use sim_core::time::format_duration_ns;
use sim_core::trace::chrome::chrome_trace_json;
use sim_sched::decide::Strategy;
use sim_sched::{GO_VERSION, SimConfig, World};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for bad input (unknown scenario, malformed file, bad flag).
const EXIT_BAD_INPUT: u8 = 1;
/// Exit status of `explore` when a seed broke a property, and of `run` when
/// the program exited 0 but an assertion of the scenario (its `[assert]`
/// table) failed.
const EXIT_PROPERTY_FAILED: u8 = 4;

#[derive(Parser)]
#[command(
    name = "gmpsim",
    version,
    about = "A deterministic simulator of the Go runtime's GMP scheduler (models go1.27.3)",
    long_about = "gmpsim simulates Go programs described by scenario files: goroutines, Ms, Ps, \
run queues, work stealing, sysmon, preemption, syscalls and timers, following go1.27.3's runtime. \
The same scenario and seed always produce the same bytes.",
    after_help = "Examples:\n  gmpsim list\n  gmpsim run cpu-fanout --seed 7 --godebug schedtrace=1\n  gmpsim run starvation-tight-loop --godebug asyncpreemptoff=1\n  gmpsim run steal-imbalance --events --trace-out run.trace.json\n  gmpsim run alloc-steady --gogc 50 --godebug gctrace=1\n  gmpsim go-source cpu-fanout\n  gmpsim compare cpu-fanout --runs 5"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  gmpsim completions bash > ~/.local/share/bash-completion/completions/gmpsim\n  gmpsim completions zsh > ~/.zfunc/_gmpsim"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// List the scenario library with one-line descriptions.
    #[command(
        after_help = "Examples:\n  gmpsim list\n  gmpsim list --names | xargs -n1 gmpsim run"
    )]
    List {
        /// Print only the names, one per line (for scripts).
        #[arg(long)]
        names: bool,
    },
    /// Print a scenario's description and its file.
    #[command(
        after_help = "Examples:\n  gmpsim show starvation-tight-loop\n  gmpsim show my-scenario.toml"
    )]
    Show {
        /// A library scenario name or a path to a scenario file.
        scenario: String,
    },
    /// Simulate a scenario and print its schedtrace output and a summary.
    #[command(
        after_help = "Examples:\n  gmpsim run cpu-fanout --seed 7 --godebug schedtrace=1\n  gmpsim run starvation-tight-loop --godebug asyncpreemptoff=1\n  gmpsim run my-scenario.toml --gomaxprocs 8 --json summary.json\n  gmpsim run steal-imbalance --seed 3 --check-determinism\n  gmpsim run alloc-steady --gogc 200 --godebug gctrace=1\n  gmpsim run alloc-steady --gogc off --gomemlimit 32MiB"
    )]
    Run(RunArgs),
    /// Print the Go program a scenario stands for (standard library only).
    #[command(
        after_help = "Examples:\n  gmpsim go-source cpu-fanout > main.go\n  GOMAXPROCS=4 GODEBUG=schedtrace=10 go run main.go"
    )]
    GoSource {
        /// A library scenario name or a path to a scenario file.
        scenario: String,
    },
    /// Simulate a scenario and run its Go program with real Go, and print the
    /// figures side by side. The simulation runs the Go program's measuring
    /// harness first (its 50 ms loop calibration), as `validate` does.
    #[command(
        after_help = "Real Go is found through GMPSIM_GO, then the toolchain scripts/install-go.sh \
installs in .tools/, then `go` on PATH.\n\nExamples:\n  gmpsim compare cpu-fanout --runs 5\n  \
gmpsim compare starvation-tight-loop --godebug asyncpreemptoff=1 --traces\n  \
gmpsim compare alloc-steady --gogc 50 --runs 5\n  gmpsim compare --all --runs 3"
    )]
    Compare(CompareArgs),
    /// Re-run a replay file byte for byte (only output flags are accepted).
    #[command(
        after_help = "Examples:\n  gmpsim replay replays/deadlock-lock-order-1.replay --events\n  gmpsim replay run.replay --trace-out run.trace.json"
    )]
    Replay(ReplayArgs),
    /// Run a scenario under many seeds, stop at the first that fails (deadlock,
    /// panic, leak, or starvation over a threshold), and save its replay.
    #[command(
        after_help = "Examples:\n  gmpsim explore deadlock-lock-order --seeds 1..2000\n  gmpsim explore mutex-contention --seeds 1..500 --starvation-threshold-ms 5 --jobs 2"
    )]
    Explore(ExploreArgs),
    /// Measure how fast the simulator runs scenarios (events and decisions
    /// per second, simulated time per wall time, peak memory); with --live,
    /// against the real Go program's wall time.
    #[command(
        after_help = "Examples:\n  gmpsim bench\n  gmpsim bench alloc-steady million-parked --repeat 5\n  gmpsim bench --live --json benches/results/bench-live.json"
    )]
    Bench(BenchArgs),
    /// A live terminal view of a simulated run, like `top`, driven by
    /// simulated time: goroutines by state, each P's current G and queues,
    /// threads, the heap and GC phase, and the last decisions with reasons.
    #[command(
        after_help = "Keys: space pause/resume, s step one event (paused), + faster, - slower, q quit.\n\nExamples:\n  gmpsim top cpu-fanout\n  gmpsim top alloc-steady --speed 1ms\n  gmpsim top starvation-tight-loop --godebug asyncpreemptoff=1 --speed 50ms"
    )]
    Top(TopArgs),
    /// Judge the model against real Go, figure by figure, with the tolerances
    /// of validation/tolerances.toml: from the recorded baselines, or with
    /// --live measured now.
    #[command(
        after_help = "Prints each scenario's failing comparisons (all with --verbose) and the \
headline \"N of M comparisons within tolerance; K of K outcomes match\". Exits 4 when a \
comparison listed in validation/passing.txt no longer passes against the recorded baselines \
(with --live such comparisons are listed, not failed: the machine may differ).\n\nExamples:\n  gmpsim validate\n  \
gmpsim validate alloc-steady memlimit-gogc-off --verbose\n  gmpsim validate --live --runs 5\n  \
gmpsim validate --live --record --runs 5 alloc-steady\n  gmpsim validate --update-passing\n  \
gmpsim validate --report report/   # then open report/index.html\n  gmpsim validate --sensitivity\n  \
gmpsim calibrate --out host.toml && gmpsim validate --cost-model host.toml"
    )]
    Validate(validate::ValidateArgs),
    /// Run Go micro-benchmarks on this machine (go statement with reused and
    /// with fresh goroutines, stack growth, channel hand-off, mutex, Gosched,
    /// malloc by size, allocation while the GC marks, GC mark (dense, sparse and wide-object spans), sweep, STW, a cold walk
    /// of a list of g-sized nodes, thread wake-up (both sides, after sleeps
    /// of 5 µs to 10 ms) and creation, a signal, CPU interruptions, a stderr
    /// write), fit the cost model to them, print the fit and its residuals,
    /// and write it to a file that `--cost-model FILE` reads. The committed
    /// default is not changed.
    #[command(
        after_help = "Examples:\n  gmpsim calibrate\n  gmpsim calibrate --out this-host.toml\n  \
gmpsim run alloc-steady --cost-model this-host.toml"
    )]
    Calibrate(validate::CalibrateArgs),
}

#[derive(clap::Args)]
struct TopArgs {
    /// A library scenario name (see `gmpsim list`) or a path to a scenario file.
    scenario: String,
    /// Seed for every random choice the runtime makes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated time shown per second of wall time (a duration: 10ms, 1s).
    #[arg(long, default_value = "10ms", value_name = "DURATION")]
    speed: String,
    /// GODEBUG settings, applied on top of the scenario's.
    #[arg(long, value_name = "k=v,...")]
    godebug: Option<String>,
    /// Start paused (step with s).
    #[arg(long)]
    paused: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Library scenario names or scenario files; the whole library when none.
    scenarios: Vec<String>,
    /// Also run each scenario's Go program with real Go and compare wall times.
    #[arg(long)]
    live: bool,
    /// Real runs per scenario with --live (their mean wall time counts).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Simulations per scenario (the median wall time counts).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Write the figures and the machine's description as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Kill a real run that takes longer than this many seconds.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    timeout: f64,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The replay file (from `gmpsim run --save-replay` or `gmpsim explore`).
    file: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// What to write besides the simulated program's output and the summary:
/// flags that change no behaviour, so `replay` accepts them too.
#[derive(clap::Args)]
struct OutputArgs {
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
    /// Flag goroutines that could have run but waited (runnable, or their
    /// timer due) or waited for a mutex at least this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10)]
    starvation_threshold_ms: u64,
}

/// GOGC and GOMEMLIMIT on top of the scenario's `[runtime]`.
#[derive(clap::Args)]
struct GcArgs {
    /// GOGC, overriding the scenario's: how far the heap may grow over the
    /// live heap before a cycle starts, in percent (Go's default is 100), or
    /// off.
    #[arg(long, value_name = "PERCENT|off", allow_hyphen_values = true)]
    gogc: Option<String>,
    /// GOMEMLIMIT, overriding the scenario's: a soft memory limit as a byte
    /// size in Go's syntax (32MiB, 1GiB, 4096: units B, KiB, MiB, GiB, TiB),
    /// or off.
    #[arg(long, value_name = "SIZE|off", allow_hyphen_values = true)]
    gomemlimit: Option<String>,
}

impl GcArgs {
    /// Sets GOGC and GOMEMLIMIT in `runtime` where the flags give them; the
    /// error names the flag.
    fn apply(&self, runtime: &mut sim_sched::RuntimeConfig) -> Result<(), String> {
        if let Some(text) = &self.gogc {
            runtime.gogc = scenarios::parse_gogc(text).map_err(|e| format!("--gogc: {e}"))?;
        }
        if let Some(text) = &self.gomemlimit {
            runtime.memory_limit_bytes = scenarios::parse_gomemlimit(text)
                .map_err(|e| format!("--gomemlimit: {e}; off means no limit"))?;
        }
        Ok(())
    }
}

#[derive(clap::Args)]
struct ExploreArgs {
    /// A library scenario name or a path to a scenario file.
    scenario: String,
    /// The seeds to try, FIRST..LAST (inclusive).
    #[arg(long, default_value = "1..1000", value_name = "FIRST..LAST")]
    seeds: String,
    /// Threads running seeds side by side (each run stays single-threaded).
    #[arg(long, default_value_t = 2, value_name = "N")]
    jobs: usize,
    /// Also fail a run in which a goroutine waited at least this many
    /// milliseconds to run or for a mutex.
    #[arg(long, value_name = "MS")]
    starvation_threshold_ms: Option<u64>,
    /// Override the scenario's GOMAXPROCS.
    #[arg(long, value_name = "N")]
    gomaxprocs: Option<u32>,
    /// GODEBUG settings, applied on top of the scenario's.
    #[arg(long, value_name = "k=v,...")]
    godebug: Option<String>,
    #[command(flatten)]
    gc: GcArgs,
    /// Use the cost model in FILE instead of the committed defaults.
    #[arg(long, value_name = "FILE")]
    cost_model: Option<PathBuf>,
    /// Where to save the failing seed's replay.
    #[arg(long, default_value = "replays", value_name = "DIR")]
    replay_dir: PathBuf,
    /// How choices are made: random (from each seed) or pct (priorities
    /// over timing with change points).
    #[arg(long, default_value = "random", value_name = "random|pct")]
    strategy: String,
    /// PCT's depth: one more than the number of priority change points.
    #[arg(long, default_value_t = 3, value_name = "D")]
    depth: u32,
    /// Save the failing seed's run as it is, without shrinking its decisions.
    #[arg(long)]
    no_shrink: bool,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// A library scenario name (see `gmpsim list`) or a path to a scenario file.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    scenario: Option<String>,
    /// Compare every library scenario, one after another.
    #[arg(long)]
    all: bool,
    /// How many times to run the real program.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Seed of the simulated run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// GODEBUG settings for both sides, applied on top of the scenario's:
    /// schedtrace=MS, scheddetail=1, asyncpreemptoff=1, gctrace=1.
    #[arg(long, value_name = "k=v,...")]
    godebug: Option<String>,
    #[command(flatten)]
    gc: GcArgs,
    /// Also print both sides' schedtrace output (the simulated run's, then
    /// the first real run's).
    #[arg(long)]
    traces: bool,
    /// Kill a real run that takes longer than this many seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    timeout: f64,
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
    /// schedtrace=MS, scheddetail=1, asyncpreemptoff=1, gctrace=1.
    #[arg(long, value_name = "k=v,...")]
    godebug: Option<String>,
    #[command(flatten)]
    gc: GcArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Stop the run at this simulated time (e.g. 10s, 500ms), with a partial
    /// summary. Default: the scenario's, else 60s.
    #[arg(long, value_name = "DURATION")]
    max_sim_time: Option<String>,
    /// Stop the run when it has created this many goroutine structs.
    #[arg(long, value_name = "N")]
    max_goroutines: Option<u64>,
    /// Stop the run after this many events.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Stop the run when the simulated heap in use grows past SIZE
    /// (e.g. 512MiB, 2GiB). Default: the scenario's, else 4GiB.
    #[arg(long, value_name = "SIZE")]
    max_heap: Option<String>,
    /// Record this run in a replay file (`gmpsim replay FILE` reproduces it).
    #[arg(long, value_name = "FILE")]
    save_replay: Option<PathBuf>,
    /// Simulate the generated Go program's measuring harness before the
    /// scenario, as `gmpsim validate` and `compare` do: main first runs the
    /// two 25 ms compute-loop calibrations, then startMeasuring() starts the
    /// clock and the latency baseline, so the figures cover what real Go's
    /// measure. Not with --save-replay.
    #[arg(long, conflicts_with = "save_replay")]
    go_harness: bool,
    /// Use the cost model in FILE (TOML) instead of the committed defaults.
    #[arg(long, value_name = "FILE")]
    cost_model: Option<PathBuf>,
}

fn main() -> ExitCode {
    // `gmpsim run ... | head` must end quietly when the reader goes away, as
    // Unix tools do, not panic on a failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // exists has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A mistake on the command line is bad input, exit status 1 like every
    // other; clap's own default (2) is the status of a Go fatal error here.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
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
        Command::Replay(args) => replay(args),
        Command::Explore(args) => explore_cmd(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "gmpsim", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::GoSource { scenario } => match scenarios::resolve(&scenario) {
            Ok(s) => {
                print!("{}", scenarios::gosource::generate(&s));
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e.to_string()),
        },
        Command::Compare(args) => compare(args),
        Command::Validate(args) => validate::validate(args),
        Command::Calibrate(args) => validate::calibrate(args),
        Command::Bench(args) => bench_command(args),
        Command::Top(args) => top_command(args),
    }
}

pub(crate) fn bad_input(message: &str) -> ExitCode {
    eprintln!("gmpsim: error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// The simulation settings a `run` or `explore` asks for.
fn simulation_config(
    scenario: &scenarios::Scenario,
    seed: u64,
    gomaxprocs: Option<u32>,
    godebug: Option<&str>,
    gc: &GcArgs,
    cost_model: Option<&PathBuf>,
) -> Result<(SimConfig, CostSource), String> {
    let mut runtime = scenario.runtime.clone();
    if let Some(n) = gomaxprocs {
        if n == 0 {
            return Err("--gomaxprocs: must be at least 1, got 0".to_string());
        }
        runtime.gomaxprocs = n;
    }
    if let Some(spec) = godebug {
        runtime
            .godebug
            .apply(spec)
            .map_err(|e| format!("--godebug: {e}"))?;
    }
    gc.apply(&mut runtime)?;
    let (cost, source) = match cost_model {
        Some(path) => (
            scenarios::load_cost_model(path).map_err(|e| e.to_string())?,
            CostSource::File(path.display().to_string()),
        ),
        None => (Default::default(), CostSource::Default),
    };
    Ok((
        SimConfig {
            seed,
            runtime,
            cost,
            record_trace: false,
        },
        source,
    ))
}

fn run(args: RunArgs) -> ExitCode {
    let scenario = match scenarios::resolve(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    let (config, cost_source) = match simulation_config(
        &scenario,
        args.seed,
        args.gomaxprocs,
        args.godebug.as_deref(),
        &args.gc,
        args.cost_model.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => return bad_input(&e),
    };
    let mut config = config;
    if let Some(text) = &args.max_sim_time {
        match scenarios::parse_duration_ns(text) {
            Ok(ns) if ns > 0 => config.runtime.max_sim_time_ns = ns,
            Ok(_) => return bad_input("--max-sim-time: must be longer than 0s"),
            Err(e) => return bad_input(&format!("--max-sim-time {text}: {e}")),
        }
    }
    for (flag, value, slot) in [
        (
            "--max-goroutines",
            args.max_goroutines,
            &mut config.runtime.max_goroutines,
        ),
        (
            "--max-events",
            args.max_events,
            &mut config.runtime.max_events,
        ),
    ] {
        match value {
            Some(0) => return bad_input(&format!("{flag}: must be at least 1")),
            Some(n) => *slot = n,
            None => {}
        }
    }
    if let Some(text) = &args.max_heap {
        match scenarios::parse_byte_size(text) {
            Ok(bytes) if bytes > 0 => config.runtime.max_heap_bytes = bytes,
            Ok(_) => return bad_input("--max-heap: must be larger than 0B"),
            Err(e) => return bad_input(&format!("--max-heap {text}: {e}")),
        }
    }
    simulate_and_report(
        &scenario,
        config,
        Strategy::Seeded,
        cost_source,
        &args.output,
        args.save_replay.as_deref(),
        None,
        args.go_harness,
    )
}

fn replay(args: ReplayArgs) -> ExitCode {
    let origin = args.file.display().to_string();
    let recorded = match Replay::load(&args.file) {
        Ok(r) => r,
        Err(e) => return bad_input(&e.to_string()),
    };
    let (scenario, config) = match recorded.prepare(&origin) {
        Ok(p) => p,
        Err(e) => return bad_input(&format!("cannot replay: {e}")),
    };
    simulate_and_report(
        &scenario,
        config,
        recorded.strategy.clone(),
        recorded.cost_source.clone(),
        &args.output,
        None,
        Some(&recorded),
        false,
    )
}

/// Simulates, prints, writes the requested files; with `expected`, checks
/// the run reproduced that recording; with `go_harness`, main first runs
/// the generated Go program's harness (`World::with_go_harness`).
#[allow(clippy::too_many_arguments)]
fn simulate_and_report(
    scenario: &scenarios::Scenario,
    config: SimConfig,
    strategy: Strategy,
    cost_source: CostSource,
    outputs: &OutputArgs,
    save_replay: Option<&std::path::Path>,
    expected: Option<&Replay>,
    go_harness: bool,
) -> ExitCode {
    // The trace is kept only when something reads it: it costs memory in
    // proportion to the run's length.
    let config = SimConfig {
        record_trace: outputs.events
            || outputs.trace_out.is_some()
            || outputs.check_determinism
            || save_replay.is_some()
            || expected.is_some(),
        ..config
    };
    let build = |strategy: Strategy| {
        let world = World::with_strategy(&scenario.workload, config.clone(), strategy, false);
        if go_harness {
            world.with_go_harness()
        } else {
            world
        }
    };
    let mut world = build(strategy.clone());
    world.run();
    print!("{}", world.stderr());
    if outputs.events {
        for r in world.trace() {
            println!("{r}");
        }
    }
    let summary = world.summary();
    if go_harness {
        println!(
            "harness: main ran the Go program's compute-loop calibration and startMeasuring() first; the figures are measured from there, as in `gmpsim validate`"
        );
    }
    print_summary(&scenario.name, &config, &summary, world.events_processed());
    print_gc_cycles(world.gc_cycles(), &summary);
    let assertions_hold = check_assertions(&world, &scenario.assertions);
    print_goroutine_reports(&world, outputs.starvation_threshold_ms);

    if let Some(path) = &outputs.trace_out {
        let json = chrome_trace_json(world.trace(), world.now_ns());
        if let Err(e) = std::fs::write(path, json) {
            return bad_input(&format!("--trace-out {}: {e}", path.display()));
        }
        println!(
            "trace written to {} (open it in https://ui.perfetto.dev)",
            path.display()
        );
    }
    if let Some(path) = &outputs.json {
        let doc = serde_json::json!({
            "scenario": scenario.name,
            "seed": config.seed,
            "gomaxprocs": config.runtime.gomaxprocs,
            "godebug": config.runtime.godebug.to_string(),
            "gogc": scenarios::gosource::gogc_text(config.runtime.gogc),
            "gomemlimit": scenarios::gosource::gomemlimit_text(config.runtime.memory_limit_bytes),
            "summary": summary,
        });
        let text = serde_json::to_string_pretty(&doc).expect("a summary serialises");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(&format!("--json {}: {e}", path.display()));
        }
    }
    let recording = (save_replay.is_some() || expected.is_some())
        .then(|| Replay::record(scenario, &config, strategy.clone(), cost_source, &world));
    if let (Some(path), Some(recording)) = (save_replay, &recording) {
        if let Err(e) = std::fs::write(path, recording.to_text()) {
            return bad_input(&format!("--save-replay {}: {e}", path.display()));
        }
        println!(
            "replay written to {} (gmpsim replay {})",
            path.display(),
            path.display()
        );
    }
    if let (Some(expected), Some(recording)) = (expected, &recording) {
        if recording.trace_hash == expected.trace_hash && recording.outcome == expected.outcome {
            println!(
                "replay: reproduced byte for byte (trace fnv1a64:{:016x}, exit status {})",
                recording.trace_hash, recording.outcome.exit_code
            );
        } else {
            println!(
                "replay: NOT reproduced: recorded exit status {} ({}) trace fnv1a64:{:016x}, got exit status {} ({}) trace fnv1a64:{:016x}",
                expected.outcome.exit_code,
                expected.outcome.reason,
                expected.trace_hash,
                recording.outcome.exit_code,
                recording.outcome.reason,
                recording.trace_hash
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if outputs.check_determinism {
        let mut again = build(strategy);
        again.run();
        match first_difference(&world, &again) {
            None => println!(
                "determinism: two runs with seed {} produced identical traces ({} events, {} bytes of output)",
                config.seed,
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
    if code == 0 && !assertions_hold {
        return ExitCode::from(EXIT_PROPERTY_FAILED);
    }
    ExitCode::from(u8::try_from(code).unwrap_or(EXIT_BAD_INPUT))
}

fn explore_cmd(args: ExploreArgs) -> ExitCode {
    let scenario = match scenarios::resolve(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    let Some((first, last)) = args
        .seeds
        .split_once("..")
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .filter(|(a, b)| a <= b)
    else {
        return bad_input(&format!(
            "--seeds {}: expected FIRST..LAST, like 1..2000",
            args.seeds
        ));
    };
    let (config, cost_source) = match simulation_config(
        &scenario,
        first,
        args.gomaxprocs,
        args.godebug.as_deref(),
        &args.gc,
        args.cost_model.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => return bad_input(&e),
    };
    // The scenario's own `max_wait` assertion unless the flag overrides it.
    let properties = Properties {
        starvation_threshold_ns: args
            .starvation_threshold_ms
            .map(|ms| ms * 1_000_000)
            .or(scenario.assertions.max_wait_ns),
    };
    let strategy = match args.strategy.as_str() {
        "random" => Strategy::Seeded,
        "pct" => {
            // PCT's change points fall within the choices a run makes.
            let mut probe =
                World::with_strategy(&scenario.workload, config.clone(), Strategy::Seeded, true);
            probe.run();
            let horizon = probe.choices().map_or(1, |c| c.len() as u64).max(1);
            Strategy::Pct {
                depth: args.depth,
                horizon,
            }
        }
        other => return bad_input(&format!("--strategy {other}: expected random or pct")),
    };
    let bar = indicatif::ProgressBar::new(last - first + 1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "exploring {prefix} [{bar:30}] {pos}/{len} seeds, {per_sec}",
        )
        .expect("a valid template"),
    );
    bar.set_prefix(scenario.name.clone());
    let started = std::time::Instant::now();
    let result = explore::explore(
        &scenario,
        &config,
        first..=last,
        args.jobs,
        &strategy,
        properties,
        &|done| bar.set_position(done),
    );
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "explored {} seeds of {} with the {} strategy in {:.2}s ({:.0} runs/s, {} threads)",
        result.runs,
        scenario.name,
        args.strategy,
        secs,
        result.runs as f64 / secs.max(1e-9),
        args.jobs
    );
    let Some((seed, failure)) = result.first_failure else {
        println!("no failure in seeds {first}..{last}");
        return ExitCode::SUCCESS;
    };
    println!("found a failure at seed {seed}: {failure}");
    let mut failing = SimConfig {
        seed,
        record_trace: true,
        ..config.clone()
    };
    let mut workload_counts = Vec::new();
    let replay_strategy = if args.no_shrink {
        strategy
    } else {
        match explore::shrink(&scenario, &config, seed, &strategy, properties) {
            Some(shrunk) => {
                let mut smaller = Vec::new();
                if shrunk.gomaxprocs != shrunk.original_gomaxprocs {
                    smaller.push(format!(
                        "GOMAXPROCS {} -> {}",
                        shrunk.original_gomaxprocs, shrunk.gomaxprocs
                    ));
                }
                let paths = scenario.workload.count_site_paths();
                for (site, count) in &shrunk.counts {
                    smaller.push(format!(
                        "{} {} -> {count}",
                        paths[*site], shrunk.original_counts[*site]
                    ));
                }
                if !smaller.is_empty() {
                    println!("shrunk the workload: {}", smaller.join(", "));
                }
                println!(
                    "shrunk {} decisions to {} in {} runs",
                    shrunk.original_choices,
                    shrunk.overrides.len(),
                    shrunk.runs
                );
                failing.runtime.gomaxprocs = shrunk.gomaxprocs;
                workload_counts = shrunk.counts;
                Strategy::Decisions(shrunk.overrides)
            }
            None => strategy,
        }
    };
    let workload = scenario
        .workload
        .with_counts(&workload_counts)
        .expect("the shrinker's counts fit the workload");
    let mut world =
        World::with_strategy(&workload, failing.clone(), replay_strategy.clone(), false);
    world.run();
    let mut recording = Replay::record(&scenario, &failing, replay_strategy, cost_source, &world);
    recording.workload_counts = workload_counts;
    if let Err(e) = std::fs::create_dir_all(&args.replay_dir) {
        return bad_input(&format!("--replay-dir {}: {e}", args.replay_dir.display()));
    }
    let stem: String = scenario
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = args.replay_dir.join(format!("{stem}-{seed}.replay"));
    if let Err(e) = std::fs::write(&path, recording.to_text()) {
        return bad_input(&format!("{}: {e}", path.display()));
    }
    println!(
        "saved {} (reproduce it with: gmpsim replay {})",
        path.display(),
        path.display()
    );
    ExitCode::from(EXIT_PROPERTY_FAILED)
}

/// Leaked and starved goroutines, when there are any.
fn print_goroutine_reports(world: &World, starvation_threshold_ms: u64) {
    if world.outcome().is_some_and(|o| o.exit_code == 0) {
        let leaks = world.leaked_goroutines();
        if !leaks.is_empty() {
            println!(
                "leaked goroutines (blocked forever: no goroutine that can still run could wake them):"
            );
            for l in &leaks {
                println!(
                    "  goroutine {} ({}) [{}] at programs.{}.{}: {}",
                    l.goid, l.program, l.reason, l.program, l.op_path, l.op
                );
            }
        }
    }
    let (total, starved) = world.starved_goroutines_top(starvation_threshold_ms * 1_000_000, 10);
    if !starved.is_empty() {
        println!(
            "goroutines that waited at least {starvation_threshold_ms}ms (could run but did not, or for a mutex):"
        );
        for s in &starved {
            println!(
                "  goroutine {} ({}): ready but not running {}, waiting for a mutex {}",
                s.goid,
                s.program,
                format_duration_ns(s.max_runnable_wait_ns),
                format_duration_ns(s.max_mutex_wait_ns)
            );
        }
        if total > starved.len() {
            println!("  ... and {} more", total - starved.len());
        }
    }
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

/// The runtime settings as Go's environment variables, for headings:
/// `GOMAXPROCS=2, GODEBUG=gctrace=1, GOGC=50` (GOGC and GOMEMLIMIT only
/// when they are not Go's defaults).
fn settings_text(runtime: &sim_sched::RuntimeConfig) -> String {
    scenarios::gosource::environment_variables(runtime)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The GC cycles of a run: how many, each one's heap goal, the pauses and
/// the GC's share of the CPU (nothing for a run without cycles).
fn print_gc_cycles(cycles: &[sim_sched::gc::CycleRecord], summary: &Summary) {
    if cycles.is_empty() {
        return;
    }
    let mib = |bytes: u64| format!("{:.1}", bytes as f64 / (1u64 << 20) as f64);
    let forced = cycles.iter().filter(|c| c.forced).count();
    let mut pauses: Vec<u64> = cycles.iter().map(|c| c.pause_ns).collect();
    pauses.sort_unstable();
    let fraction = match summary.get(sim_core::metrics::GMPSIM_GC_CPU_FRACTION) {
        Some(MetricValue::Float(f)) => format!("{:.1}%", f * 100.0),
        _ => "-".to_string(),
    };
    println!(
        "\nGC: {} cycles ({forced} forced by runtime.GC); pauses per cycle (both STWs) p50 {} max {}; GC CPU fraction {fraction} (GCCPUFraction: idle-priority marking excluded)",
        cycles.len(),
        format_duration_ns(pauses[pauses.len() / 2]),
        format_duration_ns(pauses[pauses.len() - 1]),
    );
    let goals: Vec<String> = cycles.iter().map(|c| mib(c.heap_goal_bytes)).collect();
    let shown = if goals.len() <= 30 {
        goals.join(" ")
    } else {
        format!(
            "{} ... {} ({} cycles; all of them with --godebug gctrace=1)",
            goals[..12].join(" "),
            goals[goals.len() - 12..].join(" "),
            goals.len()
        )
    };
    println!("  heap goal per cycle, MiB: {shown}");
}

/// Checks the scenario's `[assert]` table on a finished run and prints the
/// verdict; true when every assertion holds (or there are none).
fn check_assertions(world: &World, assertions: &scenarios::Assertions) -> bool {
    let Some(max_wait_ns) = assertions.max_wait_ns else {
        return true;
    };
    let limit = format_duration_ns(max_wait_ns);
    match world.starved_goroutines(max_wait_ns + 1).first() {
        None => {
            println!("\nassert max_wait = {limit}: holds");
            true
        }
        Some(worst) => {
            println!(
                "\nassert max_wait = {limit}: FAILED: goroutine {} ({}) waited {} runnable, {} for a mutex",
                worst.goid,
                worst.program,
                format_duration_ns(worst.max_runnable_wait_ns),
                format_duration_ns(worst.max_mutex_wait_ns)
            );
            false
        }
    }
}

fn print_summary(name: &str, config: &SimConfig, summary: &Summary, events: u64) {
    println!(
        "\n== {name}: seed {}, {} (model of {GO_VERSION})",
        config.seed,
        settings_text(&config.runtime)
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

/// The simulated run `compare` puts beside real Go: the scenario with the
/// generated program's measuring harness before it (`World::with_go_harness`),
/// default cost model.
fn simulate(scenario: &scenarios::Scenario, seed: u64) -> World {
    let config = SimConfig {
        seed,
        runtime: scenario.runtime.clone(),
        cost: Default::default(),
        record_trace: false,
    };
    let mut world = World::new(&scenario.workload, config).with_go_harness();
    world.run();
    world
}

fn top_command(args: TopArgs) -> ExitCode {
    use crossterm::event::{self, Event, KeyEventKind};
    use std::io::IsTerminal;

    let mut scenario = match scenarios::resolve(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    if let Some(spec) = &args.godebug
        && let Err(e) = scenario.runtime.godebug.apply(spec)
    {
        return bad_input(&format!("--godebug: {e}"));
    }
    let sim_ns_per_s = match scenarios::parse_duration_ns(&args.speed) {
        Ok(ns) if ns > 0 => ns,
        Ok(_) => return bad_input("--speed: must be longer than 0s"),
        Err(e) => return bad_input(&format!("--speed {}: {e}", args.speed)),
    };
    if !std::io::stdout().is_terminal() {
        return bad_input(
            "gmpsim top draws on a terminal and stdout is not one; use `gmpsim run SCENARIO --events` for text",
        );
    }
    let mut world = World::new(
        &scenario.workload,
        SimConfig {
            seed: args.seed,
            runtime: scenario.runtime.clone(),
            cost: sim_core::cost::CostModel::default(),
            record_trace: true,
        },
    );
    let mut pace = top::Pace {
        sim_ns_per_s,
        paused: args.paused,
    };
    let mut terminal = ratatui::init();
    let tick = std::time::Duration::from_millis(100);
    // The simulated time the view has reached (events happen at their own
    // times; the view moves on even when nothing happens).
    let mut view_ns = world.now_ns();
    let result = (|| -> std::io::Result<()> {
        loop {
            terminal.draw(|f| top::render(f, &scenario.name, &world, &pace))?;
            let started = std::time::Instant::now();
            while started.elapsed() < tick {
                if event::poll(tick.saturating_sub(started.elapsed()))?
                    && let Event::Key(key) = event::read()?
                    && key.kind == KeyEventKind::Press
                    && let crossterm::event::KeyCode::Char(c) = key.code
                    && !pace.apply(top::key_action(c), &mut world)
                {
                    return Ok(());
                }
            }
            if pace.paused {
                view_ns = world.now_ns();
            } else if world.outcome().is_none() {
                view_ns += pace.sim_ns_per_s / 10;
                world.run_until(view_ns);
            }
        }
    })();
    ratatui::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gmpsim top: terminal: {e}");
            ExitCode::from(1)
        }
    }
}

fn bench_command(args: BenchArgs) -> ExitCode {
    use bench::{BenchRow, Machine};
    use scenarios::realgo::{GoToolchain, RunOptions};

    let mut list = Vec::new();
    if args.scenarios.is_empty() {
        for entry in scenarios::library::entries() {
            match entry.parse() {
                Ok(s) => list.push(s),
                Err(e) => return bad_input(&e.to_string()),
            }
        }
    } else {
        for name in &args.scenarios {
            match scenarios::resolve(name) {
                Ok(s) => list.push(s),
                Err(e) => return bad_input(&e.to_string()),
            }
        }
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return bad_input(&format!(
            "--timeout: must be a positive number of seconds, got {}",
            args.timeout
        ));
    }
    let go = if args.live {
        match GoToolchain::locate() {
            Ok(go) => Some(go),
            Err(e) => return bad_input(&e.to_string()),
        }
    } else {
        None
    };
    let options = RunOptions {
        runs: args.runs as usize,
        timeout: std::time::Duration::from_secs_f64(args.timeout),
        ..RunOptions::default()
    };
    let mut rows = Vec::new();
    for (i, scenario) in list.iter().enumerate() {
        eprintln!("bench: {}/{} {}", i + 1, list.len(), scenario.name);
        let mut walls = Vec::new();
        let mut peak_bytes = 0u64;
        let mut figures = (0, 0, 0, 0, 0);
        for _ in 0..args.repeat {
            let before = bench::reset_peak();
            let started = std::time::Instant::now();
            let mut world = World::new(
                &scenario.workload,
                SimConfig {
                    seed: 1,
                    runtime: scenario.runtime.clone(),
                    cost: sim_core::cost::CostModel::default(),
                    record_trace: false,
                },
            );
            world.run();
            walls.push(started.elapsed().as_secs_f64());
            peak_bytes = peak_bytes.max((bench::peak_bytes() - before) as u64);
            figures = (
                world.events_processed(),
                world.g_transitions(),
                world.decisions_made(),
                world.now_ns(),
                world.gs().len() as u64,
            );
        }
        let sim_wall_s = bench::median(&mut walls).expect("at least one run");
        let (events, g_transitions, decisions, simulated_ns, goroutines) = figures;
        let (mut real_wall_s, mut real_background_load) = (None, None);
        if let Some(go) = &go {
            match scenarios::realgo::measure(go, scenario, &options, &mut |_| {}) {
                Ok(real) => {
                    let n = real.runs.len() as f64;
                    real_wall_s = Some(real.runs.iter().map(|r| r.wall_s).sum::<f64>() / n);
                    let loads: Vec<f64> = real
                        .runs
                        .iter()
                        .filter_map(|r| r.background_cpu_per_wall_s)
                        .collect();
                    if !loads.is_empty() {
                        real_background_load = Some(loads.iter().sum::<f64>() / loads.len() as f64);
                    }
                }
                Err(e) => eprintln!("bench: {}: real Go: {e}", scenario.name),
            }
        }
        rows.push(BenchRow {
            scenario: scenario.name.clone(),
            sim_wall_s,
            simulated_s: simulated_ns as f64 / 1e9,
            events,
            g_transitions,
            decisions,
            g_transitions_per_s: g_transitions as f64 / sim_wall_s,
            decisions_per_s: decisions as f64 / sim_wall_s,
            sim_ns_per_wall_ns: simulated_ns as f64 / 1e9 / sim_wall_s,
            peak_bytes,
            goroutines,
            peak_bytes_per_goroutine: peak_bytes as f64 / goroutines.max(1) as f64,
            real_over_sim: real_wall_s.map(|r| r / sim_wall_s),
            real_wall_s,
            real_background_load,
        });
    }
    let machine = Machine::describe();
    println!(
        "gmpsim bench: model of {GO_VERSION}, seed 1, median of {} simulation(s) per scenario, on {} ({} CPUs)",
        args.repeat, machine.cpu_model, machine.cpus
    );
    println!(
        "\n  {:<26} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}{}",
        "scenario",
        "sim wall",
        "simulated",
        "events",
        "G trans",
        "Mtrans/s",
        "Mdec/s",
        "sim/wall",
        "peak MB",
        "B/gorout",
        if args.live {
            format!(" {:>10} {:>9}", "real wall", "real/sim")
        } else {
            String::new()
        }
    );
    for r in &rows {
        let live = match (r.real_wall_s, r.real_over_sim) {
            (Some(w), Some(x)) => format!(" {:>9.3}s {:>8.1}x", w, x),
            _ if args.live => format!(" {:>10} {:>9}", "-", "-"),
            _ => String::new(),
        };
        println!(
            "  {:<26} {:>9.4}s {:>9.4}s {:>10} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>9.0}{live}",
            r.scenario,
            r.sim_wall_s,
            r.simulated_s,
            r.events,
            r.g_transitions,
            r.g_transitions_per_s / 1e6,
            r.decisions_per_s / 1e6,
            r.sim_ns_per_wall_ns,
            r.peak_bytes as f64 / 1e6,
            r.peak_bytes_per_goroutine,
        );
    }
    if let Some(rss) = bench::process_peak_rss_bytes() {
        println!(
            "\nprocess peak RSS (this bench, all scenarios): {:.1} MB",
            rss as f64 / 1e6
        );
    }
    let mut ratios: Vec<f64> = rows.iter().filter_map(|r| r.real_over_sim).collect();
    let headline = if ratios.is_empty() {
        None
    } else {
        let faster = ratios.iter().filter(|&&x| x > 1.0).count();
        let n = ratios.len();
        let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let med = bench::median(&mut ratios).expect("non-empty");
        println!(
            "\nreal / simulated wall time: median {med:.1}x, lowest {min:.2}x; the model is faster than real Go on {faster} of {n} scenarios"
        );
        Some(
            serde_json::json!({"median_real_over_sim": med, "lowest_real_over_sim": min, "faster": faster, "scenarios": n}),
        )
    };
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "gmpsim_model_of": GO_VERSION,
            "machine": machine,
            "repeat": args.repeat,
            "real_runs": if args.live { Some(args.runs) } else { None },
            "rows": rows,
            "headline": headline,
            "process_peak_rss_bytes": bench::process_peak_rss_bytes(),
        });
        let text = serde_json::to_string_pretty(&doc).expect("serialisable") + "\n";
        if let Err(e) = std::fs::write(path, text) {
            return bad_input(&format!("--json {}: {e}", path.display()));
        }
        eprintln!("bench: wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

fn compare(args: CompareArgs) -> ExitCode {
    use scenarios::realgo::{GoToolchain, RunOptions};

    let mut scenarios = if args.all {
        let mut all = Vec::new();
        for entry in scenarios::library::entries() {
            match entry.parse() {
                Ok(s) => all.push(s),
                Err(e) => return bad_input(&e.to_string()),
            }
        }
        all
    } else {
        let name = args.scenario.as_deref().unwrap_or_default();
        match scenarios::resolve(name) {
            Ok(s) => vec![s],
            Err(e) => return bad_input(&e.to_string()),
        }
    };
    for scenario in &mut scenarios {
        if let Some(spec) = &args.godebug
            && let Err(e) = scenario.runtime.godebug.apply(spec)
        {
            return bad_input(&format!("--godebug: {e}"));
        }
        if let Err(e) = args.gc.apply(&mut scenario.runtime) {
            return bad_input(&e);
        }
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return bad_input(&format!(
            "--timeout: must be a positive number of seconds, got {}",
            args.timeout
        ));
    }
    let go = match GoToolchain::locate() {
        Ok(go) => go,
        Err(e) => return bad_input(&e.to_string()),
    };
    if let Some(warning) = go.version_warning() {
        eprintln!("gmpsim: warning: {warning}");
    }
    let options = RunOptions {
        runs: args.runs as usize,
        timeout: std::time::Duration::from_secs_f64(args.timeout),
        ..RunOptions::default()
    };

    let mut failed = Vec::new();
    for scenario in &scenarios {
        let world = simulate(scenario, args.seed);
        let simulated = world.summary();
        let mut progress = ProgressDisplay::new(&scenario.name, options.runs);
        let measured =
            scenarios::realgo::measure(&go, scenario, &options, &mut |p| progress.update(p));
        progress.finish();
        match measured {
            Ok(real) => {
                print_comparison(scenario, args.seed, &simulated, &real);
                if args.traces {
                    print_traces(args.seed, world.stderr(), &real);
                }
            }
            Err(e) => {
                println!("\n== {}: real Go could not run it", scenario.name);
                println!("{e}");
                failed.push(scenario.name.clone());
            }
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "gmpsim: error: real Go could not run: {} (see above)",
            failed.join(", ")
        );
        ExitCode::from(EXIT_BAD_INPUT)
    }
}

/// Progress of the real runs on stderr: a bar on a terminal, else one line
/// per run (`cpu-fanout: run 3/5`), so logs stay readable.
pub(crate) struct ProgressDisplay {
    name: String,
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressDisplay {
    pub(crate) fn new(name: &str, runs: usize) -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(runs as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .expect("a valid progress template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar
        });
        Self {
            name: name.to_string(),
            bar,
        }
    }

    pub(crate) fn update(&mut self, progress: scenarios::realgo::Progress) {
        use scenarios::realgo::Progress;
        match (&self.bar, progress) {
            (Some(bar), Progress::Building) => bar.set_message("building"),
            (Some(bar), Progress::Running { run, .. }) => {
                bar.set_position(run as u64 - 1);
                bar.set_message(format!("run {run}"));
            }
            (None, Progress::Building) => eprintln!("{}: building the Go program", self.name),
            (None, Progress::Running { run, of }) => eprintln!("{}: run {run}/{of}", self.name),
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn print_comparison(
    scenario: &scenarios::Scenario,
    seed: u64,
    simulated: &Summary,
    real: &scenarios::realgo::RealMeasurement,
) {
    use scenarios::measure::{FigureUnit, compare};

    println!(
        "\n== {}: {}",
        scenario.name,
        settings_text(&scenario.runtime)
    );
    println!(
        "simulated: model of {GO_VERSION}, seed {seed}: exit status {}, {}",
        simulated.outcome.exit_code, simulated.outcome.reason
    );
    println!(
        "real:      {}, {} runs on {} CPUs: {} completed (program: {})",
        real.go_version,
        real.runs.len(),
        real.host_cpus,
        real.completed(),
        real.binary.display()
    );
    if real.gctrace_added {
        println!(
            "           with GODEBUG={} (gctrace=1 added to read each GC cycle's heap goal)",
            real.godebug
        );
    }
    for (i, run) in real.runs.iter().enumerate() {
        for warning in &run.warnings {
            println!("warning:   run {}: {warning}", i + 1);
        }
    }

    let rows = compare(simulated, &real.figures);
    let width = rows
        .iter()
        .map(|r| r.name.len())
        .chain(simulated.model_only.keys().map(String::len))
        .max()
        .unwrap_or(0)
        .max("metric".len());
    println!(
        "\n  {:<width$}  {:>12}  {:>12}  {:>25}  difference",
        "metric", "simulated", "real mean", "real min–max"
    );
    for row in &rows {
        let value = |v: f64| format_figure(v, row.unit);
        let simulated = row.simulated.map_or("—".to_string(), value);
        let (mean, range) = match &row.real {
            Some(r) => (value(r.mean), format!("{}–{}", value(r.min), value(r.max))),
            None => ("—".to_string(), "—".to_string()),
        };
        let difference = match (row.difference, row.relative_difference) {
            (Some(d), Some(rel)) => {
                format!("{} ({:+.1}%)", format_signed(d, row.unit), rel * 100.0)
            }
            (Some(d), None) => format_signed(d, row.unit),
            _ => String::new(),
        };
        println!(
            "  {:<width$}  {simulated:>12}  {mean:>12}  {range:>25}  {difference}",
            row.name
        );
    }
    for (metric, value) in &simulated.model_only {
        let shown = match value {
            MetricValue::Count(v) => v.to_string(),
            MetricValue::Float(v) if metric.ends_with(":seconds") => {
                format_figure(*v, FigureUnit::Seconds)
            }
            MetricValue::Float(v) => format_figure(*v, FigureUnit::Value),
            MetricValue::Histogram(h) => {
                format!("p99 {}", format_figure(h.p99, FigureUnit::Seconds))
            }
        };
        println!("  {metric:<width$}  {shown:>12}  (model only)");
    }

    println!(
        "\n  run  {:>9}  {:>9}  {:>16}  outcome",
        "wall", "CPU", "background load"
    );
    for (i, run) in real.runs.iter().enumerate() {
        let load = run
            .background_cpu_per_wall_s
            .map_or("unknown".to_string(), |l| format!("{l:.2} CPU-s/s"));
        println!(
            "  {:<3}  {:>9}  {:>9}  {load:>16}  {}",
            i + 1,
            format_figure(run.wall_s, FigureUnit::Seconds),
            format_figure(run.process_cpu_s, FigureUnit::Seconds),
            run.outcome
        );
    }
    // A run that did not complete is shown with what Go printed last, once
    // per way of ending.
    let mut shown = Vec::new();
    for (i, run) in real.runs.iter().enumerate() {
        if run.outcome != scenarios::realgo::RealOutcome::Completed
            && !shown.contains(&&run.outcome)
        {
            shown.push(&run.outcome);
            // Go's own message and the goroutines it names, else (a
            // timeout, a crash) whatever came last.
            const SHOWN_LINES: usize = 20;
            let lines: Vec<&str> = run.stderr.lines().collect();
            let (tail, which) = match lines
                .iter()
                .position(|l| l.starts_with("fatal error:") || l.starts_with("panic:"))
            {
                Some(at) => (&lines[at..lines.len().min(at + SHOWN_LINES)], "Go's report"),
                None => (
                    &lines[lines.len().saturating_sub(SHOWN_LINES)..],
                    "the end of its stderr",
                ),
            };
            println!("\n  run {} ({}): {which}:", i + 1, run.outcome);
            for line in tail {
                println!("    {line}");
            }
        }
    }
}

fn print_traces(seed: u64, simulated_stderr: &str, real: &scenarios::realgo::RealMeasurement) {
    println!("\n-- simulated output (model of {GO_VERSION}, seed {seed}) --");
    print!("{simulated_stderr}");
    match real.runs.first() {
        Some(run) => {
            println!(
                "\n-- real output ({}, run 1 of {}{}) --",
                real.go_version,
                real.runs.len(),
                if real.gctrace_added {
                    ", with gctrace=1 added by the runner"
                } else {
                    ""
                }
            );
            print!("{}", run.stderr);
        }
        None => println!("\n-- real output: no runs --"),
    }
}

/// A figure for the table: durations in Go's style (`12.5ms`), counts as
/// integers (a mean with one decimal).
fn format_figure(value: f64, unit: scenarios::measure::FigureUnit) -> String {
    use scenarios::measure::FigureUnit;
    match unit {
        FigureUnit::Seconds => format_duration_ns((value.max(0.0) * 1e9).round() as u64),
        FigureUnit::Count if value.fract() == 0.0 => format!("{value}"),
        FigureUnit::Count => format!("{value:.1}"),
        FigureUnit::Value => format!("{value:.4}"),
    }
}

/// A difference with its sign: `+4.1ms`, `-2`.
fn format_signed(value: f64, unit: scenarios::measure::FigureUnit) -> String {
    let sign = if value < 0.0 { "-" } else { "+" };
    format!("{sign}{}", format_figure(value.abs(), unit))
}
