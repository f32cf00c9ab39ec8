//! sim-gc: the garbage collector model (not built yet).
//!
//! It will own Go's size classes and tiny allocator, mcache/mcentral/mheap
//! spans, the object graph, tricolor marking with the hybrid write barrier,
//! sweeping, the pacer (GOGC, GOMEMLIMIT, CPU limiter) and gctrace formatting.
//! It is a passive state machine that sim-sched drives; it never schedules.
//! Until the "sim-gc" issue lands this crate is intentionally empty.
