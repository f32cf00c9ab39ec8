//! sim-core: the foundation every simulation crate stands on.
//!
//! It owns virtual time (integer nanoseconds), the event queue ordered by
//! `(time, seq)`, the seeded random number generator split into named ChaCha
//! streams, typed entity IDs, the workload program model (ops a goroutine
//! executes), the closed set of trace events (each scheduling event carries the
//! reason it happened), the cost model of runtime operations, and the metric
//! summary keyed by Go's `runtime/metrics` names so simulated and measured runs
//! compare like for like.
//!
//! Architecture invariant: nothing here knows about Ps, Ms, the heap or file
//! formats, and nothing reads the wall clock or the OS's randomness.

pub mod cost;
pub mod ids;
pub mod metrics;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;
pub mod workload;
