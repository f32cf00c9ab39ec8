//! Sentences for the "why" panel and a goroutine's history.
//!
//! A `Decision` already carries its reason (`source`) and the trail of
//! sources `findRunnable` checked and skipped first; this module only says
//! them as one sentence, in findRunnable's order ("P1 found its local queue
//! empty, checked the global queue (empty), stole 4 Gs from P3 in round 2 and
//! ran G7"). The trace's own text (`Display`) is shown beside it, so the
//! sentence never hides what the model recorded.

use sim_core::ids::{Goid, PId};
use sim_core::time::format_duration_ns;
use sim_core::trace::{Decision, PickSource, TraceEvent, TrailStep};

/// The trail step as a clause of the sentence.
fn trail_clause(step: &TrailStep) -> String {
    match step {
        TrailStep::OwnTimers { fired } => format!("ran its own timers ({fired} fired)"),
        TrailStep::FairnessNotDue {
            schedtick,
            global_len,
        } => {
            if schedtick % 61 == 0 {
                format!(
                    "skipped the fairness check (schedtick {schedtick}, but the global queue was empty)"
                )
            } else {
                format!(
                    "skipped the fairness check (schedtick {schedtick} is not a multiple of 61; global queue {global_len})"
                )
            }
        }
        TrailStep::LocalEmpty => "found its local queue empty".to_string(),
        TrailStep::GlobalEmpty => "checked the global queue (empty)".to_string(),
        TrailStep::StealCapped {
            nmspinning,
            busy_ps,
        } => format!(
            "did not steal ({nmspinning} spinning Ms already, at least half of the {busy_ps} busy Ps)"
        ),
        TrailStep::NetpollNothingReady { waiters } => {
            format!("polled the network (none of {waiters} waiters ready)")
        }
        TrailStep::StealRoundEmpty { round, victims } => {
            format!("found nothing to steal in round {round} ({victims} Ps tried)")
        }
    }
}

/// Where the G came from, as the sentence's last clause.
fn source_clause(source: &PickSource, g: Goid) -> String {
    match source {
        PickSource::GlobalFairness { schedtick } => format!(
            "took {g} from the global queue first, because schedtick {schedtick} is a multiple of 61 (the fairness check)"
        ),
        PickSource::Runnext => {
            format!("ran {g} from its runnext slot (it inherits the time slice)")
        }
        PickSource::LocalRunq => format!("ran {g} from the head of its local queue"),
        PickSource::GlobalBatch { queued } => {
            format!("took a batch from the global queue: ran {g} and queued {queued} more locally")
        }
        PickSource::Steal {
            victim,
            round,
            taken,
            runnext: false,
        } => format!(
            "stole {taken} G{} from {victim} in round {round} (half of its queue) and ran {g}",
            if *taken == 1 { "" } else { "s" }
        ),
        PickSource::Steal {
            victim,
            round,
            runnext: true,
            ..
        } => format!("stole {victim}'s runnext G in round {round} and ran {g}"),
        PickSource::StolenTimer { victim } => format!(
            "ran {victim}'s expired timers in the last steal round, which readied {g} into its runnext"
        ),
        PickSource::IdleRecheck => {
            format!("re-checked the queues after dropping its P, found {g} and took a P back")
        }
        PickSource::Netpoll => {
            format!("polled the network without blocking: {g}'s data had arrived")
        }
        PickSource::NetpollBlocked => {
            format!("returned from a blocking netpoll with {g}'s data and took an idle P")
        }
        PickSource::LockedG { handed_by } => format!(
            "was handed its locked {g} and a P by {handed_by} (LockOSThread: only this M may run it)"
        ),
        PickSource::GcWorker { mode } => {
            format!("ran mark worker {g} ({mode}): the pacer wants 25% of the Ps marking")
        }
        PickSource::GcIdleWorker => {
            format!("had nothing else to run, so it ran idle mark worker {g} instead of going idle")
        }
    }
}

/// The "why" sentence of the decision a `GoStart` on `p` recorded: the
/// trail in the order findRunnable went, then where the G came from.
pub fn decision_sentence(p: PId, decision: &Decision) -> String {
    let trail: Vec<String> = decision.trail.iter().map(trail_clause).collect();
    let source = source_clause(&decision.source, decision.g);
    if trail.is_empty() {
        format!("{p} {source}.")
    } else {
        format!("{p} {}, then {source}.", trail.join(", "))
    }
}

