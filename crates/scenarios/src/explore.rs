//! Seed exploration: run a scenario under many seeds, in parallel, and find
//! the first seed whose run breaks a property.
//!
//! Each run is one single-threaded, deterministic simulation; threads only
//! run independent seeds side by side. Workers claim seeds in increasing
//! order; once a failure is found no higher seed is started, and the lowest
//! failing seed is reported, so the answer does not depend on thread timing.
//!
//! Properties: the program must end normally (no deadlock, panic or fatal
//! error, and no simulator limit hit), leak no goroutine, and (optionally)
//! let no goroutine wait more than a threshold to run or for a mutex.
//!
//! Strategies: seeded (every choice from the seed's named streams) or PCT
//! (timing steered by random M priorities with `depth - 1` change points;
//! see `sim_sched::decide`).
//!
//! Shrinking keeps a failure that looks the same: the same kind (the same
//! exit reason, a leak, a starvation) with the workload's goroutines blocked
//! at the same places (program and op, whatever their number). First the
//! workload shrinks with the seed and strategy unchanged: GOMAXPROCS as low
//! as it will go, then each goroutine count (`spawn`) and loop count
//! (`repeat`) to 1 or, failing that, as low as a bisection finds. Then the
//! choices of that smaller run are recorded; every choice that is not its
//! default becomes an override, and delta debugging sets chunks of overrides
//! back to their default while the run still fails the same way. What is left
//! is a short decision list and the lowered counts, which a replay file
//! carries.

use crate::Scenario;
use sim_core::workload::Workload;
use sim_sched::decide::{Choice, Strategy};
use sim_sched::{SimConfig, World};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What counts as a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Properties {
    /// Flag goroutines that waited at least this long (None: do not check).
    pub starvation_threshold_ns: Option<u64>,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The process ended abnormally (deadlock, panic, fatal error, limit).
    Outcome { exit_code: i32, reason: String },
    /// Goroutines blocked forever when main returned.
    Leak { goroutines: usize },
    /// A goroutine waited longer than the threshold.
    Starvation { goid: u64, waited_ns: u64 },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Outcome { exit_code, reason } => {
                write!(f, "exit status {exit_code}: {reason}")
            }
            Failure::Leak { goroutines } => write!(f, "{goroutines} goroutine(s) leaked"),
            Failure::Starvation { goid, waited_ns } => write!(
                f,
                "goroutine {goid} waited {}",
                sim_core::time::format_duration_ns(*waited_ns)
            ),
        }
    }
}

/// Checks a finished run against the properties.
pub fn check(world: &World, properties: Properties) -> Option<Failure> {
    let outcome = world.outcome()?;
    if outcome.exit_code != 0 {
        return Some(Failure::Outcome {
            exit_code: outcome.exit_code,
            reason: outcome.reason.clone(),
        });
    }
    let leaks = world.leaked_goroutines();
    if !leaks.is_empty() {
        return Some(Failure::Leak {
            goroutines: leaks.len(),
        });
    }
    if let Some(threshold) = properties.starvation_threshold_ns
        && let Some(worst) = world.starved_goroutines(threshold).first()
    {
        return Some(Failure::Starvation {
            goid: worst.goid,
            waited_ns: worst.max_runnable_wait_ns.max(worst.max_mutex_wait_ns),
        });
    }
    None
}

/// The result of an exploration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// The lowest failing seed and why, if any seed failed.
    pub first_failure: Option<(u64, Failure)>,
    /// Runs completed (including ones above the failing seed that were
    /// already running).
    pub runs: u64,
}

/// Runs one seed under a strategy and checks it.
pub fn run_once(
    scenario: &Scenario,
    base: &SimConfig,
    seed: u64,
    strategy: &Strategy,
    properties: Properties,
) -> Option<Failure> {
    let config = SimConfig {
        seed,
        record_trace: false,
        ..base.clone()
    };
    let mut world = World::with_strategy(&scenario.workload, config, strategy.clone(), false);
    world.run();
    check(&world, properties)
}

/// What a failure looks like, for shrinking: its kind (the exit reason for
/// an abnormal end) and where the workload's goroutines are blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    kind: String,
    blocked: Vec<(String, String)>,
}

fn signature(world: &World, failure: &Failure) -> Signature {
    let kind = match failure {
        Failure::Outcome { reason, .. } => reason.clone(),
        Failure::Leak { .. } => "leak".to_string(),
        Failure::Starvation { .. } => "starvation".to_string(),
    };
    Signature {
        kind,
        blocked: world.blocked_places(),
    }
}

