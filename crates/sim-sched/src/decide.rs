//! The decision point: every choice the model makes at random goes through
//! `World::choose`, which records it and lets a strategy make it.
//!
//! Choices Go makes at random are random here (the steal order, select's poll
//! order, which goroutines are sampled for latency); choices Go makes
//! deterministically stay deterministic (wait queues are FIFO, a woken mutex
//! waiter requeues LIFO). The model's own run-to-run variation (how long a
//! compute step or a thread wake-up takes) is a choice too, so exploration
//! can steer timing-dependent races.
//!
//! Strategies:
//! - `Seeded`: each choice is drawn from the seed's named streams (Go's
//!   per-M `cheaprand` for runtime choices, `workload-jitter` and
//!   `cpu-interruptions` for timing);
//!   this is every ordinary run.
//! - `Decisions`: a recorded list of overrides by choice index; every choice
//!   not listed takes its default (no jitter, the first candidate). A replay
//!   of a shrunk failure uses this.
//! - `Pct { depth }`: probabilistic concurrency testing over timing: each M
//!   gets a random priority; a high-priority M's compute and wake-ups take
//!   their shortest time, a low one's their longest, and of events due at
//!   the same nanosecond the highest-priority M's goes first; at `depth - 1`
//!   random choice indices the M involved is demoted below every other.
//!   Runtime choices (steal and poll orders) are drawn uniformly from the
//!   `pct` stream.
//!
//! Events due at the same nanosecond are a choice too (`event-tie`): the
//! model's own tie-break, which real Go, with no two things at exactly the
//! same time, does not have. Seeded runs keep them in the order they were
//! scheduled (first in, first out), so ordinary runs are unaffected; PCT and
//! decision lists steer them.

use crate::world::World;
use sim_core::ids::MId;
use sim_core::rng::SimRng;

/// Which kind of choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChoiceKind {
    /// Where a thief starts and which stride it takes over the Ps.
    StealOrder,
    /// One step of select's poll-order shuffle.
    SelectOrder,
    /// newproc1's random byte deciding latency sampling.
    TrackingSeq,
    /// How long a compute step takes, within its jitter.
    ComputeJitter,
    /// How long a thread creation or wake-up takes, within its jitter.
    ThreadLatency,
    /// How much of a compute step the CPU spends interrupted (ns).
    CpuInterruptions,
    /// Which of the events due at the same nanosecond happens first.
    EventTie,
}

impl ChoiceKind {
    /// The name used in replay files.
    pub fn name(self) -> &'static str {
        match self {
            ChoiceKind::StealOrder => "steal-order",
            ChoiceKind::SelectOrder => "select-order",
            ChoiceKind::TrackingSeq => "tracking-seq",
            ChoiceKind::ComputeJitter => "compute-jitter",
            ChoiceKind::ThreadLatency => "thread-latency",
            ChoiceKind::CpuInterruptions => "cpu-interruptions",
            ChoiceKind::EventTie => "event-tie",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<ChoiceKind> {
        [
            ChoiceKind::StealOrder,
            ChoiceKind::SelectOrder,
            ChoiceKind::TrackingSeq,
            ChoiceKind::ComputeJitter,
            ChoiceKind::ThreadLatency,
            ChoiceKind::CpuInterruptions,
            ChoiceKind::EventTie,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The value a choice takes when nothing steers it: the first candidate,
    /// or no variation for timing (a compute step nothing interrupts).
    pub fn default_value(self, range: u64) -> u64 {
        match self {
            ChoiceKind::ComputeJitter | ChoiceKind::ThreadLatency => range / 2,
            _ => 0,
        }
    }
}

/// One choice: `value` out of `0..range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub kind: ChoiceKind,
    pub range: u64,
    pub value: u64,
}

/// How choices are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    Seeded,
    /// Overrides by choice index (sorted); the rest take their default.
    Decisions(Vec<(u64, Choice)>),
    Pct {
        depth: u32,
        horizon: u64,
    },
}

/// What PCT needs to know about a choice.
enum PctInput<'a> {
    /// The M a timing or runtime choice concerns.
    M(Option<MId>),
    /// The Ms of events due at the same time.
    Tie(&'a [Option<MId>]),
}

/// PCT's state.
#[derive(Clone, Debug)]
pub(crate) struct Pct {
    pub rng: SimRng,
    /// Priority per M id (higher runs first); assigned when an M appears.
    pub priorities: Vec<u64>,
    /// Choice indices at which the involved M is demoted, ascending.
    pub change_points: Vec<u64>,
    pub demotions: u64,
}

/// The decision point's state in a world.
#[derive(Clone, Debug)]
pub(crate) struct Decider {
    pub strategy: Strategy,
    pub pct: Option<Pct>,
    pub next_index: u64,
    pub next_override: usize,
    /// Every choice made, when recording.
    pub recorded: Option<Vec<Choice>>,
    /// The first override that did not fit (a replay of another run).
    pub mismatch: Option<String>,
}

impl Decider {
    pub(crate) fn new(strategy: Strategy, record: bool, seeds: sim_core::rng::SeedTree) -> Self {
        let pct = match &strategy {
            Strategy::Pct { depth, horizon } => {
                let mut rng = seeds.stream("pct");
                let mut change_points: Vec<u64> = (1..*depth)
                    .map(|_| rng.next_u64() % horizon.max(&1))
                    .collect();
                change_points.sort_unstable();
                Some(Pct {
                    rng,
                    priorities: Vec::new(),
                    change_points,
                    demotions: 0,
                })
            }
            _ => None,
        };
        Decider {
            strategy,
            pct,
            next_index: 0,
            next_override: 0,
            recorded: record.then(Vec::new),
            mismatch: None,
        }
    }
}

impl World {
    /// Makes choice `kind` among `range` candidates. `seeded` draws it the way
    /// an ordinary run does; `m` is the M the choice concerns (for PCT).
    pub(crate) fn choose(
        &mut self,
        kind: ChoiceKind,
        range: u64,
        m: Option<MId>,
        seeded: impl FnOnce(&mut World) -> u64,
    ) -> u64 {
        self.choose_for(kind, range, PctInput::M(m), seeded)
    }

