//! The whole window: scenario picker and controls on top, run queues and Ms
//! on the left, the "why" panel and the selected goroutine on the right, and
//! in the middle the scheduler (timeline and goroutine table), GC or real-Go
//! view.
//!
//! [`GmpsimApp::show`] draws into any `Ui`, so the eframe shell and the
//! kittest tests run the same code. Drawing only reads the recording and the
//! cursor's world; what the user asks for (seek, step, run again) is
//! collected as [`Action`]s and carried out after the frame is drawn. A
//! selected goroutine (`selected_g`) is one value every panel reads, so
//! clicking a G anywhere selects it everywhere.

use crate::compare::{RealGo, compare_view};
use crate::gcview::gc_view;
use crate::gtable::{GTable, History, g_table};
use crate::queues::{ms_panel, run_queues};
use crate::recording::Recording;
use crate::session::Session;
use crate::settings::SettingsForm;
use crate::stepkind::StepKind;
use crate::timeline::{TimelineClick, TimelineView, timeline};
use crate::why::decision_sentence;
use crate::widgets::{GC_COLOR, RUNTIME_COLOR, STW_COLOR, SYSCALL_COLOR, g_text, program_color};
use egui::{Color32, RichText, Ui};
use scenarios::Scenario;
use sim_core::ids::Goid;
use sim_core::time::format_duration_ns;
use sim_core::trace::TraceEvent;
use std::time::Duration;

/// The middle of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Scheduler,
    Gc,
    RealGo,
}

impl Tab {
    const ALL: [Tab; 3] = [Tab::Scheduler, Tab::Gc, Tab::RealGo];

    fn title(self) -> &'static str {
        match self {
            Tab::Scheduler => "Scheduler",
            Tab::Gc => "GC",
            Tab::RealGo => "Real Go",
        }
    }

    /// The tab called `name` on the command line (`scheduler`, `gc`, `real-go`).
    pub fn from_name(name: &str) -> Option<Tab> {
        Tab::ALL
            .into_iter()
            .find(|t| t.title().replace(' ', "-").eq_ignore_ascii_case(name))
    }
}

/// Something the user asked for during a frame.
#[derive(Clone, Debug, PartialEq)]
enum Action {
    PickScenario(String),
    Run,
    /// Move the cursor by this many steps.
    StepBy(i64),
    SeekRecord(usize),
    SeekTime(u64),
    StepToNext(StepKind),
    TogglePlay,
}

/// Something to do once enough of the run is recorded (from the command
/// line, for demos and screenshots).
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    /// Go to the first step at or after this time.
    At(u64),
    /// Go to the next event of this kind.
    StepTo(StepKind),
    /// Go this many steps forward.
    Steps(usize),
}

/// History entries shown before the cursor, and after it.
const HISTORY_BEFORE: usize = 150;
const HISTORY_AFTER: usize = 50;

/// Steps per second the play button goes at first.
const DEFAULT_SPEED_STEPS_PER_S: f32 = 200.0;

/// The application state.
pub struct GmpsimApp {
    names: Vec<&'static str>,
    scenario: Option<Scenario>,
    scenario_error: Option<String>,
    form: SettingsForm,
    form_error: Option<String>,
    session: Option<Session>,
    real_go: Option<RealGo>,
    pub tab: Tab,
    pub selected_g: Option<Goid>,
    table: GTable,
    /// Counts the runs started, so views cached for one run are not shown for the next.
    run_generation: u64,
    view: TimelineView,
    step_kind: StepKind,
    playing: bool,
    speed_steps_per_s: f32,
    play_accumulated_steps: f32,
    history: History,
    /// A message about the last action ("no steal in the rest of the run").
    message: Option<String>,
    pending: Vec<Pending>,
}

impl Default for GmpsimApp {
    fn default() -> Self {
        GmpsimApp::new()
    }
}

impl GmpsimApp {
    /// A window with no scenario picked yet.
    pub fn new() -> GmpsimApp {
        GmpsimApp {
            names: scenarios::library::entries()
                .iter()
                .map(|e| e.name)
                .collect(),
            scenario: None,
            scenario_error: None,
            form: SettingsForm {
                seed: "1".to_string(),
                gomaxprocs: String::new(),
                gogc: String::new(),
                gomemlimit: String::new(),
                asyncpreemptoff: false,
            },
            form_error: None,
            session: None,
            real_go: None,
            tab: Tab::Scheduler,
            selected_g: None,
            table: GTable::default(),
            run_generation: 0,
            view: TimelineView::default(),
            step_kind: StepKind::Decision,
            playing: false,
            speed_steps_per_s: DEFAULT_SPEED_STEPS_PER_S,
            play_accumulated_steps: 0.0,
            history: History::default(),
            message: None,
            pending: Vec::new(),
        }
    }

