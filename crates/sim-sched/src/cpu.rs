//! The machine's CPUs (the kernel's part of running a Go program).
//!
//! Go's Ps are not CPUs: with GOMAXPROCS above the number of CPUs, more
//! threads want to run than there are CPUs, and the kernel shares them. The
//! model treats a goroutine's compute step as CPU work: while at most `ncpu`
//! Ms compute, each proceeds at full speed; when `d > ncpu` do, each
//! proceeds at `ncpu / d` of full speed (processor sharing, the fluid limit
//! of Linux CFS time slices). Whenever an M starts or stops computing while
//! the CPUs are oversubscribed (before or after the change), every computing
//! M's remaining work is brought up to date and its end time recomputed;
//! while every computing M has a CPU of its own, the others' end times do not
//! move and only the M that starts is scheduled.
//!
//! Interruptions: a CPU running a compute loop is taken from it now and
//! then (timer ticks, device interrupts, the hypervisor running another
//! guest), so a compute step lasts its duration plus the interruptions that
//! fall into it (`World::compute_duration_ns` in exec.rs, from the cost
//! model's rate and length quantiles). They are added when the step starts,
//! as more work for its M; the rest of this file treats them as any other
//! compute.
//!
//! TLB shootdowns: when an M changes the page tables in a way other CPUs
//! must hear of (`madvise`, a copy on write), each other computing M loses
//! the time its CPU spends on the interrupt, and the M pays for waiting on
//! them ([`World::tlb_shootdowns`]).
//!
//! Simplifications: only compute steps are CPU work; the scheduler's own
//! costs (context switches, steals, parks) and sysmon run at full speed; no
//! CPU affinity or time-slice granularity is modelled. Linux often queues a
//! woken thread on its waker's CPU even while another CPU is idle, where the
//! two take turns (measured with `perf sched`: ARCHITECTURE.md, "CPUs"); the
//! model gives a woken M a CPU of its own. A shootdown's cost
//! does not grow with the number of CPUs interrupted, and an M that computes
//! only briefly (a `go` statement, a spinning M's search) is not counted as
//! running there; the interrupts are spread evenly over the initiator's
//! work, the number of CPUs interrupted is fixed when it starts, and an M
//! that starts computing during it is slowed as if it ran from then to the
//! end at the same rate (its CPU share changing under oversubscription is
//! not taken into account).

use crate::world::World;
use sim_core::ids::MId;

/// One M's batch of work whose TLB shootdowns interrupt the CPUs of the
/// other computing Ms while it lasts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlbStorm {
    pub initiator: MId,
    pub until_ns: u64,
    pub span_ns: u64,
    /// What an M computing through the whole batch loses.
    pub lost_ns: u64,
}

impl TlbStorm {
    /// How much longer `work_ns` of compute from `now_ns` on takes: the M
    /// computes at the rate `(span - lost) / span` until the batch ends.
    fn loss_ns(&self, work_ns: u64, now_ns: u64) -> u64 {
        let left_ns = self.until_ns.saturating_sub(now_ns);
        if left_ns == 0 {
            return 0;
        }
        let lost_left_ns =
            u128::from(self.lost_ns) * u128::from(left_ns) / u128::from(self.span_ns);
        if self.span_ns <= self.lost_ns {
            return lost_left_ns as u64;
        }
        let within_ns = u128::from(work_ns) * u128::from(self.lost_ns)
            / u128::from(self.span_ns - self.lost_ns);
        within_ns.min(lost_left_ns) as u64
    }
}

impl World {
    /// This moment's share of a CPU per computing M, as `num / den`.
    fn cpu_share(&self) -> (u64, u64) {
        let computing = self.computing.len() as u64;
        let ncpu = u64::from(self.config.runtime.ncpu.max(1));
        if computing <= ncpu {
            (1, 1)
        } else {
            (ncpu, computing)
        }
    }

