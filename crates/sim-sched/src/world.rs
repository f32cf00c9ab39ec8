//! The simulated process: every G, M and P, the global scheduler state, and
//! the discrete-event loop that drives them.
//!
//! Time advances only from event to event. An M's pending event continues what
//! its `state` says (finish an op, return from a syscall, give up a spinning
//! P, ...); sysmon has its own event. Every state change happens atomically at
//! an event's time, and its cost (from the `CostModel`) delays the M's next
//! event, so a decision's effect is visible to other Ms immediately while the
//! deciding M pays for it. `World` is `Clone`: a clone is a snapshot, and
//! running a restored snapshot reproduces the original run byte for byte.

use crate::config::RuntimeConfig;
use crate::g::{G, GIdx, GKind, GStatus, PreemptFor};
use crate::m::{M, MState};
use crate::p::{P, PStatus};
use sim_core::cost::CostModel;
use sim_core::ids::{Goid, MId, PId};
use sim_core::metrics::{DurationHistogram, Outcome};
use sim_core::queue::{EventQueue, Scheduled};
use sim_core::rng::SeedTree;
use sim_core::trace::{Decision, PickSource, SchedLockHolder, TraceEvent, TraceRecord, WaitReason};
use sim_core::workload::{FlatOp, FlatProgram, Workload};
use std::collections::VecDeque;
use std::sync::Arc;

/// Exit status of a run stopped by the simulator's own limit (not a Go exit).
pub const EXIT_LIMIT_REACHED: i32 = 3;

/// Everything a run is configured with.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The one seed all randomness is drawn from.
    pub seed: u64,
    pub runtime: RuntimeConfig,
    pub cost: CostModel,
    /// Keep the full trace (the determinism checks and `--trace-out` need it).
    pub record_trace: bool,
}

/// The internal event kinds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ev {
    /// M `m`'s pending activity completes (dropped unless `epoch` is current).
    M { m: MId, epoch: u32 },
    /// sysmon wakes from usleep or deep sleep.
    Sysmon { epoch: u32 },
    /// A scheduler tick balances the CPUs (`cpu.rs`).
    Balance,
}

/// The global scheduler (`schedt`).
#[derive(Clone, Debug)]
pub struct Sched {
    /// The global run queue (FIFO).
    pub runq: VecDeque<GIdx>,
    /// Idle Ps, a LIFO stack: `pidle.last()` is the list's head.
    pub pidle: Vec<PId>,
    /// Idle Ms, a LIFO stack.
    pub midle: Vec<MId>,
    pub nmspinning: u32,
    pub needspinning: bool,
    /// Ms created so far (the next M id); no M is ever freed here.
    pub mnext: u32,
    /// System Ms not counted as running by checkdead (sysmon, the template thread).
    pub nmsys: u32,
    /// Ms parked while locked to a G (`stoplockedm`).
    pub nmidlelocked: u32,
    /// Ms that exited; `mcount() = mnext - nmfreed`.
    pub nmfreed: u32,
    /// The template thread, once LockOSThread has started it.
    pub template_thread: Option<MId>,
    pub goidgen: u64,
    /// The M blocked in netpoll, if any (Go's `lastpoll == 0`).
    pub netpoll_m: Option<MId>,
    /// When the M blocked in netpoll will wake up for a timer.
    pub poll_until_ns: Option<u64>,
    /// Timers need the poller; Go initialises it on the first timer.
    pub netpoll_inited: bool,
    /// When the network was last polled by a blocking poll or by sysmon
    /// (Go's `lastpoll`; "an M is blocked in netpoll" is `netpoll_m`).
    pub lastpoll_ns: u64,
    /// Dead G slots shared by all Ps.
    pub gfree: Vec<GIdx>,
    /// `sched.lock` is held until then, for `lock_holder`'s critical section
    /// (the long ones only: see `sched_lock`).
    pub lock_free_at_ns: u64,
    pub lock_holder: SchedLockHolder,
}

/// A `sync.WaitGroup`.
#[derive(Clone, Debug, Default)]
pub struct WaitGroupState {
    pub counter: i64,
    /// Goroutines parked in Wait, FIFO (the semaphore's queue).
    pub waiters: VecDeque<GIdx>,
}

