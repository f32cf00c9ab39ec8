//! benches: criterion benchmarks of gmpsim (`cargo bench -p benches`).
//!
//! `benches/engine.rs` measures the event queue and whole library scenarios
//! (events per second). Benchmarks of run-queue operations, findRunnable,
//! channel operations and, once the GC is integrated, allocation and marking
//! come with the performance issue. The library itself is empty: the
//! benchmarks live in `benches/`.
