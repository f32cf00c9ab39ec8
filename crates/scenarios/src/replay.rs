//! Replay files: everything needed to reproduce a simulated run exactly.
//!
//! A replay is a short, diff-friendly text file:
//!
//! ```text
//! gmpsim-replay 1
//! model go1.27.3 gmpsim-0.1.0
//! scenario library:deadlock-lock-order
//! scenario-hash fnv1a64:6c2b0c3f5e2f0a11
//! cost-model default fnv1a64:0f3c...
//! seed 24
//! gomaxprocs 2
//! ncpu 2
//! godebug schedtrace=10
//! gogc 100
//! gomemlimit off
//! max-sim-time-ns 60000000000
//! max-goroutines 4000000
//! max-events 500000000
//! max-heap-bytes 4294967296
//! workload-count 0 2
//! strategy seeded
//! outcome 2 fatal error: all goroutines are asleep - deadlock!
//! trace-hash fnv1a64:9a1e...
//! ```
//!
//! The scenario's text and the cost model are hashed, so a replay made with a
//! different scenario file or cost model is refused with the reason; the
//! outcome and the hash of the trace text let `gmpsim replay` confirm that
//! the run was reproduced byte for byte. The strategy line says how the
//! model's random choices were made: `strategy seeded` (from the seed's
//! named streams), `strategy pct DEPTH HORIZON`, or `strategy decisions N`
//! followed by N lines `decision INDEX KIND RANGE VALUE` (choices not listed
//! take their default: no jitter, the first candidate), which is what a
//! shrunk failure is.
//!
//! `workload-count SITE N` lines (a shrunk failure's) lower the scenario's
//! goroutine and loop counts: site numbers are `Workload::count_sites`'s.
//!
//! `gogc` (a percentage or `off`), `gomemlimit` (a byte size like `32MiB`,
//! or `off`), the three `max-` limits and `workload-count` came later in
//! format 1: a file without them was recorded before runs had those
//! settings, and reads as Go's defaults (`gogc 100`, `gomemlimit off`), the
//! default limits and the scenario's own counts.

use crate::gosource::{gogc_text, gomemlimit_text};
use crate::{Scenario, ScenarioError, parse_gogc, parse_gomemlimit};
use sim_core::cost::CostModel;
use sim_core::metrics::Outcome;
use sim_core::rng::fnv1a64;
use sim_sched::decide::{Choice, ChoiceKind, Strategy};
use sim_sched::{GO_VERSION, RuntimeConfig, SimConfig, World};
use std::fmt::Write;
use std::path::Path;

/// The replay format version this build reads and writes.
pub const REPLAY_FORMAT: u32 = 1;
/// The simulator version recorded in replays.
pub const GMPSIM_VERSION: &str = concat!("gmpsim-", env!("CARGO_PKG_VERSION"));

/// Where the run's cost model came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CostSource {
    /// The committed defaults.
    Default,
    /// A `--cost-model FILE`.
    File(String),
}

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub model: String,
    /// `library:NAME` or a file path.
    pub scenario: String,
    pub scenario_hash: u64,
    pub cost_source: CostSource,
    pub cost_hash: u64,
    pub seed: u64,
    pub runtime: RuntimeConfig,
    /// Counts of the scenario's workload lowered by shrinking: (count site,
    /// count), sites numbered as `Workload::count_sites` numbers them.
    pub workload_counts: Vec<(usize, u64)>,
    pub strategy: Strategy,
    pub outcome: Outcome,
    pub trace_hash: u64,
}

/// The hash of a cost model (of its canonical JSON form).
pub fn cost_hash(cost: &CostModel) -> u64 {
    fnv1a64(
        serde_json::to_string(cost)
            .expect("a cost model serialises")
            .as_bytes(),
    )
}

/// The hash of a run's trace text and output, what "byte for byte" means.
pub fn run_hash(world: &World) -> u64 {
    let mut text = String::from(world.stderr());
    for r in world.trace() {
        let _ = writeln!(text, "{r}");
    }
    fnv1a64(text.as_bytes())
}

