//! sim-sched: the Go runtime's scheduler, as a deterministic discrete-event
//! model of go1.27.3's proc.go.
//!
//! Gs, Ms and Ps keep Go's names and statuses. The per-P 256-slot run queue
//! with runnext, the global queue, `findRunnable`'s ordered sources with work
//! stealing, spinning Ms and `wakep`, syscalls with sysmon's retake and
//! `handoffp`, sysmon's preemption of long-running Gs (cooperative and
//! asynchronous), per-P timer heaps for `time.Sleep`, WaitGroups,
//! LockOSThread (locked Ms hand their P off and back), `checkdead`,
//! the garbage collector's scheduling (allocation, assists, mark workers,
//! stop-the-world pauses, sweeping; the collector itself is sim-gc),
//! and `GODEBUG=schedtrace`/`gctrace` output follow the Go source; each module's header
//! says which functions it mirrors and what it simplifies.
//!
//! Where to start reading: `world.rs` (the state and the event loop), then
//! `exec.rs` (what a running G does), `find_runnable.rs`, `procs.rs`,
//! `sysmon.rs`.
//!
//! Architecture invariants: no wall clock, no OS randomness, no hash maps, no
//! threads; all randomness comes from named streams of the run's seed, and a
//! `World` clone is a complete snapshot.

mod chan;
pub mod config;
mod cpu;
pub mod decide;
mod exec;
mod find_runnable;
#[cfg(test)]
mod find_runnable_tests;
pub mod g;
pub mod gc;
pub mod invariants;
pub mod m;
mod netpoll;
pub mod p;
mod procs;
pub mod report;
mod schedtrace;
mod summary;
mod sync;
mod sysmon;
pub mod world;

pub use config::{GoDebug, RuntimeConfig};
pub use summary::GO_VERSION;
pub use world::{EXIT_LIMIT_REACHED, SimConfig, World};
