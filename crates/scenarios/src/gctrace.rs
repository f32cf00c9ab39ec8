//! Reading `GODEBUG=gctrace=1` lines: the real runtime's and the model's.
//!
//! go1.27.3 prints one line per GC cycle at the end of `gcMarkTermination`
//! (runtime/mgc.go), and sim-gc prints the same bytes for the model's cycles
//! (`sim_gc::gctrace::format_gctrace_line`):
//!
//! ```text
//! gc 3 @0.060s 13%: 0.23+27+0.36 ms clock, 0.47+2.0/8.9/19+0.72 ms cpu, 15->18->11 MB, 18 MB goal, 0 MB stacks, 0 MB globals, 2 P
//! ```
//!
//! that is: the cycle number; `@` the time since the program started, in
//! seconds with three decimals (whole milliseconds); the GC's share of the
//! CPU since the program started, in whole percent; ` (checking for
//! goroutine leaks)` when the cycle ran the leak detector; the wall-clock
//! times of sweep termination (a stop-the-world pause), concurrent mark and
//! mark termination (the other pause); the CPU times of sweep termination,
//! mark assists, background marking (dedicated and fractional workers), idle
//! marking and mark termination; the heap when the cycle started, when
//! marking ended and what was marked live; the heap goal; the stack and
//! globals scanned; GOMAXPROCS; and ` (forced)` for a `runtime.GC()` cycle.
//!
//! Go truncates every figure as it prints it: MB figures are bytes >> 20;
//! times go through `fmtNSAsMS` (whole milliseconds from 10 ms up, below that
//! at most two significant digits of whole microseconds), so each time here
//! is an exact number of microseconds, at most the true one.
//!
//! [`parse_gctrace_line`] reads one line into a [`GctraceLine`];
//! [`parse_gctrace`] finds every such line in a process's stderr (other
//! output, such as schedtrace lines, is skipped), and
//! [`heap_goal_median_bytes`] is the figure a run reports as
//! `/gmpsim/gc/heap/goal-median:bytes`.

use crate::traceline::{Cursor, TraceLineError, parse_lines};

/// One gctrace line's figures, as printed (so truncated as Go truncates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GctraceLine {
    /// `gc N`: the cycle's number (`memstats.numgc`), from 1.
    pub cycle: u32,
    /// `@T.TTTs`: when the cycle started, in whole milliseconds since the
    /// runtime started.
    pub at_ms: u64,
    /// `P%`: the GC's share of the CPU since the program started (Go's
    /// `int(gc_cpu_fraction * 100)`).
    pub cpu_percent: u32,
    /// ` (checking for goroutine leaks)`.
    pub goroutine_leak_check: bool,
    /// Wall clock: sweep termination, concurrent mark, mark termination (µs).
    pub sweep_term_clock_us: u64,
    pub mark_clock_us: u64,
    pub mark_term_clock_us: u64,
    /// CPU: sweep termination (clock × the Ps stopped), assists, background
    /// workers, idle marking, mark termination (µs).
    pub sweep_term_cpu_us: u64,
    pub assist_cpu_us: u64,
    pub background_cpu_us: u64,
    pub idle_cpu_us: u64,
    pub mark_term_cpu_us: u64,
    /// `H0->H1->H2 MB`: the heap when the cycle started, when marking
    /// ended, and the bytes marked live (MiB, truncated).
    pub heap_start_mb: u64,
    pub heap_end_mb: u64,
    pub heap_live_mb: u64,
    /// `G MB goal`: the heap goal of this cycle (MiB, truncated).
    pub goal_mb: u64,
    /// `S MB stacks`: the stack bytes scanned (MiB, truncated).
    pub stacks_mb: u64,
    /// `X MB globals`: the globals scanned (MiB, truncated).
    pub globals_mb: u64,
    /// `N P`: GOMAXPROCS.
    pub procs: u32,
    /// ` (forced)`: a `runtime.GC()` cycle.
    pub forced: bool,
}

