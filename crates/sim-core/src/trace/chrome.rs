//! Chrome trace-event JSON (the format Perfetto and chrome://tracing open).
//!
//! One process "Ps" with a track per P and one process "Ms" with a track per
//! M. A G's run is a complete ("X") slice from its GoStart until it stops,
//! parks, enters a syscall or exits; a syscall is a slice on its M's track.
//! Steals, preemption requests, spills and hand-offs are instant events.
//! Times are microseconds, as the format requires.

use super::{PickSource, TraceEvent, TraceRecord};
use serde_json::{Value, json};

const PID_PS: u32 = 1;
const PID_MS: u32 = 2;

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn slice(pid: u32, tid: u32, name: String, start_ns: u64, end_ns: u64, args: Value) -> Value {
    json!({"ph": "X", "pid": pid, "tid": tid, "name": name, "ts": us(start_ns),
           "dur": us(end_ns.saturating_sub(start_ns)), "args": args})
}

fn instant(pid: u32, tid: u32, name: String, at_ns: u64, why: String) -> Value {
    json!({"ph": "i", "s": "t", "pid": pid, "tid": tid, "name": name, "ts": us(at_ns),
           "args": {"why": why}})
}

/// An open G slice: which G runs on which P/M since when, and why it was picked.
struct Open {
    goid: u64,
    m: u32,
    start_ns: u64,
    why: String,
}

/// Renders trace records as Chrome trace-event JSON. `end_ns` closes slices
/// still open when the run ended.
pub fn chrome_trace_json(records: &[TraceRecord], end_ns: u64) -> String {
    let mut events: Vec<Value> = Vec::new();
    let mut max_p = 0u32;
    let mut max_m = 0u32;
    // Open G slice per P (indexed by P id); open syscall per M.
    let mut open_p: Vec<Option<Open>> = Vec::new();
    let mut open_syscall: Vec<Option<(u64, u64)>> = Vec::new();
    let close = |open_p: &mut Vec<Option<Open>>,
                 events: &mut Vec<Value>,
                 p: u32,
                 at_ns: u64,
                 how: String| {
        if let Some(Some(o)) = open_p.get_mut(p as usize).map(Option::take) {
            let args = json!({"picked": o.why, "ended": how});
            events.push(slice(
                PID_PS,
                p,
                format!("G{}", o.goid),
                o.start_ns,
                at_ns,
                args.clone(),
            ));
            events.push(slice(
                PID_MS,
                o.m,
                format!("G{} on P{}", o.goid, p),
                o.start_ns,
                at_ns,
                args,
            ));
        }
    };
    for r in records {
        let t = r.at_ns;
        match &r.event {
            TraceEvent::GoStart { p, m, decision } => {
                max_p = max_p.max(p.0);
                max_m = max_m.max(m.0);
                if open_p.len() <= p.index() {
                    open_p.resize_with(p.index() + 1, || None);
                }
                close(&mut open_p, &mut events, p.0, t, "descheduled".into());
                open_p[p.index()] = Some(Open {
                    goid: decision.g.0,
                    m: m.0,
                    start_ns: t,
                    why: decision.to_string(),
                });
                if let PickSource::Steal { victim, .. } = decision.source {
                    events.push(instant(
                        PID_PS,
                        p.0,
                        format!("steal from {victim}"),
                        t,
                        decision.source.to_string(),
                    ));
                }
            }
            TraceEvent::GoStop { p, reason, .. } => {
                close(&mut open_p, &mut events, p.0, t, reason.to_string())
            }
            TraceEvent::GoBlock { p, reason, .. } => close(
                &mut open_p,
                &mut events,
                p.0,
                t,
                format!("parked: {reason}"),
            ),
            TraceEvent::GoDestroy { p, .. } => {
                close(&mut open_p, &mut events, p.0, t, "exited".into())
            }
            TraceEvent::GoSyscallBegin { g, p, m } => {
                close(&mut open_p, &mut events, p.0, t, "entered a syscall".into());
                max_m = max_m.max(m.0);
                if open_syscall.len() <= m.index() {
                    open_syscall.resize(m.index() + 1, None);
                }
                open_syscall[m.index()] = Some((g.0, t));
            }
            TraceEvent::GoSyscallEnd { m, .. } => {
                if let Some(Some((goid, start))) = open_syscall.get_mut(m.index()).map(Option::take)
                {
                    events.push(slice(
                        PID_MS,
                        m.0,
                        format!("syscall G{goid}"),
                        start,
                        t,
                        json!({}),
                    ));
                }
            }
            TraceEvent::ProcSteal { p, .. }
            | TraceEvent::RunqSpill { p, .. }
            | TraceEvent::PreemptRequest { p, .. }
            | TraceEvent::GcStackSuspend { p, .. } => {
                events.push(instant(
                    PID_PS,
                    p.0,
                    event_name(&r.event),
                    t,
                    r.event.to_string(),
                ));
            }
            TraceEvent::MCreate { m, .. }
            | TraceEvent::MPark { m }
            | TraceEvent::MSchedLockWait { m, .. }
            | TraceEvent::MCpuQueued { m, .. }
            | TraceEvent::MCpuGranted { m, .. }
            | TraceEvent::NetpollBlock { m, .. }
            | TraceEvent::MLockedPark { m, .. }
            | TraceEvent::MExit { m, .. }
            | TraceEvent::MLockedHandoff { from: m, .. }
            | TraceEvent::StwStart { m, .. } => {
                max_m = max_m.max(m.0);
                events.push(instant(
                    PID_MS,
                    m.0,
                    event_name(&r.event),
                    t,
                    r.event.to_string(),
                ));
            }
            _ => {}
        }
    }
    for p in 0..open_p.len() as u32 {
        close(
            &mut open_p,
            &mut events,
            p,
            end_ns,
            "still running at the end".into(),
        );
    }
    let mut meta = vec![
        json!({"ph": "M", "pid": PID_PS, "name": "process_name", "args": {"name": "Ps"}}),
        json!({"ph": "M", "pid": PID_MS, "name": "process_name", "args": {"name": "Ms"}}),
    ];
    for p in 0..=max_p {
        meta.push(json!({"ph": "M", "pid": PID_PS, "tid": p, "name": "thread_name", "args": {"name": format!("P{p}")}}));
    }
    for m in 0..=max_m {
        meta.push(json!({"ph": "M", "pid": PID_MS, "tid": m, "name": "thread_name", "args": {"name": format!("M{m}")}}));
    }
    meta.extend(events);
    json!({"traceEvents": meta, "displayTimeUnit": "ns"}).to_string()
}

