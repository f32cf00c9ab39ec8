//! Running a scenario with real Go.
//!
//! The runner finds the pinned Go toolchain ([`GoToolchain::locate`]), builds
//! the program [`crate::gosource::generate`] writes for a scenario once into a
//! cache keyed by the source and the Go version ([`build`]), and runs it N
//! times ([`measure`]) with the scenario's GOMAXPROCS, GODEBUG, GOGC and
//! GOMEMLIMIT in the environment, as `GOMAXPROCS=4 GODEBUG=schedtrace=10
//! GOGC=50 ./program` would.
//!
//! A scenario that allocates, collects or grows stacks runs with `gctrace=1`
//! added to its GODEBUG: the runtime then prints one line per GC cycle on
//! stderr, and the runner reads them ([`crate::gctrace`]) for the figures no
//! runtime/metrics name gives, such as the median of the cycles' heap goals
//! (`/gmpsim/gc/heap/goal-median:bytes`).
//!
//! Each run ([`RealRun`]) keeps what the program printed: one JSON object on
//! stdout (parsed into the same `Summary` the simulator produces) and the
//! runtime's stderr (schedtrace lines, fatal errors). How a run ended is an
//! outcome, not an error of the runner: a Go fatal error (exit status 2 and a
//! `fatal error:` line, such as the deadlock detector's), a panic, a crash, or
//! a timeout (the child is killed; nothing waits forever).
//!
//! This machine is shared, and other processes' CPU use measurably shifts
//! scheduling figures. So each run also records the background load: the CPU
//! time every process used during the run (from /proc/stat), minus the
//! child's own (from `wait4`'s resource usage), per wall-clock second.

use crate::Scenario;
use crate::gctrace::{heap_goal_median_bytes, parse_gctrace};
use crate::gosource::{environment_variables, gogc_text, gomemlimit_text, uses_gc};
use crate::measure::{FigureStats, figure_stats};
use serde::Serialize;
use sim_core::metrics::{GMPSIM_GC_GOAL_MEDIAN, MetricValue, Outcome, Summary};
use sim_sched::config::RuntimeConfig;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Go release the model follows and the runner expects.
pub const PINNED_GO_VERSION: &str = sim_sched::GO_VERSION;

/// The command that installs the pinned toolchain, for error messages.
pub const INSTALL_COMMAND: &str = "scripts/install-go.sh";

/// How long one run may take by default before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a build may take before it is killed.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// The environment every `go` command runs with: this toolchain only, no
/// module downloads, and no cgo (the programs are standard library only, and
/// without cgo no C compiler is needed).
const GO_ENV: [(&str, &str); 5] = [
    ("GOTOOLCHAIN", "local"),
    ("GOPROXY", "off"),
    ("GOFLAGS", "-mod=mod"),
    ("GOWORK", "off"),
    ("CGO_ENABLED", "0"),
];

/// What went wrong with the runner itself (as opposed to how a Go program
/// ended, which is a [`RealOutcome`]).
#[derive(Debug)]
pub enum RealGoError {
    /// No Go toolchain was found; the message says where the runner looked.
    GoNotFound { looked_at: Vec<String> },
    /// `GMPSIM_GO` names something that is not an executable file.
    BadGmpsimGo { path: PathBuf },
    /// `go version` failed or printed something unexpected.
    GoVersion { go: PathBuf, message: String },
    /// The generated program did not build (or `go vet` failed).
    Build {
        scenario: String,
        dir: PathBuf,
        output: String,
    },
    /// A file or process operation failed.
    Io {
        context: String,
        error: std::io::Error,
    },
}

