//! The run queues and the Ms at the cursor, read from the cursor's `World`.
//!
//! Each P shows its status, its M and the G it runs, its runnext slot and its
//! local ring in order; then the global queue; then every M with what it is
//! doing (running, spinning, idle in stopm, in a syscall, locked to a G).
//! Each line is one label so it reads whole; its Gs can be clicked.

use crate::widgets::g_text;
use egui::Ui;
use sim_core::ids::Goid;
use sim_core::time::format_duration_ns;
use sim_sched::World;
use sim_sched::g::{GIdx, GStatus};
use sim_sched::m::MState;
use sim_sched::p::PStatus;

/// A queue shows at most this many Gs, then how many more.
pub const QUEUE_SHOWN: usize = 24;

/// `prefix (N): G1 G2 ...`, or `prefix (0): empty`.
pub fn queue_line(prefix: &str, goids: &[Goid]) -> String {
    let mut line = format!("{prefix} ({}):", goids.len());
    if goids.is_empty() {
        line.push_str(" empty");
    }
    for g in goids.iter().take(QUEUE_SHOWN) {
        line.push(' ');
        line.push_str(&g.to_string());
    }
    if goids.len() > QUEUE_SHOWN {
        line.push_str(&format!(" … and {} more", goids.len() - QUEUE_SHOWN));
    }
    line
}

fn goid(world: &World, g: GIdx) -> Goid {
    world.gs()[g.index()].goid
}

/// The G running on M `m`'s behalf (its `curg`), if it is running or in a
/// syscall.
fn running_g(world: &World, m: sim_core::ids::MId) -> Option<Goid> {
    world.ms()[m.index()]
        .curg
        .map(|g| &world.gs()[g.index()])
        .filter(|g| matches!(g.status, GStatus::Running { .. } | GStatus::Syscall { .. }))
        .map(|g| g.goid)
}

/// Shows every P's queues and the global queue.
pub fn run_queues(ui: &mut Ui, world: &World, selected: &mut Option<Goid>) {
    for p in world.ps() {
        let status = match p.status {
            PStatus::Idle => "idle",
            PStatus::Running => "running",
            PStatus::GcStop => "stopped for GC",
        };
        let head = match p.m {
            Some(m) => match running_g(world, m) {
                Some(g) => format!("{} {status} {g} on {m}", p.id),
                None => format!("{} {status} on {m}", p.id),
            },
            None => format!("{} {status}", p.id),
        };
        ui.strong(head);
        let runnext = match p.runnext {
            Some(g) => goid(world, g).to_string(),
            None => "empty".to_string(),
        };
        g_text(ui, &format!("{} runnext: {runnext}", p.id), selected);
        let ring: Vec<Goid> = p.runq.iter().map(|g| goid(world, *g)).collect();
        g_text(
            ui,
            &queue_line(&format!("{} local runq", p.id), &ring),
            selected,
        );
        ui.add_space(2.0);
    }
    let global: Vec<Goid> = world.sched().runq.iter().map(|g| goid(world, *g)).collect();
    g_text(ui, &queue_line("global runq", &global), selected);
}

/// What M `m` is doing, in words.
pub fn m_line(world: &World, m: &sim_sched::m::M) -> String {
    let g = m.curg.map(|g| goid(world, g));
    let on_p = |text: String| match m.p {
        Some(p) => format!("{text} on {p}"),
        None => text,
    };
    let mut line = match m.state {
        MState::Sysmon => "sysmon (runs without a P)".to_string(),
        MState::TemplateThread => "template thread (starts threads for locked Ms)".to_string(),
        MState::LockedIdle => "parked, waiting for its locked G (stoplockedm)".to_string(),
        MState::Exited => "exited".to_string(),
        MState::Idle => "idle (stopm)".to_string(),
        MState::Starting => on_p("starting".to_string()),
        MState::Switching => on_p(match g {
            Some(g) => format!("switching to {g}"),
            None => "switching".to_string(),
        }),
        MState::RunningG => on_p(match g {
            Some(g) => format!("running {g}"),
            None => "running".to_string(),
        }),
        MState::Syscall { since_ns } => {
            let held = match m.p {
                Some(p) => format!(", holding {p}"),
                None => ", its P handed off".to_string(),
            };
            format!(
                "in a syscall for {} since {}{held}",
                g.map_or("?".to_string(), |g| g.to_string()),
                format_duration_ns(since_ns)
            )
        }
        MState::Spinning { .. } => on_p("spinning (looking for work)".to_string()),
        MState::StealBackoff { victim, .. } => on_p(format!(
            "spinning, backing off before stealing {victim}'s runnext"
        )),
        MState::Netpoll { until_ns, .. } => {
            format!("blocked in netpoll until {}", format_duration_ns(until_ns))
        }
        MState::Stw { stopped: false } => on_p("stopping the world".to_string()),
        MState::Stw { stopped: true } => on_p("holding the world stopped".to_string()),
        MState::SafePointWait => format!(
            "{} holding {} waits in gcMarkDone's ragged barrier for the other Ps to flush",
            g.map_or("?".to_string(), |g| g.to_string()),
            m.p.map_or("?".to_string(), |p| p.to_string())
        ),
        MState::StackScanWait { target, since_ns } => on_p(format!(
            "{} spins in suspendG until {} stops for its stack scan (since {})",
            g.map_or("?".to_string(), |g| g.to_string()),
            goid(world, target),
            format_duration_ns(since_ns)
        )),
    };
    if let Some(locked) = m.lockedg {
        line.push_str(&format!(", locked to {}", goid(world, locked)));
    }
    format!("{}: {line}", m.id)
}

/// Shows every M.
pub fn ms_panel(ui: &mut Ui, world: &World, selected: &mut Option<Goid>) {
    let (mut spinning, mut idle, mut syscall) = (0, 0, 0);
    for m in world.ms() {
        match m.state {
            MState::Idle | MState::LockedIdle => idle += 1,
            MState::Syscall { .. } => syscall += 1,
            _ if m.spinning => spinning += 1,
            _ => {}
        }
    }
    ui.label(format!(
        "{} threads: {spinning} spinning, {idle} idle, {syscall} in syscalls",
        world.ms().len()
    ));
    for m in world.ms() {
        g_text(ui, &m_line(world, m), selected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_queue_names_its_first_gs_and_counts_the_rest() {
        let goids: Vec<Goid> = (1..=30).map(Goid).collect();
        let line = queue_line("P0 local runq", &goids);
        assert!(line.starts_with("P0 local runq (30): G1 G2"), "{line}");
        assert!(line.ends_with("G24 … and 6 more"), "{line}");
        assert_eq!(queue_line("global runq", &[]), "global runq (0): empty");
    }
}
