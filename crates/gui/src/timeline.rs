//! The timeline: one lane per P and per M, zoomable and draggable, with the
//! cursor, stop-the-world bands and marks for assists, preemption requests
//! and syscall handoffs.
//!
//! Only the visible time range is drawn: each lane finds its first visible
//! slice by binary search, and runs of slices narrower than a pixel are
//! drawn as one pixel column, skipping ahead by binary search too, so a
//! frame costs about (lanes × pixels) however long the run is. Each lane's
//! header is a label saying what runs there at the cursor ("P1: G7"), read
//! from the recorded slices at the cursor's trace position.

use crate::lanes::{Lane, MarkKind, OPEN_END_NS, SliceKind};
use crate::recording::Recording;
use crate::widgets::{ASSIST_COLOR, HANDOFF_COLOR, STW_COLOR, slice_color};
use egui::{Color32, Pos2, Rect, Sense, Stroke, Ui, pos2, vec2};
use sim_core::ids::Goid;
use sim_core::time::format_duration_ns;

/// Height of one lane, in points.
const LANE_HEIGHT: f32 = 15.0;
/// Width of the lane headers.
const HEADER_WIDTH: f32 = 78.0;
/// Height of the time axis.
const AXIS_HEIGHT: f32 = 16.0;
/// The narrowest time range a user can zoom to.
const MIN_SPAN_NS: u64 = 1_000;

/// The visible time range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineView {
    pub from_ns: u64,
    pub to_ns: u64,
    /// Pan to keep the cursor in view as it moves.
    pub follow_cursor: bool,
}

impl Default for TimelineView {
    fn default() -> Self {
        TimelineView {
            from_ns: 0,
            to_ns: 10_000_000,
            follow_cursor: true,
        }
    }
}

/// What a click on the timeline asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineClick {
    /// A slice: select its G and go to the record that started it.
    Record { record: usize, g: Goid },
    /// Empty space: go to this time.
    Time(u64),
}

impl TimelineView {
    fn span_ns(&self) -> u64 {
        self.to_ns.saturating_sub(self.from_ns).max(MIN_SPAN_NS)
    }

    /// Shows the whole run, up to `end_ns`.
    pub fn fit(&mut self, end_ns: u64) {
        self.from_ns = 0;
        self.to_ns = end_ns.max(MIN_SPAN_NS);
    }

    /// Pans so that `at_ns` is in view (when following the cursor).
    pub fn keep_in_view(&mut self, at_ns: u64) {
        if !self.follow_cursor || (self.from_ns..=self.to_ns).contains(&at_ns) {
            return;
        }
        let span = self.span_ns();
        self.from_ns = at_ns.saturating_sub(span / 4);
        self.to_ns = self.from_ns + span;
    }

    /// Zooms by `factor` (< 1 zooms in) around `at_ns`.
    fn zoom(&mut self, factor: f64, at_ns: u64) {
        let span = ((self.span_ns() as f64) * factor).max(MIN_SPAN_NS as f64);
        let left = (at_ns - self.from_ns.min(at_ns)) as f64 / self.span_ns() as f64;
        let from = at_ns as f64 - left * span;
        self.from_ns = from.max(0.0) as u64;
        self.to_ns = self.from_ns + span as u64;
    }
}