    /// Picks `name_or_path` (a library name or a scenario file) and starts
    /// recording it with `seed`; an error is shown in the window.
    pub fn open(&mut self, name_or_path: &str, seed: u64) {
        match scenarios::resolve(name_or_path) {
            Ok(scenario) => self.open_scenario(scenario, seed),
            Err(e) => self.scenario_error = Some(e.to_string()),
        }
    }

    /// Starts recording `scenario` with its own settings and `seed`.
    pub fn open_scenario(&mut self, scenario: Scenario, seed: u64) {
        self.form = SettingsForm::of(&scenario, seed);
        self.real_go = Some(RealGo::load(&scenario.name));
        self.scenario = Some(scenario);
        self.scenario_error = None;
        self.run();
    }

    /// Shows `[from_ns, to_ns]` on the timeline and stops following the cursor.
    pub fn show_time_range(&mut self, from_ns: u64, to_ns: u64) {
        self.view = TimelineView {
            from_ns,
            to_ns,
            follow_cursor: false,
        };
    }

    /// The current settings' text (to change them as a user would).
    pub fn form_mut(&mut self) -> &mut SettingsForm {
        &mut self.form
    }

    /// Things to do once the recording has reached them.
    pub fn queue(&mut self, pending: Pending) {
        self.pending.push(pending);
    }

    /// The running session, if a scenario is open.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Blocks until the whole run is recorded (tests and scripts).
    pub fn wait_until_recorded(&mut self) {
        if let Some(session) = &mut self.session {
            session.wait_until_recorded();
        }
        self.apply_pending();
    }

    /// Starts a new recording with the form's settings.
    fn run(&mut self) {
        let Some(scenario) = &self.scenario else {
            return;
        };
        match self.form.config(scenario) {
            Ok(config) => {
                self.form_error = None;
                self.session = Some(Session::start(scenario, &config));
                self.run_generation += 1;
                self.view = TimelineView::default();
                self.selected_g = None;
                self.history = History::default();
                self.playing = false;
                self.message = None;
            }
            Err(e) => self.form_error = Some(e),
        }
    }