    /// Charges every computing M for the work it did since its last update.
    ///
    /// While every computing M has a CPU, an M's work left is only brought
    /// up to date when that M starts or stops: at full speed the work done
    /// is the time elapsed, and one subtraction over a long interval equals
    /// several over its parts. Once the CPUs are oversubscribed, the shares'
    /// rounding makes every change of share a settlement point for all.
    fn settle_computing(&mut self) {
        let (num, den) = self.cpu_share();
        for i in 0..self.computing.len() {
            self.settle_one(self.computing[i], num, den);
        }
    }

    /// Charges computing M `m` for its work since its last update, at the
    /// share `num / den`.
    fn settle_one(&mut self, m: MId, num: u64, den: u64) {
        let now = self.now_ns;
        let mm = &mut self.ms[m.index()];
        let elapsed_ns = now - mm.compute_since_ns;
        let done = if num == den {
            elapsed_ns
        } else {
            (u128::from(elapsed_ns) * u128::from(num) / u128::from(den)) as u64
        };
        mm.compute_work_left_ns = mm.compute_work_left_ns.saturating_sub(done);
        mm.compute_since_ns = now;
    }

    /// Schedules M `m`'s compute end (or its pending preemption, if sooner)
    /// at the share `num / den`.
    fn schedule_compute_end(&mut self, m: MId, num: u64, den: u64) {
        let now = self.now_ns;
        let mm = &mut self.ms[m.index()];
        let wall_ns = if num == den {
            mm.compute_work_left_ns
        } else {
            (u128::from(mm.compute_work_left_ns) * u128::from(den)).div_ceil(u128::from(num)) as u64
        };
        mm.segment_end_ns = now + wall_ns;
        let at = mm
            .interrupt_at_ns
            .map_or(mm.segment_end_ns, |i| i.min(mm.segment_end_ns));
        self.schedule_m(m, at);
    }

    /// Recomputes every computing M's end time at the current share and
    /// reschedules its event (or its pending preemption, if that is sooner).
    fn reschedule_computing(&mut self) {
        let (num, den) = self.cpu_share();
        for i in 0..self.computing.len() {
            self.schedule_compute_end(self.computing[i], num, den);
        }
    }

    /// Whether more Ms compute than there are CPUs.
    fn oversubscribed(&self) -> bool {
        let (num, den) = self.cpu_share();
        num != den
    }

    /// M `m` starts `work_ns` of compute.
    pub(crate) fn compute_start(&mut self, m: MId, work_ns: u64) {
        let work_ns = work_ns + self.tlb_storm_loss_ns(m, work_ns);
        let ncpu = u64::from(self.config.runtime.ncpu.max(1));
        if self.oversubscribed() || self.computing.len() as u64 + 1 > ncpu {
            self.settle_computing();
        }
        debug_assert!(!self.computing.contains(&m), "{m} is already computing");
        self.computing.push(m);
        let mm = &mut self.ms[m.index()];
        mm.compute_work_left_ns = work_ns;
        mm.compute_since_ns = self.now_ns;
        mm.interrupt_at_ns = None;
        if self.oversubscribed() {
            self.reschedule_computing();
        } else {
            // Everyone already had a CPU and still has: only m's end is new.
            self.schedule_compute_end(m, 1, 1);
        }
    }

    /// M `m`'s compute ends now, finished or interrupted; returns the work
    /// it had left.
    pub(crate) fn compute_stop(&mut self, m: MId) -> u64 {
        if self.oversubscribed() {
            self.settle_computing();
        } else {
            self.settle_one(m, 1, 1);
        }
        let at = self
            .computing
            .iter()
            .position(|&c| c == m)
            .expect("the M was computing");
        let was_oversubscribed = self.oversubscribed();
        self.computing.remove(at);
        let mm = &mut self.ms[m.index()];
        mm.interrupt_at_ns = None;
        let left = if self.now_ns >= mm.segment_end_ns {
            0
        } else {
            mm.compute_work_left_ns
        };
        if was_oversubscribed {
            // The others' share grows: their ends come sooner.
            self.reschedule_computing();
        }
        left
    }