/// How trace event `event` concerns goroutine `g`, for its history; `None`
/// when it does not.
pub fn history_entry(event: &TraceEvent, g: Goid) -> Option<String> {
    let text = match event {
        TraceEvent::GoCreate {
            g: created,
            parent,
            placement,
            ..
        } if *created == g => format!("created by {parent}, put in {placement}"),
        TraceEvent::GoCreate {
            g: created, parent, ..
        } if *parent == g => format!("created {created}"),
        TraceEvent::GoStart { p, m, decision } if decision.g == g => {
            format!("ran on {p}/{m}: {}", decision.source)
        }
        TraceEvent::GoStop { g: x, p, reason } if *x == g => format!("stopped on {p}: {reason}"),
        TraceEvent::GoBlock { g: x, p, reason } if *x == g => format!("parked on {reason} ({p})"),
        TraceEvent::GoUnblock {
            g: x,
            reason,
            placement,
            waker,
            ..
        } if *x == g => match waker {
            Some(w) => format!("woken by {w} from {reason}, put in {placement}"),
            None => format!("woken from {reason}, put in {placement}"),
        },
        TraceEvent::GoUnblock {
            g: x,
            waker: Some(w),
            reason,
            ..
        } if *w == g => format!("woke {x} from {reason}"),
        TraceEvent::GoDestroy { g: x, p } if *x == g => format!("exited on {p}"),
        TraceEvent::GoSyscallBegin { g: x, p, m } if *x == g => {
            format!("entered a system call on {p}/{m}")
        }
        TraceEvent::GoSyscallEnd { g: x, m, exit } if *x == g => match exit {
            sim_core::trace::SyscallExit::KeptP { p } => {
                format!("returned from the system call on {m}, kept {p}")
            }
            sim_core::trace::SyscallExit::IdleP { p } => {
                format!("returned from the system call on {m}; its P was retaken, took idle {p}")
            }
            sim_core::trace::SyscallExit::NoP => {
                format!("returned from the system call on {m}; no P free, went to the global queue")
            }
        },
        TraceEvent::PreemptRequest {
            g: x,
            p,
            slice_ns,
            asynchronous,
        } if *x == g => format!(
            "asked to stop by sysmon on {p} after {} ({})",
            format_duration_ns(*slice_ns),
            if *asynchronous {
                "SIGURG"
            } else {
                "cooperative only"
            }
        ),
        TraceEvent::GcAssist { g: x, work_bytes } if *x == g => {
            format!("assisted the GC: {work_bytes} B of mark work before allocating")
        }
        TraceEvent::StopBeforeTriggerTest { g: x } if *x == g => "stopped inside a mallocgc that took a new span: it tests the heap trigger when it runs again".to_string(),
        TraceEvent::GcStart { g: x, cycle, .. } if *x == g => format!("started GC cycle {cycle}"),
        TraceEvent::MLockedPark { g: x, m } if *x == g => {
            format!("its locked thread {m} parked, waiting for it")
        }
        TraceEvent::MLockedHandoff { g: x, from, to, p } if *x == g => {
            format!("{from} handed {p} to its locked thread {to}")
        }
        TraceEvent::MExit { g: x, m } if *x == g => {
            format!("exited while locked to {m}, so the thread exited")
        }
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steal_after_empty_queues_reads_as_one_sentence() {
        let decision = Decision {
            source: PickSource::Steal {
                victim: PId(3),
                round: 2,
                taken: 4,
                runnext: false,
            },
            g: Goid(7),
            inherit_time: false,
            trail: vec![
                TrailStep::LocalEmpty,
                TrailStep::GlobalEmpty,
                TrailStep::StealRoundEmpty {
                    round: 1,
                    victims: 3,
                },
            ],
        };
        assert_eq!(
            decision_sentence(PId(1), &decision),
            "P1 found its local queue empty, checked the global queue (empty), found nothing \
             to steal in round 1 (3 Ps tried), then stole 4 Gs from P3 in round 2 (half of its \
             queue) and ran G7."
        );
    }

    #[test]
    fn a_history_names_the_waker() {
        let event = TraceEvent::GoUnblock {
            g: Goid(9),
            reason: sim_core::trace::WaitReason::ChanReceive,
            placement: sim_core::trace::Placement::Runnext {
                p: PId(2),
                kicked: None,
            },
            late_ns: None,
            waker: Some(Goid(7)),
        };
        assert_eq!(
            history_entry(&event, Goid(9)).as_deref(),
            Some("woken by G7 from chan receive, put in P2 runnext")
        );
        assert_eq!(
            history_entry(&event, Goid(7)).as_deref(),
            Some("woke G9 from chan receive")
        );
        assert_eq!(history_entry(&event, Goid(8)), None);
    }
}
