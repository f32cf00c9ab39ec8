//! The timeline's contents: per-P and per-M slices, stop-the-world bands
//! and marks, read from the trace as it is recorded.
//!
//! A slice starts when a `GoStart` puts a G on a P (and its M) and ends at the
//! record that takes it off: `GoStop`, `GoBlock`, `GoDestroy`, the next
//! `GoStart` there, or `GoSyscallBegin`, which opens a syscall slice on the M
//! (and on the P while the M keeps it, until sysmon's `ProcSteal` hands it
//! off). Slices are kept in time order per lane, so drawing a time range is a
//! binary search plus the slices in view.
//!
//! Simplification: the trace records an assist as one instant (`GcAssist`
//! with its work in bytes), so assists are marks, not slices; a mark worker's
//! run is a slice like any G's.

use sim_core::ids::{Goid, MId, PId, ProgramId};
use sim_core::trace::{PickSource, SyscallExit, TraceEvent, TraceRecord};

/// A slice still running at the end of what has been recorded.
pub const OPEN_END_NS: u64 = u64::MAX;

/// What a slice shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceKind {
    /// A workload goroutine running its program.
    User(ProgramId),
    /// A runtime goroutine (bgsweep, forcegc, ...).
    Runtime,
    /// A background mark worker.
    GcWorker,
    /// A goroutine in a system call (the M, and the P while it is held).
    Syscall,
}

/// One interval on a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub start_ns: u64,
    /// [`OPEN_END_NS`] while it has not ended.
    pub end_ns: u64,
    pub g: Goid,
    pub kind: SliceKind,
    /// The trace record that started it (a `GoStart` carries the decision).
    pub record: usize,
    /// The record that ended it ([`OPEN_RECORD`] while open).
    pub end_record: usize,
}

/// `end_record` of a slice that has not ended.
pub const OPEN_RECORD: usize = usize::MAX;

/// What an instant mark on a lane stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A goroutine did mark work before allocating (`GcAssist`).
    Assist,
    /// sysmon retook the P from a thread in a syscall (`ProcSteal`): the
    /// syscall handoff.
    Handoff,
    /// sysmon asked the running G to stop (`PreemptRequest`).
    Preempt,
}

/// An instant on a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub at_ns: u64,
    pub kind: MarkKind,
    pub record: usize,
}

/// A stop-the-world, from `StwStart` to `StwDone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub start_ns: u64,
    pub end_ns: u64,
    pub record: usize,
}

/// Slices and marks of one P or M, in time order.
#[derive(Clone, Debug, Default)]
pub struct Lane {
    pub slices: Vec<Slice>,
    pub marks: Vec<Mark>,
}

impl Lane {
    /// The slices that overlap `[from_ns, to_ns]`: a range of indexes.
    pub fn slices_in(&self, from_ns: u64, to_ns: u64) -> std::ops::Range<usize> {
        let first = self.slices.partition_point(|s| s.end_ns < from_ns);
        let last = self.slices.partition_point(|s| s.start_ns <= to_ns);
        first..last.max(first)
    }

    /// The slice running once the first `trace_end` records have happened
    /// (exact at a step, where several steps may share one nanosecond).
    pub fn slice_after(&self, trace_end: usize) -> Option<&Slice> {
        let i = self.slices.partition_point(|s| s.record < trace_end);
        self.slices[..i]
            .last()
            .filter(|s| s.end_record >= trace_end)
    }

    /// The slice under time `at_ns`, if any (for pointing at the timeline).
    pub fn slice_at(&self, at_ns: u64) -> Option<&Slice> {
        let i = self.slices.partition_point(|s| s.start_ns <= at_ns);
        self.slices[..i].last().filter(|s| s.end_ns >= at_ns)
    }

    fn open(&mut self, slice: Slice) {
        self.close(slice.start_ns, slice.record);
        self.slices.push(slice);
    }

    /// Ends the open slice, if any, at `at_ns` by trace record `record`.
    fn close(&mut self, at_ns: u64, record: usize) {
        if let Some(last) = self.slices.last_mut()
            && last.end_ns == OPEN_END_NS
        {
            last.end_ns = at_ns;
            last.end_record = record;
        }
    }

    /// The G of the open slice.
    fn open_g(&self) -> Option<Goid> {
        self.slices
            .last()
            .filter(|s| s.end_ns == OPEN_END_NS)
            .map(|s| s.g)
    }
}