impl fmt::Display for RealGoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GoNotFound { looked_at } => write!(
                f,
                "no Go toolchain found (looked at: {}). Install the pinned {PINNED_GO_VERSION} with `{INSTALL_COMMAND}` (it prints the path of `go`), or set GMPSIM_GO to a `go` binary",
                looked_at.join("; ")
            ),
            Self::BadGmpsimGo { path } => write!(
                f,
                "GMPSIM_GO={} is not an executable file. Install the pinned {PINNED_GO_VERSION} with `{INSTALL_COMMAND}`, or unset GMPSIM_GO",
                path.display()
            ),
            Self::GoVersion { go, message } => {
                write!(f, "`{} version` failed: {message}", go.display())
            }
            Self::Build {
                scenario,
                dir,
                output,
            } => write!(
                f,
                "the Go program generated for {scenario} failed to build (in {}):\n{}",
                dir.display(),
                output.trim_end()
            ),
            Self::Io { context, error } => write!(f, "{context}: {error}"),
        }
    }
}

impl std::error::Error for RealGoError {}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RealGoError {
    let context = context.into();
    move |error| RealGoError::Io { context, error }
}

/// The repository root: the nearest directory at or above the current one
/// that holds `Cargo.toml` and `scripts/install-go.sh`, else the source tree
/// this binary was built from, if it is still there.
pub fn repo_root() -> Option<PathBuf> {
    let is_root = |d: &Path| d.join("Cargo.toml").is_file() && d.join(INSTALL_COMMAND).is_file();
    if let Ok(cwd) = std::env::current_dir()
        && let Some(root) = cwd.ancestors().find(|d| is_root(d))
    {
        return Some(root.to_path_buf());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    is_root(&built_from).then(|| built_from.canonicalize().unwrap_or(built_from))
}

/// Where built programs are cached: `target/gmpsim-go-cache/` in the
/// repository, else in the temporary directory.
pub fn default_cache_root() -> PathBuf {
    match repo_root() {
        Some(root) => root.join("target").join("gmpsim-go-cache"),
        None => std::env::temp_dir().join("gmpsim-go-cache"),
    }
}

/// A Go toolchain the runner can use.
#[derive(Clone, Debug)]
pub struct GoToolchain {
    /// The `go` binary.
    pub go: PathBuf,
    /// Its release, like `go1.27.3`.
    pub version: String,
    /// What `go version` printed.
    pub version_line: String,
}

impl GoToolchain {
    /// Finds Go: `GMPSIM_GO`, then the toolchain `scripts/install-go.sh`
    /// installs in `.tools/`, then `go` on `PATH`.
    pub fn locate() -> Result<Self, RealGoError> {
        let mut looked_at = Vec::new();
        match std::env::var_os("GMPSIM_GO") {
            Some(path) if !path.is_empty() => {
                let path = PathBuf::from(path);
                if !is_executable(&path) {
                    return Err(RealGoError::BadGmpsimGo { path });
                }
                return Self::at(&path);
            }
            _ => looked_at.push("GMPSIM_GO (not set)".to_string()),
        }
        match repo_root() {
            Some(root) => {
                let venv_lib = root.join(".tools/venv/lib");
                if let Some(go) = installed_go(&venv_lib) {
                    return Self::at(&go);
                }
                looked_at.push(format!(
                    "{}/python3*/site-packages/go/bin/go",
                    venv_lib.display()
                ));
            }
            None => looked_at.push(
                ".tools/ (no gmpsim repository found above the current directory)".to_string(),
            ),
        }
        if let Some(go) = on_path("go") {
            return Self::at(&go);
        }
        looked_at.push("`go` on PATH".to_string());
        Err(RealGoError::GoNotFound { looked_at })
    }

    /// The toolchain whose `go` binary is `go`.
    pub fn at(go: &Path) -> Result<Self, RealGoError> {
        let output = Command::new(go)
            .arg("version")
            .envs(GO_ENV)
            .output()
            .map_err(|e| RealGoError::GoVersion {
                go: go.to_path_buf(),
                message: e.to_string(),
            })?;
        let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
        // "go version go1.27.3 linux/amd64"
        let version = line
            .split_whitespace()
            .nth(2)
            .filter(|v| output.status.success() && v.starts_with("go"))
            .ok_or_else(|| RealGoError::GoVersion {
                go: go.to_path_buf(),
                message: format!(
                    "unexpected output {line:?} {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            })?
            .to_string();
        Ok(Self {
            go: go.to_path_buf(),
            version,
            version_line: line,
        })
    }

    /// A warning when this is not the release the model follows.
    pub fn version_warning(&self) -> Option<String> {
        (self.version != PINNED_GO_VERSION).then(|| {
            format!(
                "{} is {}, but the model follows {PINNED_GO_VERSION}: figures may differ for that reason alone (install the pinned release with `{INSTALL_COMMAND}`)",
                self.go.display(),
                self.version
            )
        })
    }

    /// The `go` line for go.mod: the language version of this toolchain
    /// (`go1.27.3` -> `1.27`).
    fn language_version(&self) -> String {
        let v = self.version.trim_start_matches("go");
        let mut parts = v.split('.');
        match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => {
                let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
                format!("{major}.{minor}")
            }
            _ => v.to_string(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.go);
        cmd.envs(GO_ENV);
        cmd
    }
}

fn installed_go(venv_lib: &Path) -> Option<PathBuf> {
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(venv_lib)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    pythons.sort();
    pythons
        .into_iter()
        .map(|p| p.join("site-packages/go/bin/go"))
        .find(|go| is_executable(go))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

pub use sim_core::rng::fnv1a64;

/// A Go program built into the cache.
#[derive(Clone, Debug)]
pub struct BuiltProgram {
    /// The cache directory: `main.go`, `go.mod` and the binary.
    pub dir: PathBuf,
    /// The executable.
    pub binary: PathBuf,
    /// True when the binary was already in the cache.
    pub reused: bool,
}

/// Builds `source` (a `package main` file) with `go`, once: the binary is
/// cached under `cache_root/<hash of the source, the build settings and the Go
/// version>/`. `name` says what the program is, in errors.
pub fn build(
    go: &GoToolchain,
    name: &str,
    source: &str,
    cache_root: &Path,
) -> Result<BuiltProgram, RealGoError> {
    let go_mod = format!("module gmpsimprogram\n\ngo {}\n", go.language_version());
    let settings: Vec<String> = GO_ENV
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(std::iter::once("-trimpath".to_string()))
        .collect();
    let key = fnv1a64(
        [
            go.version_line.as_str(),
            &settings.join(" "),
            &go_mod,
            source,
        ]
        .join("\0")
        .as_bytes(),
    );
    let dir = cache_root.join(format!("{key:016x}"));
    let binary = dir.join("program");
    if is_executable(&binary) {
        return Ok(BuiltProgram {
            dir,
            binary,
            reused: true,
        });
    }
    // Build in a private directory, then move the results in: two processes
    // building the same program at once never see each other's half-written
    // files, and the cache holds either nothing or a whole binary.
    let work = dir.join(format!("build-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&work).map_err(io_error(format!("creating {}", work.display())))?;
    let result = (|| {
        for (file, text) in [("main.go", source), ("go.mod", go_mod.as_str())] {
            let path = work.join(file);
            std::fs::write(&path, text).map_err(io_error(format!("writing {}", path.display())))?;
        }
        let mut cmd = go.command();
        // -trimpath: tracebacks name `gmpsimprogram/main.go`, not the
        // scratch directory the build ran in.
        cmd.current_dir(&work)
            .args(["build", "-trimpath", "-o", "program", "."]);
        let finished = run_with_timeout(cmd, BUILD_TIMEOUT)
            .map_err(io_error(format!("running {} build", go.go.display())))?;
        if finished.timed_out || !finished.status.success() {
            return Err(RealGoError::Build {
                scenario: name.to_string(),
                dir: work.clone(),
                output: format!(
                    "{}{}{}",
                    finished.stdout,
                    finished.stderr,
                    if finished.timed_out {
                        format!("go build timed out after {}s\n", BUILD_TIMEOUT.as_secs())
                    } else {
                        String::new()
                    }
                ),
            });
        }
        for file in ["main.go", "go.mod", "program"] {
            let (from, to) = (work.join(file), dir.join(file));
            std::fs::rename(&from, &to).map_err(io_error(format!(
                "moving {} to {}",
                from.display(),
                to.display()
            )))?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&work);
            Ok(BuiltProgram {
                dir,
                binary,
                reused: false,
            })
        }
        // A failed build keeps its directory, for a person to look at.
        Err(e) => Err(e),
    }
}

/// Runs `go vet` on a built program's source.
pub fn vet(go: &GoToolchain, built: &BuiltProgram) -> Result<(), RealGoError> {
    let mut cmd = go.command();
    cmd.current_dir(&built.dir).args(["vet", "."]);
    let finished = run_with_timeout(cmd, BUILD_TIMEOUT)
        .map_err(io_error(format!("running {} vet", go.go.display())))?;
    if finished.timed_out || !finished.status.success() {
        return Err(RealGoError::Build {
            scenario: format!("{} (go vet)", built.dir.display()),
            dir: built.dir.clone(),
            output: format!("{}{}", finished.stdout, finished.stderr),
        });
    }
    Ok(())
}

/// A number no other call in this process returns, for scratch names.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How a real run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RealOutcome {
    /// `main` returned and the program printed its measurements.
    Completed,
    /// The Go runtime stopped the program: exit status 2 and a
    /// `fatal error: ...` line (the deadlock detector's, for one).
    FatalError { message: String },
    /// An unrecovered panic: exit status 2 and a `panic: ...` line.
    Panic { message: String },
    /// Still running when the timeout expired; it was killed.
    Timeout { after_s: f64 },
    /// Anything else: another exit status, a signal, or no measurements.
    Crashed { description: String },
}

impl fmt::Display for RealOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::FatalError { message } | Self::Panic { message } => f.write_str(message),
            Self::Timeout { after_s } => write!(f, "timeout: killed after {after_s}s"),
            Self::Crashed { description } => write!(f, "crashed: {description}"),
        }
    }
}

/// One run of a real Go program.
#[derive(Clone, Debug, Serialize)]
pub struct RealRun {
    /// What the program reported, in the simulator's `Summary` shape. When it
    /// did not complete, the metrics are empty and the outcome says why.
    pub summary: Summary,
    pub outcome: RealOutcome,
    /// The runtime's stderr: schedtrace lines, fatal errors, tracebacks.
    pub stderr: String,
    /// Wall-clock time from start to exit, in seconds (calibration included;
    /// the summary's elapsed time excludes it).
    pub wall_s: f64,
    /// CPU time (user + system) the program used, in seconds.
    pub process_cpu_s: f64,
    /// CPU-seconds other processes used per wall-clock second during the run
    /// (0 on an idle machine, up to the number of CPUs). `None` where
    /// /proc/stat cannot be read.
    pub background_cpu_per_wall_s: Option<f64>,
    /// What the runner could not read from the run (a gctrace line that does
    /// not parse, say), for a person to look at; the figures it would have
    /// given are missing from the summary.
    pub warnings: Vec<String>,
}

/// N runs of a scenario's program and their spread.
#[derive(Clone, Debug, Serialize)]
pub struct RealMeasurement {
    pub scenario: String,
    /// The Go release that ran it (`go1.27.3`).
    pub go_version: String,
    pub gomaxprocs: u32,
    /// GODEBUG as the program ran with it (`gctrace=1` included when the
    /// runner added it).
    pub godebug: String,
    /// True when the runner added `gctrace=1` to the scenario's GODEBUG to
    /// read the GC's cycles from stderr.
    pub gctrace_added: bool,
    /// GOGC and GOMEMLIMIT as the program ran with them (`100`, `off`,
    /// `32MiB`).
    pub gogc: String,
    pub gomemlimit: String,
    /// CPUs this machine offers the process.
    pub host_cpus: usize,
    /// The built program (and, beside it, its source).
    pub binary: PathBuf,
    pub runs: Vec<RealRun>,
    /// Mean, min and max of every figure over the runs that completed.
    pub figures: Vec<FigureStats>,
}

impl RealMeasurement {
    /// How many runs completed.
    pub fn completed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.outcome == RealOutcome::Completed)
            .count()
    }
}

/// How [`measure`] runs a scenario.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How many times to run the program.
    pub runs: usize,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
    /// Where built programs are cached ([`default_cache_root`]).
    pub cache_root: PathBuf,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            runs: 5,
            timeout: DEFAULT_TIMEOUT,
            cache_root: default_cache_root(),
        }
    }
}