    /// Draws the whole window.
    pub fn show(&mut self, ui: &mut Ui) {
        self.apply_pending();
        let mut actions = Vec::new();
        self.keyboard(ui, &mut actions);
        egui::Panel::top("controls").show(ui, |ui| self.controls(ui, &mut actions));
        if self.session.is_some() {
            egui::Panel::left("queues")
                .resizable(true)
                .default_size(260.0)
                .show(ui, |ui| self.left_panel(ui));
            egui::Panel::right("why")
                .resizable(true)
                .default_size(330.0)
                .show(ui, |ui| self.right_panel(ui, &mut actions));
        }
        egui::CentralPanel::default_margins().show(ui, |ui| self.center(ui, &mut actions));
        for action in actions {
            self.apply(action);
        }
        self.play(ui);
        if self.session.as_ref().is_some_and(Session::is_recording) {
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
    }

    fn keyboard(&self, ui: &Ui, actions: &mut Vec<Action>) {
        if self.session.is_none() || ui.memory(|m| m.focused().is_some()) {
            return;
        }
        ui.input(|i| {
            if i.key_pressed(egui::Key::ArrowRight) {
                actions.push(Action::StepBy(1));
            }
            if i.key_pressed(egui::Key::ArrowLeft) {
                actions.push(Action::StepBy(-1));
            }
            if i.key_pressed(egui::Key::Space) {
                actions.push(Action::TogglePlay);
            }
        });
    }

    fn controls(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            ui.heading("gmpsim");
            let selected = self
                .scenario
                .as_ref()
                .map_or("pick a scenario".to_string(), |s| s.name.clone());
            egui::ComboBox::from_label("Scenario")
                .selected_text(selected)
                .height(500.0)
                .show_ui(ui, |ui| {
                    for name in &self.names {
                        if ui.selectable_label(false, *name).clicked() {
                            actions.push(Action::PickScenario(name.to_string()));
                        }
                    }
                });
            if let Some(e) = &self.scenario_error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        let Some(scenario) = &self.scenario else {
            ui.label("Pick a scenario to record its run; then step through it, forward and back.");
            return;
        };
        egui::ScrollArea::vertical()
            .id_salt("description")
            .max_height(54.0)
            .show(ui, |ui| {
                ui.label(scenario.description.trim());
            });
        ui.horizontal(|ui| {
            for (name, text, width) in [
                ("Seed", &mut self.form.seed, 60.0),
                ("GOMAXPROCS", &mut self.form.gomaxprocs, 36.0),
                ("GOGC", &mut self.form.gogc, 40.0),
                ("GOMEMLIMIT", &mut self.form.gomemlimit, 60.0),
            ] {
                let label = ui.label(name);
                ui.add(egui::TextEdit::singleline(text).desired_width(width))
                    .labelled_by(label.id);
            }
            ui.checkbox(&mut self.form.asyncpreemptoff, "asyncpreemptoff");
            if ui.button("Run").clicked() {
                actions.push(Action::Run);
            }
            if let Some(e) = &self.form_error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        let Some(session) = &self.session else {
            return;
        };
        let recording = session.recording();
        let step = session.cursor().step;
        ui.horizontal(|ui| {
            if ui.button("Back").clicked() {
                actions.push(Action::StepBy(-1));
            }
            if ui.button("Step").clicked() {
                actions.push(Action::StepBy(1));
            }
            if ui
                .button(if self.playing { "Pause" } else { "Play" })
                .clicked()
            {
                actions.push(Action::TogglePlay);
            }
            ui.add(
                egui::Slider::new(&mut self.speed_steps_per_s, 1.0..=100_000.0)
                    .logarithmic(true)
                    .integer()
                    .text("steps/s"),
            );
            if ui.button("Step to next").clicked() {
                actions.push(Action::StepToNext(self.step_kind));
            }
            egui::ComboBox::from_label("kind")
                .selected_text(self.step_kind.name())
                .show_ui(ui, |ui| {
                    for kind in StepKind::ALL {
                        ui.selectable_value(&mut self.step_kind, kind, kind.name());
                    }
                });
            let mark = recording.steps[step];
            ui.label(format!(
                "step {step} of {} · {}",
                recording.last_step(),
                format_duration_ns(mark.at_ns)
            ));
            if session.is_recording() {
                let head = recording.steps[recording.last_step()].at_ns;
                ui.add(
                    egui::ProgressBar::new(
                        recording.steps.len() as f32 / crate::recording::MAX_RECORDED_STEPS as f32,
                    )
                    .desired_width(200.0)
                    .text(format!(
                        "recording: {} steps, {}",
                        recording.steps.len(),
                        format_duration_ns(head)
                    )),
                );
            } else if let Some(ending) = &recording.ending {
                ui.label(match &ending.outcome {
                    Some(o) => format!("run ended: exit {} ({})", o.exit_code, o.reason),
                    None => format!(
                        "recorded the first {} steps (the run goes on)",
                        crate::recording::MAX_RECORDED_STEPS
                    ),
                });
            }
            if let Some(message) = &self.message {
                ui.colored_label(ui.visuals().warn_fg_color, message);
            }
        });
    }

    fn left_panel(&mut self, ui: &mut Ui) {
        let Some(session) = &self.session else {
            return;
        };
        let world = &session.cursor().world;
        egui::ScrollArea::vertical().id_salt("left").show(ui, |ui| {
            ui.heading("Run queues");
            run_queues(ui, world, &mut self.selected_g);
            ui.separator();
            ui.heading("Ms");
            ms_panel(ui, world, &mut self.selected_g);
        });
    }

    fn right_panel(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let Some(session) = &self.session else {
            return;
        };
        let recording = session.recording();
        let step = session.cursor().step;
        egui::ScrollArea::vertical()
            .id_salt("right")
            .show(ui, |ui| {
                ui.heading("Why");
                why_panel(ui, &recording, step, &mut self.selected_g);
                ui.separator();
                match self.selected_g {
                    Some(g) => {
                        self.history.update(g, &recording);
                        goroutine_panel(ui, g, session, &recording, &self.history, actions);
                    }
                    None => {
                        ui.label("Click a goroutine (G7) anywhere to see its history here.");
                    }
                }
            });
    }

    fn center(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let Some(session) = &self.session else {
            ui.label("No scenario recorded yet.");
            return;
        };
        ui.horizontal(|ui| {
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.title());
            }
        });
        ui.separator();
        let recording = session.recording();
        let cursor = session.cursor();
        match self.tab {
            Tab::Scheduler => {
                let head_ns = recording.steps[recording.last_step()].at_ns;
                ui.horizontal(|ui| {
                    if ui.button("Fit").clicked() {
                        self.view.fit(head_ns);
                    }
                    ui.checkbox(&mut self.view.follow_cursor, "follow cursor");
                    legend(ui, &recording);
                });
                self.view.keep_in_view(recording.steps[cursor.step].at_ns);
                let click = timeline(
                    ui,
                    &recording,
                    cursor.step,
                    &mut self.view,
                    &mut self.selected_g,
                );
                match click {
                    Some(TimelineClick::Record { record, .. }) => {
                        actions.push(Action::SeekRecord(record))
                    }
                    Some(TimelineClick::Time(ns)) => actions.push(Action::SeekTime(ns)),
                    None => {}
                }
                ui.separator();
                ui.heading("Goroutines");
                g_table(
                    ui,
                    &cursor.world,
                    self.run_generation,
                    cursor.step,
                    &mut self.table,
                    &mut self.selected_g,
                );
            }
            Tab::Gc => gc_view(ui, &cursor.world, &recording, cursor.step),
            Tab::RealGo => match &self.real_go {
                Some(real) => compare_view(ui, real, &recording),
                None => {
                    ui.label("No scenario.");
                }
            },
        }
    }

    /// Moves the cursor as the play button asks, at the chosen speed.
    fn play(&mut self, ui: &Ui) {
        if !self.playing {
            return;
        }
        let dt_s = ui.input(|i| i.stable_dt).min(0.1);
        self.play_accumulated_steps += self.speed_steps_per_s * dt_s;
        let steps = self.play_accumulated_steps.floor();
        self.play_accumulated_steps -= steps;
        if steps >= 1.0 {
            self.apply(Action::StepBy(steps as i64));
        }
        if let Some(session) = &self.session {
            let at_end = session.cursor().step == session.recording().last_step();
            if at_end && !session.is_recording() {
                self.playing = false;
            }
        }
        ui.ctx().request_repaint();
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::PickScenario(name) => {
                let seed = self.form.seed.trim().parse().unwrap_or(1);
                self.open(&name, seed);
                return;
            }
            Action::Run => {
                self.run();
                return;
            }
            Action::TogglePlay => {
                self.playing = !self.playing;
                self.play_accumulated_steps = 0.0;
                return;
            }
            _ => {}
        }
        let Some(session) = &mut self.session else {
            return;
        };
        self.message = None;
        let target = {
            let recording = session.recording();
            let here = session.cursor().step;
            match action {
                Action::StepBy(n) => {
                    Some((here as i64 + n).clamp(0, recording.last_step() as i64) as usize)
                }
                Action::SeekRecord(record) => Some(recording.step_of_record(record)),
                Action::SeekTime(ns) => Some(recording.step_at_time(ns)),
                Action::StepToNext(kind) => {
                    let from = recording.steps[here].trace_end;
                    match recording.trace[from..]
                        .iter()
                        .position(|r| kind.matches(&r.event))
                    {
                        Some(i) => Some(recording.step_of_record(from + i)),
                        None => {
                            self.message = Some(if session.is_recording() {
                                format!("no {} recorded yet after the cursor", kind.name())
                            } else {
                                format!("no {} after the cursor in this run", kind.name())
                            });
                            None
                        }
                    }
                }
                Action::PickScenario(_) | Action::Run | Action::TogglePlay => None,
            }
        };
        if let Some(step) = target {
            session.seek(step);
        }
    }

