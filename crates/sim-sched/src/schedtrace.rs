//! `GODEBUG=schedtrace=N[,scheddetail=1]` output in go1.27.3's exact format
//! (proc.go `schedtrace`). Printed by sysmon, so lines appear at sysmon's
//! cadence: with sysmon backed off to 10 ms sleeps, `schedtrace=1` prints
//! about every 10 ms, as real Go does.
//!
//! `gcwaiting` and `stopwait` come from the stop-the-world in progress, if
//! any. Fields the model does not have print Go's idle values: for Ms
//! `mallocing=0 throwing=0 preemptoff= locks=0 dying=0` (Go's own `locks`
//! counts for runtime-internal threads are not modelled).
//!
//! sysmon writes a report while holding `sched.lock`, and the runtime's
//! `print` makes one `write(2)` to stderr per argument (no buffering): a
//! one-line report on 2 Ps is 28 writes, about 14 µs. `schedtrace_writes`
//! counts them, so sysmon can hold the lock that long (see `sched_lock`).

use crate::g::GStatus;
use crate::m::MState;
use crate::world::World;
use std::fmt::Write;

impl World {
    /// How many `write(2)` calls the report `schedtrace(detailed)` prints
    /// now takes: one per argument of each of proc.go's `print` calls, an
    /// empty string argument (no wait reason, `preemptoff`) writing nothing.
    pub(crate) fn schedtrace_writes(&self, detailed: bool) -> u64 {
        let ps = self.ps.len() as u64;
        if !detailed {
            // The header's 16 arguments; per P " " and its length, with
            // "[ " and " ]" around them; " schedticks=[ ", per P the tick
            // and " ", and "]\n".
            return 16 + 2 * ps + 2 + 1 + 2 * ps + 1;
        }
        // Header and the detailed header's 9; per P 17; per M 22.
        let ms = self.ms.iter().filter(|m| m.state != MState::Exited).count() as u64;
        let gs: u64 = self
            .gs
            .iter()
            .filter(|g| g.goid.0 != 0)
            .map(|g| {
                if g.last_wait_reason.as_go_str().is_empty() {
                    10
                } else {
                    11
                }
            })
            .sum();
        16 + 9 + 17 * ps + 22 * ms + gs
    }

    /// One schedtrace report (one line, or the detailed block), newline-terminated.
    pub fn schedtrace(&mut self, detailed: bool) -> String {
        let now = self.now_ns;
        let start = *self.sysmon.starttime_ns.get_or_insert(now);
        let mut out = String::new();
        let idle_threads = self.sched.midle.len();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={}",
            (now - start) / 1_000_000,
            self.gomaxprocs(),
            self.npidle(),
            self.mcount(),
            self.sched.nmspinning,
            u8::from(self.sched.needspinning),
            idle_threads,
            self.sched.runq.len()
        );
        if detailed {
            let stw = self.gc_driver.stw.as_ref();
            let _ = writeln!(
                out,
                " gcwaiting={} nmidlelocked={} stopwait={} sysmonwait={}",
                stw.is_some(),
                self.sched.nmidlelocked,
                stw.map_or(0, |s| s.remaining),
                self.sysmon.deep_sleep
            );
            for p in &self.ps {
                let _ = writeln!(
                    out,
                    "  P{}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} timerslen={}",
                    p.id.0,
                    p.status.go_code(),
                    p.schedtick,
                    p.syscalltick,
                    p.m.map_or("nil".to_string(), |m| m.0.to_string()),
                    p.runq_len(),
                    p.gfree.len(),
                    p.timers.len()
                );
            }
            // allm is a list with the newest M first.
            for m in self.ms.iter().rev().filter(|m| m.state != MState::Exited) {
                let _ = writeln!(
                    out,
                    "  M{}: p={} curg={} mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning={} blocked={} lockedg={}",
                    m.id.0,
                    m.p.map_or("nil".to_string(), |p| p.0.to_string()),
                    m.curg
                        .map_or("nil".to_string(), |g| self.gs[g.index()].goid.0.to_string()),
                    m.spinning,
                    matches!(m.state, MState::Idle | MState::LockedIdle),
                    m.lockedg
                        .map_or("nil".to_string(), |g| self.gs[g.index()].goid.0.to_string())
                );
            }
            // allgs, in the order the g structs were allocated.
            for g in self.gs.iter().filter(|g| g.goid.0 != 0) {
                let m = match g.status {
                    GStatus::Running { m } | GStatus::Syscall { m } => m.0.to_string(),
                    _ => "nil".to_string(),
                };
                let _ = writeln!(
                    out,
                    "  G{}: status={}({}) m={} lockedm={}",
                    g.goid.0,
                    g.status.go_code(),
                    g.last_wait_reason,
                    m,
                    g.lockedm().map_or("nil".to_string(), |m| m.0.to_string())
                );
            }
        } else {
            let last = self.ps.len() - 1;
            for (i, p) in self.ps.iter().enumerate() {
                out.push(' ');
                if i == 0 {
                    out.push_str("[ ");
                }
                let _ = write!(out, "{}", p.runq_len());
                if i == last {
                    out.push_str(" ]");
                }
            }
            out.push_str(" schedticks=[ ");
            for p in &self.ps {
                let _ = write!(out, "{} ", p.schedtick);
            }
            out.push_str("]\n");
        }
        out
    }
}
