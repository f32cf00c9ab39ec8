//! The scenario library: classroom scenarios that ship inside the binary.
//!
//! Each is a format-v1 file in `library/` beside this crate's `Cargo.toml`,
//! embedded with `include_str!` so the binary needs no data directory. Its
//! `origin` is `library:NAME`. To add one: write `library/NAME.toml` (its
//! `name` must be NAME), add it to `ENTRIES`, and the tests check that it
//! parses and that its description says what to look for.

use crate::{Scenario, ScenarioError, parse_scenario};

/// One embedded scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The scenario's name, also its file name without `.toml`.
    pub name: &'static str,
    /// The TOML text.
    pub source: &'static str,
}

impl Entry {
    /// The origin errors and runs name it by.
    pub fn origin(&self) -> String {
        format!("library:{}", self.name)
    }

    /// Parses the embedded text.
    pub fn parse(&self) -> Result<Scenario, ScenarioError> {
        parse_scenario(self.source, &self.origin())
    }
}

macro_rules! entries {
    ($($name:literal),* $(,)?) => {
        [$(Entry { name: $name, source: include_str!(concat!("../library/", $name, ".toml")) }),*]
    };
}

/// Every library scenario, in the order a class would meet them: the
/// scheduler first, then blocking (system calls, the network), channels,
/// locks, the garbage collector, and last what goes wrong (deadlocks, leaks)
/// and scale.
const ENTRIES: [Entry; 40] = entries![
    "cpu-fanout",
    "cpu-fanout-p1",
    "cpu-fanout-p2",
    "steal-imbalance",
    "spawn-storm",
    "gosched-pingpong",
    "starvation-tight-loop",
    "syscall-handoff",
    "netpoll-io-wait",
    "lock-os-thread",
    "unbuffered-pingpong",
    "buffered-producer-consumer",
    "fan-out",
    "fan-in",
    "pipeline",
    "select-timeout",
    "waitgroup-barrier",
    "mutex-contention",
    "mutex-starvation",
    "rwmutex-readers-writer",
    "alloc-steady",
    "alloc-steady-gogc50",
    "alloc-steady-gogc200",
    "assist-burst",
    "tiny-alloc",
    "fragmentation",
    "slow-leak",
    "stack-growth",
    "runtime-gc",
    "memlimit-gogc-off",
    "memlimit-death-spiral",
    "memlimit-death-spiral-p1",
    "deadlock-unbuffered",
    "deadlock-waitgroup",
    "deadlock-lock-order",
    "leaky-worker-pool",
    "leaky-worker-pool-fixed",
    "leak-on-timeout",
    "starvation-rare-schedule",
    "million-parked",
];

/// Every library scenario.
pub fn entries() -> &'static [Entry] {
    &ENTRIES
}

/// The entry with this name.
pub fn entry(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

/// The library scenario with this name, parsed. Library files are checked by
/// the tests, so `None` means only that no scenario has this name.
pub fn get(name: &str) -> Option<Scenario> {
    entry(name).and_then(|e| e.parse().ok())
}

/// The first non-empty line of the description, for listings.
pub fn summary_line(scenario: &Scenario) -> String {
    scenario
        .description
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_string()
}
