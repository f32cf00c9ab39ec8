//! benches: criterion benchmarks of gmpsim (`cargo bench -p benches`).
//!
//! `benches/engine.rs` measures the event queue, run-queue operations,
//! findRunnable, channel operations, sim-gc's allocation loop and a whole
//! mark phase, the performance target's fixed workload
//! (`benches/engine-fanout.toml`) and whole library scenarios, each with a
//! throughput in the units it names. The library itself is empty: the
//! benchmarks live in `benches/`.
