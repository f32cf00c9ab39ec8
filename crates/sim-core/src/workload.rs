//! The workload program model: what simulated goroutines execute.
//!
//! A workload is a set of named goroutine programs, one of which is `main`.
//! A program is a list of ops. Ops are the smallest steps at which the
//! scheduler can observe a goroutine: computing (with or without preemption
//! points), spawning, yielding, sleeping, blocking in a system call, and
//! synchronising. `Repeat` nests ops into a loop.
//!
//! The scenarios crate compiles scenario files into this model; the scheduler
//! (sim-sched) executes it. Both sides of the real-Go comparison are generated
//! from the same workload, so every op here has a Go equivalent.

use crate::ids::{ChannelId, MutexId, ProgramId, RwMutexId, WaitGroupId};
use serde::{Deserialize, Serialize};

/// One step of a goroutine program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Run on the CPU for `duration_ns`. With `preemptible`, the code calls
    /// functions often (every function prologue is a cooperative preemption
    /// point); without, it is a loop with no calls, which only asynchronous
    /// preemption (a signal) can stop.
    Compute { duration_ns: u64, preemptible: bool },
    /// `go program()` repeated `count` times.
    Spawn { program: ProgramId, count: u32 },
    /// `runtime.Gosched()`.
    Gosched,
    /// `time.Sleep(duration_ns)`.
    Sleep { duration_ns: u64 },
    /// A blocking system call that keeps the thread in the kernel for
    /// `duration_ns` (for example a read on a blocking pipe).
    Syscall { duration_ns: u64 },
    /// `wg.Add(delta)`.
    WaitGroupAdd { wait_group: WaitGroupId, delta: i64 },
    /// `wg.Done()`.
    WaitGroupDone { wait_group: WaitGroupId },
    /// `wg.Wait()`.
    WaitGroupWait { wait_group: WaitGroupId },
    /// `runtime.LockOSThread()`: the goroutine runs only on its current M,
    /// and that M runs nothing else.
    LockOsThread,
    /// `runtime.UnlockOSThread()`.
    UnlockOsThread,
    /// `ch <- v`.
    Send { chan: ChanRef },
    /// `<-ch` (or `v, ok := <-ch`).
    Recv { chan: ChanRef },
    /// `close(ch)`.
    Close { chan: ChanRef },
    /// `select { case ...: body ... default: body }`. After the chosen
    /// case's channel operation, its body runs, then the op after the select.
    Select {
        cases: Vec<SelectCase>,
        /// The `default` case's body; `None` when the select has no default
        /// (it blocks until a case is ready).
        default: Option<Vec<Op>>,
    },
    /// `mu.Lock()` on a `sync.Mutex`.
    Lock { mutex: MutexId },
    /// `mu.Unlock()`.
    Unlock { mutex: MutexId },
    /// `rw.RLock()` on a `sync.RWMutex`.
    RLock { rwmutex: RwMutexId },
    /// `rw.RUnlock()`.
    RUnlock { rwmutex: RwMutexId },
    /// `rw.Lock()` (the writer side).
    WLock { rwmutex: RwMutexId },
    /// `rw.Unlock()` (the writer side).
    WUnlock { rwmutex: RwMutexId },
    /// A read from a network connection whose data arrives `latency_ns` later:
    /// the goroutine parks in the netpoller ("IO wait").
    NetWait { latency_ns: u64 },
    /// An allocation loop: `for i := 0; i < count; i++ { n := new(T); if
    /// link { prev.next = n }; ring[i % keep] = n; prev = n }`, where `T` is
    /// `size_bytes` large and starts with `pointer_words` pointers. The ring
    /// (a slice of `keep` pointers) belongs to this op and lives as long as
    /// the goroutine: running the op again (in a loop) continues filling it,
    /// so the last `keep` objects stay reachable and older ones become
    /// garbage. `keep = 0` keeps nothing (only `prev`).
    Alloc {
        size_bytes: u64,
        pointer_words: u32,
        count: u64,
        keep: u32,
        link: bool,
    },
    /// `runtime.GC()`: run a full collection and wait for it, sweep included.
    Gc,
    /// A call chain that uses `used_bytes` of stack and returns: the stack
    /// grows (by doubling and copying) if it is too small, and stays grown
    /// until a GC shrinks it.
    StackGrow { used_bytes: u64 },
    /// Run `body` `count` times.
    Repeat { count: u64, body: Vec<Op> },
}

