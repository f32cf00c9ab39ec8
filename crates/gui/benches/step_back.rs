//! The GUI's two time budgets, measured (`cargo bench -p gui --bench step_back`):
//!
//! - `step_back_1000`: going back 1,000 steps on a run of more than a
//!   million steps (restore the nearest snapshot, re-simulate to the
//!   cursor), at the worst place (just before a snapshot, so a whole
//!   interval is re-simulated) and at places spread over the run. Target:
//!   under 100 ms.
//! - `frame_10k_window`: one frame of the whole window (layout and
//!   painting, no GPU) with the timeline showing a window of 10,000 steps of
//!   that run. Target: under 16 ms.
//!
//! The run is the library's `unbuffered-pingpong` with 300,000 round trips
//! instead of 1,000, so it is long without being big: its snapshots are
//! small and the figures measure the re-simulation, not memory traffic.

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use gui::GmpsimApp;
use gui::recording::{Recording, record_all, replay_calls};
use std::hint::black_box;

const ROUND_TRIPS: u32 = 300_000;

fn long_scenario() -> scenarios::Scenario {
    let entry = scenarios::library::entry("unbuffered-pingpong").expect("library scenario");
    let text = entry
        .source
        .replace("count = 1000", &format!("count = {ROUND_TRIPS}"));
    scenarios::parse_scenario(&text, "bench:unbuffered-pingpong-long").expect("a valid scenario")
}

fn config(scenario: &scenarios::Scenario) -> sim_sched::SimConfig {
    sim_sched::SimConfig {
        seed: 1,
        runtime: scenario.runtime.clone(),
        cost: Default::default(),
        record_trace: true,
    }
}

/// Goes back 1,000 steps from `from`: the restore and re-simulation a Back
/// 1,000 press costs.
fn step_back(recording: &Recording, from: usize) -> u64 {
    let (mut world, calls) = recording.restore_point(from - 1000);
    replay_calls(&mut world, calls);
    world.now_ns()
}

fn benches(c: &mut Criterion) {
    let scenario = long_scenario();
    let started = std::time::Instant::now();
    let recording = record_all(&scenario, &config(&scenario));
    let (snapshots, bytes) = recording.snapshot_usage();
    let events = recording.steps.last().map_or(0, |s| s.calls);
    eprintln!(
        "recorded {} steps ({} World::step calls, {} trace records) in {:.1} s; {} snapshots every {} steps, about {} MiB",
        recording.last_step(),
        events,
        recording.trace.len(),
        started.elapsed().as_secs_f64(),
        snapshots,
        recording.snapshot_interval_steps(),
        bytes >> 20
    );
    assert!(
        recording.last_step() > 1_000_000,
        "a run of a million steps"
    );

    let interval = recording.snapshot_interval_steps();
    // Just before a snapshot: the whole interval is re-simulated.
    let worst = 1000 + 200 * interval + interval - 1;
    let mut group = c.benchmark_group("gui");
    group.bench_function("step_back_1000/worst", |b| {
        b.iter(|| black_box(step_back(&recording, worst)))
    });
    let spread: Vec<usize> = (1..=16)
        .map(|i| 1000 + i * (recording.last_step() - 2000) / 17)
        .collect();
    group.bench_function("step_back_1000/spread_16", |b| {
        b.iter(|| {
            for &from in &spread {
                black_box(step_back(&recording, from));
            }
        })
    });

    // One frame of the window over a 10,000-step window of the same run.
    let mut app = GmpsimApp::new();
    app.open_scenario(scenario, 1);
    app.wait_until_recorded();
    let middle = recording.last_step() / 2;
    let from_ns = recording.steps[middle].at_ns;
    let to_ns = recording.steps[middle + 10_000].at_ns;
    app.queue(gui::app::Pending::At(from_ns + (to_ns - from_ns) / 2));
    app.show_time_range(from_ns, to_ns);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut GmpsimApp| app.show(ui), app);
    harness.step();
    group.bench_function("frame_10k_window", |b| b.iter(|| harness.step()));
    group.finish();
}

criterion_group! {
    name = gui;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(gui);