/// Every lane of a recorded run.
#[derive(Clone, Debug, Default)]
pub struct Lanes {
    pub ps: Vec<Lane>,
    pub ms: Vec<Lane>,
    pub stw: Vec<Band>,
    /// Each goroutine's program, by goid (`None`: a runtime goroutine, or
    /// not created yet).
    programs: Vec<Option<ProgramId>>,
    /// The M each P's open slice runs on.
    p_m: Vec<Option<MId>>,
}

impl Lanes {
    pub fn new(gomaxprocs: u32) -> Lanes {
        Lanes {
            ps: vec![Lane::default(); gomaxprocs as usize],
            p_m: vec![None; gomaxprocs as usize],
            ..Lanes::default()
        }
    }

    /// The program goroutine `g` runs (`None` for runtime goroutines).
    pub fn program_of(&self, g: Goid) -> Option<ProgramId> {
        self.programs.get(g.0 as usize).copied().flatten()
    }

    fn m_lane(&mut self, m: MId) -> &mut Lane {
        if self.ms.len() <= m.index() {
            self.ms.resize(m.index() + 1, Lane::default());
        }
        &mut self.ms[m.index()]
    }

    /// Ends G `g`'s slice on P `p` (and on the M running it).
    fn stop(&mut self, p: PId, g: Goid, at_ns: u64, record: usize) {
        let lane = &mut self.ps[p.index()];
        if lane.open_g() == Some(g) {
            lane.close(at_ns, record);
        }
        if let Some(m) = self.p_m[p.index()].take() {
            self.m_lane(m).close(at_ns, record);
        }
    }

