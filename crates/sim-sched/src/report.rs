//! What a run reports about its goroutines: Go-style goroutine dumps for
//! fatal errors, the goroutines leaked when the program ended, and per-G
//! starvation figures.
//!
//! A dump entry has Go's shape (`goroutine 6 [chan send]:`, the function,
//! `created by main.main in goroutine 1`), with the scenario op the goroutine
//! is at where Go prints a file and line.
//!
//! Leak detection (at the end of a run that exited normally): a goroutine
//! blocked on a channel, mutex, RWMutex or WaitGroup is leaked when no
//! goroutine that can still run could ever unblock it. "Could" is judged
//! statically and conservatively: a goroutine that can run (runnable,
//! running, in a syscall, sleeping, waiting on the network, or itself
//! unblockable) can touch every object its program, or any program it
//! spawns, names. A goroutine blocked on a nil channel or an empty select is
//! always leaked. This mirrors what Go 1.26's goroutine-leak profile finds
//! (goroutines blocked on objects unreachable from running goroutines),
//! with program text standing in for reachability.

use crate::g::{G, GIdx, GKind, GStatus};
use crate::world::World;
use sim_core::ids::ProgramId;
use sim_core::trace::WaitReason;
use sim_core::workload::{CaseOp, ChanRef, FlatOp};
use std::fmt::Write;

/// A synchronisation object a goroutine can block on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SyncObject {
    Chan(u32),
    Mutex(u32),
    RwMutex(u32),
    WaitGroup(u32),
}

/// A goroutine's worst waits, for starvation reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitRecord {
    pub goid: u64,
    pub program: String,
    /// Longest time it could have run but did not (runnable, or its timer due).
    pub max_runnable_wait_ns: u64,
    /// Longest time it waited to get a mutex.
    pub max_mutex_wait_ns: u64,
}

/// An exited goroutine's worst waits, kept compactly (a program id, not its
/// name) because a run may retire millions of goroutines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExitedWaits {
    pub goid: u64,
    pub program: ProgramId,
    pub max_runnable_wait_ns: u64,
    pub max_mutex_wait_ns: u64,
}

/// Exited goroutines are remembered for starvation reports only if one of
/// their waits reached this (so a million short-lived goroutines cost nothing).
pub const WAIT_RECORD_FLOOR_NS: u64 = sim_core::time::MILLISECOND_NS;

/// The record starvation reports keep of an exited goroutine, from its dead
/// G slot: `None` unless it was a workload goroutine (not a fresh slot) and
/// one of its waits reached `WAIT_RECORD_FLOOR_NS`.
pub(crate) fn exited_waits(g: &G) -> Option<ExitedWaits> {
    let GKind::User { program } = g.kind else {
        return None;
    };
    let record = ExitedWaits {
        goid: g.goid.0,
        program,
        max_runnable_wait_ns: g.max_runnable_wait_ns,
        max_mutex_wait_ns: g.max_mutex_wait_ns,
    };
    let exited = g.status == GStatus::Dead && g.goid.0 != 0;
    let worst = record.max_runnable_wait_ns.max(record.max_mutex_wait_ns);
    (exited && worst >= WAIT_RECORD_FLOOR_NS).then_some(record)
}

/// A goroutine that can never run again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    pub goid: u64,
    pub program: String,
    pub reason: WaitReason,
    /// Where in its program it is blocked, like `ops[1].body[0]`.
    pub op_path: String,
    /// The op, in words (`send on results`).
    pub op: String,
}

impl World {
    fn program_name(&self, program: ProgramId) -> &str {
        &self.workload.programs[program.index()].name
    }

    fn chan_ref_name(&self, chan: ChanRef) -> String {
        match chan {
            ChanRef::Nil => "a nil channel".to_string(),
            ChanRef::Chan(c) => self.chan_name(c),
        }
    }

