//! The GUI driven as a user drives it (egui_kittest, no display): pick a
//! scenario, press Step and Back, and check that what the window shows is
//! what the model did. The expected values come from a separate `World` run
//! here with the same scenario and seed, never from the widgets.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gui::GmpsimApp;
use sim_core::ids::Goid;
use sim_core::trace::{PickSource, TraceEvent};
use sim_sched::g::GStatus;
use sim_sched::{SimConfig, World};

fn harness() -> Harness<'static, GmpsimApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut GmpsimApp| app.show(ui), GmpsimApp::new())
}

/// Picks `name` in the scenario menu and waits for its recording.
fn pick(harness: &mut Harness<'static, GmpsimApp>, name: &str) {
    harness.run();
    harness
        .get_by_role_and_label(Role::ComboBox, "Scenario")
        .click();
    harness.run();
    // The menu scrolls; an accessibility click reaches items out of view.
    harness
        .get_by_role_and_label(Role::Button, name)
        .click_accesskit();
    harness.run();
    harness.key_press(egui::Key::Escape);
    harness.state_mut().wait_until_recorded();
    harness.run();
}

fn press(harness: &mut Harness<'static, GmpsimApp>, label: &str, times: usize) {
    for _ in 0..times {
        harness.get_by_label(label).click();
        harness.run();
    }
}

/// The model on its own: the scenario as written, seed 1, stepped the way
/// the GUI defines a step (one `World::step` after which the trace grew).
struct Model {
    world: World,
}

impl Model {
    fn new(name: &str) -> Model {
        let s = scenarios::library::get(name).expect("library scenario");
        Model {
            world: World::new(
                &s.workload,
                SimConfig {
                    seed: 1,
                    runtime: s.runtime.clone(),
                    cost: Default::default(),
                    record_trace: true,
                },
            ),
        }
    }

    /// One step; returns the records it added.
    fn step(&mut self) -> &[sim_core::trace::TraceRecord] {
        let before = self.world.trace().len();
        while self.world.trace().len() == before {
            assert!(self.world.step(), "the run ended before the GUI's step");
        }
        &self.world.trace()[before..]
    }

    fn goid(&self, g: sim_sched::g::GIdx) -> Goid {
        self.world.gs()[g.index()].goid
    }

    /// What each P lane's header must say: the G running there.
    fn lane_headers(&self) -> Vec<String> {
        self.world
            .ps()
            .iter()
            .map(|p| {
                let g =
                    p.m.and_then(|m| self.world.ms()[m.index()].curg)
                        .map(|g| &self.world.gs()[g.index()]);
                match g.map(|g| (g.status, g.goid)) {
                    Some((GStatus::Running { .. }, goid)) => format!("{}: {goid}", p.id),
                    Some((GStatus::Syscall { .. }, goid)) => format!("{}: syscall {goid}", p.id),
                    _ => format!("{}: idle", p.id),
                }
            })
            .collect()
    }

    /// The queue lines the left panel must show.
    fn queue_lines(&self) -> Vec<String> {
        // The panel names the first QUEUE_SHOWN Gs and counts the rest.
        let shown = gui::queues::QUEUE_SHOWN;
        let list = |gs: Vec<Goid>| -> String {
            if gs.is_empty() {
                return " empty".to_string();
            }
            let mut text: String = gs.iter().take(shown).map(|g| format!(" {g}")).collect();
            if gs.len() > shown {
                text.push_str(&format!(" … and {} more", gs.len() - shown));
            }
            text
        };
        let mut lines = Vec::new();
        for p in self.world.ps() {
            let runnext = p
                .runnext
                .map_or("empty".to_string(), |g| self.goid(g).to_string());
            lines.push(format!("{} runnext: {runnext}", p.id));
            let ring: Vec<Goid> = p.runq.iter().map(|g| self.goid(*g)).collect();
            lines.push(format!(
                "{} local runq ({}):{}",
                p.id,
                ring.len(),
                list(ring)
            ));
        }
        let global: Vec<Goid> = self
            .world
            .sched()
            .runq
            .iter()
            .map(|g| self.goid(*g))
            .collect();
        lines.push(format!("global runq ({}):{}", global.len(), list(global)));
        lines
    }

    /// The why panel's trace line: the last decision so far.
    fn last_decision(&self) -> String {
        let record = self
            .world
            .trace()
            .iter()
            .rev()
            .find(|r| matches!(r.event, TraceEvent::GoStart { .. }))
            .expect("a decision was made");
        format!("trace: {}", record.event)
    }

    fn expected(&self) -> Vec<String> {
        let mut all = self.lane_headers();
        all.extend(self.queue_lines());
        all.push(self.last_decision());
        all
    }
}

fn assert_shown(harness: &Harness<'static, GmpsimApp>, expected: &[String], at: &str) {
    for text in expected {
        if harness.query_all_by_label(text).next().is_none() {
            let near: Vec<String> = harness
                .root()
                .children_recursive()
                .filter_map(|n| {
                    let node = n.accesskit_node();
                    node.label().or_else(|| node.value())
                })
                .filter(|l| l.starts_with(&text[..2]))
                .collect();
            panic!("{at}: the window does not show `{text}`; it shows {near:#?}");
        }
    }
}

