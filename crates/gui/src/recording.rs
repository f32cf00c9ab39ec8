//! A recorded run: the trace, the steps a user can put the cursor on, and
//! periodic snapshots of the `World` to go back to.
//!
//! A *step* is one call of `World::step` after which the trace has grown: one
//! event that did something visible (superseded events and events that only
//! continue a compute step are folded into the next step). Each step keeps
//! how many `World::step` calls the run had made by then (`calls`), which is
//! all that is needed to reach it again: restore a snapshot and call `step`
//! until the count matches. Determinism (`World` clone = snapshot) makes the
//! restored state equal to the recorded one.
//!
//! The trace lives here, outside the worlds: the recorder takes it out of its
//! world after every step (`World::take_trace`), so a snapshot is the size of
//! the state at that moment and memory grows with the run's length, not its
//! square. Snapshots are taken every `snapshot_interval_steps` steps; when
//! their estimated size passes [`SNAPSHOT_BUDGET_BYTES`] or their count
//! passes [`MAX_SNAPSHOTS`], every other one is dropped and the interval
//! doubles, so going back costs at most one interval of re-simulation.
//!
//! Simplification: a snapshot's size is an estimate from the world's arenas
//! (G, M and P structs, heap spans and their slots), not a measurement.

use crate::lanes::Lanes;
use scenarios::Scenario;
use sim_core::metrics::{Outcome, Summary};
use sim_core::trace::TraceRecord;
use sim_sched::{SimConfig, World};

/// Snapshots are first taken every this many steps.
pub const FIRST_SNAPSHOT_INTERVAL_STEPS: usize = 2048;
/// At most this many snapshots are kept (then they are thinned).
pub const MAX_SNAPSHOTS: usize = 512;
/// Snapshots together may take about this much memory (then they are thinned).
pub const SNAPSHOT_BUDGET_BYTES: usize = 1 << 30;
/// A recording stops after this many steps (the run may go on): about 200 MB
/// of trace, and a timeline nobody scrolls through.
pub const MAX_RECORDED_STEPS: usize = 2_000_000;
/// The heap figures are sampled every this many steps (and at every GC
/// start and end) for the pacer chart.
pub const PACER_SAMPLE_EVERY_STEPS: usize = 64;

/// One step a cursor can stand on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepMark {
    /// `World::step` calls made to reach this step (0 for the initial state).
    pub calls: u64,
    /// The trace records emitted up to and including this step.
    pub trace_end: usize,
    /// Virtual time of the step.
    pub at_ns: u64,
}

/// The heap figures the pacer chart draws, at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacerSample {
    pub at_ns: u64,
    pub heap_live_bytes: u64,
    pub heap_goal_bytes: u64,
    pub trigger_bytes: u64,
}

/// A world kept to go back to.
#[derive(Clone, Debug)]
struct Snapshot {
    step: usize,
    world: World,
    estimated_bytes: usize,
}

/// How a finished recording ended.
#[derive(Clone, Debug)]
pub struct Ending {
    /// The process's outcome; `None` when the recording stopped at
    /// [`MAX_RECORDED_STEPS`] with the run still going.
    pub outcome: Option<Outcome>,
    /// The run's summary at the end of the recording.
    pub summary: Summary,
}

/// A run recorded so far.
#[derive(Debug)]
pub struct Recording {
    pub scenario: Scenario,
    pub config: SimConfig,
    pub trace: Vec<TraceRecord>,
    /// `steps[0]` is the state `World::new` returns.
    pub steps: Vec<StepMark>,
    /// The timeline's slices, built from the trace as it grows.
    pub lanes: Lanes,
    pub pacer: Vec<PacerSample>,
    /// Set once the run ended or the recording reached its limit.
    pub ending: Option<Ending>,
    snapshots: Vec<Snapshot>,
    snapshot_interval_steps: usize,
}

/// What a recorder produced since it last handed over.
#[derive(Debug, Default)]
pub struct Chunk {
    trace: Vec<TraceRecord>,
    steps: Vec<StepMark>,
    snapshots: Vec<Snapshot>,
    pacer: Vec<PacerSample>,
    ending: Option<Ending>,
}

/// The world that runs ahead and produces the recording.
#[derive(Debug)]
pub struct Recorder {
    head: World,
    calls: u64,
    /// Steps recorded so far, counting the initial state.
    steps: usize,
    done: bool,
}

/// The configuration a recording runs with: the run must keep its trace.
fn recording_config(config: &SimConfig) -> SimConfig {
    SimConfig {
        record_trace: true,
        ..config.clone()
    }
}

/// Roughly how much memory a clone of `world` takes.
pub fn estimated_world_bytes(world: &World) -> usize {
    let structs = std::mem::size_of::<World>()
        + std::mem::size_of_val(world.gs())
        + std::mem::size_of_val(world.ms())
        + world
            .ps()
            .iter()
            .map(|p| std::mem::size_of::<sim_sched::p::P>() + p.runq.len() * 4)
            .sum::<usize>();
    // A span: its struct, and per slot a requested size, pointer words and bits.
    let spans: usize = world
        .gc()
        .heap
        .spans()
        .map(|(_, s)| 160 + s.nelems as usize * 24)
        .sum();
    structs + spans
}