    /// An op in words, with the scenario's names.
    pub fn describe_op(&self, program: ProgramId, pc: u32) -> String {
        let flat = &self.programs[program.index()];
        let Some(op) = flat.ops.get(pc as usize) else {
            return "return".to_string();
        };
        let w = &self.workload;
        match *op {
            FlatOp::Send { chan } => format!("send on {}", self.chan_ref_name(chan)),
            FlatOp::Recv { chan } => format!("receive from {}", self.chan_ref_name(chan)),
            FlatOp::Close { chan } => format!("close {}", self.chan_ref_name(chan)),
            FlatOp::Select { table } => {
                let cases: Vec<String> = flat.selects[table as usize]
                    .cases
                    .iter()
                    .map(|(c, _)| match c {
                        CaseOp::Send(ch) => format!("send on {}", self.chan_ref_name(*ch)),
                        CaseOp::Recv(ch) => format!("receive from {}", self.chan_ref_name(*ch)),
                        CaseOp::After { duration_ns } => {
                            format!(
                                "time.After({})",
                                sim_core::time::format_duration_ns(*duration_ns)
                            )
                        }
                    })
                    .collect();
                format!("select {{ {} }}", cases.join("; "))
            }
            FlatOp::Lock { mutex } => format!("{}.Lock()", w.mutexes[mutex.index()]),
            FlatOp::Unlock { mutex } => format!("{}.Unlock()", w.mutexes[mutex.index()]),
            FlatOp::RLock { rwmutex } => format!("{}.RLock()", w.rwmutexes[rwmutex.index()]),
            FlatOp::RUnlock { rwmutex } => format!("{}.RUnlock()", w.rwmutexes[rwmutex.index()]),
            FlatOp::WLock { rwmutex } => format!("{}.Lock()", w.rwmutexes[rwmutex.index()]),
            FlatOp::WUnlock { rwmutex } => format!("{}.Unlock()", w.rwmutexes[rwmutex.index()]),
            FlatOp::WaitGroupWait { wait_group } => {
                format!("{}.Wait()", w.wait_groups[wait_group.index()])
            }
            FlatOp::WaitGroupAdd { wait_group, delta } => {
                format!("{}.Add({delta})", w.wait_groups[wait_group.index()])
            }
            FlatOp::WaitGroupDone { wait_group } => {
                format!("{}.Done()", w.wait_groups[wait_group.index()])
            }
            FlatOp::Sleep { duration_ns } => format!(
                "time.Sleep({})",
                sim_core::time::format_duration_ns(duration_ns)
            ),
            FlatOp::NetWait { .. } => "a network read".to_string(),
            FlatOp::Alloc {
                size_bytes, count, ..
            } => format!("allocating {count} objects of {size_bytes} B"),
            FlatOp::Gc => "runtime.GC()".to_string(),
            FlatOp::StartMeasuring => "startMeasuring()".to_string(),
            FlatOp::StackGrow { used_bytes } => {
                format!("a call chain using {used_bytes} B of stack")
            }
            FlatOp::Syscall { .. } => "a blocking syscall".to_string(),
            FlatOp::Compute { .. } => "compute".to_string(),
            FlatOp::Spawn { program, .. } => format!("go {}()", self.program_name(program)),
            FlatOp::Gosched => "runtime.Gosched()".to_string(),
            FlatOp::LockOsThread => "runtime.LockOSThread()".to_string(),
            FlatOp::UnlockOsThread => "runtime.UnlockOSThread()".to_string(),
            FlatOp::LoopStart { .. } | FlatOp::LoopEnd { .. } | FlatOp::Jump { .. } => {
                "a loop".to_string()
            }
        }
    }

    /// A Go-style goroutine dump of `gs`.
    pub(crate) fn goroutine_dump(&self, gs: &[GIdx]) -> String {
        let mut out = String::new();
        for &gi in gs {
            let g = &self.gs[gi.index()];
            let GKind::User { program } = g.kind else {
                continue;
            };
            let state = match g.status {
                GStatus::Runnable => "runnable".to_string(),
                GStatus::Running { .. } => "running".to_string(),
                GStatus::Syscall { .. } => "syscall".to_string(),
                GStatus::Waiting(r) => {
                    let minutes =
                        (self.now_ns - g.waiting_since_ns) / (60 * sim_core::time::SECOND_NS);
                    if minutes >= 1 {
                        format!("{r}, {minutes} minutes")
                    } else {
                        r.to_string()
                    }
                }
                GStatus::Dead => continue,
            };
            let name = self.program_name(program);
            let path = &self.programs[program.index()].op_paths;
            let at = path.get(g.op_pc as usize).cloned().unwrap_or_default();
            let _ = writeln!(out, "goroutine {} [{state}]:", g.goid.0);
            let _ = writeln!(out, "main.{name}()");
            let _ = writeln!(
                out,
                "\tscenario programs.{name}.{at}: {}",
                self.describe_op(program, g.op_pc)
            );
            if g.parent.0 != 0 {
                let creator = self
                    .gs
                    .iter()
                    .find(|p| p.goid == g.parent)
                    .and_then(|p| match p.kind {
                        GKind::User { program } => Some(self.program_name(program).to_string()),
                        GKind::System { .. } | GKind::MarkWorker => None,
                    })
                    .unwrap_or_else(|| "main".to_string());
                let _ = writeln!(out, "created by main.{creator} in goroutine {}", g.parent.0);
            }
            out.push('\n');
        }
        out
    }