/// A channel operand: a declared channel, or a nil channel (operations on it
/// block forever, as in Go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChanRef {
    Nil,
    Chan(ChannelId),
}

/// What one `case` of a select does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaseOp {
    /// `case ch <- v:`
    Send(ChanRef),
    /// `case <-ch:`
    Recv(ChanRef),
    /// `case <-time.After(d):` — a fresh timer channel made when the select
    /// starts, which receives once `duration_ns` has passed.
    After { duration_ns: u64 },
}

/// One `case` of a select and the body that runs when it is chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectCase {
    pub op: CaseOp,
    pub body: Vec<Op>,
}

/// A declared channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDecl {
    pub name: String,
    /// Buffer capacity; 0 is an unbuffered channel.
    pub capacity: u32,
}

/// A named goroutine program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// The name the scenario gave it (`main`, `worker`, ...).
    pub name: String,
    /// Classroom text: what this goroutine does and why.
    pub description: String,
    /// The ops, executed in order; returning from the last one exits the goroutine.
    pub ops: Vec<Op>,
}

/// Everything the simulated program runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// All programs; `ProgramId(i)` is `programs[i]`.
    pub programs: Vec<Program>,
    /// The program the main goroutine (goid 1) runs. When it returns, the
    /// process exits, whatever other goroutines are doing, as in Go.
    pub main: ProgramId,
    /// Names of the declared `sync.WaitGroup`s; `WaitGroupId(i)` is `wait_groups[i]`.
    pub wait_groups: Vec<String>,
    /// Declared channels; `ChannelId(i)` is `channels[i]`.
    #[serde(default)]
    pub channels: Vec<ChannelDecl>,
    /// Names of the declared `sync.Mutex`es; `MutexId(i)` is `mutexes[i]`.
    #[serde(default)]
    pub mutexes: Vec<String>,
    /// Names of the declared `sync.RWMutex`es; `RwMutexId(i)` is `rwmutexes[i]`.
    #[serde(default)]
    pub rwmutexes: Vec<String>,
}

impl Workload {
    /// The program with this ID.
    pub fn program(&self, id: ProgramId) -> &Program {
        &self.programs[id.index()]
    }

    /// The workload's counts a shrinker may lower: each `Spawn`'s goroutine
    /// count and each `Repeat`'s iteration count, numbered in the order they
    /// appear (programs in order, each program's ops depth first, select
    /// cases before `default`). Returns each site's current count.
    pub fn count_sites(&self) -> Vec<u64> {
        let mut counts = Vec::new();
        for program in &self.programs {
            visit_counts(&program.ops, &mut |count| counts.push(*count));
        }
        counts
    }

