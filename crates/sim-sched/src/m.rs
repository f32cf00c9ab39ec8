//! OS threads: Go's `m` (runtime2.go) and what each one is doing.
//!
//! An M's `state` says what its next event means: a thread being created or
//! woken will acquire `nextp` and schedule; a switching M will start running
//! its G; a spinning M will give up its P; an M in a syscall will return from
//! the kernel. g0 (the scheduler's stack) is not a G here: its work is cost.

use crate::g::GIdx;
use sim_core::ids::{MId, PId};
use sim_core::rng::SimRng;

/// Where a paused work-stealing loop stands, so a thief that backed off before
/// taking a victim's runnext resumes the same enumeration (stealWork).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StealCursor {
    /// Round 1..=4 (Go's `stealTries`).
    pub round: u8,
    /// How many Ps of this round's enumeration were visited.
    pub visited: u32,
    /// Current position and stride of the coprime enumeration.
    pub pos: u32,
    pub inc: u32,
    /// Victims probed so far (for cost and for the trail).
    pub probes: u32,
}

/// What an M is doing; its pending event (if any) continues from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MState {
    /// The sysmon thread (no P; driven by its own events).
    Sysmon,
    /// The template thread LockOSThread starts (no P; it only creates
    /// threads for locked Ms, which the model charges as thread creation).
    TemplateThread,
    /// Locked to a G that is not runnable: parked without a P until that G
    /// is handed over (`stoplockedm`).
    LockedIdle,
    /// The thread exited (its locked G returned without unlocking).
    Exited,
    /// Parked in stopm, on the idle M list.
    Idle,
    /// Being created or woken; will acquire `nextp` and run schedule.
    Starting,
    /// Paying the cost of a context switch; then runs `curg`.
    Switching,
    /// Running `curg`'s current op; the event is the op's completion (or an
    /// earlier preemption).
    RunningG,
    /// In the kernel for `curg`'s blocking syscall.
    Syscall { since_ns: u64 },
    /// Spinning: steal rounds found nothing; the event gives up the P.
    Spinning { poll_until_ns: Option<u64> },
    /// Backing off (usleep(3)) before taking a running victim's runnext.
    StealBackoff { victim: PId, cursor: StealCursor },
    /// Blocked in netpoll without a P, until a timer is due or netpollBreak.
    Netpoll { until_ns: u64, was_spinning: bool },
    /// Stopping the world for its G (`stopTheWorldWithSema`): while
    /// `stopped` is false the event re-preempts every P (every 100 µs, or
    /// when the last P stops); once true the event ends the pause.
    Stw { stopped: bool },
    /// Its G is in `gcMarkDone`'s ragged barrier (`forEachP`): the M sleeps,
    /// holding its P, until every other P has run the safe-point function;
    /// the event re-preempts the Ps still running (every 100 µs).
    SafePointWait,
    /// Its G (a mark worker or an assist) is in `suspendG`, spinning while
    /// `target` runs, until `target` stops (the event: `target` left
    /// running, or the next retry, when the preemption request is sent
    /// again). `since_ns`: when the wait began.
    StackScanWait { target: GIdx, since_ns: u64 },
}

/// One M.
#[derive(Clone, Debug)]
pub struct M {
    pub id: MId,
    pub state: MState,
    pub p: Option<PId>,
    pub nextp: Option<PId>,
    pub curg: Option<GIdx>,
    pub spinning: bool,
    /// Bumped whenever the M's pending event is replaced; stale events are dropped.
    pub epoch: u32,
    /// This M's `cheaprand` stream (steal order).
    pub cheaprand: SimRng,
    /// When the running timed op (a compute step, a `go` statement, ...) ends.
    pub segment_end_ns: u64,
    /// For a compute step: CPU work left as of `compute_since_ns`.
    pub compute_work_left_ns: u64,
    pub compute_since_ns: u64,
    /// When a pending preemption request stops the compute step.
    pub interrupt_at_ns: Option<u64>,
    /// Extra scheduler cost to charge at the next context switch (park_m,
    /// goexit0, steal probes), accumulated on g0.
    pub g0_cost_ns: u64,
    /// The G locked to this M (LockOSThread).
    pub lockedg: Option<GIdx>,
    /// Set by `startlockedm`: the M that handed this M its locked G and a P.
    pub locked_handoff_by: Option<MId>,
    /// When this M's thread last went to sleep (stopm, a locked M's park,
    /// netpoll, notetsleep, sysmon's deep sleep): how long it has slept
    /// when it is woken sets the wake-up's latency.
    pub asleep_since_ns: u64,
    /// The trail of a findRunnable paused in a steal back-off.
    pub pending_trail: Vec<sim_core::trace::TrailStep>,
    /// The CPU this M's thread last computed on, or was queued on when it
    /// was woken (`cpu.rs`).
    pub cpu: u32,
    /// Until this time the thread stays on `cpu`, where Linux queued it
    /// when it was woken, even if another CPU is idle (0: not held).
    pub stacked_until_ns: u64,
    /// Woken while every CPU ran a thread: Linux queued it on `cpu` at
    /// this time, and it waits there for a CPU (`cpu.rs`).
    pub cpu_wait_since_ns: Option<u64>,
}