/// sysmon's loop state.
#[derive(Clone, Debug)]
pub(crate) struct SysmonState {
    /// Consecutive iterations that retook no P from a syscall.
    pub idle: u32,
    pub delay_us: u64,
    pub lasttrace_ns: Option<u64>,
    /// Set by the first schedtrace line; later lines print time since it.
    pub starttime_ns: Option<u64>,
    /// In deep sleep (`sched.sysmonwait`).
    pub deep_sleep: bool,
    /// The pending wake-up came from a syscall (resets the backoff).
    pub woken_by_syscall: bool,
    pub epoch: u32,
}

/// Counters the summary is built from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub latencies: DurationHistogram,
    /// Each GC stop-the-world pause.
    pub gc_pauses: DurationHistogram,
    pub sleep_lateness: DurationHistogram,
    pub goroutines_created: u64,
    pub preemptions: u64,
    pub steals: u64,
    pub syscall_retakes: u64,
    /// TLB flushes that interrupted another computing M.
    pub tlb_shootdowns: u64,
    pub events: u64,
    /// G status changes (`casgstatus`), the unit of the engine's speed.
    pub g_transitions: u64,
    /// Scheduling decisions carried out (`execute` calls).
    pub decisions: u64,
    /// Time goroutines spent parked on mutexes and RWMutexes, each park
    /// counted until the G was readied (Go's `/sync/mutex/wait/total`).
    pub mutex_wait_ns: u64,
    /// Time Ms slept waiting for runtime-internal locks (`sched.lock`);
    /// Go adds it to `/sync/mutex/wait/total`.
    pub runtime_lock_wait_ns: u64,
    /// The longest any goroutine waited runnable, and for a mutex.
    pub max_runnable_wait_ns: u64,
    pub max_mutex_wait_ns: u64,
    /// The CPU time of the goroutines that exited, summed per program (by
    /// program index), for the fairness index; sums, not a list, because a
    /// run may retire millions of goroutines.
    pub exited_run_ns: Vec<RunTotals>,
    /// `/sched/goroutines` as main saw it just before returning.
    pub goroutines_at_main_return: Option<u64>,
    /// Exited goroutines whose worst wait reached `WAIT_RECORD_FLOOR_NS`
    /// and whose G slot was reused since (a dead slot keeps its goroutine's
    /// figures until then).
    pub exited_waits: Vec<crate::report::ExitedWaits>,
}

/// The CPU times of some goroutines, as Jain's fairness index needs them:
/// how many, their sum and the sum of their squares (nanoseconds as `f64`),
/// added in the order the goroutines are counted, so the float sums are the
/// same as summing a list of them in that order.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RunTotals {
    pub count: u64,
    pub sum_ns: f64,
    pub sum_sq_ns: f64,
}

impl RunTotals {
    pub fn add(&mut self, run_ns: u64) {
        let x = run_ns as f64;
        self.count += 1;
        self.sum_ns += x;
        self.sum_sq_ns += x * x;
    }
}

/// The simulated process.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) config: SimConfig,
    pub(crate) workload: Arc<Workload>,
    pub(crate) programs: Arc<Vec<FlatProgram>>,
    pub(crate) now_ns: u64,
    pub(crate) queue: EventQueue<Ev>,
    pub(crate) gs: Vec<G>,
    pub(crate) ps: Vec<P>,
    pub(crate) ms: Vec<M>,
    pub(crate) sched: Sched,
    pub(crate) sysmon: SysmonState,
    pub(crate) sysmon_m: MId,
    pub(crate) wait_groups: Vec<WaitGroupState>,
    pub(crate) main_g: GIdx,
    pub(crate) timer_seq: u64,
    pub(crate) seeds: SeedTree,
    pub(crate) trace: Vec<TraceRecord>,
    pub(crate) stderr: String,
    pub(crate) stats: Stats,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) init: RuntimeInit,
    /// Channels: the declared ones, then those `time.After` made.
    pub(crate) chans: Vec<crate::chan::ChanState>,
    /// Values sent so far (each send carries a fresh token).
    pub(crate) chan_values: u64,
    pub(crate) mutexes: Vec<crate::sync::MutexState>,
    pub(crate) rwmutexes: Vec<crate::sync::RwMutexState>,
    /// Goroutines waiting on the network: when their data arrives (netpoll).
    pub(crate) netpoll: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u64, GIdx)>>,
    pub(crate) netpoll_seq: u64,
    /// The decision point (strategy, recording).
    pub(crate) decider: crate::decide::Decider,
    /// Ms running a compute step, sharing the machine's CPUs.
    pub(crate) computing: Vec<MId>,
    /// Batches under way whose TLB shootdowns interrupt the other CPUs.
    pub(crate) tlb_storms: Vec<crate::cpu::TlbStorm>,
    /// The `workload-jitter` stream: run-to-run variation of compute steps.
    pub(crate) jitter: sim_core::rng::SimRng,
    /// The `cpu-interruptions` stream: when the CPUs running compute steps
    /// are interrupted, and for how long.
    pub(crate) interruptions: sim_core::rng::SimRng,
    /// The `wake-placement` stream: whether Linux queues a woken thread on
    /// its waker's CPU (`cpu.rs`).
    pub(crate) placement: sim_core::rng::SimRng,
    /// The M whose event is being handled: the thread running now, the
    /// waker of any thread it wakes.
    pub(crate) acting_m: Option<MId>,
    /// A balance tick is queued.
    pub(crate) balance_pending: bool,
    /// Woken threads waiting for a CPU, in the order they were queued.
    pub(crate) cpu_waiters: Vec<MId>,
    /// The collector and allocator (sim-gc).
    pub(crate) gc: sim_gc::Gc,
    /// What the scheduler keeps to run the collector.
    pub(crate) gc_driver: crate::gc::GcDriver,
}

