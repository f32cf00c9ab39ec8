//! Reading `GODEBUG=schedtrace=N` lines: the real runtime's and the model's.
//!
//! go1.27.3's sysmon prints one report every N ms (proc.go `schedtrace`),
//! and sim-sched prints the same bytes for the model (`World::schedtrace`):
//!
//! ```text
//! SCHED 12ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=3 [ 1 0 ] schedticks=[ 14 9 ]
//! ```
//!
//! that is: the time since the scheduler started in whole ms; GOMAXPROCS; the
//! idle Ps; the Ms (threads) created; the spinning Ms; whether a spinning M
//! is wanted; the idle Ms; the global run queue's length; then each P's local
//! run queue length and each P's `schedtick`. With `scheddetail=1` the line
//! ends instead with ` gcwaiting=B nmidlelocked=N stopwait=N sysmonwait=B`
//! and is followed by one indented line per P, M and G; those lines are
//! skipped here (they start with two spaces, not `SCHED `).
//!
//! [`parse_schedtrace_line`] reads one `SCHED` line into a
//! [`SchedtraceLine`]; [`parse_schedtrace`] finds every such line in a
//! process's stderr.

use crate::traceline::{Cursor, TraceLineError, parse_lines};

/// One `SCHED` line's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedtraceLine {
    /// `SCHED Tms`: whole milliseconds since the scheduler started.
    pub at_ms: u64,
    pub gomaxprocs: u64,
    /// `idleprocs`: Ps on the idle list.
    pub idle_procs: u64,
    /// `threads`: Ms created (`mcount`), the runtime's own included.
    pub threads: u64,
    /// `spinningthreads`: Ms looking for work.
    pub spinning_threads: u64,
    /// `needspinning`: 1 when a spinning M is wanted but none could start.
    pub need_spinning: u64,
    /// `idlethreads`: Ms on the idle list.
    pub idle_threads: u64,
    /// `runqueue`: the global run queue's length.
    pub global_runqueue: u64,
    /// What follows the common fields.
    pub tail: SchedtraceTail,
}

/// The end of a `SCHED` line, which differs with `scheddetail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedtraceTail {
    /// Without `scheddetail`: ` [ a b ] schedticks=[ x y ]`, one figure per P.
    Queues {
        local_runqueues: Vec<u64>,
        schedticks: Vec<u64>,
    },
    /// With `scheddetail=1`.
    Detail {
        gc_waiting: bool,
        idle_locked_ms: u64,
        stop_wait: u64,
        sysmon_wait: bool,
    },
}

/// Whether `line` is meant to be a schedtrace report line.
pub fn is_schedtrace_line(line: &str) -> bool {
    line.starts_with("SCHED ")
}

/// Parses one `SCHED` line (without its newline).
pub fn parse_schedtrace_line(line: &str) -> Result<SchedtraceLine, TraceLineError> {
    let mut c = Cursor::new("schedtrace", line);
    c.literal("SCHED ")?;
    let at_ms = c.integer("the time in ms")?;
    c.literal("ms: ")?;
    let gomaxprocs = c.field("gomaxprocs")?;
    c.literal(" ")?;
    let idle_procs = c.field("idleprocs")?;
    c.literal(" ")?;
    let threads = c.field("threads")?;
    c.literal(" ")?;
    let spinning_threads = c.field("spinningthreads")?;
    c.literal(" ")?;
    let need_spinning = c.field("needspinning")?;
    c.literal(" ")?;
    let idle_threads = c.field("idlethreads")?;
    c.literal(" ")?;
    let global_runqueue = c.field("runqueue")?;
    let tail = if c.rest().starts_with(" gcwaiting=") {
        c.literal(" ")?;
        let gc_waiting = c.bool_field("gcwaiting")?;
        c.literal(" ")?;
        let idle_locked_ms = c.field("nmidlelocked")?;
        c.literal(" ")?;
        let stop_wait = c.field("stopwait")?;
        c.literal(" ")?;
        let sysmon_wait = c.bool_field("sysmonwait")?;
        SchedtraceTail::Detail {
            gc_waiting,
            idle_locked_ms,
            stop_wait,
            sysmon_wait,
        }
    } else {
        c.literal(" [")?;
        let local_runqueues = figures(&mut c, "a local run queue length")?;
        c.literal(" schedticks=[")?;
        let schedticks = figures(&mut c, "a schedtick")?;
        SchedtraceTail::Queues {
            local_runqueues,
            schedticks,
        }
    };
    c.end()?;
    if let SchedtraceTail::Queues {
        local_runqueues,
        schedticks,
    } = &tail
    {
        let per_p = [local_runqueues.len(), schedticks.len()];
        if per_p.iter().any(|n| *n as u64 != gomaxprocs) {
            return Err(c.error(format!(
                "gomaxprocs={gomaxprocs} but {} local run queues and {} schedticks",
                per_p[0], per_p[1]
            )));
        }
    }
    Ok(SchedtraceLine {
        at_ms,
        gomaxprocs,
        idle_procs,
        threads,
        spinning_threads,
        need_spinning,
        idle_threads,
        global_runqueue,
        tail,
    })
}

