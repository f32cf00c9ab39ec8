//! `gmpsim top`: a live terminal view of a simulated run, refreshing like
//! `top` but driven by simulated time.
//!
//! The screen: goroutines by state, each P with its M, current G, runnext and
//! run-queue length, the global run queue, Ms by state, the heap (live, goal,
//! GC phase and cycles), and the last scheduling decisions with their
//! reasons. Keys: space pauses and resumes, `s` steps one event (paused),
//! `+`/`-` double or halve the speed, `q` quits. The view is a pure function
//! of the `World` (`render`), so tests draw it on ratatui's `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use sim_core::time::format_duration_ns;
use sim_sched::World;
use sim_sched::g::GStatus;
use sim_sched::m::MState;
use sim_sched::p::PStatus;

/// How the view advances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// Simulated nanoseconds per wall-clock second.
    pub sim_ns_per_s: u64,
    pub paused: bool,
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    Quit,
    TogglePause,
    Step,
    Faster,
    Slower,
    None,
}

/// The action of a key press.
pub fn key_action(c: char) -> KeyAction {
    match c {
        'q' => KeyAction::Quit,
        ' ' | 'p' => KeyAction::TogglePause,
        's' => KeyAction::Step,
        '+' | '=' => KeyAction::Faster,
        '-' => KeyAction::Slower,
        _ => KeyAction::None,
    }
}

impl Pace {
    /// Applies a key's action; returns false to quit.
    pub fn apply(&mut self, action: KeyAction, world: &mut World) -> bool {
        match action {
            KeyAction::Quit => return false,
            KeyAction::TogglePause => self.paused = !self.paused,
            KeyAction::Step => {
                // One event that happens (superseded ones are skipped).
                let before = world.events_processed();
                while self.paused && world.events_processed() == before && world.step() {}
            }
            KeyAction::Faster => self.sim_ns_per_s = self.sim_ns_per_s.saturating_mul(2),
            KeyAction::Slower => self.sim_ns_per_s = (self.sim_ns_per_s / 2).max(1_000),
            KeyAction::None => {}
        }
        true
    }
}

