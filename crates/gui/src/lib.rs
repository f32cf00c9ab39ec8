//! gui: gmpsim's desktop GUI, a library of egui widgets over a recorded run
//! and a thin eframe shell (`src/main.rs`).
//!
//! A run is recorded on a background thread ([`session`]): the trace, the
//! steps a cursor can stand on, and periodic `World` snapshots
//! ([`recording`]). The cursor's world is a snapshot re-simulated to the
//! cursor, so every panel reads the model's own state at that moment: per-P
//! and per-M lanes ([`lanes`], [`timeline`]), run queues and Ms ([`queues`]),
//! the goroutine table and a G's history ([`gtable`]), the "why" of a
//! decision ([`why`]), the heap's spans and the pacer ([`gcview`]), and the
//! recorded real-Go figures ([`compare`]). [`app::GmpsimApp::show`] draws it
//! all into any `egui::Ui`, which is how the tests drive it (egui_kittest,
//! no display).
//!
//! Architecture invariant: no simulation logic here. The GUI drives
//! sim-sched's `World` (step, clone) and reads its state and trace; what it
//! computes is presentation (slices from trace records, sentences from
//! decisions).

pub mod app;
pub mod compare;
pub mod gcview;
pub mod gtable;
pub mod lanes;
pub mod queues;
pub mod recording;
pub mod session;
pub mod settings;
pub mod stepkind;
pub mod timeline;
pub mod why;
pub mod widgets;

pub use app::GmpsimApp;