    /// Whether events due at the same time simply go first in, first out,
    /// with nothing to record: a seeded run that does not record its
    /// choices. (A recording seeded run makes the same choice, the first
    /// event, but lists it; collecting the candidates is what costs.)
    pub(crate) fn ties_need_no_choice(&self) -> bool {
        matches!(self.decider.strategy, Strategy::Seeded) && self.decider.recorded.is_none()
    }

    /// Which of several events due now goes first: `ms` are the Ms they
    /// belong to (`None` for sysmon's). Seeded runs take the first
    /// (scheduled first); PCT the highest-priority M's.
    pub(crate) fn choose_tie(&mut self, ms: &[Option<MId>]) -> usize {
        self.choose_for(
            ChoiceKind::EventTie,
            ms.len() as u64,
            PctInput::Tie(ms),
            |_| 0,
        ) as usize
    }

    fn choose_for(
        &mut self,
        kind: ChoiceKind,
        range: u64,
        pct_input: PctInput<'_>,
        seeded: impl FnOnce(&mut World) -> u64,
    ) -> u64 {
        debug_assert!(range > 0);
        let index = self.decider.next_index;
        self.decider.next_index += 1;
        let value = match &self.decider.strategy {
            Strategy::Seeded => seeded(self),
            Strategy::Decisions(list) => {
                let at = self.decider.next_override;
                match list.get(at) {
                    Some((i, c)) if *i == index => {
                        self.decider.next_override += 1;
                        if (c.kind, c.range) != (kind, range) && self.decider.mismatch.is_none() {
                            self.decider.mismatch = Some(format!(
                                "decision {index} is a {} among {range}, the replay has a {} among {}",
                                kind.name(),
                                c.kind.name(),
                                c.range
                            ));
                        }
                        c.value.min(range - 1)
                    }
                    _ => kind.default_value(range),
                }
            }
            Strategy::Pct { .. } => match pct_input {
                PctInput::M(m) => self.pct_choice(kind, range, m, index),
                PctInput::Tie(ms) => self.pct_tie(ms, index),
            },
        };
        if let Some(recorded) = &mut self.decider.recorded {
            recorded.push(Choice { kind, range, value });
        }
        value
    }

    /// PCT's state with a priority for every M there is.
    fn pct_state(&mut self) -> &mut Pct {
        let n_ms = self.ms.len();
        let pct = self.decider.pct.as_mut().expect("PCT state");
        while pct.priorities.len() < n_ms {
            // Initial priorities sit above every demoted one.
            let p = 1_000_000 + pct.rng.next_u64() % 1_000_000;
            pct.priorities.push(p);
        }
        pct
    }

    /// PCT on a tie: the highest-priority M's event first (sysmon's, with
    /// no M, last); at a change point that M is demoted first.
    fn pct_tie(&mut self, ms: &[Option<MId>], index: u64) -> u64 {
        let pct = self.pct_state();
        let best = |pct: &Pct| {
            (0..ms.len())
                .max_by_key(|&i| {
                    (
                        ms[i].map_or(0, |m| pct.priorities[m.index()]),
                        usize::MAX - i,
                    )
                })
                .expect("a tie has candidates")
        };
        if pct.change_points.first() == Some(&index) {
            pct.change_points.remove(0);
            if let Some(m) = ms[best(pct)] {
                pct.demotions += 1;
                pct.priorities[m.index()] = pct.demotions;
            }
        }
        best(pct) as u64
    }

    /// PCT: timing follows the M's priority; the rest is uniform.
    fn pct_choice(&mut self, kind: ChoiceKind, range: u64, m: Option<MId>, index: u64) -> u64 {
        let pct = self.pct_state();
        let timing = matches!(
            kind,
            ChoiceKind::ComputeJitter | ChoiceKind::ThreadLatency | ChoiceKind::CpuInterruptions
        );
        let Some(m) = m.filter(|_| timing) else {
            return pct.rng.next_u64() % range;
        };
        if pct.change_points.first() == Some(&index) {
            pct.change_points.remove(0);
            pct.demotions += 1;
            pct.priorities[m.index()] = pct.demotions;
        }
        // Rank 0 is the highest priority: fastest; the lowest is slowest.
        let mine = pct.priorities[m.index()];
        let higher = pct.priorities.iter().filter(|&&p| p > mine).count() as u64;
        let max_rank = (pct.priorities.len() as u64).saturating_sub(1).max(1);
        (range - 1) * higher.min(max_rank) / max_rank
    }

    /// Every choice made so far (when recording).
    pub fn choices(&self) -> Option<&[Choice]> {
        self.decider.recorded.as_deref()
    }

    /// Why a `Decisions` replay did not fit this run, if it did not.
    pub fn decision_mismatch(&self) -> Option<&str> {
        self.decider.mismatch.as_deref()
    }
}