/// `runtime.main` before `main.main`, as far as scheduling goes: the main
/// goroutine is locked to M0 for all of init; runtime init starts
/// forcegchelper; `gcenable` starts bgsweep and bgscavenge and receives twice
/// from a channel each of them sends on when it first runs; then the
/// GOMAXPROCS updater starts, package init starts the finalizer goroutine
/// (os sets finalizers), and init unlocks the main goroutine. Each time main
/// parks in gcenable, M0 hands P0 to another thread and waits locked; when
/// main is readied, that thread hands P0 back. So P0 has switched goroutines
/// a few times, and an extra thread exists, before user code starts, as in Go.
///
/// Simplification: the goids of the system goroutines all come from P0's
/// batch; real Go gives some of them goids from another P's batch.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuntimeInit {
    /// gcenable's receives done so far (it needs 2).
    pub received: u8,
    /// Sends into the channel (capacity 2) that nobody received yet.
    pub buffered: u8,
    /// The main goroutine is parked in gcenable's receive.
    pub main_waiting: bool,
    /// `main.main` has started.
    pub done: bool,
    /// When it started.
    pub main_started_ns: u64,
}

impl World {
    /// A process about to start: M0 runs the main goroutine (goid 1) on P0,
    /// sysmon runs on M1, the other Ps are idle, and runtime init has created
    /// its system goroutines.
    pub fn new(workload: &Workload, config: SimConfig) -> Self {
        World::with_strategy(workload, config, crate::decide::Strategy::Seeded, false)
    }

    /// The process as the generated Go program runs it (`gmpsim
    /// go-source`): before the scenario's own code, `main` calls the
    /// harness's `startMeasuring`, which calibrates its two compute loops
    /// (it doubles a loop's length until one batch takes 4 ms, then times
    /// four batches: about 25 ms each, the loop with calls first) and only
    /// then starts the clock and takes its `/sched/latencies` baseline.
    /// Validation and `compare` simulate that too, so whatever those 50 ms
    /// let happen first (the runtime's own goroutines running and parking,
    /// sysmon preempting the calibration and backing off) has happened, as
    /// in the real program; `gmpsim run` starts the scenario at once.
    /// Call it before `run`.
    pub fn with_go_harness(mut self) -> Self {
        const LOOP_CALIBRATION_NS: u64 = 25 * sim_core::time::MILLISECOND_NS;
        let harness = [
            FlatOp::Compute {
                duration_ns: LOOP_CALIBRATION_NS,
                preemptible: true,
            },
            FlatOp::Compute {
                duration_ns: LOOP_CALIBRATION_NS,
                preemptible: false,
            },
            FlatOp::StartMeasuring,
        ];
        let main = self.workload.main.index();
        let mut programs = (*self.programs).clone();
        programs[main] = programs[main].with_prefix(&harness, "startMeasuring()");
        self.programs = Arc::new(programs);
        self
    }