#[test]
fn stepping_shows_the_models_lanes_queues_and_why_and_stepping_back_restores_them() {
    let mut harness = harness();
    pick(&mut harness, "steal-imbalance");
    let mut model = Model::new("steal-imbalance");
    let mut states = vec![(model.expected(), model.world.clone().schedtrace(true))];
    assert_shown(&harness, &states[0].0, "step 0");
    for step in 1..=40 {
        press(&mut harness, "Step", 1);
        model.step();
        let expected = model.expected();
        assert_shown(&harness, &expected, &format!("step {step}"));
        assert!(
            harness
                .query_by_label_contains(&format!("step {step} of "))
                .is_some()
        );
        states.push((expected, model.world.clone().schedtrace(true)));
    }
    // Back 25 steps, one at a time: each earlier state returns exactly, in
    // the panels and in the cursor's world.
    for step in (15..40).rev() {
        press(&mut harness, "Back", 1);
        assert_shown(&harness, &states[step].0, &format!("back at step {step}"));
        let session = harness.state().session().expect("a session");
        assert_eq!(session.cursor().step, step);
        assert_eq!(
            session.cursor().world.clone().schedtrace(true),
            states[step].1,
            "the world at step {step}"
        );
    }
}

#[test]
fn step_to_next_steal_stops_at_the_models_first_steal_and_explains_it() {
    let mut harness = harness();
    pick(&mut harness, "steal-imbalance");
    harness
        .get_by_role_and_label(Role::ComboBox, "kind")
        .click();
    harness.run();
    harness.get_by_role_and_label(Role::Button, "steal").click();
    harness.run();
    press(&mut harness, "Step to next", 1);

    let mut model = Model::new("steal-imbalance");
    let steal = loop {
        let steal = model.step().iter().find_map(|r| match &r.event {
            TraceEvent::GoStart { p, decision, .. }
                if matches!(decision.source, PickSource::Steal { .. }) =>
            {
                Some((*p, decision.clone()))
            }
            _ => None,
        });
        if let Some(steal) = steal {
            break steal;
        }
    };
    assert_shown(&harness, &model.expected(), "at the first steal");
    let sentence = gui::why::decision_sentence(steal.0, &steal.1);
    assert!(sentence.contains("stole"), "{sentence}");
    assert!(
        harness.query_by_label(&sentence).is_some(),
        "the why sentence `{sentence}` is shown"
    );
}

#[test]
fn clicking_a_g_in_a_queue_selects_it_and_shows_its_history() {
    let mut harness = harness();
    pick(&mut harness, "steal-imbalance");
    // Step until some P has workers queued.
    let mut model = Model::new("steal-imbalance");
    let p = loop {
        press(&mut harness, "Step", 1);
        model.step();
        if let Some(p) = model.world.ps().iter().find(|p| !p.runq.is_empty()) {
            break p.clone();
        }
    };
    let first = model.goid(*p.runq.front().expect("queued"));
    let line = model
        .queue_lines()
        .into_iter()
        .find(|l| l.starts_with(&format!("{} local runq", p.id)))
        .expect("the P's line");
    harness.get_by_label(&line).click_accesskit();
    harness.run();
    assert_eq!(harness.state().selected_g, Some(first));
    assert!(
        harness
            .query_by_label(&format!("Goroutine {first}"))
            .is_some()
    );
    // Its history starts with its creation by main.
    assert!(
        harness
            .query_by_label_contains("created by G1, put in")
            .is_some()
    );
}

#[test]
fn a_bad_setting_is_an_error_in_the_window_and_a_good_one_records_a_new_run() {
    let mut harness = harness();
    pick(&mut harness, "cpu-fanout");
    harness
        .get_by_label("GOMAXPROCS")
        .set_text_value_accesskit("0");
    harness.run();
    press(&mut harness, "Run", 1);
    assert!(
        harness
            .query_by_label_contains("GOMAXPROCS: must be 1 to")
            .is_some()
    );
    harness
        .get_by_label("GOMAXPROCS")
        .set_text_value_accesskit("1");
    harness.run();
    press(&mut harness, "Run", 1);
    harness.state_mut().wait_until_recorded();
    harness.run();
    let session = harness.state().session().expect("a session");
    assert_eq!(session.cursor().world.ps().len(), 1);
    assert!(harness.query_by_label("P0 runnext: empty").is_some());
    assert!(harness.query_by_label("P1 runnext: empty").is_none());
}

#[test]
fn the_gc_view_follows_the_collector_through_a_mark_phase() {
    let mut harness = harness();
    pick(&mut harness, "alloc-steady");
    harness.get_by_label("GC").click();
    harness.run();
    harness
        .get_by_role_and_label(Role::ComboBox, "kind")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "GC start")
        .click();
    harness.run();
    press(&mut harness, "Step to next", 1);
    press(&mut harness, "Step", 12);

    let mut model = Model::new("alloc-steady");
    while !model
        .step()
        .iter()
        .any(|r| matches!(r.event, TraceEvent::GcStart { .. }))
    {}
    for _ in 0..12 {
        model.step();
    }
    let status = gui::gcview::gc_status_line(&model.world);
    assert!(status.contains("GC "), "{status}");
    assert!(
        harness.query_by_label(&status).is_some(),
        "the GC view shows `{status}`"
    );
}