    /// Reads `records`, the trace from record index `first` on.
    pub fn extend(&mut self, records: &[TraceRecord], first: usize) {
        for (offset, r) in records.iter().enumerate() {
            let record = first + offset;
            let at_ns = r.at_ns;
            match &r.event {
                TraceEvent::GoCreate { g, program, .. } => {
                    let i = g.0 as usize;
                    if self.programs.len() <= i {
                        self.programs.resize(i + 1, None);
                    }
                    self.programs[i] = *program;
                }
                TraceEvent::GoStart { p, m, decision } => {
                    let kind = match decision.source {
                        PickSource::GcWorker { .. } | PickSource::GcIdleWorker => {
                            SliceKind::GcWorker
                        }
                        _ => match self.program_of(decision.g) {
                            Some(program) => SliceKind::User(program),
                            None => SliceKind::Runtime,
                        },
                    };
                    let slice = Slice {
                        start_ns: at_ns,
                        end_ns: OPEN_END_NS,
                        g: decision.g,
                        kind,
                        record,
                        end_record: OPEN_RECORD,
                    };
                    if let Some(old) = self.p_m[p.index()].replace(*m)
                        && old != *m
                    {
                        self.m_lane(old).close(at_ns, record);
                    }
                    self.ps[p.index()].open(slice);
                    self.m_lane(*m).open(slice);
                }
                TraceEvent::GoStop { g, p, .. }
                | TraceEvent::GoBlock { g, p, .. }
                | TraceEvent::GoDestroy { g, p } => self.stop(*p, *g, at_ns, record),
                TraceEvent::GoSyscallBegin { g, p, m } => {
                    let slice = Slice {
                        start_ns: at_ns,
                        end_ns: OPEN_END_NS,
                        g: *g,
                        kind: SliceKind::Syscall,
                        record,
                        end_record: OPEN_RECORD,
                    };
                    self.ps[p.index()].open(slice);
                    self.m_lane(*m).open(slice);
                    self.p_m[p.index()] = None;
                }
                TraceEvent::GoSyscallEnd { g, m, exit } => {
                    self.m_lane(*m).close(at_ns, record);
                    // Back from the kernel with a P, the G runs on at once
                    // (no GoStart: exitsyscall's fast paths do not schedule).
                    if let SyscallExit::KeptP { p } | SyscallExit::IdleP { p } = exit {
                        let slice = Slice {
                            start_ns: at_ns,
                            end_ns: OPEN_END_NS,
                            g: *g,
                            kind: match self.program_of(*g) {
                                Some(program) => SliceKind::User(program),
                                None => SliceKind::Runtime,
                            },
                            record,
                            end_record: OPEN_RECORD,
                        };
                        self.ps[p.index()].open(slice);
                        self.m_lane(*m).open(slice);
                        self.p_m[p.index()] = Some(*m);
                    }
                }
                TraceEvent::ProcSteal { p, .. } => {
                    let lane = &mut self.ps[p.index()];
                    lane.close(at_ns, record);
                    lane.marks.push(Mark {
                        at_ns,
                        kind: MarkKind::Handoff,
                        record,
                    });
                }
                TraceEvent::PreemptRequest { p, .. } => self.ps[p.index()].marks.push(Mark {
                    at_ns,
                    kind: MarkKind::Preempt,
                    record,
                }),
                TraceEvent::GcAssist { g, .. } => {
                    if let Some(lane) = self.ps.iter_mut().find(|l| l.open_g() == Some(*g)) {
                        lane.marks.push(Mark {
                            at_ns,
                            kind: MarkKind::Assist,
                            record,
                        });
                    }
                }
                TraceEvent::ProcIdle { p, m } => {
                    self.ps[p.index()].close(at_ns, record);
                    if self.p_m[p.index()] == Some(*m) {
                        self.p_m[p.index()] = None;
                    }
                    self.m_lane(*m).close(at_ns, record);
                }
                TraceEvent::MPark { m }
                | TraceEvent::NetpollBlock { m, .. }
                | TraceEvent::MLockedPark { m, .. } => self.m_lane(*m).close(at_ns, record),
                TraceEvent::MCreate { m, .. } => {
                    self.m_lane(*m);
                }
                TraceEvent::StwStart { .. } => self.stw.push(Band {
                    start_ns: at_ns,
                    end_ns: OPEN_END_NS,
                    record,
                }),
                TraceEvent::StwDone { .. } => {
                    if let Some(band) = self.stw.last_mut()
                        && band.end_ns == OPEN_END_NS
                    {
                        band.end_ns = at_ns;
                    }
                }
                TraceEvent::GoUnblock { .. }
                | TraceEvent::MWake { .. }
                | TraceEvent::MSchedLockWait { .. }
                | TraceEvent::MCpuQueued { .. }
                | TraceEvent::MCpuGranted { .. }
                | TraceEvent::GcStackSuspend { .. }
                | TraceEvent::StopBeforeTriggerTest { .. }
                | TraceEvent::MLockedHandoff { .. }
                | TraceEvent::MExit { .. }
                | TraceEvent::RunqSpill { .. }
                | TraceEvent::GcStart { .. }
                | TraceEvent::GcMarkDoneRound { .. }
                | TraceEvent::GcDone { .. }
                | TraceEvent::Exit { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_sched::g::GStatus;
    use sim_sched::{SimConfig, World};

    /// At every step of a run, the slice each P lane shows at that moment is
    /// the G the world has running on that P (a G in a syscall holding its P
    /// shows as a syscall slice).
    #[test]
    fn each_p_lane_shows_the_g_the_world_runs_on_that_p() {
        for name in ["steal-imbalance", "syscall-handoff", "alloc-steady"] {
            let s = scenarios::library::get(name).expect("library scenario");
            let mut w = World::new(
                &s.workload,
                SimConfig {
                    seed: 1,
                    runtime: s.runtime.clone(),
                    cost: Default::default(),
                    record_trace: true,
                },
            );
            let mut lanes = Lanes::new(s.runtime.gomaxprocs);
            let mut seen = 0;
            let mut checked = 0;
            while w.step() && checked < 3000 {
                if w.trace().len() == seen {
                    continue;
                }
                lanes.extend(&w.trace()[seen..], seen);
                seen = w.trace().len();
                checked += 1;
                for p in w.ps() {
                    let running =
                        p.m.and_then(|m| w.ms()[m.index()].curg)
                            .map(|g| &w.gs()[g.index()])
                            .filter(|g| matches!(g.status, GStatus::Running { .. }))
                            .map(|g| g.goid);
                    let shown = lanes.ps[p.id.index()]
                        .slice_after(seen)
                        .filter(|s| s.kind != SliceKind::Syscall)
                        .map(|s| s.g);
                    assert_eq!(shown, running, "{name} at {} on {}", w.now_ns(), p.id);
                }
            }
        }
    }
}