/// Where [`measure`] is, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Building the program (or finding it in the cache).
    Building,
    /// Starting run `run` (1-based) of `of`.
    Running { run: usize, of: usize },
}

/// Builds the scenario's Go program and runs it `options.runs` times with the
/// scenario's runtime settings (and `gctrace=1` when it allocates, collects
/// or grows stacks; see the module's documentation).
pub fn measure(
    go: &GoToolchain,
    scenario: &Scenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RealMeasurement, RealGoError> {
    progress(Progress::Building);
    let source = crate::gosource::generate(scenario);
    let built = build(go, &scenario.name, &source, &options.cache_root)?;
    let mut runtime = scenario.runtime.clone();
    let gctrace_added = uses_gc(&scenario.workload) && !runtime.godebug.gctrace;
    if gctrace_added {
        runtime.godebug.gctrace = true;
    }
    let mut runs = Vec::with_capacity(options.runs);
    for run in 1..=options.runs {
        progress(Progress::Running {
            run,
            of: options.runs,
        });
        runs.push(run_program(
            &built.binary,
            &runtime,
            options.timeout,
            &go.version,
        )?);
    }
    let completed: Vec<&Summary> = runs
        .iter()
        .filter(|r| r.outcome == RealOutcome::Completed)
        .map(|r| &r.summary)
        .collect();
    Ok(RealMeasurement {
        scenario: scenario.name.clone(),
        go_version: go.version.clone(),
        gomaxprocs: runtime.gomaxprocs,
        godebug: runtime.godebug.to_string(),
        gctrace_added,
        gogc: gogc_text(runtime.gogc),
        gomemlimit: gomemlimit_text(runtime.memory_limit_bytes),
        host_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        binary: built.binary,
        figures: figure_stats(&completed),
        runs,
    })
}

/// Runs a built program once with `runtime`'s GOMAXPROCS, GODEBUG, GOGC and
/// GOMEMLIMIT, kills it after `timeout`, and reports how it ended.
/// `go_version` goes into the summary of a run that printed none. With
/// `gctrace=1` in GODEBUG, a completed run's summary also has
/// `/gmpsim/gc/heap/goal-median:bytes`, from the gctrace lines on stderr.
pub fn run_program(
    binary: &Path,
    runtime: &RuntimeConfig,
    timeout: Duration,
    go_version: &str,
) -> Result<RealRun, RealGoError> {
    let mut cmd = Command::new(binary);
    // Settings the scenario does not give must not leak in from the caller:
    // an unset GOGC is 100, an unset GOMEMLIMIT no limit.
    for name in ["GOMAXPROCS", "GODEBUG", "GOGC", "GOMEMLIMIT"] {
        cmd.env_remove(name);
    }
    cmd.envs(environment_variables(runtime));

    let busy_before = machine_busy_cpu_s();
    let finished = run_with_timeout(cmd, timeout)
        .map_err(io_error(format!("running {}", binary.display())))?;
    let busy_after = machine_busy_cpu_s();
    let background_cpu_per_wall_s = match (busy_before, busy_after) {
        (Some(before), Some(after)) if finished.wall_s > 0.0 => {
            Some(((after - before) - finished.cpu_s).max(0.0) / finished.wall_s)
        }
        _ => None,
    };
    let (outcome, mut summary) = classify(&finished, timeout, go_version);
    let mut warnings = Vec::new();
    if runtime.godebug.gctrace && outcome == RealOutcome::Completed {
        match parse_gctrace(&finished.stderr) {
            Ok(cycles) => {
                if let Some(median) = heap_goal_median_bytes(&cycles) {
                    summary.metrics.insert(
                        GMPSIM_GC_GOAL_MEDIAN.to_string(),
                        MetricValue::Count(median),
                    );
                }
            }
            Err(e) => warnings.push(format!(
                "stderr: {e} (no {GMPSIM_GC_GOAL_MEDIAN} for this run)"
            )),
        }
    }
    Ok(RealRun {
        summary,
        outcome,
        stderr: finished.stderr,
        wall_s: finished.wall_s,
        process_cpu_s: finished.cpu_s,
        background_cpu_per_wall_s,
        warnings,
    })
}

/// The outcome of a finished process and the summary it reported.
fn classify(finished: &Finished, timeout: Duration, go_version: &str) -> (RealOutcome, Summary) {
    let no_metrics = |exit_code: i32, reason: String| Summary {
        go_version: go_version.to_string(),
        outcome: Outcome { exit_code, reason },
        metrics: Default::default(),
        model_only: Default::default(),
    };
    let line_starting = |prefix: &str| {
        finished
            .stderr
            .lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    };
    if finished.timed_out {
        let outcome = RealOutcome::Timeout {
            after_s: timeout.as_secs_f64(),
        };
        let summary = no_metrics(128 + 9, outcome.to_string());
        return (outcome, summary);
    }
    match finished.status {
        ExitStatus::Code(0) => match parse_report(&finished.stdout) {
            Ok(summary) => (RealOutcome::Completed, summary),
            Err(why) => {
                let outcome = RealOutcome::Crashed {
                    description: format!("exit status 0 but {why}"),
                };
                (outcome.clone(), no_metrics(0, outcome.to_string()))
            }
        },
        ExitStatus::Code(2) if line_starting("fatal error:").is_some() => {
            let message = line_starting("fatal error:").unwrap_or_default();
            let summary = no_metrics(2, message.clone());
            (RealOutcome::FatalError { message }, summary)
        }
        ExitStatus::Code(2) if line_starting("panic:").is_some() => {
            let message = line_starting("panic:").unwrap_or_default();
            let summary = no_metrics(2, message.clone());
            (RealOutcome::Panic { message }, summary)
        }
        ExitStatus::Code(code) => {
            let outcome = RealOutcome::Crashed {
                description: finished.status.to_string(),
            };
            (outcome.clone(), no_metrics(code, outcome.to_string()))
        }
        ExitStatus::Signal(signal) => {
            let outcome = RealOutcome::Crashed {
                description: finished.status.to_string(),
            };
            (
                outcome.clone(),
                no_metrics(128 + signal, outcome.to_string()),
            )
        }
    }
}

/// Parses the JSON object a generated program prints (its last line).
pub fn parse_report(stdout: &str) -> Result<Summary, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or("it printed no measurements on stdout")?;
    let mut summary: Summary = serde_json::from_str(line)
        .map_err(|e| format!("its measurements do not parse ({e}): {line}"))?;
    // Go's encoding/json writes a whole float64 without a decimal point (2
    // seconds as `2`), which reads back as a count. A metric in seconds,
    // CPU-seconds or a ratio is never a count.
    for (name, value) in summary.metrics.iter_mut() {
        if let MetricValue::Count(v) = *value
            && is_float_unit(name)
        {
            *value = MetricValue::Float(v as f64);
        }
    }
    Ok(summary)
}