fn pacer_sample(world: &World) -> PacerSample {
    let status = world.gc_status();
    let (trigger_bytes, _) = world.gc().trigger_and_goal();
    PacerSample {
        at_ns: world.now_ns(),
        heap_live_bytes: status.heap_live_bytes,
        heap_goal_bytes: status.heap_goal_bytes,
        trigger_bytes,
    }
}

impl Recorder {
    /// Starts the run of `scenario` with `config`; returns the recorder and
    /// the recording holding the initial state (step 0 and its snapshot).
    pub fn start(scenario: &Scenario, config: &SimConfig) -> (Recorder, Recording) {
        let config = recording_config(config);
        let mut head = World::new(&scenario.workload, config.clone());
        let trace = head.take_trace();
        let mut lanes = Lanes::new(config.runtime.gomaxprocs);
        lanes.extend(&trace, 0);
        let recording = Recording {
            scenario: scenario.clone(),
            steps: vec![StepMark {
                calls: 0,
                trace_end: trace.len(),
                at_ns: head.now_ns(),
            }],
            trace,
            lanes,
            pacer: vec![pacer_sample(&head)],
            ending: None,
            snapshots: vec![Snapshot {
                step: 0,
                estimated_bytes: estimated_world_bytes(&head),
                world: head.clone(),
            }],
            snapshot_interval_steps: FIRST_SNAPSHOT_INTERVAL_STEPS,
            config,
        };
        let recorder = Recorder {
            head,
            calls: 0,
            steps: 1,
            done: false,
        };
        (recorder, recording)
    }

    /// Whether the run (or the recording) has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Records up to `max_steps` more steps. `interval_steps` is the
    /// recording's current snapshot interval; `trace_len` its trace length.
    pub fn advance(&mut self, max_steps: usize, interval_steps: usize, trace_len: usize) -> Chunk {
        let mut chunk = Chunk::default();
        let mut trace_end = trace_len;
        while !self.done && chunk.steps.len() < max_steps {
            let running = self.head.step();
            self.calls += 1;
            let records = self.head.take_trace();
            if !records.is_empty() {
                trace_end += records.len();
                let gc_edge = records.iter().any(|r| {
                    matches!(
                        r.event,
                        sim_core::trace::TraceEvent::GcStart { .. }
                            | sim_core::trace::TraceEvent::GcDone { .. }
                    )
                });
                chunk.trace.extend(records);
                chunk.steps.push(StepMark {
                    calls: self.calls,
                    trace_end,
                    at_ns: self.head.now_ns(),
                });
                if gc_edge || self.steps.is_multiple_of(PACER_SAMPLE_EVERY_STEPS) {
                    chunk.pacer.push(pacer_sample(&self.head));
                }
                if self.steps.is_multiple_of(interval_steps) {
                    chunk.snapshots.push(Snapshot {
                        step: self.steps,
                        estimated_bytes: estimated_world_bytes(&self.head),
                        world: self.head.clone(),
                    });
                }
                self.steps += 1;
            }
            if !running || self.steps >= MAX_RECORDED_STEPS {
                self.done = true;
                chunk.pacer.push(pacer_sample(&self.head));
                chunk.ending = Some(Ending {
                    outcome: self.head.outcome().cloned(),
                    summary: self.head.summary(),
                });
            }
        }
        chunk
    }
}

impl Recording {
    /// The last step a cursor can stand on.
    pub fn last_step(&self) -> usize {
        self.steps.len() - 1
    }

    /// The current snapshot interval (grows as snapshots are thinned).
    pub fn snapshot_interval_steps(&self) -> usize {
        self.snapshot_interval_steps
    }

    /// How many snapshots are kept, and their estimated size together.
    pub fn snapshot_usage(&self) -> (usize, usize) {
        (
            self.snapshots.len(),
            self.snapshots.iter().map(|s| s.estimated_bytes).sum(),
        )
    }

    /// Adds what a recorder produced.
    pub fn append(&mut self, chunk: Chunk) {
        let first_new = self.trace.len();
        self.trace.extend(chunk.trace);
        self.lanes.extend(&self.trace[first_new..], first_new);
        self.steps.extend(chunk.steps);
        self.pacer.extend(chunk.pacer);
        for snapshot in chunk.snapshots {
            if snapshot.step.is_multiple_of(self.snapshot_interval_steps) {
                self.snapshots.push(snapshot);
            }
        }
        while self.snapshots.len() > MAX_SNAPSHOTS
            || (self.snapshots.len() > 2 && self.snapshot_usage().1 > SNAPSHOT_BUDGET_BYTES)
        {
            self.snapshot_interval_steps *= 2;
            let interval = self.snapshot_interval_steps;
            self.snapshots.retain(|s| s.step.is_multiple_of(interval));
        }
        if chunk.ending.is_some() {
            self.ending = chunk.ending;
        }
    }

    /// The step whose records include trace record `index`.
    pub fn step_of_record(&self, index: usize) -> usize {
        self.steps
            .partition_point(|s| s.trace_end <= index)
            .min(self.last_step())
    }