/// Runs `seed` on `workload` and returns its failure's signature, if it fails.
fn run_signature(
    workload: &Workload,
    config: &SimConfig,
    seed: u64,
    strategy: &Strategy,
    properties: Properties,
) -> Option<Signature> {
    let config = SimConfig {
        seed,
        record_trace: false,
        ..config.clone()
    };
    let mut world = World::with_strategy(workload, config, strategy.clone(), false);
    world.run();
    check(&world, properties).map(|f| signature(&world, &f))
}

/// A shrunk failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// GOMAXPROCS of the failing run and of the shrunk one.
    pub original_gomaxprocs: u32,
    pub gomaxprocs: u32,
    /// The workload's count sites before shrinking
    /// (`Workload::count_sites`), and the ones lowered: (site, count).
    pub original_counts: Vec<u64>,
    pub counts: Vec<(usize, u64)>,
    /// Choices the failing run made (on the original workload).
    pub original_choices: usize,
    /// Overrides left after shrinking (the rest take their defaults), for
    /// the shrunk workload.
    pub overrides: Vec<(u64, Choice)>,
    /// Runs the shrinking took.
    pub runs: u64,
}

/// Shrinks the failing run of `seed` under `strategy`: a smaller workload,
/// then a short decision list (see the module comment).
pub fn shrink(
    scenario: &Scenario,
    base: &SimConfig,
    seed: u64,
    strategy: &Strategy,
    properties: Properties,
) -> Option<Shrunk> {
    let mut runs = 0;
    let original = &scenario.workload;
    let target = run_signature(original, base, seed, strategy, properties)?;
    runs += 1;
    let original_choices = {
        let config = SimConfig {
            seed,
            record_trace: false,
            ..base.clone()
        };
        let mut world = World::with_strategy(original, config, strategy.clone(), true);
        world.run();
        world.choices().expect("recording").len()
    };

    // The workload, with the seed and strategy as they were.
    let mut config = base.clone();
    let original_gomaxprocs = base.runtime.gomaxprocs;
    for procs in 1..original_gomaxprocs {
        config.runtime.gomaxprocs = procs;
        runs += 1;
        if run_signature(original, &config, seed, strategy, properties).as_ref() == Some(&target) {
            break;
        }
        config.runtime.gomaxprocs = original_gomaxprocs;
    }
    let original_counts = original.count_sites();
    let mut counts: Vec<(usize, u64)> = Vec::new();
    let keeps = |counts: &[(usize, u64)], runs: &mut u64| {
        *runs += 1;
        let workload = original
            .with_counts(counts)
            .expect("sites of this workload");
        run_signature(&workload, &config, seed, strategy, properties).as_ref() == Some(&target)
    };
    for (site, &n) in original_counts.iter().enumerate() {
        if n <= 1 {
            continue;
        }
        let with = |counts: &[(usize, u64)], value: u64| {
            let mut c = counts.to_vec();
            c.push((site, value));
            c
        };
        if keeps(&with(&counts, 1), &mut runs) {
            counts.push((site, 1));
            continue;
        }
        // 1 loses the failure, n keeps it: bisect for the lowest that keeps.
        let (mut lost, mut kept) = (1, n);
        while kept - lost > 1 {
            let mid = lost + (kept - lost) / 2;
            if keeps(&with(&counts, mid), &mut runs) {
                kept = mid;
            } else {
                lost = mid;
            }
        }
        if kept < n {
            counts.push((site, kept));
        }
    }
    let workload = original
        .with_counts(&counts)
        .expect("sites of this workload");

    // The decisions of the smaller run.
    let choices = {
        let run_config = SimConfig {
            seed,
            record_trace: false,
            ..config.clone()
        };
        let mut world = World::with_strategy(&workload, run_config, strategy.clone(), true);
        world.run();
        world.choices().expect("recording").to_vec()
    };
    let mut overrides: Vec<(u64, Choice)> = choices
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value != c.kind.default_value(c.range))
        .map(|(i, c)| (i as u64, *c))
        .collect();
    let still_fails = |list: &[(u64, Choice)], runs: &mut u64| {
        *runs += 1;
        run_signature(
            &workload,
            &config,
            seed,
            &Strategy::Decisions(list.to_vec()),
            properties,
        )
        .as_ref()
            == Some(&target)
    };
    let shrunk = |overrides, runs| Shrunk {
        original_gomaxprocs,
        gomaxprocs: config.runtime.gomaxprocs,
        original_counts: original_counts.clone(),
        counts: counts.clone(),
        original_choices,
        overrides,
        runs,
    };
    if !still_fails(&overrides, &mut runs) {
        // Pinning every choice must reproduce the run; if not, keep all.
        return Some(shrunk(overrides, runs));
    }
    // ddmin over the overrides: drop chunks, halving the chunk size.
    let mut chunk = overrides.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        let mut removed_any = false;
        while start < overrides.len() {
            let end = (start + chunk).min(overrides.len());
            let candidate: Vec<(u64, Choice)> = overrides[..start]
                .iter()
                .chain(&overrides[end..])
                .copied()
                .collect();
            if still_fails(&candidate, &mut runs) {
                overrides = candidate;
                removed_any = true;
            } else {
                start = end;
            }
        }
        if chunk == 1 && !removed_any {
            break;
        }
        chunk = (chunk / 2).max(1);
    }
    Some(shrunk(overrides, runs))
}