/// Whether a metric's unit (after the colon) is a float64 in Go's report:
/// `seconds`, `cpu-seconds`, `ratio`.
fn is_float_unit(name: &str) -> bool {
    name.rsplit_once(':')
        .is_some_and(|(_, unit)| matches!(unit, "seconds" | "cpu-seconds" | "ratio"))
}

/// CPU time all processes on the machine have used since boot, in seconds:
/// the busy columns of /proc/stat's `cpu` line (user, nice, system, irq,
/// softirq, steal; guest time is already in user).
fn machine_busy_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_proc_stat_busy_ticks(&text).map(|ticks| ticks as f64 / clock_ticks_per_s())
}

fn parse_proc_stat_busy_ticks(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let cols: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let at = |i: usize| cols.get(i).copied().unwrap_or(0);
    Some(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

fn clock_ticks_per_s() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks > 0 {
            return ticks as f64;
        }
    }
    100.0
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    pub fn success(self) -> bool {
        self == Self::Code(0)
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "exit status {c}"),
            Self::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// A process that has ended, and what it printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub wall_s: f64,
    /// User + system CPU time of the process, in seconds.
    pub cpu_s: f64,
    pub timed_out: bool,
}

/// Runs `cmd` to its end, killing it after `timeout`. Stdout and stderr are
/// read on their own threads, so a chatty child never blocks on a full pipe.
///
/// The exit is awaited on a helper thread with `waitid(WNOWAIT)`, which
/// leaves the child a zombie: its pid cannot be reused before this thread
/// reaps it with `wait4` (which also returns its CPU usage), so killing it on
/// timeout can never hit another process.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> std::io::Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read_all(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read_all(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let (exited_tx, exited_rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        wait_exited(pid);
        let _ = exited_tx.send(());
    });
    let timed_out = match exited_rx.recv_timeout(timeout) {
        Ok(_) => false,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = exited_rx.recv();
            true
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => false,
    };
    let wall_s = start.elapsed().as_secs_f64();
    let (status, cpu_s) = reap(&mut child)?;
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        wall_s,
        cpu_s,
        timed_out,
    })
}

