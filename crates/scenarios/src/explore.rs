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
//! Shrinking: the failing run's choices are recorded; every choice that is
//! not its default becomes an override, and delta debugging sets chunks of
//! overrides back to their default while the run still fails the same way.
//! What is left is a short decision list that a replay file carries.
//! (Reducing the workload itself, fewer goroutines or iterations, is not
//! done yet.)

use crate::Scenario;
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

/// Whether two failures are the same kind of failure (what shrinking keeps).
fn same_kind(a: &Failure, b: &Failure) -> bool {
    match (a, b) {
        (Failure::Outcome { reason: x, .. }, Failure::Outcome { reason: y, .. }) => x == y,
        (Failure::Leak { .. }, Failure::Leak { .. }) => true,
        (Failure::Starvation { .. }, Failure::Starvation { .. }) => true,
        _ => false,
    }
}

/// A shrunk failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// Choices the failing run made.
    pub original_choices: usize,
    /// Overrides left after shrinking (the rest take their defaults).
    pub overrides: Vec<(u64, Choice)>,
    /// Runs the shrinking took.
    pub runs: u64,
}

/// Shrinks the failing run of `seed` under `strategy` to a short decision list.
pub fn shrink(
    scenario: &Scenario,
    base: &SimConfig,
    seed: u64,
    strategy: &Strategy,
    properties: Properties,
) -> Option<Shrunk> {
    let config = SimConfig {
        seed,
        record_trace: false,
        ..base.clone()
    };
    let mut world = World::with_strategy(&scenario.workload, config, strategy.clone(), true);
    world.run();
    let failure = check(&world, properties)?;
    let choices = world.choices().expect("recording").to_vec();
    let mut overrides: Vec<(u64, Choice)> = choices
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value != c.kind.default_value(c.range))
        .map(|(i, c)| (i as u64, *c))
        .collect();
    let mut runs = 0;
    let still_fails = |list: &[(u64, Choice)], runs: &mut u64| {
        *runs += 1;
        run_once(
            scenario,
            base,
            seed,
            &Strategy::Decisions(list.to_vec()),
            properties,
        )
        .is_some_and(|f| same_kind(&f, &failure))
    };
    if !still_fails(&overrides, &mut runs) {
        // Pinning every choice must reproduce the run; if not, keep all.
        return Some(Shrunk {
            original_choices: choices.len(),
            overrides,
            runs,
        });
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
    Some(Shrunk {
        original_choices: choices.len(),
        overrides,
        runs,
    })
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
        let again = run_once(
            &scenario,
            &base(&scenario),
            seed,
            &Strategy::Decisions(shrunk.overrides),
            none,
        )
        .unwrap();
        assert!(same_kind(&again, &failure), "{again} vs {failure}");
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