    /// The sync objects a program (and what it spawns) names.
    fn objects_reachable(&self, program: ProgramId) -> Vec<SyncObject> {
        let mut seen_programs = vec![program];
        let mut objects = Vec::new();
        let mut i = 0;
        while i < seen_programs.len() {
            let flat = &self.programs[seen_programs[i].index()];
            for op in &flat.ops {
                match *op {
                    FlatOp::Send {
                        chan: ChanRef::Chan(c),
                    }
                    | FlatOp::Recv {
                        chan: ChanRef::Chan(c),
                    }
                    | FlatOp::Close {
                        chan: ChanRef::Chan(c),
                    } => objects.push(SyncObject::Chan(c.0)),
                    FlatOp::Lock { mutex } | FlatOp::Unlock { mutex } => {
                        objects.push(SyncObject::Mutex(mutex.0))
                    }
                    FlatOp::RLock { rwmutex }
                    | FlatOp::RUnlock { rwmutex }
                    | FlatOp::WLock { rwmutex }
                    | FlatOp::WUnlock { rwmutex } => objects.push(SyncObject::RwMutex(rwmutex.0)),
                    FlatOp::WaitGroupAdd { wait_group, .. }
                    | FlatOp::WaitGroupDone { wait_group }
                    | FlatOp::WaitGroupWait { wait_group } => {
                        objects.push(SyncObject::WaitGroup(wait_group.0))
                    }
                    FlatOp::Spawn { program, .. } if !seen_programs.contains(&program) => {
                        seen_programs.push(program)
                    }
                    _ => {}
                }
            }
            for sel in &flat.selects {
                for (case, _) in &sel.cases {
                    if let CaseOp::Send(ChanRef::Chan(c)) | CaseOp::Recv(ChanRef::Chan(c)) = case {
                        objects.push(SyncObject::Chan(c.0));
                    }
                }
            }
            i += 1;
        }
        objects.sort();
        objects.dedup();
        objects
    }

    /// What a blocked G waits on; `None` if it is not blocked on a sync
    /// object (it can still run), `Some(vec![])` if nothing can ever wake it.
    fn blocked_on(&self, gi: GIdx) -> Option<Vec<SyncObject>> {
        let g = &self.gs[gi.index()];
        let GStatus::Waiting(reason) = g.status else {
            return None;
        };
        let GKind::User { program } = g.kind else {
            return None;
        };
        match reason {
            WaitReason::ChanSendNilChan
            | WaitReason::ChanReceiveNilChan
            | WaitReason::SelectNoCases => {
                return Some(Vec::new());
            }
            WaitReason::Sleep | WaitReason::IoWait => return None,
            _ => {}
        }
        if gi == self.main_g && !self.init.done {
            return None;
        }
        let flat = &self.programs[program.index()];
        let objects = match flat.ops.get(g.op_pc as usize).copied()? {
            FlatOp::Send {
                chan: ChanRef::Chan(c),
            }
            | FlatOp::Recv {
                chan: ChanRef::Chan(c),
            } => {
                vec![SyncObject::Chan(c.0)]
            }
            FlatOp::Select { table } => flat.selects[table as usize]
                .cases
                .iter()
                .filter_map(|(case, _)| match case {
                    CaseOp::Send(ChanRef::Chan(c)) | CaseOp::Recv(ChanRef::Chan(c)) => {
                        Some(SyncObject::Chan(c.0))
                    }
                    // A pending time.After can still fire.
                    CaseOp::After { .. } => None,
                    _ => None,
                })
                .collect(),
            FlatOp::Lock { mutex } => vec![SyncObject::Mutex(mutex.0)],
            FlatOp::RLock { rwmutex } | FlatOp::WLock { rwmutex } => {
                vec![SyncObject::RwMutex(rwmutex.0)]
            }
            FlatOp::WaitGroupWait { wait_group } => vec![SyncObject::WaitGroup(wait_group.0)],
            _ => return None,
        };
        let has_timer_case = matches!(flat.ops.get(g.op_pc as usize), Some(FlatOp::Select { table })
            if flat.selects[*table as usize].cases.iter().any(|(c, _)| matches!(c, CaseOp::After { .. })));
        if has_timer_case {
            return None;
        }
        Some(objects)
    }

    /// Goroutines (live or exited) whose longest runnable wait or mutex wait
    /// reached `threshold_ns` (at least `WAIT_RECORD_FLOOR_NS` for exited
    /// ones), worst first.
    pub fn starved_goroutines(&self, threshold_ns: u64) -> Vec<WaitRecord> {
        self.starved_goroutines_top(threshold_ns, usize::MAX).1
    }