impl Replay {
    /// Records a finished run (with its trace) of `scenario`.
    pub fn record(
        scenario: &Scenario,
        config: &SimConfig,
        strategy: Strategy,
        cost_source: CostSource,
        world: &World,
    ) -> Replay {
        Replay {
            model: format!("{GO_VERSION} {GMPSIM_VERSION}"),
            scenario: scenario.origin.clone(),
            scenario_hash: fnv1a64(scenario.source.as_bytes()),
            cost_source,
            cost_hash: cost_hash(&config.cost),
            seed: config.seed,
            runtime: config.runtime.clone(),
            workload_counts: Vec::new(),
            strategy,
            outcome: world.outcome().cloned().unwrap_or(Outcome {
                exit_code: -1,
                reason: "still running".into(),
            }),
            trace_hash: run_hash(world),
        }
    }

    /// The replay file's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "gmpsim-replay {REPLAY_FORMAT}");
        let _ = writeln!(out, "model {}", self.model);
        let _ = writeln!(out, "scenario {}", self.scenario);
        let _ = writeln!(out, "scenario-hash fnv1a64:{:016x}", self.scenario_hash);
        match &self.cost_source {
            CostSource::Default => {
                let _ = writeln!(out, "cost-model default fnv1a64:{:016x}", self.cost_hash);
            }
            CostSource::File(path) => {
                let _ = writeln!(
                    out,
                    "cost-model file:{path} fnv1a64:{:016x}",
                    self.cost_hash
                );
            }
        }
        let _ = writeln!(out, "seed {}", self.seed);
        let _ = writeln!(out, "gomaxprocs {}", self.runtime.gomaxprocs);
        let _ = writeln!(out, "ncpu {}", self.runtime.ncpu);
        let _ = writeln!(out, "godebug {}", self.runtime.godebug);
        let _ = writeln!(out, "gogc {}", gogc_text(self.runtime.gogc));
        let _ = writeln!(
            out,
            "gomemlimit {}",
            gomemlimit_text(self.runtime.memory_limit_bytes)
        );
        let _ = writeln!(out, "max-sim-time-ns {}", self.runtime.max_sim_time_ns);
        let _ = writeln!(out, "max-goroutines {}", self.runtime.max_goroutines);
        let _ = writeln!(out, "max-events {}", self.runtime.max_events);
        let _ = writeln!(out, "max-heap-bytes {}", self.runtime.max_heap_bytes);
        for (site, count) in &self.workload_counts {
            let _ = writeln!(out, "workload-count {site} {count}");
        }
        let _ = writeln!(
            out,
            "outcome {} {}",
            self.outcome.exit_code, self.outcome.reason
        );
        let _ = writeln!(out, "trace-hash fnv1a64:{:016x}", self.trace_hash);
        match &self.strategy {
            Strategy::Seeded => {
                let _ = writeln!(out, "strategy seeded");
            }
            Strategy::Pct { depth, horizon } => {
                let _ = writeln!(out, "strategy pct {depth} {horizon}");
            }
            Strategy::Decisions(list) => {
                let _ = writeln!(out, "strategy decisions {}", list.len());
                for (index, c) in list {
                    let _ = writeln!(
                        out,
                        "decision {index} {} {} {}",
                        c.kind.name(),
                        c.range,
                        c.value
                    );
                }
            }
        }
        out
    }

    /// Parses a replay file's text; errors name the line.
    pub fn parse(text: &str, origin: &str) -> Result<Replay, ScenarioError> {
        let mut fields: Vec<(usize, &str, &str)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            fields.push((i + 1, key, value));
        }
        let err = |line: usize, field: &str, message: String| {
            ScenarioError::at_line(origin, line, field, message)
        };
        let get = |key: &str| -> Result<(usize, &str), ScenarioError> {
            fields
                .iter()
                .find(|(_, k, _)| *k == key)
                .map(|(l, _, v)| (*l, *v))
                .ok_or_else(|| ScenarioError::whole_file(origin, format!("missing `{key}` line")))
        };
        let (line, version) = get("gmpsim-replay")?;
        if version != REPLAY_FORMAT.to_string() {
            return Err(err(
                line,
                "gmpsim-replay",
                format!(
                    "format {version} is not supported (this build reads format {REPLAY_FORMAT})"
                ),
            ));
        }
        let hash = |key: &str| -> Result<u64, ScenarioError> {
            let (line, v) = get(key)?;
            let hex = v.rsplit("fnv1a64:").next().unwrap_or("");
            u64::from_str_radix(hex, 16)
                .map_err(|_| err(line, key, format!("`{v}` is not fnv1a64:HEX")))
        };
        let number = |key: &str| -> Result<u64, ScenarioError> {
            let (line, v) = get(key)?;
            v.parse()
                .map_err(|_| err(line, key, format!("`{v}` is not a non-negative integer")))
        };
        let (_, model) = get("model")?;
        let (_, scenario) = get("scenario")?;
        let (cost_line, cost) = get("cost-model")?;
        let cost_source = match cost.split_once(' ').map(|(s, _)| s) {
            Some("default") => CostSource::Default,
            Some(s) if s.starts_with("file:") => CostSource::File(s["file:".len()..].to_string()),
            _ => {
                return Err(err(
                    cost_line,
                    "cost-model",
                    format!("`{cost}` is neither `default ...` nor `file:PATH ...`"),
                ));
            }
        };
        let mut runtime = RuntimeConfig {
            gomaxprocs: number("gomaxprocs")? as u32,
            ncpu: number("ncpu")? as u32,
            max_sim_time_ns: number("max-sim-time-ns")?,
            ..RuntimeConfig::default()
        };
        let (godebug_line, godebug) = get("godebug")?;
        runtime
            .godebug
            .apply(godebug)
            .map_err(|e| err(godebug_line, "godebug", e.to_string()))?;
        // Optional: files recorded before these settings existed have neither.
        let optional = |key: &str| fields.iter().find(|(_, k, _)| *k == key);
        if let Some((line, _, value)) = optional("gogc") {
            runtime.gogc = parse_gogc(value).map_err(|e| err(*line, "gogc", e))?;
        }
        if let Some((line, _, value)) = optional("gomemlimit") {
            runtime.memory_limit_bytes =
                parse_gomemlimit(value).map_err(|e| err(*line, "gomemlimit", e))?;
        }
        for (key, slot) in [
            ("max-goroutines", &mut runtime.max_goroutines),
            ("max-events", &mut runtime.max_events),
            ("max-heap-bytes", &mut runtime.max_heap_bytes),
        ] {
            if let Some((line, _, value)) = optional(key) {
                *slot = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    err(*line, key, format!("`{value}` is not a positive integer"))
                })?;
            }
        }
        let mut workload_counts = Vec::new();
        for (line, _, value) in fields.iter().filter(|(_, k, _)| *k == "workload-count") {
            let parsed = match value.split_whitespace().collect::<Vec<_>>().as_slice() {
                [site, count] => site
                    .parse::<usize>()
                    .ok()
                    .zip(count.parse::<u64>().ok().filter(|n| *n > 0)),
                _ => None,
            };
            workload_counts.push(parsed.ok_or_else(|| {
                err(
                    *line,
                    "workload-count",
                    format!("`{value}` is not SITE COUNT with COUNT at least 1"),
                )
            })?);
        }
        let (strategy_line, strategy_text) = get("strategy")?;
        let words: Vec<&str> = strategy_text.split_whitespace().collect();
        let strategy = match words.as_slice() {
            ["seeded"] => Strategy::Seeded,
            ["pct", depth, horizon] => Strategy::Pct {
                depth: depth.parse().map_err(|_| {
                    err(
                        strategy_line,
                        "strategy",
                        format!("bad PCT depth `{depth}`"),
                    )
                })?,
                horizon: horizon.parse().map_err(|_| {
                    err(
                        strategy_line,
                        "strategy",
                        format!("bad PCT horizon `{horizon}`"),
                    )
                })?,
            },
            ["decisions", n] => {
                let n: usize = n.parse().map_err(|_| {
                    err(
                        strategy_line,
                        "strategy",
                        format!("bad decision count `{n}`"),
                    )
                })?;
                // Not `with_capacity(n)`: n is whatever the file says (the
                // fuzzer found a file asking for 10^11), checked below.
                let mut list: Vec<(u64, Choice)> = Vec::new();
                for (line, _, value) in fields.iter().filter(|(_, k, _)| *k == "decision") {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    let parsed = match parts.as_slice() {
                        [index, kind, range, value] => (|| {
                            Some((
                                index.parse::<u64>().ok()?,
                                Choice {
                                    kind: ChoiceKind::from_name(kind)?,
                                    range: range.parse().ok().filter(|r: &u64| *r > 0)?,
                                    value: value.parse().ok()?,
                                },
                            ))
                        })(),
                        _ => None,
                    };
                    let (index, choice) =
                        parsed.filter(|(_, c)| c.value < c.range).ok_or_else(|| {
                            err(
                                *line,
                                "decision",
                                format!(
                                    "`{value}` is not INDEX KIND RANGE VALUE with VALUE < RANGE"
                                ),
                            )
                        })?;
                    if list.last().is_some_and(|(last, _)| *last >= index) {
                        return Err(err(
                            *line,
                            "decision",
                            "decisions must be in increasing index order".into(),
                        ));
                    }
                    list.push((index, choice));
                }
                if list.len() != n {
                    return Err(err(
                        strategy_line,
                        "strategy",
                        format!("says {n} decisions, the file has {}", list.len()),
                    ));
                }
                Strategy::Decisions(list)
            }
            _ => {
                return Err(err(
                    strategy_line,
                    "strategy",
                    format!(
                        "unknown strategy `{strategy_text}` (expected seeded, pct DEPTH HORIZON, or decisions N)"
                    ),
                ));
            }
        };
        let (outcome_line, outcome) = get("outcome")?;
        let (code, reason) = outcome.split_once(' ').unwrap_or((outcome, ""));
        let exit_code = code.parse().map_err(|_| {
            err(
                outcome_line,
                "outcome",
                format!("`{code}` is not an exit status"),
            )
        })?;
        Ok(Replay {
            model: model.to_string(),
            scenario: scenario.to_string(),
            scenario_hash: hash("scenario-hash")?,
            cost_source,
            cost_hash: hash("cost-model")?,
            seed: number("seed")?,
            runtime,
            workload_counts,
            strategy,
            outcome: Outcome {
                exit_code,
                reason: reason.to_string(),
            },
            trace_hash: hash("trace-hash")?,
        })
    }

    /// Reads a replay file.
    pub fn load(path: &Path) -> Result<Replay, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ScenarioError::whole_file(&origin, format!("cannot read the replay file: {e}"))
        })?;
        Replay::parse(&text, &origin)
    }

    /// The scenario and configuration to re-run, or why this build cannot
    /// reproduce the recording.
    pub fn prepare(&self, origin: &str) -> Result<(Scenario, SimConfig), ScenarioError> {
        let refuse = |message: String| ScenarioError::whole_file(origin, message);
        let model = format!("{GO_VERSION} {GMPSIM_VERSION}");
        if self.model != model {
            return Err(refuse(format!(
                "recorded with `{}`, this is `{model}`: the model may differ",
                self.model
            )));
        }
        let scenario = match self.scenario.strip_prefix("library:") {
            Some(name) => crate::library::get(name)
                .ok_or_else(|| refuse(format!("the library has no scenario `{name}` any more")))?,
            None => crate::load_file(Path::new(&self.scenario))?,
        };
        let hash = fnv1a64(scenario.source.as_bytes());
        if hash != self.scenario_hash {
            return Err(refuse(format!(
                "the scenario {} changed since the replay was recorded (fnv1a64 {hash:016x}, recorded {:016x})",
                self.scenario, self.scenario_hash
            )));
        }
        let cost = match &self.cost_source {
            CostSource::Default => CostModel::default(),
            CostSource::File(path) => crate::load_cost_model(Path::new(path))?,
        };
        if cost_hash(&cost) != self.cost_hash {
            return Err(refuse(format!(
                "the cost model ({}) changed since the replay was recorded",
                match &self.cost_source {
                    CostSource::Default => "the committed defaults".to_string(),
                    CostSource::File(p) => p.clone(),
                }
            )));
        }
        let mut scenario = scenario;
        if !self.workload_counts.is_empty() {
            scenario.workload = scenario
                .workload
                .with_counts(&self.workload_counts)
                .map_err(|e| refuse(format!("its workload counts do not fit the scenario: {e}")))?;
        }
        let config = SimConfig {
            seed: self.seed,
            runtime: self.runtime.clone(),
            cost,
            record_trace: true,
        };
        Ok((scenario, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> (Replay, World) {
        let scenario = crate::library::get("steal-imbalance").unwrap();
        let config = SimConfig {
            seed: 5,
            runtime: scenario.runtime.clone(),
            cost: CostModel::default(),
            record_trace: true,
        };
        let mut world = World::new(&scenario.workload, config.clone());
        world.run();
        (
            Replay::record(
                &scenario,
                &config,
                Strategy::Seeded,
                CostSource::Default,
                &world,
            ),
            world,
        )
    }

    #[test]
    fn a_replay_round_trips_through_its_text_and_reproduces_the_run() {
        let (replay, world) = recorded();
        let parsed = Replay::parse(&replay.to_text(), "x.replay").unwrap();
        assert_eq!(parsed, replay);
        let (scenario, config) = parsed.prepare("x.replay").unwrap();
        let mut again = World::new(&scenario.workload, config);
        again.run();
        assert_eq!(run_hash(&again), replay.trace_hash);
        assert_eq!(again.outcome(), world.outcome());
    }

    #[test]
    fn gogc_and_the_memory_limit_are_recorded_and_optional() {
        let (mut replay, _) = recorded();
        assert!(replay.to_text().contains("\ngogc 100\ngomemlimit off\n"));
        replay.runtime.gogc = -1;
        replay.runtime.memory_limit_bytes = 32 << 20;
        let text = replay.to_text();
        assert!(text.contains("\ngogc off\ngomemlimit 32MiB\n"), "{text}");
        assert_eq!(Replay::parse(&text, "x.replay").unwrap(), replay);
        replay.runtime.gogc = 50;
        let text = replay.to_text();
        assert_eq!(Replay::parse(&text, "x.replay").unwrap().runtime.gogc, 50);

        // A file from before these settings: Go's defaults.
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("gogc ") && !l.starts_with("gomemlimit "))
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed = Replay::parse(&old, "old.replay").unwrap();
        assert_eq!(parsed.runtime.gogc, 100);
        assert_eq!(parsed.runtime.memory_limit_bytes, i64::MAX);

        let bad = text.replace("gomemlimit 32MiB", "gomemlimit 32MB");
        let e = Replay::parse(&bad, "x.replay").unwrap_err().to_string();
        assert!(
            e.starts_with("x.replay:11:1: gomemlimit: unknown unit \"MB\""),
            "{e}"
        );
        let bad = text.replace("gogc 50", "gogc fifty");
        let e = Replay::parse(&bad, "x.replay").unwrap_err().to_string();
        assert!(e.starts_with("x.replay:10:1: gogc: "), "{e}");
    }

    #[test]
    fn shrunk_workload_counts_are_recorded_applied_and_checked() {
        let (mut replay, _) = recorded();
        let sites = crate::library::get("steal-imbalance")
            .unwrap()
            .workload
            .count_sites();
        assert!(!sites.is_empty(), "steal-imbalance spawns goroutines");
        replay.workload_counts = vec![(0, 1)];
        let text = replay.to_text();
        assert!(text.contains("\nworkload-count 0 1\n"), "{text}");
        let parsed = Replay::parse(&text, "x.replay").unwrap();
        assert_eq!(parsed, replay);
        let (scenario, _) = parsed.prepare("x.replay").unwrap();
        assert_eq!(scenario.workload.count_sites()[0], 1);

        let bad = text.replace("workload-count 0 1", "workload-count 0 0");
        let e = Replay::parse(&bad, "x.replay").unwrap_err().to_string();
        assert!(e.contains("workload-count: `0 0` is not SITE COUNT"), "{e}");
        replay.workload_counts = vec![(sites.len(), 1)];
        let e = replay.prepare("x.replay").unwrap_err().to_string();
        assert!(
            e.contains("its workload counts do not fit the scenario"),
            "{e}"
        );
    }

    /// Found by `scripts/fuzz.sh replay_file`: a decision count the file
    /// does not back up was allocated up front, and a huge one aborted.
    #[test]
    fn a_huge_decision_count_is_an_error_not_an_allocation() {
        let (replay, _) = recorded();
        let text = replay
            .to_text()
            .replace("strategy seeded", "strategy decisions 100100000000");
        let e = Replay::parse(&text, "x.replay").unwrap_err().to_string();
        assert!(
            e.contains("says 100100000000 decisions, the file has 0"),
            "{e}"
        );
    }

    #[test]
    fn the_resource_limits_are_recorded_so_a_stopped_run_replays_as_stopped() {
        let (mut replay, _) = recorded();
        replay.runtime.max_goroutines = 7;
        replay.runtime.max_events = 900;
        replay.runtime.max_heap_bytes = 1 << 20;
        let text = replay.to_text();
        assert!(
            text.contains("\nmax-goroutines 7\nmax-events 900\nmax-heap-bytes 1048576\n"),
            "{text}"
        );
        assert_eq!(Replay::parse(&text, "x.replay").unwrap(), replay);
        let bad = text.replace("max-events 900", "max-events 0");
        let e = Replay::parse(&bad, "x.replay").unwrap_err().to_string();
        assert!(
            e.contains("max-events: `0` is not a positive integer"),
            "{e}"
        );
        // Files from before the limits were recorded get the defaults.
        let old: String = text
            .lines()
            .filter(|l| {
                !["max-goroutines ", "max-events ", "max-heap-bytes "]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed = Replay::parse(&old, "old.replay").unwrap();
        let defaults = RuntimeConfig::default();
        assert_eq!(
            (
                parsed.runtime.max_goroutines,
                parsed.runtime.max_events,
                parsed.runtime.max_heap_bytes
            ),
            (
                defaults.max_goroutines,
                defaults.max_events,
                defaults.max_heap_bytes
            )
        );
    }

    #[test]
    fn a_replay_of_a_changed_scenario_is_refused_with_the_reason() {
        let (mut replay, _) = recorded();
        replay.scenario_hash ^= 1;
        let err = replay.prepare("x.replay").unwrap_err().to_string();
        assert!(
            err.contains("changed since the replay was recorded"),
            "{err}"
        );
    }

    #[test]
    fn bad_replay_lines_are_errors_naming_the_line() {
        let (replay, _) = recorded();
        let text = replay.to_text().replace("seed 5", "seed five");
        let err = Replay::parse(&text, "x.replay").unwrap_err().to_string();
        assert!(err.contains("x.replay:6") && err.contains("seed"), "{err}");
        let text = replay.to_text().replace(
            "strategy seeded",
            "strategy decisions 1\ndecision 3 steal-order 4 9",
        );
        assert!(
            Replay::parse(&text, "x.replay")
                .unwrap_err()
                .to_string()
                .contains("VALUE < RANGE")
        );
        let text = replay.to_text().replace("strategy seeded", "strategy pct");
        assert!(
            Replay::parse(&text, "x.replay")
                .unwrap_err()
                .to_string()
                .contains("strategy")
        );
    }
}
