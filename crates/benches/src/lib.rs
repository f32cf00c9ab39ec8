//! benches: criterion benchmarks of the engine and of whole scenarios (not built yet).
//!
//! Until the "Performance" issue lands this crate is intentionally empty.