/// Every `SCHED` line in `text` (a process's stderr), in order. Other lines,
/// `scheddetail`'s P, M and G lines among them, are skipped; a `SCHED` line
/// that does not parse is an error naming its line, except a last line that
/// the program's exit cut off (see `traceline::parse_lines`).
pub fn parse_schedtrace(text: &str) -> Result<Vec<SchedtraceLine>, TraceLineError> {
    parse_lines(text, is_schedtrace_line, parse_schedtrace_line)
}

/// ` a b c ]`: figures up to ` ]`. Go prints `[ 0 1 ]` for the local run
/// queues (a space before each figure, then ` ]`) and `[ 5 7 ]` for the
/// schedticks (a space after each, then `]`); read from just past the `[`,
/// both are "space, figure" repeated, then " ]".
fn figures(c: &mut Cursor<'_>, what: &str) -> Result<Vec<u64>, TraceLineError> {
    let mut values = Vec::new();
    while !c.optional(" ]") {
        c.literal(" ")?;
        values.push(c.integer(what)?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "SCHED 12ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=1 \
                        needspinning=0 idlethreads=1 runqueue=3 [ 1 0 ] schedticks=[ 14 9 ]";

    #[test]
    fn every_field_of_a_line_is_read() {
        assert_eq!(
            parse_schedtrace_line(LINE),
            Ok(SchedtraceLine {
                at_ms: 12,
                gomaxprocs: 2,
                idle_procs: 0,
                threads: 5,
                spinning_threads: 1,
                need_spinning: 0,
                idle_threads: 1,
                global_runqueue: 3,
                tail: SchedtraceTail::Queues {
                    local_runqueues: vec![1, 0],
                    schedticks: vec![14, 9],
                },
            })
        );
    }

    #[test]
    fn a_detailed_line_is_read_and_its_p_m_g_lines_are_skipped() {
        let text = "SCHED 0ms: gomaxprocs=1 idleprocs=0 threads=2 spinningthreads=0 \
                    needspinning=0 idlethreads=0 runqueue=0 gcwaiting=true nmidlelocked=0 \
                    stopwait=1 sysmonwait=false\n  P0: status=3 schedtick=0 syscalltick=0 m=0 \
                    runqsize=0 gfreecnt=0 timerslen=0\n  M0: p=0 curg=1\n  G1: status=2() m=0 lockedm=0\n";
        let lines = parse_schedtrace(text).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0].tail,
            SchedtraceTail::Detail {
                gc_waiting: true,
                idle_locked_ms: 0,
                stop_wait: 1,
                sysmon_wait: false
            }
        );
    }

    #[test]
    fn one_p_and_empty_tick_lists_follow_gos_spacing() {
        let one = LINE
            .replace("gomaxprocs=2", "gomaxprocs=1")
            .replace("[ 1 0 ]", "[ 4 ]")
            .replace("[ 14 9 ]", "[ 3 ]");
        let tail = parse_schedtrace_line(&one).unwrap().tail;
        assert_eq!(
            tail,
            SchedtraceTail::Queues {
                local_runqueues: vec![4],
                schedticks: vec![3]
            }
        );
    }

    #[test]
    fn a_malformed_line_names_the_column_and_what_was_expected() {
        let e = parse_schedtrace_line(&LINE.replace("threads=5", "threads=five")).unwrap_err();
        assert_eq!(e.column, 46);
        assert!(e.message.contains("expected threads (digits)"), "{e}");
        let e = parse_schedtrace_line(&LINE.replace("[ 1 0 ]", "[ 1 ]")).unwrap_err();
        assert!(
            e.message.contains("gomaxprocs=2 but 1 local run queues"),
            "{e}"
        );
        let e = parse_schedtrace_line(&format!("{LINE} extra")).unwrap_err();
        assert!(e.message.contains("expected the end of the line"), "{e}");
        assert!(e.to_string().starts_with("schedtrace line 1, column "));
        let text = format!("{LINE}\nSCHED 13ms: gomaxprocs=two\n");
        assert_eq!(parse_schedtrace(&text).unwrap_err().line, 2);
        // Cut off by the program's exit: skipped.
        let text = format!("{LINE}\nSCHED 13ms: gomax");
        assert_eq!(parse_schedtrace(&text).unwrap().len(), 1);
    }
}