/// A round step for axis ticks about `span_ns / 8` apart.
fn tick_step_ns(span_ns: u64) -> u64 {
    let target = (span_ns / 8).max(1);
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step * m >= target {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// What runs on a lane at the cursor, as its header says it.
fn lane_state(lane: &Lane, trace_end: usize) -> String {
    match lane.slice_after(trace_end) {
        Some(s) if s.kind == SliceKind::Syscall => format!("syscall {}", s.g),
        Some(s) => s.g.to_string(),
        None => "idle".to_string(),
    }
}

/// Draws the timeline of `recording` with the cursor at step `cursor_step`.
pub fn timeline(
    ui: &mut Ui,
    recording: &Recording,
    cursor_step: usize,
    view: &mut TimelineView,
    selected: &mut Option<Goid>,
) -> Option<TimelineClick> {
    let lanes = &recording.lanes;
    let cursor = recording.steps[cursor_step];
    let head_ns = recording.steps[recording.last_step()].at_ns;
    let rows: Vec<(String, &Lane)> = lanes
        .ps
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("P{i}"), l))
        .chain(
            lanes
                .ms
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("M{i}"), l)),
        )
        .collect();
    let height = rows.len() as f32 * LANE_HEIGHT + AXIS_HEIGHT;
    let width = ui.available_width();
    let mut click = None;
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing = vec2(0.0, 0.0);
        // Headers: one label per lane, saying what runs there now.
        ui.vertical(|ui| {
            ui.set_width(HEADER_WIDTH);
            ui.add_space(AXIS_HEIGHT);
            for (name, lane) in &rows {
                let text = format!("{name}: {}", lane_state(lane, cursor.trace_end));
                ui.add_sized(
                    [HEADER_WIDTH, LANE_HEIGHT],
                    egui::Label::new(egui::RichText::new(text).small()).truncate(),
                );
            }
        });
        let (rect, response) =
            ui.allocate_exact_size(vec2(width - HEADER_WIDTH, height), Sense::click_and_drag());
        let painter = ui.painter_at(rect);
        let x_of = |ns: u64, view: &TimelineView| -> f32 {
            rect.left()
                + ((ns as f64 - view.from_ns as f64) / view.span_ns() as f64) as f32 * rect.width()
        };
        let ns_of = |x: f32, view: &TimelineView| -> u64 {
            let t = view.from_ns as f64
                + ((x - rect.left()) / rect.width()) as f64 * view.span_ns() as f64;
            t.max(0.0) as u64
        };
        // Zoom with the wheel (or pinch) around the pointer; drag to pan.
        if response.hovered() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            if let Some(pointer) = response.hover_pos() {
                let at = ns_of(pointer.x, view);
                if zoom != 1.0 {
                    view.zoom(1.0 / zoom as f64, at);
                    view.follow_cursor = false;
                } else if scroll != 0.0 {
                    view.zoom((-scroll as f64 * 0.004).exp(), at);
                    view.follow_cursor = false;
                }
            }
        }
        if response.dragged() {
            let dx = response.drag_delta().x as f64;
            let shift = dx / rect.width() as f64 * view.span_ns() as f64;
            let span = view.span_ns();
            view.from_ns = (view.from_ns as f64 - shift).max(0.0) as u64;
            view.to_ns = view.from_ns + span;
            view.follow_cursor = false;
        }
        let view = *view;

        // Axis.
        let axis = Rect::from_min_size(rect.min, vec2(rect.width(), AXIS_HEIGHT));
        let step = tick_step_ns(view.span_ns());
        let mut t = view.from_ns.div_ceil(step) * step;
        let text_color = ui.visuals().weak_text_color();
        while t <= view.to_ns {
            let x = x_of(t, &view);
            painter.line_segment(
                [pos2(x, axis.bottom() - 4.0), pos2(x, rect.bottom())],
                Stroke::new(1.0, ui.visuals().faint_bg_color),
            );
            painter.text(
                pos2(x + 2.0, axis.top()),
                egui::Align2::LEFT_TOP,
                format_duration_ns(t),
                egui::FontId::proportional(10.0),
                text_color,
            );
            t += step;
        }

        // Lanes.
        let lane_rect = |row: usize| {
            Rect::from_min_size(
                pos2(rect.left(), axis.bottom() + row as f32 * LANE_HEIGHT),
                vec2(rect.width(), LANE_HEIGHT),
            )
        };
        for (row, (_, lane)) in rows.iter().enumerate() {
            let r = lane_rect(row);
            if row % 2 == 0 {
                painter.rect_filled(r, 0.0, ui.visuals().faint_bg_color);
            }
            draw_lane(&painter, lane, r, &view, head_ns, *selected, &x_of, &ns_of);
        }
        // Stop-the-world bands, over every lane.
        let first = lanes.stw.partition_point(|b| b.end_ns < view.from_ns);
        for band in lanes.stw[first..]
            .iter()
            .take_while(|b| b.start_ns <= view.to_ns)
        {
            let end = if band.end_ns == OPEN_END_NS {
                head_ns
            } else {
                band.end_ns
            };
            let x0 = x_of(band.start_ns, &view);
            let x1 = x_of(end, &view).max(x0 + 2.0);
            painter.rect_filled(
                Rect::from_x_y_ranges(x0..=x1, axis.bottom()..=rect.bottom()),
                0.0,
                STW_COLOR,
            );
        }
        // The cursor.
        let cx = x_of(cursor.at_ns, &view);
        painter.line_segment(
            [pos2(cx, rect.top()), pos2(cx, rect.bottom())],
            Stroke::new(1.5, ui.visuals().strong_text_color()),
        );

        // Pointing and clicking.
        let under = |pos: Pos2| -> Option<(usize, &crate::lanes::Slice)> {
            let row = ((pos.y - axis.bottom()) / LANE_HEIGHT).floor();
            if row < 0.0 {
                return None;
            }
            let (_, lane) = rows.get(row as usize)?;
            let at = ns_of(pos.x, &view);
            lane.slice_at(at).map(|s| (row as usize, s))
        };
        if let Some(pos) = response.hover_pos()
            && let Some((row, slice)) = under(pos)
        {
            let end = if slice.end_ns == OPEN_END_NS {
                "now".to_string()
            } else {
                format_duration_ns(slice.end_ns)
            };
            let reason = recording.trace[slice.record].event.to_string();
            let lane = &rows[row].0;
            response.clone().on_hover_ui_at_pointer(|ui| {
                ui.label(format!(
                    "{lane}: {} from {} to {end}",
                    slice.g,
                    format_duration_ns(slice.start_ns)
                ));
                ui.label(reason);
            });
        }
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            click = Some(match under(pos) {
                Some((_, slice)) => {
                    *selected = Some(slice.g);
                    TimelineClick::Record {
                        record: slice.record,
                        g: slice.g,
                    }
                }
                None => TimelineClick::Time(ns_of(pos.x, &view)),
            });
        }
    });
    click
}