    /// The first step at or after virtual time `at_ns` (the last step if none).
    pub fn step_at_time(&self, at_ns: u64) -> usize {
        self.steps
            .partition_point(|s| s.at_ns < at_ns)
            .min(self.last_step())
    }

    /// The records of step `step` (what its event did).
    pub fn records_of(&self, step: usize) -> &[TraceRecord] {
        let start = if step == 0 {
            0
        } else {
            self.steps[step - 1].trace_end
        };
        &self.trace[start..self.steps[step].trace_end]
    }

    /// Where to start re-simulating to reach `step`: a clone of the nearest
    /// snapshot at or before it, and how many `World::step` calls remain.
    /// Cheap (one clone), so it can run under the recording's lock; the
    /// re-simulation ([`replay_calls`]) runs outside it.
    pub fn restore_point(&self, step: usize) -> (World, u64) {
        let i = self.snapshots.partition_point(|s| s.step <= step);
        let snapshot = &self.snapshots[i.saturating_sub(1)];
        let calls_left = self.steps[step].calls - self.steps[snapshot.step].calls;
        (snapshot.world.clone(), calls_left)
    }

    /// The step of the nearest snapshot at or before `step`.
    pub fn snapshot_step_before(&self, step: usize) -> usize {
        let i = self.snapshots.partition_point(|s| s.step <= step);
        self.snapshots[i.saturating_sub(1)].step
    }
}

/// Re-simulates `calls` calls of `World::step`, dropping the trace the
/// recording already has.
pub fn replay_calls(world: &mut World, calls: u64) {
    for _ in 0..calls {
        world.step();
        // The recording holds these records; the cursor's world keeps none.
        drop(world.take_trace());
    }
}

/// Records a whole run on the calling thread (tests, benchmarks).
pub fn record_all(scenario: &Scenario, config: &SimConfig) -> Recording {
    let (mut recorder, mut recording) = Recorder::start(scenario, config);
    while !recorder.is_done() {
        let chunk = recorder.advance(
            4096,
            recording.snapshot_interval_steps(),
            recording.trace.len(),
        );
        recording.append(chunk);
    }
    recording
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> Scenario {
        scenarios::library::get(name).expect("library scenario")
    }

    fn config(scenario: &Scenario, seed: u64) -> SimConfig {
        SimConfig {
            seed,
            runtime: scenario.runtime.clone(),
            cost: Default::default(),
            record_trace: true,
        }
    }

    #[test]
    fn the_recorded_trace_is_the_trace_of_an_ordinary_run() {
        let s = scenario("steal-imbalance");
        let recording = record_all(&s, &config(&s, 3));
        let mut plain = World::new(&s.workload, config(&s, 3));
        plain.run();
        assert_eq!(recording.trace, plain.trace());
        assert_eq!(
            recording.steps.last().map(|m| m.trace_end),
            Some(plain.trace().len())
        );
        assert!(
            recording
                .ending
                .as_ref()
                .is_some_and(|e| e.outcome.is_some())
        );
    }

    #[test]
    fn a_restored_step_is_the_state_the_run_had_there() {
        let s = scenario("steal-imbalance");
        let recording = record_all(&s, &config(&s, 2));
        let mut plain = World::new(&s.workload, config(&s, 2));
        let mut records = plain.trace().len();
        let mut step = 0;
        loop {
            let running = plain.step();
            if plain.trace().len() > records {
                records = plain.trace().len();
                step += 1;
                if step % 97 == 0 {
                    let (mut w, calls) = recording.restore_point(step);
                    replay_calls(&mut w, calls);
                    assert_eq!(w.now_ns(), plain.now_ns(), "step {step}");
                    assert_eq!(w.events_processed(), plain.events_processed());
                    // schedtrace marks its start time: print from copies.
                    assert_eq!(
                        w.clone().schedtrace(true),
                        plain.clone().schedtrace(true),
                        "step {step}"
                    );
                    assert_eq!(recording.steps[step].trace_end, records);
                }
            }
            if !running {
                break;
            }
        }
        assert_eq!(step, recording.last_step());
    }

    #[test]
    fn snapshots_hold_no_trace_and_thin_out_as_the_run_grows() {
        let s = scenario("unbuffered-pingpong");
        let (mut recorder, mut recording) = Recorder::start(&s, &config(&s, 1));
        // A snapshot at every step forces thinning on a short run.
        recording.snapshot_interval_steps = 1;
        while !recorder.is_done() {
            let chunk =
                recorder.advance(64, recording.snapshot_interval_steps, recording.trace.len());
            recording.append(chunk);
        }
        assert!(
            recording.steps.len() > 2 * MAX_SNAPSHOTS,
            "a long enough run"
        );
        assert!(recording.snapshot_interval_steps > 1, "thinned");
        assert!(
            recording
                .snapshots
                .iter()
                .all(|s| s.world.trace().is_empty())
        );
        assert!(recording.snapshots.len() <= MAX_SNAPSHOTS);
        assert_eq!(recording.snapshots[0].step, 0);
    }
}