    /// Carries out the pending command-line actions whose part of the run
    /// has been recorded.
    fn apply_pending(&mut self) {
        while let Some(next) = self.pending.first().cloned() {
            let Some(session) = &self.session else {
                return;
            };
            let ready = {
                let recording = session.recording();
                let done = !session.is_recording();
                let here = session.cursor().step;
                match &next {
                    Pending::At(ns) => done || recording.steps[recording.last_step()].at_ns >= *ns,
                    Pending::StepTo(kind) => {
                        done || recording.trace[recording.steps[here].trace_end..]
                            .iter()
                            .any(|r| kind.matches(&r.event))
                    }
                    Pending::Steps(n) => done || recording.last_step() >= here + n,
                }
            };
            if !ready {
                return;
            }
            self.pending.remove(0);
            match next {
                Pending::At(ns) => self.apply(Action::SeekTime(ns)),
                Pending::StepTo(kind) => self.apply(Action::StepToNext(kind)),
                Pending::Steps(n) => self.apply(Action::StepBy(n as i64)),
            }
        }
    }
}

/// The timeline's colours.
fn legend(ui: &mut Ui, recording: &Recording) {
    let swatch = |ui: &mut Ui, color: Color32, text: &str| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 1.0, color);
        ui.label(RichText::new(text).small());
    };
    for (i, program) in recording.scenario.workload.programs.iter().enumerate() {
        swatch(ui, program_color(i), &program.name);
    }
    swatch(ui, GC_COLOR, "GC worker");
    swatch(ui, RUNTIME_COLOR, "runtime");
    swatch(ui, SYSCALL_COLOR, "syscall");
    swatch(ui, STW_COLOR, "stop the world");
    swatch(ui, crate::widgets::ASSIST_COLOR, "assist");
    swatch(ui, crate::widgets::HANDOFF_COLOR, "P handoff");
}