/// Draws one lane's slices and marks in `r`.
#[allow(clippy::too_many_arguments)]
fn draw_lane(
    painter: &egui::Painter,
    lane: &Lane,
    r: Rect,
    view: &TimelineView,
    head_ns: u64,
    selected: Option<Goid>,
    x_of: &dyn Fn(u64, &TimelineView) -> f32,
    ns_of: &dyn Fn(f32, &TimelineView) -> u64,
) {
    let range = lane.slices_in(view.from_ns, view.to_ns);
    let slices = &lane.slices[..range.end];
    let body = r.shrink2(vec2(0.0, 2.0));
    let mut i = range.start;
    while i < range.end {
        let s = &slices[i];
        let end = if s.end_ns == OPEN_END_NS {
            head_ns
        } else {
            s.end_ns
        };
        let x0 = x_of(s.start_ns, view).max(r.left());
        let x1 = x_of(end, view).min(r.right());
        let color = slice_color(s.kind);
        if x1 - x0 < 1.0 {
            // Narrower than a pixel: one column stands for every slice up
            // to the next pixel.
            painter.rect_filled(
                Rect::from_x_y_ranges(x0..=x0 + 1.0, body.y_range()),
                0.0,
                color,
            );
            let next_ns = ns_of(x0 + 1.0, view);
            i += 1 + slices[i + 1..].partition_point(|s| s.end_ns < next_ns);
            continue;
        }
        let rect = Rect::from_x_y_ranges(x0..=x1, body.y_range());
        painter.rect_filled(rect, 1.0, color);
        if Some(s.g) == selected {
            painter.rect_stroke(
                rect,
                1.0,
                Stroke::new(2.0, Color32::WHITE),
                egui::StrokeKind::Inside,
            );
        }
        if x1 - x0 > 28.0 {
            painter.text(
                pos2(x0 + 2.0, body.center().y),
                egui::Align2::LEFT_CENTER,
                s.g.to_string(),
                egui::FontId::proportional(9.5),
                Color32::BLACK,
            );
        }
        i += 1;
    }
    let first = lane.marks.partition_point(|m| m.at_ns < view.from_ns);
    for mark in lane.marks[first..]
        .iter()
        .take_while(|m| m.at_ns <= view.to_ns)
    {
        let x = x_of(mark.at_ns, view);
        let (color, top) = match mark.kind {
            MarkKind::Assist => (ASSIST_COLOR, r.top()),
            MarkKind::Handoff => (HANDOFF_COLOR, r.top()),
            MarkKind::Preempt => (Color32::WHITE, r.bottom() - 4.0),
        };
        painter.add(egui::Shape::convex_polygon(
            vec![pos2(x - 3.0, top), pos2(x + 3.0, top), pos2(x, top + 4.0)],
            color,
            Stroke::NONE,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_about_an_eighth_of_the_view() {
        assert_eq!(tick_step_ns(10_000_000), 2_000_000);
        assert_eq!(tick_step_ns(1_000), 200);
        assert_eq!(tick_step_ns(7), 1);
    }

    #[test]
    fn zooming_keeps_the_time_under_the_pointer_in_place() {
        let mut view = TimelineView {
            from_ns: 1_000_000,
            to_ns: 3_000_000,
            follow_cursor: true,
        };
        view.zoom(0.5, 2_000_000);
        assert_eq!((view.from_ns, view.to_ns), (1_500_000, 2_500_000));
        view.keep_in_view(9_000_000);
        assert_eq!((view.from_ns, view.to_ns), (8_750_000, 9_750_000));
    }
}
