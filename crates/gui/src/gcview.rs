//! The GC view: the collector's phase and heap at the cursor, the spans of
//! each size class with their objects' mark colours, the pacer chart, and
//! the gctrace lines of the cycles finished by the cursor.
//!
//! The colours come from sim-gc's span bits (`Heap::class_marking`) of the
//! cursor's world, so stepping through a mark phase shows white objects
//! turning grey and black. The pacer chart draws the samples the recorder
//! took (every few steps and at each cycle's start and end) up to the
//! cursor, with the cursor as a vertical line.

use crate::recording::Recording;
use egui::{Color32, Rect, Sense, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
use sim_core::trace::TraceEvent;
use sim_gc::GcPhase;
use sim_gc::sizeclass::SizeClass;
use sim_sched::World;

const MIB: f64 = (1u64 << 20) as f64;
const WHITE: Color32 = Color32::from_rgb(0xee, 0xee, 0xee);
const GREY: Color32 = Color32::from_rgb(0x88, 0x88, 0x88);
const BLACK: Color32 = Color32::from_rgb(0x20, 0x20, 0x20);

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB)
}

/// The collector's state at the cursor, in one line.
pub fn gc_status_line(world: &World) -> String {
    let status = world.gc_status();
    let (trigger, _) = world.gc().trigger_and_goal();
    format!(
        "GC {}: {} cycles done; heap live {}, trigger {}, goal {}",
        status.phase,
        status.cycles,
        mib(status.heap_live_bytes),
        mib(trigger),
        mib(status.heap_goal_bytes)
    )
}

/// Shows the GC view.
pub fn gc_view(ui: &mut Ui, world: &World, recording: &Recording, cursor_step: usize) {
    ui.label(gc_status_line(world));
    let marking = world.gc().phase != GcPhase::Off;
    ui.columns(2, |columns| {
        spans_by_class(&mut columns[0], world, marking);
        pacer_chart(&mut columns[1], recording, cursor_step);
    });
    ui.separator();
    ui.strong("gctrace (cycles finished by the cursor)");
    let trace_end = recording.steps[cursor_step].trace_end;
    let lines: Vec<&str> = recording.trace[..trace_end]
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::GcDone { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    egui::ScrollArea::vertical()
        .id_salt("gctrace")
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if lines.is_empty() {
                ui.label("no cycle has finished yet");
            }
            for line in lines {
                ui.monospace(line);
            }
        });
}

/// The size classes with spans in use: spans, and objects by colour.
fn spans_by_class(ui: &mut Ui, world: &World, marking: bool) {
    ui.strong(if marking {
        "Spans by size class (marking: white, grey, black objects)"
    } else {
        "Spans by size class (not marking: the last cycle's marks until swept)"
    });
    let classes: Vec<_> = world
        .gc()
        .heap
        .class_marking()
        .into_iter()
        .filter(|c| c.spans > 0)
        .collect();
    egui::ScrollArea::vertical()
        .id_salt("spans-by-class")
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("classes").striped(true).show(ui, |ui| {
                for header in ["class", "size", "spans", "white", "grey", "black", ""] {
                    ui.strong(header);
                }
                ui.end_row();
                for c in classes {
                    let size = if c.class.0 == 0 {
                        "large".to_string()
                    } else {
                        format!("{} B", SizeClass(c.class.0).object_bytes())
                    };
                    ui.label(c.class.0.to_string());
                    ui.label(size);
                    ui.label(c.spans.to_string());
                    ui.label(c.white_objects.to_string());
                    ui.label(c.grey_objects.to_string());
                    ui.label(c.black_objects.to_string());
                    colour_bar(ui, [c.white_objects, c.grey_objects, c.black_objects]);
                    ui.end_row();
                }
            });
        });
}

/// A bar split white / grey / black in proportion to `counts`.
fn colour_bar(ui: &mut Ui, counts: [u64; 3]) {
    let (rect, _) = ui.allocate_exact_size(vec2(60.0, 10.0), Sense::hover());
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return;
    }
    let mut x = rect.left();
    for (count, color) in counts.into_iter().zip([WHITE, GREY, BLACK]) {
        let w = rect.width() * count as f32 / total as f32;
        ui.painter()
            .rect_filled(Rect::from_x_y_ranges(x..=x + w, rect.y_range()), 0.0, color);
        x += w;
    }
    ui.painter().rect_stroke(
        rect,
        0.0,
        egui::Stroke::new(1.0, GREY),
        egui::StrokeKind::Outside,
    );
}

/// Live heap, trigger and goal over time, up to the cursor.
fn pacer_chart(ui: &mut Ui, recording: &Recording, cursor_step: usize) {
    ui.strong("Pacer: live heap, trigger and goal (MiB over ms)");
    let cursor_ns = recording.steps[cursor_step].at_ns;
    let upto = recording.pacer.partition_point(|s| s.at_ns <= cursor_ns);
    let samples = &recording.pacer[..upto];
    let series = |f: fn(&crate::recording::PacerSample) -> u64| -> PlotPoints<'static> {
        samples
            .iter()
            .map(|s| [s.at_ns as f64 / 1e6, f(s) as f64 / MIB])
            .collect::<Vec<_>>()
            .into()
    };
    Plot::new("pacer")
        .height(260.0)
        .legend(Legend::default())
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("live heap", series(|s| s.heap_live_bytes))
                    .color(Color32::from_rgb(0x4e, 0x79, 0xa7)),
            );
            plot.line(
                Line::new("trigger", series(|s| s.trigger_bytes))
                    .color(Color32::from_rgb(0xf2, 0x8e, 0x2b)),
            );
            plot.line(
                Line::new("goal", series(|s| s.heap_goal_bytes))
                    .color(Color32::from_rgb(0xe1, 0x57, 0x59)),
            );
            plot.vline(VLine::new("cursor", cursor_ns as f64 / 1e6).color(Color32::GRAY));
        });
}