/// Draws the whole view of `world` for scenario `name`.
pub fn render(frame: &mut Frame, name: &str, world: &World, pace: &Pace) {
    let [header, top, middle, bottom] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(5),
        Constraint::Min(6),
        Constraint::Length(10),
    ])
    .areas(frame.area());

    let status = match world.outcome() {
        Some(o) => format!("exited {}: {}", o.exit_code, o.reason),
        None if pace.paused => "paused".to_string(),
        None => "running".to_string(),
    };
    frame.render_widget(
        Paragraph::new(vec![Line::from(format!(
            "{name}  t={}  {}  speed {}/s  events {}   [space] pause  [s] step  [+/-] speed  [q] quit",
            format_duration_ns(world.now_ns()),
            status,
            format_duration_ns(pace.sim_ns_per_s),
            world.events_processed()
        ))])
        .block(Block::default().borders(Borders::ALL).title("gmpsim top")),
        header,
    );

    let [counts, heap] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
    let (mut runnable, mut running, mut syscall, mut waiting) = (0, 0, 0, 0);
    for g in world.gs().iter().filter(|g| g.goid.0 != 0) {
        match g.status {
            GStatus::Runnable => runnable += 1,
            GStatus::Running { .. } => running += 1,
            GStatus::Syscall { .. } => syscall += 1,
            GStatus::Waiting(_) => waiting += 1,
            GStatus::Dead => {}
        }
    }
    let (mut m_running, mut m_spinning, mut m_idle, mut m_syscall) = (0, 0, 0, 0);
    for m in world.ms() {
        match m.state {
            MState::Syscall { .. } => m_syscall += 1,
            MState::Idle | MState::LockedIdle => m_idle += 1,
            MState::Sysmon | MState::TemplateThread | MState::Exited => {}
            _ if m.spinning => m_spinning += 1,
            _ => m_running += 1,
        }
    }
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!(
                "goroutines: {running} running, {runnable} runnable, {waiting} waiting, {syscall} in syscalls"
            )),
            Line::from(format!(
                "threads: {m_running} running, {m_spinning} spinning, {m_idle} idle, {m_syscall} in syscalls"
            )),
            Line::from(format!("global runq: {}", world.sched().runq.len())),
        ])
        .block(Block::default().borders(Borders::ALL).title("scheduler")),
        counts,
    );
    let gc = world.gc_status();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!("GC phase: {}  cycles: {}", gc.phase, gc.cycles)),
            Line::from(format!(
                "heap live {:.1} MiB, goal {:.1} MiB",
                gc.heap_live_bytes as f64 / (1u64 << 20) as f64,
                gc.heap_goal_bytes as f64 / (1u64 << 20) as f64
            )),
            Line::from(format!(
                "stacks {:.1} MiB",
                gc.stack_bytes as f64 / (1u64 << 20) as f64
            )),
        ])
        .block(Block::default().borders(Borders::ALL).title("heap")),
        heap,
    );

    let goid = |g: Option<sim_sched::g::GIdx>| match g {
        Some(g) => format!("G{}", world.gs()[g.index()].goid.0),
        None => "-".to_string(),
    };
    let rows: Vec<Row> = world
        .ps()
        .iter()
        .map(|p| {
            let m = p.m;
            let curg = m.and_then(|m| world.ms()[m.index()].curg);
            Row::new(vec![
                format!("P{}", p.id.0),
                match p.status {
                    PStatus::Idle => "idle".to_string(),
                    PStatus::Running => "running".to_string(),
                    PStatus::GcStop => "gcstop".to_string(),
                },
                m.map_or("-".to_string(), |m| format!("M{}", m.0)),
                goid(curg),
                goid(p.runnext),
                p.runq_len().to_string(),
                p.schedtick.to_string(),
            ])
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(6),
                Constraint::Length(9),
                Constraint::Length(6),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Length(10),
            ],
        )
        .header(
            Row::new(vec![
                "P",
                "status",
                "M",
                "running",
                "runnext",
                "runq",
                "schedtick",
            ])
            .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::default().borders(Borders::ALL).title("Ps")),
        middle,
    );

    let height = bottom.height.saturating_sub(2) as usize;
    let recent: Vec<Line> = world
        .trace()
        .iter()
        .rev()
        .take(height)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|r| Line::from(r.to_string()))
        .collect();
    frame.render_widget(
        Paragraph::new(recent).block(
            Block::default()
                .borders(Borders::ALL)
                .title("last events and decisions (why)"),
        ),
        bottom,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn world(name: &str) -> World {
        let scenario = scenarios::library::get(name).expect("library scenario");
        World::new(
            &scenario.workload,
            sim_sched::SimConfig {
                seed: 1,
                runtime: scenario.runtime.clone(),
                cost: sim_core::cost::CostModel::default(),
                record_trace: true,
            },
        )
    }

    fn screen(name: &str, w: &World, pace: &Pace) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 34)).unwrap();
        terminal.draw(|f| render(f, name, w, pace)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn after_some_steps_the_screen_shows_every_p_the_counts_and_the_last_decision() {
        let mut w = world("cpu-fanout");
        for _ in 0..60 {
            w.step();
        }
        let pace = Pace {
            sim_ns_per_s: 10_000_000,
            paused: true,
        };
        let text = screen("cpu-fanout", &w, &pace);
        eprintln!("{text}");
        for p in 0..4 {
            assert!(text.contains(&format!("P{p} ")), "P{p} missing:\n{text}");
        }
        assert!(text.contains("paused"), "{text}");
        assert!(text.contains("goroutines: "), "{text}");
        assert!(text.contains("GoStart"), "the last decisions:\n{text}");
        // The counts on screen are the world's.
        let running = w
            .gs()
            .iter()
            .filter(|g| matches!(g.status, GStatus::Running { .. }))
            .count();
        assert!(
            text.contains(&format!("goroutines: {running} running")),
            "{text}"
        );
    }

    #[test]
    fn the_heap_panel_follows_the_gc() {
        let mut w = world("alloc-steady");
        while w.gc_status().cycles < 2 {
            assert!(w.step(), "the run ended before two cycles");
        }
        let pace = Pace {
            sim_ns_per_s: 10_000_000,
            paused: false,
        };
        let text = screen("alloc-steady", &w, &pace);
        assert!(text.contains("cycles: 2"), "{text}");
        assert!(text.contains("goal "), "{text}");
    }

    #[test]
    fn keys_pause_step_change_speed_and_quit() {
        let mut w = world("cpu-fanout");
        let mut pace = Pace {
            sim_ns_per_s: 1_000_000,
            paused: false,
        };
        assert!(pace.apply(key_action('+'), &mut w));
        assert_eq!(pace.sim_ns_per_s, 2_000_000);
        assert!(pace.apply(key_action('-'), &mut w));
        assert!(pace.apply(key_action('-'), &mut w));
        assert_eq!(pace.sim_ns_per_s, 500_000);
        // Stepping does nothing while running, one event when paused.
        let before = w.events_processed();
        assert!(pace.apply(key_action('s'), &mut w));
        assert_eq!(w.events_processed(), before);
        assert!(pace.apply(key_action(' '), &mut w));
        assert!(pace.paused);
        assert!(pace.apply(key_action('s'), &mut w));
        assert_eq!(w.events_processed(), before + 1);
        assert!(!pace.apply(key_action('q'), &mut w));
    }
}