    /// M `m` is about to run `own_ns` of work during which it changes the
    /// process's page tables `flushes` times in ways that other CPUs must
    /// hear of (TLB shootdowns); returns how much longer that work takes `m`,
    /// waiting for them. Only CPUs running another thread of the process are
    /// interrupted: the other computing Ms, at most `ncpu - 1` of them at a
    /// time (when more Ms compute than the other CPUs hold, they share the
    /// loss). The interrupts are spread over `m`'s work: each M computing
    /// during it, now or from a later start, loses its overlap's share of
    /// `tlb_shootdown_received_ns` per flush.
    pub(crate) fn tlb_shootdowns(&mut self, m: MId, flushes: u64, own_ns: u64) -> u64 {
        let ncpu = u64::from(self.config.runtime.ncpu.max(1));
        let others = self.computing.iter().filter(|&&o| o != m).count() as u64;
        if flushes == 0 || others == 0 || ncpu < 2 {
            return 0;
        }
        self.stats.tlb_shootdowns += flushes;
        let cost = &self.config.cost;
        let interrupted = others.min(ncpu - 1);
        let initiator_ns = flushes * cost.tlb_shootdown_ns;
        let storm = TlbStorm {
            initiator: m,
            until_ns: self.now_ns + own_ns + initiator_ns,
            span_ns: own_ns + initiator_ns,
            lost_ns: flushes * cost.tlb_shootdown_received_ns * interrupted / others,
        };
        // Expired storms are dropped when the next compute starts.
        self.tlb_storms.push(storm);
        let (num, den) = self.cpu_share();
        for i in 0..self.computing.len() {
            let o = self.computing[i];
            if o == m {
                continue;
            }
            self.settle_one(o, num, den);
            let work_left_ns = self.ms[o.index()].compute_work_left_ns;
            self.ms[o.index()].compute_work_left_ns += storm.loss_ns(work_left_ns, self.now_ns);
            self.schedule_compute_end(o, num, den);
        }
        initiator_ns
    }

    /// How much longer `work_ns` of compute that M `m` starts now takes
    /// because of other Ms' shootdowns under way.
    fn tlb_storm_loss_ns(&mut self, m: MId, work_ns: u64) -> u64 {
        let now = self.now_ns;
        self.tlb_storms.retain(|s| s.until_ns > now);
        self.tlb_storms
            .iter()
            .filter(|s| s.initiator != m)
            .map(|s| s.loss_ns(work_ns, now))
            .sum()
    }

    /// A preemption request will stop M `m`'s compute at `at_ns` if it has not
    /// ended by then.
    pub(crate) fn compute_interrupt_at(&mut self, m: MId, at_ns: u64) {
        if !self.computing.contains(&m) {
            return;
        }
        let mm = &mut self.ms[m.index()];
        if at_ns < mm.segment_end_ns && mm.interrupt_at_ns.is_none_or(|i| at_ns < i) {
            mm.interrupt_at_ns = Some(at_ns);
            self.schedule_m(m, at_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TlbStorm;
    use sim_core::ids::MId;

    /// A batch from 0 to 100 µs that costs an M computing through it 25 µs.
    const STORM: TlbStorm = TlbStorm {
        initiator: MId(0),
        until_ns: 100_000,
        span_ns: 100_000,
        lost_ns: 25_000,
    };

    #[test]
    fn compute_inside_the_storm_runs_at_the_reduced_rate() {
        // 30 µs of work at 75% speed takes 40 µs: 10 µs longer.
        assert_eq!(STORM.loss_ns(30_000, 0), 10_000);
        // Starting halfway, the same work still ends inside the storm.
        assert_eq!(STORM.loss_ns(30_000, 50_000), 10_000);
    }

    #[test]
    fn compute_that_outlasts_the_storm_loses_only_what_is_left_of_it() {
        assert_eq!(STORM.loss_ns(1_000_000, 0), 25_000);
        assert_eq!(STORM.loss_ns(1_000_000, 60_000), 10_000);
        assert_eq!(STORM.loss_ns(1_000_000, 100_000), 0);
    }
}