    /// How many goroutines `starved_goroutines` would list, and the worst
    /// `limit` of them (cheap even when a million goroutines qualify).
    pub fn starved_goroutines_top(
        &self,
        threshold_ns: u64,
        limit: usize,
    ) -> (usize, Vec<WaitRecord>) {
        let worst = |r: &ExitedWaits| r.max_runnable_wait_ns.max(r.max_mutex_wait_ns);
        // The worst `limit` so far, in a max-heap on the listing order
        // (worst wait first, then goid): its top is the first to drop when a
        // worse one comes. Memory grows with `limit`, not with the million
        // goroutines a run may have retired.
        let mut total = 0;
        let mut top = std::collections::BinaryHeap::new();
        let mut consider = |r: ExitedWaits| {
            if worst(&r) >= threshold_ns {
                total += 1;
                top.push((std::cmp::Reverse(worst(&r)), r.goid, r));
                if top.len() > limit {
                    top.pop();
                }
            }
        };
        for r in &self.stats.exited_waits {
            consider(*r);
        }
        for g in &self.gs {
            let GKind::User { program } = g.kind else {
                continue;
            };
            if g.status == GStatus::Dead {
                // Exited, its slot not reused yet.
                if let Some(record) = exited_waits(g) {
                    consider(record);
                }
                continue;
            }
            if g.goid.0 == 0 {
                continue;
            }
            consider(ExitedWaits {
                goid: g.goid.0,
                program,
                max_runnable_wait_ns: g.max_runnable_wait_ns,
                max_mutex_wait_ns: g.max_mutex_wait_ns,
            });
        }
        let top = top
            .into_sorted_vec()
            .into_iter()
            .map(|(_, _, r)| WaitRecord {
                goid: r.goid,
                program: self.program_name(r.program).to_string(),
                max_runnable_wait_ns: r.max_runnable_wait_ns,
                max_mutex_wait_ns: r.max_mutex_wait_ns,
            })
            .collect();
        (total, top)
    }

    /// The goroutines that can never run again (see the module header).
    pub fn leaked_goroutines(&self) -> Vec<Leak> {
        let n = self.gs.len();
        let mut live = vec![false; n];
        // What can touch an object depends only on the program, so the
        // fixed point runs over programs, not goroutines.
        let reach_by_program: Vec<Vec<SyncObject>> = (0..self.programs.len())
            .map(|p| self.objects_reachable(ProgramId(p as u32)))
            .collect();
        let mut live_programs = vec![false; self.programs.len()];
        let mut candidates = Vec::new();
        for (i, g) in self.gs.iter().enumerate() {
            let GKind::User { program } = g.kind else {
                continue;
            };
            if g.status == GStatus::Dead || g.goid.0 == 0 {
                continue;
            }
            match self.blocked_on(GIdx(i as u32)) {
                None => {
                    live[i] = true;
                    live_programs[program.index()] = true;
                }
                Some(objects) => candidates.push((i, program, objects)),
            }
        }
        loop {
            let mut reach: Vec<SyncObject> = live_programs
                .iter()
                .enumerate()
                .filter(|(_, live)| **live)
                .flat_map(|(p, _)| reach_by_program[p].iter().copied())
                .collect();
            reach.sort();
            reach.dedup();
            let mut changed = false;
            for (i, program, objects) in &candidates {
                if !live[*i] && objects.iter().any(|o| reach.binary_search(o).is_ok()) {
                    live[*i] = true;
                    if !live_programs[program.index()] {
                        live_programs[program.index()] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let candidates: Vec<(usize, Vec<SyncObject>)> =
            candidates.into_iter().map(|(i, _, o)| (i, o)).collect();
        candidates
            .into_iter()
            .filter(|(i, _)| !live[*i])
            .map(|(i, _)| {
                let g = &self.gs[i];
                let GKind::User { program } = g.kind else {
                    unreachable!("user goroutines only")
                };
                let GStatus::Waiting(reason) = g.status else {
                    unreachable!("blocked goroutines only")
                };
                Leak {
                    goid: g.goid.0,
                    program: self.program_name(program).to_string(),
                    reason,
                    op_path: self.programs[program.index()].op_paths[g.op_pc as usize].clone(),
                    op: self.describe_op(program, g.op_pc),
                }
            })
            .collect()
    }

    /// Where the workload's goroutines are blocked now: the program and op
    /// path of each user goroutine that is waiting, sorted, each place once.
    /// What a failure "looks like", whatever the number of goroutines.
    pub fn blocked_places(&self) -> Vec<(String, String)> {
        let mut places: Vec<(String, String)> = self
            .gs
            .iter()
            .filter_map(|g| match (g.kind, g.status) {
                (GKind::User { program }, GStatus::Waiting(_)) => Some((
                    self.program_name(program).to_string(),
                    self.programs[program.index()].op_paths[g.op_pc as usize].clone(),
                )),
                _ => None,
            })
            .collect();
        places.sort();
        places.dedup();
        places
    }
}