/// Blocks until process `pid` has exited, without reaping it.
#[cfg(unix)]
fn wait_exited(pid: u32) {
    loop {
        // SAFETY: siginfo_t is plain data; waitid writes into it and reads
        // nothing else of ours.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// Reaps the child, returning how it ended and the CPU time it used.
#[cfg(unix)]
fn reap(child: &mut std::process::Child) -> std::io::Result<(ExitStatus, f64)> {
    let pid = child.id() as libc::pid_t;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data that wait4 fills in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            let cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
            let exit = if libc::WIFSIGNALED(status) {
                ExitStatus::Signal(libc::WTERMSIG(status))
            } else {
                ExitStatus::Code(libc::WEXITSTATUS(status))
            };
            return Ok((exit, cpu_s));
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINTR) {
            return Err(error);
        }
    }
}

#[cfg(not(unix))]
fn wait_exited(_pid: u32) {}

#[cfg(not(unix))]
fn reap(child: &mut std::process::Child) -> std::io::Result<(ExitStatus, f64)> {
    let status = child.wait()?;
    Ok((ExitStatus::Code(status.code().unwrap_or(-1)), 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn proc_stat_busy_time_leaves_out_idle_and_iowait() {
        let text = "cpu  100 20 30 5000 70 1 2 3 0 0\ncpu0 50 10 15 2500 35 1 1 2 0 0\n";
        assert_eq!(
            parse_proc_stat_busy_ticks(text),
            Some(100 + 20 + 30 + 1 + 2 + 3)
        );
        assert_eq!(parse_proc_stat_busy_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn whole_seconds_from_go_read_back_as_seconds_not_counts() {
        let json = r#"{"go_version":"go1.27.3","outcome":{"exit_code":0,"reason":"main returned"},"metrics":{"/gmpsim/process/elapsed:seconds":2,"/sched/gomaxprocs:threads":4,"/cpu/classes/gc/total:cpu-seconds":0,"/gmpsim/gc/cpu-fraction:ratio":0,"/gc/heap/goal:bytes":4194304},"process_cpu_seconds":{"user":1.5,"system":0}}"#;
        let s = parse_report(&format!("noise\n{json}\n")).unwrap();
        assert_eq!(
            s.get(sim_core::metrics::GMPSIM_ELAPSED),
            Some(&MetricValue::Float(2.0))
        );
        assert_eq!(s.count(sim_core::metrics::SCHED_GOMAXPROCS), Some(4));
        assert_eq!(
            s.get(sim_core::metrics::CPU_GC_TOTAL),
            Some(&MetricValue::Float(0.0))
        );
        assert_eq!(
            s.get(sim_core::metrics::GMPSIM_GC_CPU_FRACTION),
            Some(&MetricValue::Float(0.0))
        );
        assert_eq!(s.count(sim_core::metrics::GC_HEAP_GOAL), Some(4 << 20));
        assert!(parse_report("").is_err());
        assert!(parse_report("{\"not\": 1}").is_err());
    }
}
