//! scenarios: what a gmpsim run is asked to simulate, written down as a file.
//!
//! This crate owns
//! - the scenario file format, version 1 (TOML read through serde; see
//!   `FORMAT.md` beside this crate's `Cargo.toml`): the runtime settings
//!   (GOMAXPROCS, GODEBUG, GOGC, GOMEMLIMIT, the simulated CPU count) and the
//!   goroutine programs; durations and byte sizes in Go's own syntax
//!   ([`parse_duration_ns`], [`parse_byte_size`]);
//! - the scenario library: classroom scenarios embedded in the binary, so
//!   `gmpsim run cpu-fanout` works from any directory ([`library`]);
//! - compiling a scenario into the workload model the simulator executes
//!   (`sim_core::workload::Workload`) and a `sim_sched::config::RuntimeConfig`;
//! - errors that name the file, line, column and field of every mistake
//!   ([`ScenarioError`]);
//! - reading a host's cost-model file (`--cost-model FILE`, [`load_cost_model`]),
//!   so that no sim crate reads files.
//!
//! It also generates the equivalent stdlib-only Go program from a scenario
//! ([`gosource`]), runs it with the pinned Go toolchain and parses what Go
//! reports ([`realgo`]), reads `GODEBUG=gctrace=1` lines, the real
//! runtime's and the model's alike ([`gctrace`]), and `schedtrace` lines
//! ([`schedtrace`]), and lines the two
//! summaries up ([`measure`]).
//!
//! Architecture invariant: this crate contains no model. It describes a
//! workload and hands it over; how goroutines are scheduled is sim-sched's
//! business, and nothing here predicts or adjusts what a run will show.
//!
//! Start reading at [`parse_scenario`], then `compile.rs`.

mod bytesize;
mod compile;
mod cost_file;
mod duration;
mod error;
pub mod explore;
pub mod gctrace;
pub mod gosource;
pub mod library;
pub mod measure;
pub mod realgo;
pub mod replay;
pub mod schedtrace;
mod traceline;

pub use bytesize::{format_byte_size, parse_byte_size};
pub use compile::{
    MAIN_PROGRAM, MAX_GOGC, MAX_GOMAXPROCS, MAX_OP_BYTES, SUPPORTED_FORMATS, parse_gogc,
    parse_gomemlimit,
};
pub use cost_file::{load_cost_model, parse_cost_model};
pub use duration::parse_duration_ns;
pub use error::{Location, ScenarioError};
pub use traceline::TraceLineError;

use sim_core::workload::Workload;
use sim_sched::config::RuntimeConfig;
use std::path::Path;

/// A scenario, checked and compiled, ready to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its short name, like `cpu-fanout`.
    pub name: String,
    /// Classroom text: what it demonstrates and what to look for. The first
    /// line is a one-line summary ([`library::summary_line`]).
    pub description: String,
    /// GOMAXPROCS, GODEBUG, CPUs and the simulated-time limit.
    pub runtime: RuntimeConfig,
    /// The goroutine programs; `main` is what goroutine 1 runs.
    pub workload: Workload,
    /// Where it came from: the file path as given, or `library:NAME`.
    pub origin: String,
    /// The TOML text it was read from, kept for replay files and reports.
    pub source: String,
    /// What the scenario says must hold (its `[assert]` table); `gmpsim run`
    /// checks them and `gmpsim explore` uses them as properties.
    pub assertions: Assertions,
}

/// A scenario's `[assert]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assertions {
    /// No goroutine waits longer than this, runnable (or a sleeper past its
    /// due time) or for a mutex.
    pub max_wait_ns: Option<u64>,
}

/// Parses and compiles a scenario from TOML text. `origin` names the text in
/// errors (a file path, or `library:NAME`).
pub fn parse_scenario(source: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    compile::parse(source, origin)
}

/// Reads and parses a scenario file. A file that cannot be read is an error
/// naming the path, like any other.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::whole_file(&origin, format!("cannot read the scenario file: {e}"))
    })?;
    parse_scenario(&source, &origin)
}

/// A library scenario by name, else a scenario file by path. When it is
/// neither, the error lists the library's names.
pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(entry) = library::entry(name_or_path) {
        return entry.parse();
    }
    let path = Path::new(name_or_path);
    if path.exists() {
        return load_file(path);
    }
    let names: Vec<&str> = library::entries().iter().map(|e| e.name).collect();
    Err(ScenarioError::whole_file(
        name_or_path,
        format!(
            "no library scenario has this name and no file has this path (library scenarios: {})",
            names.join(", ")
        ),
    ))
}