/// The last decision at or before trace position `trace_end` (a `GoStart`).
fn decision_before(recording: &Recording, trace_end: usize) -> Option<usize> {
    recording.trace[..trace_end]
        .iter()
        .rposition(|r| matches!(r.event, TraceEvent::GoStart { .. }))
}

/// What the cursor's step did, and why the last decision was made.
fn why_panel(ui: &mut Ui, recording: &Recording, step: usize, selected: &mut Option<Goid>) {
    let mark = recording.steps[step];
    ui.strong(format!(
        "This step ({}) recorded:",
        format_duration_ns(mark.at_ns)
    ));
    for record in recording.records_of(step) {
        g_text(ui, &record.event.to_string(), selected);
    }
    ui.add_space(6.0);
    match decision_before(recording, mark.trace_end) {
        Some(i) => {
            let record = &recording.trace[i];
            if let TraceEvent::GoStart { p, decision, .. } = &record.event {
                ui.strong(format!(
                    "Last decision, at {}:",
                    format_duration_ns(record.at_ns)
                ));
                g_text(ui, &decision_sentence(*p, decision), selected);
                ui.label(RichText::new(format!("source: {}", decision.source)).small());
                for (n, step) in decision.trail.iter().enumerate() {
                    ui.label(RichText::new(format!("skipped {}: {step}", n + 1)).small());
                }
                ui.label(
                    RichText::new(format!("trace: {}", record.event))
                        .small()
                        .weak(),
                );
            }
        }
        None => {
            ui.label("No scheduling decision yet.");
        }
    }
}

/// The selected goroutine now and its history.
fn goroutine_panel(
    ui: &mut Ui,
    g: Goid,
    session: &Session,
    recording: &Recording,
    history: &History,
    actions: &mut Vec<Action>,
) {
    let world = &session.cursor().world;
    ui.heading(format!("Goroutine {g}"));
    match world.gs().iter().find(|x| x.goid == g) {
        Some(state) => {
            ui.label(format!(
                "now: {}{}",
                crate::gtable::status_text(state),
                match state.status {
                    sim_sched::g::GStatus::Waiting(reason) => format!(" ({reason})"),
                    _ => String::new(),
                }
            ));
        }
        None => {
            ui.label("not created yet at the cursor");
        }
    }
    let trace_end = recording.steps[session.cursor().step].trace_end;
    ui.strong("History (click to go there)");
    // Around the cursor: what led here, and a little of what comes next.
    let split = history.entries.partition_point(|(r, _, _)| *r < trace_end);
    let first = split.saturating_sub(HISTORY_BEFORE);
    let last = (split + HISTORY_AFTER).min(history.entries.len());
    if first > 0 {
        ui.label(RichText::new(format!("… {first} earlier")).weak());
    }
    for (record, at_ns, text) in &history.entries[first..last] {
        let future = *record >= trace_end;
        let line = format!("{} {text}", format_duration_ns(*at_ns));
        let rich = if future {
            RichText::new(line).weak()
        } else {
            RichText::new(line)
        };
        if ui
            .add(egui::Label::new(rich).sense(egui::Sense::click()))
            .clicked()
        {
            actions.push(Action::SeekRecord(*record));
        }
    }
    if last < history.entries.len() {
        ui.label(RichText::new(format!("… {} later", history.entries.len() - last)).weak());
    }
}