    /// A process whose random choices follow `strategy` (`World::new` uses
    /// `Strategy::Seeded`); with `record`, every choice is kept (`choices()`).
    pub fn with_strategy(
        workload: &Workload,
        config: SimConfig,
        strategy: crate::decide::Strategy,
        record: bool,
    ) -> Self {
        let gomaxprocs = config.runtime.gomaxprocs;
        assert!(gomaxprocs >= 1, "GOMAXPROCS must be at least 1");
        let seeds = SeedTree::new(config.seed);
        let programs: Vec<FlatProgram> = workload
            .programs
            .iter()
            .map(|p| FlatProgram::compile(&p.ops))
            .collect();
        let ps: Vec<P> = (0..gomaxprocs).map(|i| P::new(PId(i))).collect();
        let mut world = World {
            wait_groups: vec![WaitGroupState::default(); workload.wait_groups.len()],
            workload: Arc::new(workload.clone()),
            programs: Arc::new(programs),
            now_ns: 0,
            queue: EventQueue::new(),
            gs: Vec::new(),
            ps,
            ms: Vec::new(),
            sched: Sched {
                runq: VecDeque::new(),
                pidle: Vec::new(),
                midle: Vec::new(),
                nmspinning: 0,
                needspinning: false,
                mnext: 0,
                nmsys: 0,
                nmidlelocked: 0,
                nmfreed: 0,
                template_thread: None,
                goidgen: 0,
                netpoll_m: None,
                poll_until_ns: None,
                netpoll_inited: false,
                lastpoll_ns: 0,
                gfree: Vec::new(),
                lock_free_at_ns: 0,
                lock_holder: SchedLockHolder::Schedtrace,
            },
            sysmon: SysmonState {
                idle: 0,
                delay_us: 0,
                lasttrace_ns: None,
                starttime_ns: None,
                deep_sleep: false,
                woken_by_syscall: false,
                epoch: 0,
            },
            sysmon_m: MId(1),
            main_g: GIdx(0),
            timer_seq: 0,
            seeds,
            trace: Vec::new(),
            stderr: String::new(),
            stats: Stats::default(),
            outcome: None,
            init: RuntimeInit::default(),
            chans: workload
                .channels
                .iter()
                .map(|c| crate::chan::ChanState {
                    capacity: c.capacity,
                    ..Default::default()
                })
                .collect(),
            chan_values: 0,
            mutexes: vec![Default::default(); workload.mutexes.len()],
            rwmutexes: vec![Default::default(); workload.rwmutexes.len()],
            netpoll: std::collections::BinaryHeap::new(),
            netpoll_seq: 0,
            jitter: seeds.stream("workload-jitter"),
            interruptions: seeds.stream("cpu-interruptions"),
            placement: seeds.stream("wake-placement"),
            acting_m: None,
            balance_pending: false,
            cpu_waiters: Vec::new(),
            computing: Vec::new(),
            tlb_storms: Vec::new(),
            decider: crate::decide::Decider::new(strategy, record, seeds),
            gc: sim_gc::Gc::new(
                sim_gc::GcConfig {
                    gogc: config.runtime.gogc,
                    memory_limit_bytes: config.runtime.memory_limit_bytes,
                    gomaxprocs,
                    ncpu: config.runtime.ncpu,
                    dense_span_scan: config.cost.avx512_span_scan,
                    ..sim_gc::GcConfig::default()
                },
                0,
            ),
            gc_driver: crate::gc::GcDriver::new(),
            config,
        };
        // procresize: P0 belongs to M0; the others go idle, last one first,
        // so the idle list's head is P1.
        for pid in (1..gomaxprocs).rev() {
            world.pidleput(PId(pid));
        }
        let m0 = world.new_m(MState::Switching);
        let sysmon = world.new_m(MState::Sysmon);
        world.sysmon_m = sysmon;
        world.sched.nmsys = 1;
        world.acquirep(m0, PId(0));

        // The main goroutine: created by newproc into runnext, so running it
        // inherits the (first) time slice and P0's schedtick stays 0.
        let main_program = workload.main;
        let seq = world.choose(crate::decide::ChoiceKind::TrackingSeq, 256, Some(m0), |w| {
            u64::from(w.ms[m0.index()].cheaprand.next_u32() & 0xff)
        }) as u8;
        let main_g = world.alloc_g(
            PId(0),
            GKind::User {
                program: main_program,
            },
            Goid(0),
            seq,
        );
        world.main_g = main_g;
        world.gs[main_g.index()].set_status(GStatus::Running { m: m0 }, 0);
        world.stats.g_transitions += 1;
        world.ms[m0.index()].curg = Some(main_g);
        world.emit(TraceEvent::GoStart {
            p: PId(0),
            m: m0,
            decision: Decision {
                source: PickSource::Runnext,
                g: world.gs[main_g.index()].goid,
                inherit_time: true,
                trail: Vec::new(),
            },
        });
        world.schedule_m(m0, 0);
        world.sysmon_sleep();
        world
    }

