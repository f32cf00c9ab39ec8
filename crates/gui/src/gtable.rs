//! The goroutine table at the cursor and the selected goroutine's history.
//!
//! The table lists every G slot of the cursor's `World` (status with its
//! location, Go's wait reason text, the op it is at, how long it has been
//! runnable and its longest runnable wait, its CPU time, its creator),
//! filtered by a text that must appear in the row. Only visible rows are laid
//! out (`ScrollArea::show_rows`), so a million goroutines cost what a screen
//! of them costs. The history is every trace record that concerns the G,
//! gathered incrementally as the recording grows.

use crate::recording::Recording;
use crate::why::history_entry;
use egui::Ui;
use sim_core::ids::Goid;
use sim_core::time::format_duration_ns;
use sim_sched::World;
use sim_sched::g::{G, GKind, GStatus};

/// Height of a table row.
const ROW_HEIGHT: f32 = 16.0;
/// Column widths of the table.
const COLUMNS: [(&str, f32); 8] = [
    ("G", 48.0),
    ("program", 70.0),
    ("status", 100.0),
    ("wait reason", 90.0),
    ("at op", 80.0),
    ("runnable now / longest", 130.0),
    ("CPU time", 60.0),
    ("created by", 60.0),
];

/// A G's status with where it is.
pub fn status_text(g: &G) -> String {
    match g.status {
        GStatus::Runnable => "runnable".to_string(),
        GStatus::Running { m } => format!("running on {m}"),
        GStatus::Syscall { m } => format!("in syscall on {m}"),
        GStatus::Waiting(_) => "waiting".to_string(),
        GStatus::Dead => "dead".to_string(),
    }
}

/// One row's cells.
fn row_cells(world: &World, g: &G) -> [String; 8] {
    let now = world.now_ns();
    let program = match g.kind {
        GKind::User { program } => world.workload().programs[program.index()].name.clone(),
        GKind::System { .. } => "runtime".to_string(),
        GKind::MarkWorker => "GC worker".to_string(),
    };
    let wait = match g.status {
        GStatus::Waiting(reason) => reason.as_go_str().to_string(),
        _ => String::new(),
    };
    let op = match g.kind {
        GKind::User { program } if g.status != GStatus::Dead => world.describe_op(program, g.op_pc),
        _ => String::new(),
    };
    let runnable_now = match g.status {
        GStatus::Runnable => format_duration_ns(now.saturating_sub(g.runnable_since_ns)),
        _ => "-".to_string(),
    };
    let running = g.run_ns
        + match g.status {
            GStatus::Running { .. } => now.saturating_sub(g.running_since_ns),
            _ => 0,
        };
    [
        g.goid.to_string(),
        program,
        status_text(g),
        wait,
        op,
        format!(
            "{runnable_now} / {}",
            format_duration_ns(g.max_runnable_wait_ns)
        ),
        format_duration_ns(running),
        if g.parent.0 == 0 {
            "-".to_string()
        } else {
            g.parent.to_string()
        },
    ]
}

/// The table's filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GFilter {
    /// Text a row must contain (any column), case-insensitive.
    pub text: String,
    pub show_runtime: bool,
    pub show_dead: bool,
}

/// The goroutine table: its filter, and the rows that pass it, kept until
/// the cursor or the filter changes (a million goroutines are filtered once
/// per change, not once per frame).
#[derive(Clone, Debug, Default)]
pub struct GTable {
    pub filter: GFilter,
    /// (run generation, cursor step, filter) the rows were computed for.
    key: Option<(u64, usize, GFilter)>,
    /// Indexes into `World::gs()` of the rows shown.
    rows: Vec<usize>,
}

impl GTable {
    fn refresh(&mut self, world: &World, run: u64, step: usize) {
        let key = (run, step, self.filter.clone());
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let needle = self.filter.text.to_lowercase();
        let filter = &self.filter;
        self.rows = world
            .gs()
            .iter()
            .enumerate()
            .filter(|(_, g)| g.goid.0 != 0)
            .filter(|(_, g)| filter.show_dead || g.status != GStatus::Dead)
            .filter(|(_, g)| filter.show_runtime || g.is_user())
            .filter(|(_, g)| {
                needle.is_empty()
                    || row_cells(world, g)
                        .iter()
                        .any(|c| c.to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        self.key = Some(key);
    }
}

/// Shows the goroutine table of `world` (cursor step `step` of run number
/// `run`); a click on a row selects its G.
pub fn g_table(
    ui: &mut Ui,
    world: &World,
    run: u64,
    step: usize,
    table: &mut GTable,
    selected: &mut Option<Goid>,
) {
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        ui.add(egui::TextEdit::singleline(&mut table.filter.text).desired_width(140.0))
            .labelled_by(label.id);
        ui.checkbox(&mut table.filter.show_runtime, "runtime goroutines");
        ui.checkbox(&mut table.filter.show_dead, "dead");
    });
    table.refresh(world, run, step);
    let rows = &table.rows;
    ui.label(format!("{} goroutines shown", rows.len()));
    egui::ScrollArea::horizontal()
        .id_salt("g-table-h")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                for (name, width) in COLUMNS {
                    ui.add_sized(
                        [width, ROW_HEIGHT],
                        egui::Label::new(egui::RichText::new(name).strong()),
                    );
                }
            });
            ui.spacing_mut().item_spacing.y = 0.0;
            ui.spacing_mut().button_padding.y = 0.0;
            ui.spacing_mut().interact_size.y = ROW_HEIGHT;
            egui::ScrollArea::vertical()
                .id_salt("g-table")
                .auto_shrink([false, false])
                .show_rows(ui, ROW_HEIGHT, rows.len(), |ui, range| {
                    for &i in &rows[range] {
                        let g = &world.gs()[i];
                        let cells = row_cells(world, g);
                        ui.horizontal(|ui| {
                            let chosen = *selected == Some(g.goid);
                            if ui
                                .add_sized(
                                    [COLUMNS[0].1, ROW_HEIGHT],
                                    egui::Button::selectable(chosen, cells[0].as_str()),
                                )
                                .clicked()
                            {
                                *selected = Some(g.goid);
                            }
                            for (cell, (_, width)) in cells.iter().zip(COLUMNS).skip(1) {
                                ui.add_sized(
                                    [width, ROW_HEIGHT],
                                    egui::Label::new(cell.as_str()).truncate(),
                                );
                            }
                        });
                    }
                });
        });
}

/// A goroutine's history, gathered from the trace as it grows.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub g: Option<Goid>,
    /// (record index, time, text), in order.
    pub entries: Vec<(usize, u64, String)>,
    /// Records read so far.
    read: usize,
}

impl History {
    /// Brings the history of `g` up to date with `recording`.
    pub fn update(&mut self, g: Goid, recording: &Recording) {
        if self.g != Some(g) {
            *self = History {
                g: Some(g),
                ..History::default()
            };
        }
        for (i, r) in recording.trace[self.read..].iter().enumerate() {
            if let Some(text) = history_entry(&r.event, g) {
                self.entries.push((self.read + i, r.at_ns, text));
            }
        }
        self.read = recording.trace.len();
    }
}
