//! Image snapshots of the window, rendered with wgpu (a software Vulkan
//! driver is enough: `apt-get install -y mesa-vulkan-drivers libvulkan1`).
//! Not part of `cargo test --workspace`; run them with
//!
//!     cargo test -p gui --features snapshot --test snapshots
//!
//! The reference images are `tests/snapshots/*.png`; a mismatch writes
//! `NAME.new.png` and `NAME.diff.png` beside them, and `UPDATE_SNAPSHOTS=1`
//! replaces the references.
#![cfg(feature = "snapshot")]

use egui_kittest::Harness;
use gui::GmpsimApp;
use gui::app::{Pending, Tab};
use gui::stepkind::StepKind;

/// The window at 1280×800 with `scenario` recorded and the cursor moved by
/// `pending`, on `tab`.
fn window(scenario: &str, tab: Tab, pending: &[Pending]) -> Harness<'static, GmpsimApp> {
    let mut app = GmpsimApp::new();
    app.open(scenario, 1);
    for p in pending {
        app.queue(p.clone());
    }
    app.wait_until_recorded();
    app.tab = tab;
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut GmpsimApp| app.show(ui), app);
    harness.run();
    harness
}

#[test]
fn scheduler_view_of_a_steal() {
    let mut harness = window(
        "steal-imbalance",
        Tab::Scheduler,
        &[Pending::At(50_000), Pending::StepTo(StepKind::Steal)],
    );
    harness.snapshot("scheduler_steal_imbalance");
}

#[test]
fn why_panel_after_sysmon_preempts_a_tight_loop() {
    let mut harness = window(
        "starvation-tight-loop",
        Tab::Scheduler,
        &[
            Pending::StepTo(StepKind::Preemption),
            Pending::StepTo(StepKind::Decision),
        ],
    );
    harness.snapshot("why_starvation_tight_loop");
}

/// The first cycle as its mark ends: every live object black, the first
/// round of gcMarkDone's ragged barrier just over (it found work flushed
/// since marking began, so a second round runs before mark termination).
#[test]
fn gc_view_as_the_first_mark_ends() {
    let mut harness = window(
        "alloc-steady",
        Tab::Gc,
        &[Pending::StepTo(StepKind::GcStart), Pending::Steps(8)],
    );
    harness.snapshot("gc_alloc_steady_mark");
}