fn event_name(event: &TraceEvent) -> String {
    let text = event.to_string();
    text.split_whitespace()
        .next()
        .unwrap_or("event")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Goid, MId, PId};
    use crate::trace::{Decision, StopReason};

    #[test]
    fn a_run_becomes_one_slice_per_p_and_per_m() {
        let records = vec![
            TraceRecord {
                at_ns: 1_000,
                event: TraceEvent::GoStart {
                    p: PId(1),
                    m: MId(2),
                    decision: Decision {
                        source: PickSource::Runnext,
                        g: Goid(7),
                        inherit_time: true,
                        trail: vec![],
                    },
                },
            },
            TraceRecord {
                at_ns: 5_000,
                event: TraceEvent::GoStop {
                    g: Goid(7),
                    p: PId(1),
                    reason: StopReason::Gosched,
                },
            },
        ];
        let v: Value = serde_json::from_str(&chrome_trace_json(&records, 9_000)).unwrap();
        let slices: Vec<&Value> = v["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .collect();
        assert_eq!(slices.len(), 2);
        assert_eq!(slices[0]["name"], "G7");
        assert_eq!(slices[0]["tid"], 1);
        assert_eq!(slices[0]["ts"], 1.0);
        assert_eq!(slices[0]["dur"], 4.0);
        assert_eq!(slices[1]["pid"], PID_MS);
        assert_eq!(slices[1]["tid"], 2);
    }
}
