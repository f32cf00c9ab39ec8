//! A recording in progress and the cursor over it.
//!
//! A background thread (the worker) owns the [`Recorder`] and records the run
//! in chunks of [`CHUNK_STEPS`] steps, appending each chunk to the shared
//! [`Recording`] under a `parking_lot` write lock held only for the append;
//! the UI thread takes read locks to draw. So the UI thread never runs a long
//! simulation: it only moves its cursor's world, which costs at most one
//! snapshot interval of re-simulation (a restore plus the steps from the
//! nearest snapshot) or, going forward a little, the steps in between.

use crate::recording::{Recorder, Recording, replay_calls};
use parking_lot::{RwLock, RwLockReadGuard};
use scenarios::Scenario;
use sim_sched::{SimConfig, World};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Steps the worker records between two appends.
pub const CHUNK_STEPS: usize = 2048;

/// The world at the cursor and the step it stands on.
#[derive(Clone, Debug)]
pub struct Cursor {
    pub step: usize,
    pub world: World,
}

/// One recorded run and its cursor.
pub struct Session {
    recording: Arc<RwLock<Recording>>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    cursor: Cursor,
}

impl Session {
    /// Starts recording `scenario` with `config` on a background thread; the
    /// cursor stands on the initial state.
    pub fn start(scenario: &Scenario, config: &SimConfig) -> Session {
        let (mut recorder, recording) = Recorder::start(scenario, config);
        let (world, _) = recording.restore_point(0);
        let recording = Arc::new(RwLock::new(recording));
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let worker = {
            let recording = Arc::clone(&recording);
            let cancel = Arc::clone(&cancel);
            let done = Arc::clone(&done);
            std::thread::Builder::new()
                .name("gmpsim-recorder".to_string())
                .spawn(move || {
                    while !recorder.is_done() && !cancel.load(Ordering::Relaxed) {
                        let (interval, trace_len) = {
                            let r = recording.read();
                            (r.snapshot_interval_steps(), r.trace.len())
                        };
                        let chunk = recorder.advance(CHUNK_STEPS, interval, trace_len);
                        recording.write().append(chunk);
                    }
                    done.store(true, Ordering::Release);
                })
                .expect("the OS starts a thread")
        };
        Session {
            recording,
            cancel,
            done,
            worker: Some(worker),
            cursor: Cursor { step: 0, world },
        }
    }

    /// The recording so far (a read lock: hold it only while drawing).
    pub fn recording(&self) -> RwLockReadGuard<'_, Recording> {
        self.recording.read()
    }

    /// Whether the worker is still recording.
    pub fn is_recording(&self) -> bool {
        !self.done.load(Ordering::Acquire)
    }

    /// Blocks until the worker has recorded the whole run (tests, benchmarks
    /// and the screenshot script; the app never calls it).
    pub fn wait_until_recorded(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.join().expect("the recorder thread does not panic");
        }
    }

    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Moves the cursor to `step` (clamped to what is recorded): forward by
    /// stepping the cursor's world when no snapshot lies in between,
    /// otherwise from the nearest snapshot at or before `step`.
    pub fn seek(&mut self, step: usize) {
        let (world, calls) = {
            let recording = self.recording.read();
            let step = step.min(recording.last_step());
            let here = self.cursor.step;
            let forward = step >= here && recording.snapshot_step_before(step) <= here;
            if forward {
                let calls = recording.steps[step].calls - recording.steps[here].calls;
                self.cursor.step = step;
                (None, calls)
            } else {
                let (world, calls) = recording.restore_point(step);
                self.cursor.step = step;
                (Some(world), calls)
            }
        };
        if let Some(world) = world {
            self.cursor.world = world;
        }
        replay_calls(&mut self.cursor.world, calls);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(worker) = self.worker.take() {
            // The worker stops after its current chunk.
            let _ = worker.join();
        }
    }
}
