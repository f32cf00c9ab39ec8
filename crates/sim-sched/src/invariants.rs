//! Scheduler invariants, checked on a whole `World` (by property tests and
//! `debug_assert!`s at the points where they must hold).

use crate::g::{GIdx, GKind, GStatus};
use crate::m::MState;
use crate::p::{LOCAL_RUNQ_CAPACITY, PStatus};
use crate::world::World;
use sim_core::trace::WaitReason;

impl World {
    /// Checks that the world is consistent; returns the first violation.
    ///
    /// - every live G is in exactly one place: running on one M, in one run
    ///   queue slot, in a syscall on one M, or waiting in one wait structure;
    /// - no local ring holds more than 256 Gs;
    /// - a P is owned by at most one M, and M and P agree about it;
    /// - no lost wake-up: if a G waits in a run queue while a P is idle, an M
    ///   is spinning or being started.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut places = vec![0u32; self.gs.len()];
        let mut seen = |g: GIdx, what: &str| -> Result<(), String> {
            places[g.index()] += 1;
            if places[g.index()] > 1 {
                return Err(format!(
                    "{} is in more than one place (again in {what})",
                    self.gs[g.index()].goid
                ));
            }
            Ok(())
        };
        for p in &self.ps {
            if p.runq.len() > LOCAL_RUNQ_CAPACITY {
                return Err(format!("{} local runq holds {} > 256", p.id, p.runq.len()));
            }
            if let Some(g) = p.runnext {
                seen(g, "runnext")?;
            }
            for &g in &p.runq {
                seen(g, "a local runq")?;
            }
            for t in p.timers.iter() {
                if let crate::p::TimerKind::Wake(g) = t.0.kind {
                    seen(g, "a timer heap")?;
                }
            }
            if let Some(m) = p.m
                && self.ms[m.index()].p != Some(p.id)
            {
                return Err(format!(
                    "{} says it is owned by {m}, which holds {:?}",
                    p.id,
                    self.ms[m.index()].p
                ));
            }
            if p.status == PStatus::Idle && p.m.is_some() {
                return Err(format!("idle {} is owned by an M", p.id));
            }
        }
        for &g in &self.sched.runq {
            seen(g, "the global runq")?;
        }
        for wg in &self.wait_groups {
            for &g in &wg.waiters {
                seen(g, "a WaitGroup")?;
            }
        }
        // A select waits on several channels at once: count it once.
        let mut in_select = vec![false; self.gs.len()];
        for c in &self.chans {
            for s in c.recvq.iter().chain(c.sendq.iter()) {
                match s.select {
                    None => seen(s.g, "a channel queue")?,
                    Some(_) if self.sudog_live(s) && !in_select[s.g.index()] => {
                        in_select[s.g.index()] = true;
                        seen(s.g, "a select")?;
                    }
                    Some(_) => {}
                }
                if (c.buf.len() as u32) > c.capacity {
                    return Err(format!(
                        "a channel holds {} values, capacity {}",
                        c.buf.len(),
                        c.capacity
                    ));
                }
            }
        }
        for mu in self
            .mutexes
            .iter()
            .chain(self.rwmutexes.iter().map(|r| &r.w))
        {
            if mu.holders > 1 || (mu.holders == 1) != mu.locked {
                return Err(format!(
                    "a mutex has {} holders (locked={})",
                    mu.holders, mu.locked
                ));
            }
        }
        for sema in self.all_semas() {
            for &g in &sema.waiters {
                seen(g, "a semaphore")?;
            }
        }
        for std::cmp::Reverse((_, _, g)) in self.netpoll.iter() {
            seen(*g, "the netpoller")?;
        }
        if self.init.main_waiting {
            seen(self.main_g, "gcenable's channel receive")?;
        }
        if let Some(g) = self.gc_driver.worker_starter
            && self.gs[g.index()].status == GStatus::Waiting(WaitReason::ChanReceive)
        {
            seen(g, "gcBgMarkStartWorkers' wait for a worker")?;
        }
        for &(g, _) in &self.gc_driver.cycle_waiters {
            seen(g, "runtime.GC's wait for a cycle")?;
        }
        for g in self.gc.parked_assists() {
            seen(crate::gc::from_gc_key(g), "the GC assist queue")?;
        }
        for m in &self.ms {
            if let Some(g) = m.curg {
                seen(g, "an M's curg")?;
            }
            if let MState::StackScanWait { target, .. } = m.state
                && self.gs[target.index()].status == GStatus::Waiting(WaitReason::Preempted)
            {
                seen(target, "suspendG's wait to scan its stack")?;
            }
            if m.locked_handoff_by.is_some() {
                seen(
                    m.lockedg.expect("a handoff carries the locked G"),
                    "a locked handoff",
                )?;
            }
            if matches!(m.state, MState::LockedIdle | MState::Idle | MState::Exited)
                && m.p.is_some()
            {
                return Err(format!(
                    "{} is parked ({:?}) but holds {:?}",
                    m.id, m.state, m.p
                ));
            }
            if let Some(p) = m.p
                && self.ps[p.index()].m != Some(m.id)
            {
                return Err(format!(
                    "{} holds {p}, but {p} says its M is {:?}",
                    m.id,
                    self.ps[p.index()].m
                ));
            }
        }
        for (i, g) in self.gs.iter().enumerate() {
            let expected = match (g.status, g.kind) {
                (GStatus::Dead, _) => 0,
                (GStatus::Waiting(_), GKind::System { .. } | GKind::MarkWorker) => 0,
                // Blocked forever: nothing holds them.
                (
                    GStatus::Waiting(
                        WaitReason::ChanSendNilChan
                        | WaitReason::ChanReceiveNilChan
                        | WaitReason::SelectNoCases,
                    ),
                    _,
                ) => 0,
                // A select whose cases are all nil channels waits nowhere.
                (GStatus::Waiting(WaitReason::Select), _) if places[i] == 0 => 0,
                _ => 1,
            };
            // A G whose process has exited may be caught mid-flight; only check live runs.
            if self.outcome.is_none() && places[i] != expected {
                return Err(format!(
                    "{} ({:?}) is in {} places, expected {expected}",
                    g.goid, g.status, places[i]
                ));
            }
            if let GStatus::Running { m } | GStatus::Syscall { m } = g.status
                && self.ms[m.index()].curg != Some(GIdx(i as u32))
            {
                return Err(format!(
                    "{} says it runs on {m}, which runs {:?}",
                    g.goid,
                    self.ms[m.index()].curg
                ));
            }
        }
        let queued = !self.sched.runq.is_empty() || self.ps.iter().any(|p| !p.runq_empty());
        let starting = self.ms.iter().any(|m| m.state == MState::Starting);
        if self.outcome.is_none()
            && queued
            && !self.sched.pidle.is_empty()
            && self.sched.nmspinning == 0
            && !starting
        {
            return Err(format!(
                "lost wake-up: runnable Gs are queued while {} P(s) are idle and no M spins or is starting",
                self.sched.pidle.len()
            ));
        }
        Ok(())
    }
}