/// Runs `seeds` of `scenario` under `strategy` on `jobs` threads until one
/// fails. `progress(runs_done)` is called after each run.
pub fn explore(
    scenario: &Scenario,
    base: &SimConfig,
    seeds: std::ops::RangeInclusive<u64>,
    jobs: usize,
    strategy: &Strategy,
    properties: Properties,
    progress: &(dyn Fn(u64) + Sync),
) -> Exploration {
    let next = AtomicU64::new(*seeds.start());
    let last = *seeds.end();
    let lowest_failure: Mutex<Option<(u64, Failure)>> = Mutex::new(None);
    let runs = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed > last {
                        break;
                    }
                    let known = lowest_failure
                        .lock()
                        .expect("no panics hold it")
                        .as_ref()
                        .map(|(s, _)| *s);
                    if known.is_some_and(|s| seed > s) {
                        break;
                    }
                    let failed = run_once(scenario, base, seed, strategy, properties);
                    let done = runs.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(done);
                    if let Some(failure) = failed {
                        let mut lowest = lowest_failure.lock().expect("no panics hold it");
                        if lowest.as_ref().is_none_or(|(s, _)| seed < *s) {
                            *lowest = Some((seed, failure));
                        }
                    }
                }
            });
        }
    });
    Exploration {
        first_failure: lowest_failure.into_inner().expect("no panics hold it"),
        runs: runs.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(scenario: &Scenario) -> SimConfig {
        SimConfig {
            seed: 0,
            runtime: scenario.runtime.clone(),
            cost: Default::default(),
            record_trace: false,
        }
    }

    #[test]
    fn exploration_finds_the_lowest_deadlocking_seed_whatever_the_thread_count() {
        let scenario = crate::library::get("deadlock-lock-order").unwrap();
        let none = Properties {
            starvation_threshold_ns: None,
        };
        let one = explore(
            &scenario,
            &base(&scenario),
            1..=200,
            1,
            &Strategy::Seeded,
            none,
            &|_| {},
        );
        let two = explore(
            &scenario,
            &base(&scenario),
            1..=200,
            2,
            &Strategy::Seeded,
            none,
            &|_| {},
        );
        let (seed, failure) = one
            .first_failure
            .clone()
            .expect("the lock-order race deadlocks for some seed");
        assert!(
            matches!(failure, Failure::Outcome { exit_code: 2, .. }),
            "{failure}"
        );
        assert_eq!(two.first_failure, one.first_failure);
        // Every lower seed really completes.
        for s in 1..seed {
            let mut w = World::new(
                &scenario.workload,
                SimConfig {
                    seed: s,
                    ..base(&scenario)
                },
            );
            w.run();
            assert_eq!(check(&w, none), None, "seed {s}");
        }
    }

    #[test]
    fn a_shrunk_lock_order_deadlock_still_deadlocks_with_a_tenth_of_the_decisions() {
        let scenario = crate::library::get("deadlock-lock-order").unwrap();
        let none = Properties {
            starvation_threshold_ns: None,
        };
        let found = explore(
            &scenario,
            &base(&scenario),
            1..=200,
            1,
            &Strategy::Seeded,
            none,
            &|_| {},
        );
        let (seed, failure) = found.first_failure.unwrap();
        let shrunk = shrink(&scenario, &base(&scenario), seed, &Strategy::Seeded, none).unwrap();
        assert!(
            shrunk.overrides.len() * 10 <= shrunk.original_choices,
            "{} of {} decisions left",
            shrunk.overrides.len(),
            shrunk.original_choices
        );
        let again = rerun_shrunk(&scenario, seed, &shrunk, none).unwrap();
        assert_eq!(again.to_string(), failure.to_string());
    }

    /// Runs a shrunk failure: its workload counts, GOMAXPROCS and decisions.
    fn rerun_shrunk(
        scenario: &Scenario,
        seed: u64,
        shrunk: &Shrunk,
        properties: Properties,
    ) -> Option<Failure> {
        let mut smaller = scenario.clone();
        smaller.workload = scenario.workload.with_counts(&shrunk.counts).unwrap();
        let mut config = base(scenario);
        config.runtime.gomaxprocs = shrunk.gomaxprocs;
        run_once(
            &smaller,
            &config,
            seed,
            &Strategy::Decisions(shrunk.overrides.clone()),
            properties,
        )
    }

    #[test]
    fn shrinking_lowers_goroutine_counts_and_gomaxprocs_while_the_leak_stays_where_it_was() {
        // Four workers, the first result taken: three leak on their send.
        let scenario = crate::library::get("leaky-worker-pool").unwrap();
        let none = Properties {
            starvation_threshold_ns: None,
        };
        let shrunk = shrink(&scenario, &base(&scenario), 1, &Strategy::Seeded, none).unwrap();
        // One worker would not leak (main takes its result): two is the least.
        assert_eq!(shrunk.original_counts, [4]);
        assert_eq!(shrunk.counts, [(0, 2)]);
        assert_eq!((shrunk.original_gomaxprocs, shrunk.gomaxprocs), (2, 1));
        let again = rerun_shrunk(&scenario, 1, &shrunk, none).unwrap();
        assert_eq!(again, Failure::Leak { goroutines: 1 });
    }

    /// Events due at the same nanosecond are a recorded choice: FIFO in a
    /// seeded run, and a decision list can take another order.
    #[test]
    fn simultaneous_events_are_a_choice_that_a_decision_list_can_steer() {
        use sim_sched::decide::ChoiceKind;
        let scenario = crate::library::get("cpu-fanout").unwrap();
        let config = SimConfig {
            seed: 1,
            record_trace: true,
            ..base(&scenario)
        };
        let run = |strategy: Strategy| {
            let mut w = World::with_strategy(&scenario.workload, config.clone(), strategy, true);
            w.run();
            let trace: Vec<String> = w.trace().iter().map(|r| r.to_string()).collect();
            (trace, w.choices().unwrap().to_vec())
        };
        let (seeded_trace, choices) = run(Strategy::Seeded);
        // Recording the choices does not change the run (an unrecorded
        // seeded run skips collecting the tied events).
        let mut unrecorded =
            World::with_strategy(&scenario.workload, config.clone(), Strategy::Seeded, false);
        unrecorded.run();
        let unrecorded: Vec<String> = unrecorded.trace().iter().map(|r| r.to_string()).collect();
        assert_eq!(unrecorded, seeded_trace);
        let (at, tie) = choices
            .iter()
            .enumerate()
            .find(|(_, c)| c.kind == ChoiceKind::EventTie)
            .expect("cpu-fanout has simultaneous events");
        assert_eq!(
            tie.value, 0,
            "a seeded run keeps the order they were scheduled in"
        );
        // The same run with every choice pinned, and that tie taken the other way.
        let mut pinned: Vec<(u64, Choice)> = choices
            .iter()
            .enumerate()
            .map(|(i, c)| (i as u64, *c))
            .collect();
        let (same_trace, _) = run(Strategy::Decisions(pinned.clone()));
        assert_eq!(same_trace, seeded_trace);
        pinned.truncate(at);
        pinned.push((at as u64, Choice { value: 1, ..*tie }));
        let (other_trace, _) = run(Strategy::Decisions(pinned));
        assert_ne!(other_trace, seeded_trace, "the other order is another run");
    }

    #[test]
    fn a_correct_program_passes_every_seed() {
        let scenario = crate::library::get("leaky-worker-pool-fixed").unwrap();
        let result = explore(
            &scenario,
            &base(&scenario),
            1..=30,
            2,
            &Strategy::Seeded,
            Properties {
                starvation_threshold_ns: None,
            },
            &|_| {},
        );
        assert_eq!(result.first_failure, None);
        assert_eq!(result.runs, 30);
    }

    #[test]
    fn leaks_are_failures() {
        let scenario = crate::library::get("leaky-worker-pool").unwrap();
        let result = explore(
            &scenario,
            &base(&scenario),
            1..=3,
            1,
            &Strategy::Seeded,
            Properties {
                starvation_threshold_ns: None,
            },
            &|_| {},
        );
        assert!(matches!(
            result.first_failure,
            Some((1, Failure::Leak { goroutines: 3 }))
        ));
    }
}