    /// Processes the next event. Returns false once the process has ended.
    pub fn step(&mut self) -> bool {
        if self.outcome.is_some() {
            return false;
        }
        let Some(next) = self.queue.pop() else {
            // Nothing can ever happen again: every M is parked and no timer or
            // sysmon wake-up is pending. checkdead would have fired; this is a
            // model bug, reported rather than hidden.
            self.finish(
                EXIT_LIMIT_REACHED,
                "stopped: no pending events (the model has no way to continue)".into(),
            );
            return false;
        };
        if next.at_ns > self.config.runtime.max_sim_time_ns {
            self.now_ns = self.config.runtime.max_sim_time_ns;
            self.finish(
                EXIT_LIMIT_REACHED,
                format!(
                    "stopped: the simulated time limit {} was reached before the program exited",
                    sim_core::time::format_duration_ns(self.config.runtime.max_sim_time_ns)
                ),
            );
            return false;
        }
        debug_assert!(next.at_ns >= self.now_ns, "time went backwards");
        if self.stats.events >= self.config.runtime.max_events {
            self.finish(
                EXIT_LIMIT_REACHED,
                format!(
                    "stopped: the limit of {} events was reached",
                    self.config.runtime.max_events
                ),
            );
            return false;
        }
        self.now_ns = next.at_ns;
        if !self.is_current(&next.event) {
            return true; // superseded (preempted, woken early)
        }
        let next = self.break_tie(next);
        self.stats.events += 1;
        match next.event {
            Ev::M { m, .. } => {
                self.acting_m = Some(m);
                self.handle_m_event(m);
                if !self.cpu_waiters.is_empty() {
                    self.grant_idle_cpus();
                }
            }
            Ev::Sysmon { .. } => {
                self.acting_m = None;
                self.sysmon_wake();
            }
            Ev::Balance => {
                self.acting_m = None;
                self.balance_tick();
            }
        }
        self.outcome.is_none()
    }

    /// Whether `event` is still due (not superseded by a later scheduling).
    fn is_current(&self, event: &Ev) -> bool {
        match *event {
            Ev::M { m, epoch } => self.ms[m.index()].epoch == epoch,
            Ev::Sysmon { epoch } => self.sysmon.epoch == epoch,
            Ev::Balance => true,
        }
    }

    /// Of `first` and the other current events due at the same time, the one
    /// to handle now (a choice; the rest go back in the queue, in order).
    fn break_tie(&mut self, first: Scheduled<Ev>) -> Scheduled<Ev> {
        if self.queue.peek_time_ns() != Some(self.now_ns) || self.ties_need_no_choice() {
            return first;
        }
        let mut tied = vec![first];
        while let Some(other) = self.queue.pop_at(self.now_ns) {
            // A superseded event would be skipped when popped: drop it now.
            if self.is_current(&other.event) {
                tied.push(other);
            }
        }
        if tied.len() == 1 {
            return tied.pop().expect("one event");
        }
        let ms: Vec<Option<MId>> = tied
            .iter()
            .map(|s| match s.event {
                Ev::M { m, .. } => Some(m),
                Ev::Sysmon { .. } | Ev::Balance => None,
            })
            .collect();
        let chosen = tied.remove(self.choose_tie(&ms));
        for other in tied {
            self.queue.requeue(other);
        }
        chosen
    }

    /// Runs until the process ends (or a limit stops it).
    pub fn run(&mut self) -> &Outcome {
        while self.step() {}
        self.outcome
            .as_ref()
            .expect("a finished run has an outcome")
    }

    /// Runs until virtual time reaches `until_ns` or the process ends.
    pub fn run_until(&mut self, until_ns: u64) {
        while self.outcome.is_none() && self.queue.peek_time_ns().is_some_and(|t| t <= until_ns) {
            self.step();
        }
    }

