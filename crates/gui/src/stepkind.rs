//! The kinds of event "Step to next" can stop at.

use sim_core::trace::{PickSource, StopReason, TraceEvent};

/// What "Step to next" looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Any scheduling decision (`GoStart`).
    Decision,
    /// A decision that stole work from another P.
    Steal,
    /// A decision that took from the global queue (batch or fairness check).
    GlobalQueue,
    /// A mark worker started.
    GcWorker,
    /// sysmon preempted a G (the request or the stop).
    Preemption,
    /// A G parked.
    Park,
    /// A system call began, or sysmon retook a P from one.
    Syscall,
    /// A GC cycle started.
    GcStart,
    /// A stop-the-world began.
    StopTheWorld,
    /// A GC cycle finished.
    GcDone,
}

impl StepKind {
    pub const ALL: [StepKind; 10] = [
        StepKind::Decision,
        StepKind::Steal,
        StepKind::GlobalQueue,
        StepKind::GcWorker,
        StepKind::Preemption,
        StepKind::Park,
        StepKind::Syscall,
        StepKind::GcStart,
        StepKind::StopTheWorld,
        StepKind::GcDone,
    ];

    /// Its name in the menu and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Decision => "decision",
            StepKind::Steal => "steal",
            StepKind::GlobalQueue => "global runq",
            StepKind::GcWorker => "GC worker",
            StepKind::Preemption => "preemption",
            StepKind::Park => "park",
            StepKind::Syscall => "syscall",
            StepKind::GcStart => "GC start",
            StepKind::StopTheWorld => "stop the world",
            StepKind::GcDone => "GC done",
        }
    }

    /// The kind called `name` (as [`StepKind::name`] prints it, or with
    /// dashes for spaces).
    pub fn from_name(name: &str) -> Option<StepKind> {
        let name = name.replace('-', " ");
        StepKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(&name))
    }

    /// Whether `event` is one of this kind.
    pub fn matches(self, event: &TraceEvent) -> bool {
        match (self, event) {
            (StepKind::Decision, TraceEvent::GoStart { .. }) => true,
            (StepKind::Steal, TraceEvent::GoStart { decision, .. }) => matches!(
                decision.source,
                PickSource::Steal { .. } | PickSource::StolenTimer { .. }
            ),
            (StepKind::GlobalQueue, TraceEvent::GoStart { decision, .. }) => matches!(
                decision.source,
                PickSource::GlobalBatch { .. } | PickSource::GlobalFairness { .. }
            ),
            (StepKind::GcWorker, TraceEvent::GoStart { decision, .. }) => matches!(
                decision.source,
                PickSource::GcWorker { .. } | PickSource::GcIdleWorker
            ),
            (StepKind::Preemption, TraceEvent::PreemptRequest { .. }) => true,
            (
                StepKind::Preemption,
                TraceEvent::GoStop {
                    reason: StopReason::Preempted { .. },
                    ..
                },
            ) => true,
            (StepKind::Park, TraceEvent::GoBlock { .. }) => true,
            (
                StepKind::Syscall,
                TraceEvent::GoSyscallBegin { .. } | TraceEvent::ProcSteal { .. },
            ) => true,
            (StepKind::GcStart, TraceEvent::GcStart { .. }) => true,
            (StepKind::StopTheWorld, TraceEvent::StwStart { .. }) => true,
            (StepKind::GcDone, TraceEvent::GcDone { .. }) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name_with_dashes_or_spaces() {
        for kind in StepKind::ALL {
            assert_eq!(StepKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                StepKind::from_name(&kind.name().replace(' ', "-")),
                Some(kind)
            );
        }
        assert_eq!(StepKind::from_name("nonsense"), None);
    }
}