    /// Where each count site is, in the scenario file's terms
    /// (`programs.main.ops[1].body[0].count`), numbered as by
    /// [`Workload::count_sites`].
    pub fn count_site_paths(&self) -> Vec<String> {
        fn visit(ops: &[Op], prefix: &str, paths: &mut Vec<String>) {
            for (i, op) in ops.iter().enumerate() {
                let here = format!("{prefix}[{i}]");
                match op {
                    Op::Spawn { .. } => paths.push(format!("{here}.count")),
                    Op::Repeat { body, .. } => {
                        paths.push(format!("{here}.count"));
                        visit(body, &format!("{here}.body"), paths);
                    }
                    Op::Select { cases, default } => {
                        for (c, case) in cases.iter().enumerate() {
                            visit(&case.body, &format!("{here}.cases[{c}].body"), paths);
                        }
                        if let Some(body) = default {
                            visit(body, &format!("{here}.default"), paths);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut paths = Vec::new();
        for program in &self.programs {
            visit(
                &program.ops,
                &format!("programs.{}.ops", program.name),
                &mut paths,
            );
        }
        paths
    }

    /// This workload with the counts of some sites (numbered as by
    /// [`Workload::count_sites`]) replaced. Errors name a site that does not
    /// exist or a count that is 0 or does not fit the site.
    pub fn with_counts(&self, counts: &[(usize, u64)]) -> Result<Workload, String> {
        let sites = self.count_sites().len();
        if let Some((site, _)) = counts.iter().find(|(site, _)| *site >= sites) {
            return Err(format!(
                "count site {site} does not exist (the workload has {sites})"
            ));
        }
        if let Some((site, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(format!("count site {site}: a count must be at least 1"));
        }
        let mut workload = self.clone();
        let mut next = 0;
        let mut result = Ok(());
        for program in &mut workload.programs {
            visit_counts_mut(&mut program.ops, &mut |count, is_spawn| {
                if let Some((_, n)) = counts.iter().find(|(site, _)| *site == next) {
                    if is_spawn && *n > u64::from(u32::MAX) {
                        result = Err(format!("count site {next}: {n} goroutines is too many"));
                    }
                    *count = *n;
                }
                next += 1;
            });
        }
        result.map(|()| workload)
    }
}

/// Calls `f` with every count site in `ops`, depth first.
fn visit_counts(ops: &[Op], f: &mut impl FnMut(&u64)) {
    for op in ops {
        match op {
            Op::Spawn { count, .. } => f(&u64::from(*count)),
            Op::Repeat { count, body } => {
                f(count);
                visit_counts(body, f);
            }
            Op::Select { cases, default } => {
                for case in cases {
                    visit_counts(&case.body, f);
                }
                if let Some(body) = default {
                    visit_counts(body, f);
                }
            }
            _ => {}
        }
    }
}

/// [`visit_counts`] with each count changeable; `f` also learns whether the
/// site is a `Spawn` (whose count is a `u32`, saturated here).
fn visit_counts_mut(ops: &mut [Op], f: &mut impl FnMut(&mut u64, bool)) {
    for op in ops {
        match op {
            Op::Spawn { count, .. } => {
                let mut wide = u64::from(*count);
                f(&mut wide, true);
                *count = u32::try_from(wide).unwrap_or(u32::MAX);
            }
            Op::Repeat { count, body } => {
                f(count, false);
                visit_counts_mut(body, f);
            }
            Op::Select { cases, default } => {
                for case in cases {
                    visit_counts_mut(&mut case.body, f);
                }
                if let Some(body) = default {
                    visit_counts_mut(body, f);
                }
            }
            _ => {}
        }
    }
}

/// A flattened op: loops and select bodies become jumps, so a goroutine's
/// position in its program is a single index plus a stack of loop counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlatOp {
    Compute {
        duration_ns: u64,
        preemptible: bool,
    },
    Spawn {
        program: ProgramId,
        count: u32,
    },
    Gosched,
    Sleep {
        duration_ns: u64,
    },
    Syscall {
        duration_ns: u64,
    },
    WaitGroupAdd {
        wait_group: WaitGroupId,
        delta: i64,
    },
    WaitGroupDone {
        wait_group: WaitGroupId,
    },
    WaitGroupWait {
        wait_group: WaitGroupId,
    },
    LockOsThread,
    UnlockOsThread,
    Send {
        chan: ChanRef,
    },
    Recv {
        chan: ChanRef,
    },
    Close {
        chan: ChanRef,
    },
    /// A select; `table` indexes `FlatProgram::selects`.
    Select {
        table: u32,
    },
    Lock {
        mutex: MutexId,
    },
    Unlock {
        mutex: MutexId,
    },
    RLock {
        rwmutex: RwMutexId,
    },
    RUnlock {
        rwmutex: RwMutexId,
    },
    WLock {
        rwmutex: RwMutexId,
    },
    WUnlock {
        rwmutex: RwMutexId,
    },
    NetWait {
        latency_ns: u64,
    },
    Alloc {
        size_bytes: u64,
        pointer_words: u32,
        count: u64,
        keep: u32,
        link: bool,
    },
    Gc,
    StackGrow {
        used_bytes: u64,
    },
    /// Enter a loop of `count` iterations whose body ends at `end_pc` (the
    /// index of the matching `LoopEnd`). A count of 0 jumps past `end_pc`.
    LoopStart {
        count: u64,
        end_pc: u32,
    },
    /// Go back to `start_pc + 1` while iterations remain.
    LoopEnd {
        start_pc: u32,
    },
    /// Continue at `to` (the end of a select case's body).
    Jump {
        to: u32,
    },
    /// The generated Go program's `startMeasuring()` returns: its clock and
    /// its `/sched/latencies` baseline start here (see
    /// `FlatProgram::with_prefix`).
    StartMeasuring,
}

/// A select's cases, with where each body starts in the flat ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatSelect {
    /// Each case's operation and the pc of its body's first op.
    pub cases: Vec<(CaseOp, u32)>,
    /// The pc of the default body, if the select has a default.
    pub default_pc: Option<u32>,
}

/// A program compiled to flat ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatProgram {
    pub ops: Vec<FlatOp>,
    /// The select tables `FlatOp::Select` points into.
    pub selects: Vec<FlatSelect>,
    /// For each flat op, where it is in the source program, like
    /// `ops[2].body[0]` (jumps and loop ends name their loop or select).
    pub op_paths: Vec<String>,
    /// The deepest loop nesting, to size loop-counter stacks.
    pub max_loop_depth: usize,
}

impl FlatProgram {
    /// This program with `prefix` run first (ops without jumps), each
    /// prefix op named `path` in `op_paths`: every pc in the program moves
    /// up by the prefix's length.
    pub fn with_prefix(&self, prefix: &[FlatOp], path: &str) -> FlatProgram {
        let shift = prefix.len() as u32;
        let moved = |op: FlatOp| match op {
            FlatOp::LoopStart { count, end_pc } => FlatOp::LoopStart {
                count,
                end_pc: end_pc + shift,
            },
            FlatOp::LoopEnd { start_pc } => FlatOp::LoopEnd {
                start_pc: start_pc + shift,
            },
            FlatOp::Jump { to } => FlatOp::Jump { to: to + shift },
            other => other,
        };
        debug_assert!(prefix.iter().all(|op| moved(*op) == *op));
        let mut ops = prefix.to_vec();
        ops.extend(self.ops.iter().map(|&op| moved(op)));
        let mut op_paths = vec![path.to_string(); prefix.len()];
        op_paths.extend(self.op_paths.iter().cloned());
        let selects = self
            .selects
            .iter()
            .map(|sel| FlatSelect {
                cases: sel.cases.iter().map(|&(c, pc)| (c, pc + shift)).collect(),
                default_pc: sel.default_pc.map(|pc| pc + shift),
            })
            .collect();
        FlatProgram {
            ops,
            selects,
            op_paths,
            max_loop_depth: self.max_loop_depth,
        }
    }

    /// Flattens nested `Repeat`s and select bodies into jumps.
    pub fn compile(ops: &[Op]) -> Self {
        let mut program = FlatProgram {
            ops: Vec::new(),
            selects: Vec::new(),
            op_paths: Vec::new(),
            max_loop_depth: 0,
        };
        program.max_loop_depth = program.flatten(ops, 0, "ops");
        program
    }

    fn push(&mut self, op: FlatOp, path: &str) {
        self.ops.push(op);
        self.op_paths.push(path.to_string());
    }

    fn flatten(&mut self, ops: &[Op], depth: usize, prefix: &str) -> usize {
        let mut max_depth = depth;
        for (index, op) in ops.iter().enumerate() {
            let path = format!("{prefix}[{index}]");
            let flat = match op {
                Op::Compute {
                    duration_ns,
                    preemptible,
                } => FlatOp::Compute {
                    duration_ns: *duration_ns,
                    preemptible: *preemptible,
                },
                Op::Spawn { program, count } => FlatOp::Spawn {
                    program: *program,
                    count: *count,
                },
                Op::Gosched => FlatOp::Gosched,
                Op::Sleep { duration_ns } => FlatOp::Sleep {
                    duration_ns: *duration_ns,
                },
                Op::Syscall { duration_ns } => FlatOp::Syscall {
                    duration_ns: *duration_ns,
                },
                Op::WaitGroupAdd { wait_group, delta } => FlatOp::WaitGroupAdd {
                    wait_group: *wait_group,
                    delta: *delta,
                },
                Op::WaitGroupDone { wait_group } => FlatOp::WaitGroupDone {
                    wait_group: *wait_group,
                },
                Op::WaitGroupWait { wait_group } => FlatOp::WaitGroupWait {
                    wait_group: *wait_group,
                },
                Op::LockOsThread => FlatOp::LockOsThread,
                Op::UnlockOsThread => FlatOp::UnlockOsThread,
                Op::Send { chan } => FlatOp::Send { chan: *chan },
                Op::Recv { chan } => FlatOp::Recv { chan: *chan },
                Op::Close { chan } => FlatOp::Close { chan: *chan },
                Op::Lock { mutex } => FlatOp::Lock { mutex: *mutex },
                Op::Unlock { mutex } => FlatOp::Unlock { mutex: *mutex },
                Op::RLock { rwmutex } => FlatOp::RLock { rwmutex: *rwmutex },
                Op::RUnlock { rwmutex } => FlatOp::RUnlock { rwmutex: *rwmutex },
                Op::WLock { rwmutex } => FlatOp::WLock { rwmutex: *rwmutex },
                Op::WUnlock { rwmutex } => FlatOp::WUnlock { rwmutex: *rwmutex },
                Op::NetWait { latency_ns } => FlatOp::NetWait {
                    latency_ns: *latency_ns,
                },
                Op::Alloc {
                    size_bytes,
                    pointer_words,
                    count,
                    keep,
                    link,
                } => FlatOp::Alloc {
                    size_bytes: *size_bytes,
                    pointer_words: *pointer_words,
                    count: *count,
                    keep: *keep,
                    link: *link,
                },
                Op::Gc => FlatOp::Gc,
                Op::StackGrow { used_bytes } => FlatOp::StackGrow {
                    used_bytes: *used_bytes,
                },
                Op::Select { cases, default } => {
                    // [Select][case 0 body][Jump end][case 1 body][Jump end]...[default body]
                    let table = self.selects.len() as u32;
                    self.selects.push(FlatSelect {
                        cases: Vec::new(),
                        default_pc: None,
                    });
                    self.push(FlatOp::Select { table }, &path);
                    let mut jumps = Vec::new();
                    let mut bodies: Vec<(Option<CaseOp>, &Vec<Op>, String)> = cases
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (Some(c.op), &c.body, format!("{path}.cases[{i}].body")))
                        .collect();
                    if let Some(body) = default {
                        bodies.push((None, body, format!("{path}.default")));
                    }
                    for (case, body, body_path) in bodies {
                        let body_pc = self.ops.len() as u32;
                        match case {
                            Some(op) => self.selects[table as usize].cases.push((op, body_pc)),
                            None => self.selects[table as usize].default_pc = Some(body_pc),
                        }
                        max_depth = max_depth.max(self.flatten(body, depth, &body_path));
                        jumps.push(self.ops.len());
                        self.push(FlatOp::Jump { to: 0 }, &path);
                    }
                    let end = self.ops.len() as u32;
                    for at in jumps {
                        self.ops[at] = FlatOp::Jump { to: end };
                    }
                    continue;
                }
                Op::Repeat { count, body } => {
                    let start_pc = self.ops.len();
                    self.push(
                        FlatOp::LoopStart {
                            count: *count,
                            end_pc: 0,
                        },
                        &path,
                    );
                    max_depth =
                        max_depth.max(self.flatten(body, depth + 1, &format!("{path}.body")));
                    let end_pc = self.ops.len() as u32;
                    self.push(
                        FlatOp::LoopEnd {
                            start_pc: start_pc as u32,
                        },
                        &path,
                    );
                    self.ops[start_pc] = FlatOp::LoopStart {
                        count: *count,
                        end_pc,
                    };
                    continue;
                }
            };
            self.push(flat, &path);
        }
        max_depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(name: &str, ops: Vec<Op>) -> Program {
        Program {
            name: name.into(),
            description: String::new(),
            ops,
        }
    }

    #[test]
    fn count_sites_are_numbered_depth_first_and_can_be_lowered() {
        let ch = ChanRef::Chan(ChannelId(0));
        let workload = Workload {
            programs: vec![
                program(
                    "main",
                    vec![
                        Op::Spawn {
                            program: ProgramId(1),
                            count: 8,
                        },
                        Op::Repeat {
                            count: 5,
                            body: vec![Op::Select {
                                cases: vec![SelectCase {
                                    op: CaseOp::Recv(ch),
                                    body: vec![Op::Repeat {
                                        count: 3,
                                        body: vec![Op::Gosched],
                                    }],
                                }],
                                default: None,
                            }],
                        },
                    ],
                ),
                program(
                    "worker",
                    vec![Op::Spawn {
                        program: ProgramId(1),
                        count: 2,
                    }],
                ),
            ],
            main: ProgramId(0),
            wait_groups: vec![],
            channels: vec![],
            mutexes: vec![],
            rwmutexes: vec![],
        };
        assert_eq!(workload.count_sites(), [8, 5, 3, 2]);
        assert_eq!(
            workload.count_site_paths(),
            [
                "programs.main.ops[0].count",
                "programs.main.ops[1].count",
                "programs.main.ops[1].body[0].cases[0].body[0].count",
                "programs.worker.ops[0].count",
            ]
        );
        let smaller = workload.with_counts(&[(0, 1), (2, 1)]).unwrap();
        assert_eq!(smaller.count_sites(), [1, 5, 1, 2]);
        assert_eq!(
            workload.with_counts(&[(4, 1)]).unwrap_err(),
            "count site 4 does not exist (the workload has 4)"
        );
        assert!(workload.with_counts(&[(1, 0)]).is_err());
        assert!(workload.with_counts(&[(0, 1 << 40)]).is_err());
    }

    #[test]
    fn select_bodies_flatten_to_jumps_past_the_select() {
        let ch = ChanRef::Chan(ChannelId(0));
        let ops = vec![
            Op::Select {
                cases: vec![
                    SelectCase {
                        op: CaseOp::Recv(ch),
                        body: vec![Op::Gosched],
                    },
                    SelectCase {
                        op: CaseOp::After { duration_ns: 5 },
                        body: vec![],
                    },
                ],
                default: Some(vec![Op::Sleep { duration_ns: 1 }]),
            },
            Op::Close { chan: ch },
        ];
        let flat = FlatProgram::compile(&ops);
        assert_eq!(
            flat.ops,
            vec![
                FlatOp::Select { table: 0 },
                FlatOp::Gosched,
                FlatOp::Jump { to: 6 },
                FlatOp::Jump { to: 6 },
                FlatOp::Sleep { duration_ns: 1 },
                FlatOp::Jump { to: 6 },
                FlatOp::Close { chan: ch },
            ]
        );
        assert_eq!(flat.op_paths[1], "ops[0].cases[0].body[0]");
        assert_eq!(flat.op_paths[4], "ops[0].default[0]");
        assert_eq!(flat.op_paths[6], "ops[1]");
        assert_eq!(
            flat.selects[0],
            FlatSelect {
                cases: vec![(CaseOp::Recv(ch), 1), (CaseOp::After { duration_ns: 5 }, 3)],
                default_pc: Some(4),
            }
        );
    }

    #[test]
    fn a_prefix_moves_every_jump_loop_and_select_target_by_its_length() {
        let ch = ChanRef::Chan(ChannelId(0));
        let ops = vec![
            Op::Repeat {
                count: 2,
                body: vec![Op::Select {
                    cases: vec![SelectCase {
                        op: CaseOp::Recv(ch),
                        body: vec![Op::Gosched],
                    }],
                    default: Some(vec![]),
                }],
            },
            Op::Close { chan: ch },
        ];
        let flat = FlatProgram::compile(&ops);
        let prefixed = flat.with_prefix(&[FlatOp::Gc, FlatOp::StartMeasuring], "harness");
        assert_eq!(prefixed.ops.len(), flat.ops.len() + 2);
        assert_eq!(&prefixed.ops[..2], &[FlatOp::Gc, FlatOp::StartMeasuring]);
        assert_eq!(prefixed.op_paths[1], "harness");
        assert_eq!(&prefixed.op_paths[2..], &flat.op_paths[..]);
        for (old, new) in flat.ops.iter().zip(&prefixed.ops[2..]) {
            let expected = match *old {
                FlatOp::LoopStart { count, end_pc } => FlatOp::LoopStart {
                    count,
                    end_pc: end_pc + 2,
                },
                FlatOp::LoopEnd { start_pc } => FlatOp::LoopEnd {
                    start_pc: start_pc + 2,
                },
                FlatOp::Jump { to } => FlatOp::Jump { to: to + 2 },
                op => op,
            };
            assert_eq!(*new, expected);
        }
        assert!(flat.ops.iter().any(|op| matches!(op, FlatOp::Jump { .. })));
        assert!(
            flat.ops
                .iter()
                .any(|op| matches!(op, FlatOp::LoopEnd { .. }))
        );
        let (sel, moved) = (&flat.selects[0], &prefixed.selects[0]);
        assert_eq!(moved.cases[0].1, sel.cases[0].1 + 2);
        assert_eq!(moved.default_pc, sel.default_pc.map(|pc| pc + 2));
    }

    #[test]
    fn nested_loops_flatten_to_matching_jumps() {
        let ops = vec![
            Op::Gosched,
            Op::Repeat {
                count: 3,
                body: vec![
                    Op::Repeat {
                        count: 2,
                        body: vec![Op::Gosched],
                    },
                    Op::Sleep { duration_ns: 5 },
                ],
            },
        ];
        let flat = FlatProgram::compile(&ops);
        assert_eq!(flat.max_loop_depth, 2);
        assert_eq!(
            flat.ops,
            vec![
                FlatOp::Gosched,
                FlatOp::LoopStart {
                    count: 3,
                    end_pc: 6
                },
                FlatOp::LoopStart {
                    count: 2,
                    end_pc: 4
                },
                FlatOp::Gosched,
                FlatOp::LoopEnd { start_pc: 2 },
                FlatOp::Sleep { duration_ns: 5 },
                FlatOp::LoopEnd { start_pc: 1 },
            ]
        );
    }
}