    /// Virtual time of the last processed event.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// How the process ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The recorded trace (empty unless `record_trace`): every record since
    /// the start, or since the last [`World::take_trace`].
    pub fn trace(&self) -> &[TraceRecord] {
        &self.trace
    }

    /// Moves the records emitted since the last call out of the world and
    /// returns them. A recorder that keeps a long run's trace itself (the
    /// GUI) takes it after each step, so the world, and so every clone of it
    /// kept as a snapshot, holds no trace: snapshots stay the size of the
    /// state, not of the history. Taking changes nothing the run does; the
    /// pieces, concatenated, are the trace an untouched run records.
    pub fn take_trace(&mut self) -> Vec<TraceRecord> {
        std::mem::take(&mut self.trace)
    }

    /// What the simulated process wrote to stderr: schedtrace lines, fatal errors.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Events processed so far (stale, superseded events not counted).
    pub fn events_processed(&self) -> u64 {
        self.stats.events
    }

    /// Scheduling decisions carried out so far (a G chosen and executed).
    pub fn decisions_made(&self) -> u64 {
        self.stats.decisions
    }

    /// Goroutine status changes so far (runnable, running, waiting, in a
    /// syscall, dead): the work a scheduler does, whatever events carry it.
    pub fn g_transitions(&self) -> u64 {
        self.stats.g_transitions
    }

    /// The configuration this run uses.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The workload being run.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// All Ps, by id.
    pub fn ps(&self) -> &[P] {
        &self.ps
    }

    /// All Ms, by id.
    pub fn ms(&self) -> &[M] {
        &self.ms
    }

    /// All G slots (dead ones included).
    pub fn gs(&self) -> &[G] {
        &self.gs
    }

    /// The global scheduler state.
    pub fn sched(&self) -> &Sched {
        &self.sched
    }

    pub(crate) fn gomaxprocs(&self) -> u32 {
        self.ps.len() as u32
    }

    /// `mcount()`: threads that exist (created minus exited).
    pub(crate) fn mcount(&self) -> u32 {
        self.sched.mnext - self.sched.nmfreed
    }

    pub(crate) fn npidle(&self) -> u32 {
        self.sched.pidle.len() as u32
    }

    pub(crate) fn goid(&self, g: GIdx) -> Goid {
        self.gs[g.index()].goid
    }

    /// Records a trace event at the current time.
    pub(crate) fn emit(&mut self, event: TraceEvent) {
        if self.config.record_trace {
            self.trace.push(TraceRecord {
                at_ns: self.now_ns,
                event,
            });
        }
    }

    /// Replaces M `m`'s pending event with one at `at_ns`.
    pub(crate) fn schedule_m(&mut self, m: MId, at_ns: u64) {
        let mm = &mut self.ms[m.index()];
        mm.epoch = mm.epoch.wrapping_add(1);
        let epoch = mm.epoch;
        self.queue.push(at_ns, Ev::M { m, epoch });
    }

    /// Drops M `m`'s pending event (it now waits to be woken).
    pub(crate) fn cancel_m(&mut self, m: MId) {
        let mm = &mut self.ms[m.index()];
        mm.epoch = mm.epoch.wrapping_add(1);
    }

    /// Creates an M (`newm`): the next M id, its own cheaprand stream.
    pub(crate) fn new_m(&mut self, state: MState) -> MId {
        let id = MId(self.sched.mnext);
        self.sched.mnext += 1;
        self.ms.push(M {
            id,
            state,
            p: None,
            nextp: None,
            curg: None,
            spinning: false,
            epoch: 0,
            cheaprand: self.seeds.stream(&format!("cheaprand/{id}")),
            segment_end_ns: 0,
            compute_work_left_ns: 0,
            compute_since_ns: 0,
            interrupt_at_ns: None,
            g0_cost_ns: 0,
            lockedg: None,
            locked_handoff_by: None,
            asleep_since_ns: 0,
            pending_trail: Vec::new(),
            cpu: 0,
            stacked_until_ns: 0,
            cpu_wait_since_ns: None,
        });
        // M0 runs on the process's main thread stack; every other M's g0
        // stack, and every M's signal stack, come from the stack allocator.
        self.gc.thread_created(id, id == MId(0));
        id
    }

    /// `acquirep`: wire P `p` to M `m`.
    pub(crate) fn acquirep(&mut self, m: MId, p: PId) {
        let pp = &mut self.ps[p.index()];
        debug_assert!(pp.m.is_none(), "{p} already owned by {:?}", pp.m);
        debug_assert!(self.ms[m.index()].p.is_none(), "{m} already holds a P");
        pp.status = PStatus::Running;
        pp.m = Some(m);
        self.ms[m.index()].p = Some(p);
    }