impl GctraceLine {
    /// The heap goal in bytes, as the line gives it (whole MiB, truncated).
    pub fn goal_bytes(&self) -> u64 {
        self.goal_mb << 20
    }
}

/// Whether `line` is meant to be a gctrace line: `gc ` and a digit. Nothing
/// else the runtime prints starts that way.
pub fn is_gctrace_line(line: &str) -> bool {
    line.strip_prefix("gc ")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// Parses one gctrace line (without its newline).
pub fn parse_gctrace_line(line: &str) -> Result<GctraceLine, TraceLineError> {
    let mut c = Cursor::new("gctrace", line);
    c.literal("gc ")?;
    let cycle = c.integer("the cycle number")?;
    c.literal(" @")?;
    let at_ms = c.seconds_as_ms()?;
    c.literal("s ")?;
    let cpu_percent = c.integer("the GC's CPU percentage")?;
    c.literal("%")?;
    let goroutine_leak_check = c.optional(" (checking for goroutine leaks)");
    c.literal(": ")?;
    let sweep_term_clock_us = c.ms_as_us("the sweep termination clock time")?;
    c.literal("+")?;
    let mark_clock_us = c.ms_as_us("the mark clock time")?;
    c.literal("+")?;
    let mark_term_clock_us = c.ms_as_us("the mark termination clock time")?;
    c.literal(" ms clock, ")?;
    let sweep_term_cpu_us = c.ms_as_us("the sweep termination CPU time")?;
    c.literal("+")?;
    let assist_cpu_us = c.ms_as_us("the assist CPU time")?;
    c.literal("/")?;
    let background_cpu_us = c.ms_as_us("the background mark CPU time")?;
    c.literal("/")?;
    let idle_cpu_us = c.ms_as_us("the idle mark CPU time")?;
    c.literal("+")?;
    let mark_term_cpu_us = c.ms_as_us("the mark termination CPU time")?;
    c.literal(" ms cpu, ")?;
    let heap_start_mb = c.integer("the heap at the start")?;
    c.literal("->")?;
    let heap_end_mb = c.integer("the heap at the end of marking")?;
    c.literal("->")?;
    let heap_live_mb = c.integer("the live heap")?;
    c.literal(" MB, ")?;
    let goal_mb = c.integer("the heap goal")?;
    c.literal(" MB goal, ")?;
    let stacks_mb = c.integer("the stacks scanned")?;
    c.literal(" MB stacks, ")?;
    let globals_mb = c.integer("the globals scanned")?;
    c.literal(" MB globals, ")?;
    let procs = c.integer("GOMAXPROCS")?;
    c.literal(" P")?;
    let forced = c.optional(" (forced)");
    c.end()?;
    Ok(GctraceLine {
        cycle: narrow(cycle, &c, "the cycle number")?,
        at_ms,
        cpu_percent: narrow(cpu_percent, &c, "the GC's CPU percentage")?,
        goroutine_leak_check,
        sweep_term_clock_us,
        mark_clock_us,
        mark_term_clock_us,
        sweep_term_cpu_us,
        assist_cpu_us,
        background_cpu_us,
        idle_cpu_us,
        mark_term_cpu_us,
        heap_start_mb,
        heap_end_mb,
        heap_live_mb,
        goal_mb,
        stacks_mb,
        globals_mb,
        procs: narrow(procs, &c, "GOMAXPROCS")?,
        forced,
    })
}

/// Every gctrace line in `text` (a process's stderr), in order. Other lines
/// are skipped; a line that starts like a gctrace line (`gc ` and a digit)
/// but does not parse is an error naming its line, except a last line that
/// the program's exit cut off (see `traceline::parse_lines`): a cycle whose
/// line was cut off is not counted.
pub fn parse_gctrace(text: &str) -> Result<Vec<GctraceLine>, TraceLineError> {
    parse_lines(text, is_gctrace_line, parse_gctrace_line)
}

/// The median of the cycles' heap goals, in bytes as the lines give them
/// (whole MiB, truncated): the middle goal when they are sorted, the upper
/// one of the two middle ones for an even count (`sorted[n / 2]`). Every
/// cycle counts, forced ones included. `None` without cycles.
///
/// This is `/gmpsim/gc/heap/goal-median:bytes`. A model reporting the same
/// figure takes each cycle's goal as its gctrace line prints it, that is
/// `(goal_bytes >> 20) << 20`, before taking `sorted[n / 2]`.
pub fn heap_goal_median_bytes(cycles: &[GctraceLine]) -> Option<u64> {
    let mut goals: Vec<u64> = cycles.iter().map(GctraceLine::goal_bytes).collect();
    goals.sort_unstable();
    goals.get(goals.len() / 2).copied()
}

fn narrow(value: u64, c: &Cursor<'_>, what: &str) -> Result<u32, TraceLineError> {
    u32::try_from(value).map_err(|_| c.error(format!("{what} {value} is out of range")))
}

impl Cursor<'_> {
    /// `itoaDiv(ms, 3)`: `0.019`, `12.345`.
    fn seconds_as_ms(&mut self) -> Result<u64, TraceLineError> {
        let whole = self.integer("the start time in seconds")?;
        self.literal(".")?;
        let start = self.at;
        let millis = self.digits();
        if millis.len() != 3 {
            self.at = start;
            return Err(self.error(format!(
                "expected three decimals of seconds, found {millis:?}"
            )));
        }
        let millis: u64 = millis.parse().expect("three digits");
        whole
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(millis))
            .ok_or_else(|| self.error("the start time is out of range".to_string()))
    }

    /// `fmtNSAsMS`: `0`, `0.006`, `0.29`, `9.9`, `27`: whole microseconds.
    fn ms_as_us(&mut self, what: &str) -> Result<u64, TraceLineError> {
        let whole = self.integer(what)?;
        let mut us = whole
            .checked_mul(1000)
            .ok_or_else(|| self.error(format!("{what} is out of range")))?;
        if self.optional(".") {
            let start = self.at;
            let decimals = self.digits();
            if decimals.is_empty() || decimals.len() > 3 {
                self.at = start;
                return Err(self.error(format!(
                    "expected one to three decimals of milliseconds in {what}, found {decimals:?}"
                )));
            }
            let scale = 10u64.pow(3 - decimals.len() as u32);
            us += decimals.parse::<u64>().expect("at most three digits") * scale;
        }
        Ok(us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "gc 3 @0.060s 13%: 0.23+27+0.36 ms clock, 0.47+2.0/8.9/19+0.72 ms cpu, \
                        15->18->11 MB, 18 MB goal, 0 MB stacks, 0 MB globals, 2 P";

    #[test]
    fn every_field_of_a_line_is_read() {
        assert_eq!(
            parse_gctrace_line(LINE),
            Ok(GctraceLine {
                cycle: 3,
                at_ms: 60,
                cpu_percent: 13,
                goroutine_leak_check: false,
                sweep_term_clock_us: 230,
                mark_clock_us: 27_000,
                mark_term_clock_us: 360,
                sweep_term_cpu_us: 470,
                assist_cpu_us: 2_000,
                background_cpu_us: 8_900,
                idle_cpu_us: 19_000,
                mark_term_cpu_us: 720,
                heap_start_mb: 15,
                heap_end_mb: 18,
                heap_live_mb: 11,
                goal_mb: 18,
                stacks_mb: 0,
                globals_mb: 0,
                procs: 2,
                forced: false,
            })
        );
    }

    #[test]
    fn forced_cycles_leak_checks_and_tiny_times_are_read() {
        let line = "gc 104 @2.281s 63% (checking for goroutine leaks): 0.015+0.25+0.003 ms clock, \
                    0.015+0/0.048/0.18+0.003 ms cpu, 11->11->0 MB, 17 MB goal, 1 MB stacks, \
                    2 MB globals, 1 P (forced)";
        let c = parse_gctrace_line(line).unwrap();
        assert_eq!((c.cycle, c.at_ms, c.cpu_percent), (104, 2_281, 63));
        assert!(c.goroutine_leak_check && c.forced);
        assert_eq!(
            (c.sweep_term_clock_us, c.mark_clock_us, c.mark_term_clock_us),
            (15, 250, 3)
        );
        assert_eq!(
            (c.assist_cpu_us, c.background_cpu_us, c.idle_cpu_us),
            (0, 48, 180)
        );
        assert_eq!((c.stacks_mb, c.globals_mb, c.procs), (1, 2, 1));
        assert_eq!(c.goal_bytes(), 17 << 20);
    }

    #[test]
    fn a_malformed_line_names_the_column_and_what_was_expected() {
        let e = parse_gctrace_line("gc 3 @0.060s 13%: 0.23+27 ms clock").unwrap_err();
        assert_eq!(e.column, 26);
        assert!(
            e.message.contains("expected \"+\", found \" ms clock\""),
            "{e}"
        );
        let e = parse_gctrace_line(&LINE.replace("2 P", "2 P extra")).unwrap_err();
        assert!(e.message.contains("expected the end of the line"), "{e}");
        let e = parse_gctrace_line(&LINE.replace("@0.060s", "@0.06s")).unwrap_err();
        assert!(e.message.contains("three decimals"), "{e}");
        let e = parse_gctrace_line(&LINE.replace("0.23+", "0.2345+")).unwrap_err();
        assert!(e.message.contains("one to three decimals"), "{e}");
        let e = parse_gctrace_line(&LINE.replace(" MB goal", " MiB goal")).unwrap_err();
        assert!(e.message.contains("expected \" MB goal, \""), "{e}");
        assert!(e.to_string().starts_with("gctrace line 1, column "));
    }

    #[test]
    fn other_stderr_lines_are_skipped_and_a_broken_gc_line_is_an_error() {
        let text = format!(
            "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=3\n{LINE}\ngc is fun\n{}\n",
            LINE.replace("gc 3 ", "gc 4 ")
        );
        let cycles = parse_gctrace(&text).unwrap();
        assert_eq!(cycles.iter().map(|c| c.cycle).collect::<Vec<_>>(), [3, 4]);
        let broken = format!("noise\n{LINE}\ngc 5 @oops\n");
        let e = parse_gctrace(&broken).unwrap_err();
        assert_eq!((e.line, e.column), (3, 7));
        assert_eq!(parse_gctrace(""), Ok(Vec::new()));
    }

    #[test]
    fn a_last_line_cut_off_by_the_exit_is_skipped_but_not_a_terminated_one() {
        // The ends of three real go1.27.3 runs whose main returned while a
        // cycle's line was being printed.
        for cut in ["gc ", "gc 15 @0.202s 17%", &LINE[..LINE.len() - 4]] {
            let text = format!("{LINE}\n{cut}");
            let cycles = parse_gctrace(&text).unwrap();
            assert_eq!(cycles.len(), 1, "{text:?}");
            // The same line with its newline is a format change.
            assert!(parse_gctrace(&format!("{text}\n")).is_err() || cut == "gc ");
        }
        // A complete last line without a newline still counts.
        assert_eq!(parse_gctrace(LINE).unwrap().len(), 1);
    }

    #[test]
    fn the_goal_median_is_the_upper_middle_of_the_sorted_goals() {
        let with_goal = |goal_mb| GctraceLine {
            goal_mb,
            ..parse_gctrace_line(LINE).unwrap()
        };
        assert_eq!(heap_goal_median_bytes(&[]), None);
        let odd = [with_goal(30), with_goal(10), with_goal(20)];
        assert_eq!(heap_goal_median_bytes(&odd), Some(20 << 20));
        let even = [with_goal(4), with_goal(40), with_goal(10), with_goal(20)];
        assert_eq!(heap_goal_median_bytes(&even), Some(20 << 20));
    }
}
