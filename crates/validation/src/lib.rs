//! validation: the model against real Go, figure by figure, with tolerances
//! that rest on real Go's measured run-to-run spread.
//!
//! The data path: a library scenario's real-Go runs are recorded once, on a
//! quiet machine, as a baseline file (`validation/baselines/NAME.json`:
//! the Go release, the machine, every run's summary and the machine's load
//! during it; [`baseline`]). `gmpsim validate` simulates each scenario (seeds
//! 1..N, the committed cost model; a figure is its mean over the seeds, as
//! the real side's is its mean over the runs), flattens both sides into figures with the
//! scenarios crate's `measure::figures`, and judges each figure by the rule
//! `validation/tolerances.toml` gives it ([`tolerance`]): a relative band, a
//! bound within a factor (for tails, which do not repeat), a range, or
//! "not compared" with the reason. Outcomes (completed, deadlock) are
//! compared as sets over runs and seeds, so a race that deadlocks in some
//! runs must deadlock in some seeds of the model too ([`verdict`]).
//!
//! `validation/passing.txt` lists the comparisons that pass today; a test
//! fails when one of them stops passing (the ratchet), so fidelity cannot
//! silently regress. Widening a tolerance to make a comparison pass is not
//! how a failure is fixed: each rule cites the spread it rests on.
//!
//! Architecture invariant: this crate judges, it does not model. It runs the
//! model through sim-sched's public API and real Go through the scenarios
//! crate's runner, and never adjusts either side's figures.

pub mod baseline;
pub mod calibrate;
pub mod report;
pub mod tolerance;
pub mod verdict;

use std::path::PathBuf;

/// The repository's `validation/` directory (tolerances, baselines, the
/// list of passing comparisons), found from the working directory or from
/// where this crate was built.
pub fn data_dir() -> PathBuf {
    match scenarios::realgo::repo_root() {
        Some(root) => root.join("validation"),
        None => PathBuf::from("validation"),
    }
}