    /// `releasep`: unwire M `m` from its P and return the P.
    pub(crate) fn releasep(&mut self, m: MId) -> PId {
        let p = self.ms[m.index()]
            .p
            .take()
            .expect("releasep on an M without a P");
        self.ps[p.index()].m = None;
        p
    }

    /// Ends the run.
    pub(crate) fn finish(&mut self, exit_code: i32, reason: String) {
        if self.outcome.is_some() {
            return;
        }
        self.emit(TraceEvent::Exit {
            code: exit_code,
            why: reason.clone(),
        });
        self.outcome = Some(Outcome { exit_code, reason });
    }

    /// A G slot for a new goroutine: reuse a dead one (gfget) or allocate,
    /// give it the next goid from P `p`'s batch, and make it runnable.
    /// `tracking_seq` is newproc1's random byte for latency sampling.
    pub(crate) fn alloc_g(&mut self, p: PId, kind: GKind, parent: Goid, tracking_seq: u8) -> GIdx {
        let gi = match self.gfget(p) {
            Some(gi) => {
                // The exited goroutine's waits outlive its slot.
                if let Some(record) = crate::report::exited_waits(&self.gs[gi.index()]) {
                    self.stats.exited_waits.push(record);
                }
                gi
            }
            None => {
                // malg: a new slot, with its g object on the heap.
                self.gs.push(G::new_dead());
                let gi = GIdx((self.gs.len() - 1) as u32);
                self.gc.new_g_slot(p, crate::gc::gc_key(gi));
                gi
            }
        };
        let pp = &mut self.ps[p.index()];
        if pp.goidcache == pp.goidcacheend {
            self.sched.goidgen += crate::p::GOID_CACHE_BATCH;
            pp.goidcache = self.sched.goidgen - (crate::p::GOID_CACHE_BATCH - 1);
            pp.goidcacheend = pp.goidcache + crate::p::GOID_CACHE_BATCH;
        }
        let goid = Goid(pp.goidcache);
        pp.goidcache += 1;
        let now = self.now_ns;
        let g = &mut self.gs[gi.index()];
        g.goid = goid;
        g.kind = kind;
        g.parent = parent;
        g.pc = 0;
        g.compute_left_ns = crate::g::OptU64::NONE;
        g.spawned_in_op = 0;
        g.preempt = false;
        g.preempt_slice_ns = 0;
        g.last_wait_reason = WaitReason::Zero;
        g.send_on_closed = false;
        g.received = crate::g::OptU64::NONE;
        if let Some(rare) = g.rare.as_deref_mut() {
            rare.reset();
        }
        g.op_pc = 0;
        g.run_ns = 0;
        g.max_runnable_wait_ns = 0;
        g.max_mutex_wait_ns = 0;
        g.gc = None;
        g.preempt_for = PreemptFor::Slice;
        g.start_tracking(tracking_seq);
        g.set_status(GStatus::Runnable, now);
        self.stats.g_transitions += 1;
        g.runnable_since_ns = now;
        // Go counts every goroutine newproc1 creates, the runtime's own too.
        self.stats.goroutines_created += 1;
        self.gc_goroutine_created(gi);
        gi
    }

    /// `gfget`: a dead G from P's cache, refilled from the global list.
    fn gfget(&mut self, p: PId) -> Option<GIdx> {
        let pp = &mut self.ps[p.index()];
        if pp.gfree.is_empty() {
            while pp.gfree.len() < crate::p::GFREE_KEEP {
                match self.sched.gfree.pop() {
                    Some(g) => pp.gfree.push(g),
                    None => break,
                }
            }
        }
        pp.gfree.pop()
    }

    /// `gfput`: cache a dead G on P; a long cache spills to the global list.
    pub(crate) fn gfput(&mut self, p: PId, g: GIdx) {
        let pp = &mut self.ps[p.index()];
        pp.gfree.push(g);
        if pp.gfree.len() >= crate::p::GFREE_SPILL_AT {
            while pp.gfree.len() >= crate::p::GFREE_KEEP {
                let g = pp.gfree.pop().expect("non-empty");
                self.sched.gfree.push(g);
            }
        }
    }
}
