//! archcheck: the repository's architecture tests.
//!
//! There is no library code here. `tests/architecture.rs` reads the repository
//! from disk and checks the rules DESIGN.md and ARCHITECTURE.md state in words:
//! each crate depends only on crates to its left in the layering, no sim-*
//! crate pulls in GUI, threading or OS-randomness crates, nothing in sim-*
//! reads the wall clock, uses OS randomness, spawns threads or uses hash maps,
//! every crate starts with a `//!` doc comment, and ARCHITECTURE.md names every
//! crate. Run them with `cargo test -p archcheck`.
