//! gui: the desktop app (not built yet).
//!
//! It will be a library of egui widgets over a recorded run (trace plus
//! snapshots) and a thin eframe shell: per-P lanes, run queues at the cursor,
//! the G table, the "why" panel. It reads recorded runs; it never simulates.
//! Until the "Desktop GUI" issue lands this crate is intentionally empty.
