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

use crate::ids::{ProgramId, WaitGroupId};
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
    /// Run `body` `count` times.
    Repeat { count: u64, body: Vec<Op> },
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
}

impl Workload {
    /// The program with this ID.
    pub fn program(&self, id: ProgramId) -> &Program {
        &self.programs[id.index()]
    }
}

/// A flattened op: loops become jumps, so a goroutine's position in its
/// program is a single index plus a stack of loop counters.
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
}

/// A program compiled to flat ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatProgram {
    pub ops: Vec<FlatOp>,
    /// The deepest loop nesting, to size loop-counter stacks.
    pub max_loop_depth: usize,
}

impl FlatProgram {
    /// Flattens nested `Repeat`s into `LoopStart`/`LoopEnd` jumps.
    pub fn compile(ops: &[Op]) -> Self {
        let mut out = Vec::new();
        let max_loop_depth = flatten(ops, &mut out, 0);
        Self {
            ops: out,
            max_loop_depth,
        }
    }
}

fn flatten(ops: &[Op], out: &mut Vec<FlatOp>, depth: usize) -> usize {
    let mut max_depth = depth;
    for op in ops {
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
            Op::Repeat { count, body } => {
                let start_pc = out.len();
                out.push(FlatOp::LoopStart {
                    count: *count,
                    end_pc: 0,
                });
                max_depth = max_depth.max(flatten(body, out, depth + 1));
                let end_pc = out.len() as u32;
                out.push(FlatOp::LoopEnd {
                    start_pc: start_pc as u32,
                });
                out[start_pc] = FlatOp::LoopStart {
                    count: *count,
                    end_pc,
                };
                continue;
            }
        };
        out.push(flat);
    }
    max_depth
}

#[cfg(test)]
mod tests {
    use super::*;

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
