//! `GODEBUG=gctrace=1` lines, byte for byte as go1.27.3 prints them.
//!
//! Mirrors the printing at the end of `gcMarkTermination` in `runtime/mgc.go`
//! with its helpers `itoaDiv` and `fmtNSAsMS`:
//!
//! `gc N @T.TTTs P%: a+b+c ms clock, a+b/c/d+e ms cpu, H0->H1->H2 MB, G MB goal,
//! S MB stacks, X MB globals, N P` and ` (forced)` for `runtime.GC()` cycles.
//!
//! - `@` is `(tSweepTerm − runtimeInitTime) / 1e6` whole milliseconds printed
//!   as seconds with three decimals;
//! - `P%` is `int(gc_cpu_fraction × 100)`, truncated;
//! - times use `fmtNSAsMS`: whole milliseconds from 10 ms up, otherwise at most
//!   two significant digits of whole microseconds, truncated, with at most
//!   three decimals (`0.006`, `0.29`, `9.9`);
//! - the cpu terms a and e are the clock terms × `stwprocs`
//!   (`min(GOMAXPROCS, CPUs at start-up)`);
//! - every MB figure is bytes >> 20, truncated.
//!
//! Simplified: nothing; the figures come from the model.

use serde::{Deserialize, Serialize};

/// One finished cycle's figures, as `gcMarkTermination` has them when it prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GctraceCycle {
    /// `memstats.numgc` after this cycle.
    pub numgc: u32,
    /// `runtimeInitTime`, and the cycle's four instants (`work.tSweepTerm`,
    /// `tMark`, `tMarkTerm`, `tEnd`), in ns of virtual time.
    pub runtime_init_ns: u64,
    pub t_sweep_term_ns: u64,
    pub t_mark_ns: u64,
    pub t_mark_term_ns: u64,
    pub t_end_ns: u64,
    /// `memstats.gc_cpu_fraction` after this cycle.
    pub gc_cpu_fraction: f64,
    /// This cycle ran the goroutine-leak detector.
    pub goroutine_leak_check: bool,
    /// `work.stwprocs`: GOMAXPROCS capped at the CPUs at start-up.
    pub stw_procs: u32,
    /// `gcController.assistTime`, `dedicatedMarkTime + fractionalMarkTime`,
    /// `idleMarkTime`.
    pub assist_time_ns: u64,
    pub background_mark_time_ns: u64,
    pub idle_mark_time_ns: u64,
    /// `work.heap0` (heapLive at gcStart), `heap1` (at mark termination),
    /// `heap2` (bytes marked).
    pub heap0_bytes: u64,
    pub heap1_bytes: u64,
    pub heap2_bytes: u64,
    /// `lastHeapGoal`, `lastStackScan`, `globalsScan`.
    pub heap_goal_bytes: u64,
    pub stack_scan_bytes: u64,
    pub globals_scan_bytes: u64,
    /// `work.maxprocs`.
    pub procs: u32,
    /// `work.userForced` (a `runtime.GC()` cycle).
    pub forced: bool,
}

/// `itoaDiv`: `val` with a decimal point `dec` digits from the right.
pub fn itoa_div(val: u64, dec: usize) -> String {
    let mut digits = val.to_string();
    if dec == 0 {
        return digits;
    }
    if digits.len() <= dec {
        digits = format!("{}{digits}", "0".repeat(dec + 1 - digits.len()));
    }
    let point = digits.len() - dec;
    format!("{}.{}", &digits[..point], &digits[point..])
}

/// `fmtNSAsMS`.
pub fn fmt_ns_as_ms(ns: u64) -> String {
    if ns >= 10_000_000 {
        return itoa_div(ns / 1_000_000, 0);
    }
    let mut x = ns / 1_000;
    if x == 0 {
        return "0".to_string();
    }
    let mut dec = 3;
    while x >= 100 {
        x /= 10;
        dec -= 1;
    }
    itoa_div(x, dec)
}

/// The gctrace line for one cycle, without the trailing newline.
pub fn format_gctrace_line(c: &GctraceCycle) -> String {
    let util = (c.gc_cpu_fraction * 100.0) as i64;
    let mut line = format!(
        "gc {} @{}s {}%",
        c.numgc,
        itoa_div((c.t_sweep_term_ns - c.runtime_init_ns) / 1_000_000, 3),
        util
    );
    if c.goroutine_leak_check {
        line.push_str(" (checking for goroutine leaks)");
    }
    let sweep_term_ns = c.t_mark_ns - c.t_sweep_term_ns;
    let mark_ns = c.t_mark_term_ns - c.t_mark_ns;
    let mark_term_ns = c.t_end_ns - c.t_mark_term_ns;
    let procs = c.stw_procs as u64;
    line.push_str(&format!(
        ": {}+{}+{} ms clock, {}+{}/{}/{}+{} ms cpu, {}->{}->{} MB, {} MB goal, {} MB stacks, {} MB globals, {} P",
        fmt_ns_as_ms(sweep_term_ns),
        fmt_ns_as_ms(mark_ns),
        fmt_ns_as_ms(mark_term_ns),
        fmt_ns_as_ms(procs * sweep_term_ns),
        fmt_ns_as_ms(c.assist_time_ns),
        fmt_ns_as_ms(c.background_mark_time_ns),
        fmt_ns_as_ms(c.idle_mark_time_ns),
        fmt_ns_as_ms(procs * mark_term_ns),
        c.heap0_bytes >> 20,
        c.heap1_bytes >> 20,
        c.heap2_bytes >> 20,
        c.heap_goal_bytes >> 20,
        c.stack_scan_bytes >> 20,
        c.globals_scan_bytes >> 20,
        c.procs,
    ));
    if c.forced {
        line.push_str(" (forced)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn fmt_ns_as_ms_keeps_two_significant_digits_truncated() {
        assert_eq!(fmt_ns_as_ms(0), "0");
        assert_eq!(fmt_ns_as_ms(999), "0");
        assert_eq!(fmt_ns_as_ms(6_999), "0.006");
        assert_eq!(fmt_ns_as_ms(58_000), "0.058");
        assert_eq!(fmt_ns_as_ms(99_999), "0.099");
        assert_eq!(fmt_ns_as_ms(100_000), "0.10");
        assert_eq!(fmt_ns_as_ms(299_999), "0.29");
        assert_eq!(fmt_ns_as_ms(1_000_000), "1.0");
        assert_eq!(fmt_ns_as_ms(1_690_000), "1.6");
        assert_eq!(fmt_ns_as_ms(9_999_999), "9.9");
        assert_eq!(fmt_ns_as_ms(10_000_000), "10");
        assert_eq!(fmt_ns_as_ms(27_900_000), "27");
        assert_eq!(fmt_ns_as_ms(1_234_567_890), "1234");
    }

    #[test]
    fn at_seconds_have_three_decimals_from_truncated_ms() {
        assert_eq!(itoa_div(0, 3), "0.000");
        assert_eq!(itoa_div(9, 3), "0.009");
        assert_eq!(itoa_div(896, 3), "0.896");
        assert_eq!(itoa_div(12_345, 3), "12.345");
        assert_eq!(itoa_div(12, 0), "12");
    }

    fn cycle() -> GctraceCycle {
        GctraceCycle {
            numgc: 0,
            runtime_init_ns: 0,
            t_sweep_term_ns: 0,
            t_mark_ns: 0,
            t_mark_term_ns: 0,
            t_end_ns: 0,
            gc_cpu_fraction: 0.0,
            goroutine_leak_check: false,
            stw_procs: 2,
            assist_time_ns: 0,
            background_mark_time_ns: 0,
            idle_mark_time_ns: 0,
            heap0_bytes: 0,
            heap1_bytes: 0,
            heap2_bytes: 0,
            heap_goal_bytes: 0,
            stack_scan_bytes: 0,
            globals_scan_bytes: 0,
            procs: 2,
            forced: false,
        }
    }

    /// Lines printed by go1.27.3 on the reference machine (2 CPUs; load
    /// average 0.44–0.52 while they were captured) for /tmp/gctr/main.go: one
    /// goroutine allocating 8 Mi 64-byte nodes (`next *node` plus 56 bytes)
    /// through a ring of 131072 pointers with `prev.next = n` links, then a
    /// `runtime.GC()`. Each figure below is one that Go's own formatting turns
    /// into the text, chosen inside the range the text allows.
    #[test]
    fn real_go_lines_are_reproduced_from_their_figures() {
        // GODEBUG=gctrace=1, GOMAXPROCS=2, GOGC=100: the first cycle.
        let c = GctraceCycle {
            numgc: 1,
            runtime_init_ns: 1_000_000,
            t_sweep_term_ns: 1_000_000 + 8_700_000,
            t_mark_ns: 9_700_000 + 331_000,
            t_mark_term_ns: 9_700_000 + 331_000 + 10_400_000,
            t_end_ns: 9_700_000 + 331_000 + 10_400_000 + 362_000,
            gc_cpu_fraction: 0.185,
            assist_time_ns: 1_530_000,
            background_mark_time_ns: 5_340_000,
            idle_mark_time_ns: 575_000,
            heap0_bytes: 3 * MIB + 900_000,
            heap1_bytes: 4 * MIB + 10_000,
            heap2_bytes: 4 * MIB + 5_000,
            heap_goal_bytes: 4 * MIB,
            globals_scan_bytes: 158_122,
            ..cycle()
        };
        assert_eq!(
            format_gctrace_line(&c),
            "gc 1 @0.008s 18%: 0.33+10+0.36 ms clock, 0.66+1.5/5.3/0.57+0.72 ms cpu, \
             3->4->4 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P"
        );

        // The same run, a mid-run cycle: mark took 27 ms, idle marking 19 ms.
        let c = GctraceCycle {
            numgc: 3,
            t_sweep_term_ns: 60_400_000,
            t_mark_ns: 60_400_000 + 236_000,
            t_mark_term_ns: 60_636_000 + 27_900_000,
            t_end_ns: 88_536_000 + 361_000,
            gc_cpu_fraction: 0.131,
            assist_time_ns: 2_050_000,
            background_mark_time_ns: 8_950_000,
            idle_mark_time_ns: 19_700_000,
            heap0_bytes: 15 * MIB + 1,
            heap1_bytes: 18 * MIB + 2,
            heap2_bytes: 11 * MIB + 3,
            heap_goal_bytes: 18 * MIB + 400_000,
            stack_scan_bytes: 2_384,
            ..cycle()
        };
        assert_eq!(
            format_gctrace_line(&c),
            "gc 3 @0.060s 13%: 0.23+27+0.36 ms clock, 0.47+2.0/8.9/19+0.72 ms cpu, \
             15->18->11 MB, 18 MB goal, 0 MB stacks, 0 MB globals, 2 P"
        );

        // Its final runtime.GC(): forced, a 3.2 ms sweep termination (the
        // sweeping left over), no assists, the ring already dead.
        let c = GctraceCycle {
            numgc: 48,
            t_sweep_term_ns: 896_100_000,
            t_mark_ns: 896_100_000 + 3_260_000,
            t_mark_term_ns: 899_360_000 + 3_450_000,
            t_end_ns: 902_810_000 + 8_200,
            gc_cpu_fraction: 0.1399,
            assist_time_ns: 0,
            background_mark_time_ns: 212_000,
            idle_mark_time_ns: 6_040_000,
            heap0_bytes: 18 * MIB + 500_000,
            heap1_bytes: 18 * MIB + 900_000,
            heap2_bytes: 4_096,
            heap_goal_bytes: 25_300_000,
            forced: true,
            ..cycle()
        };
        assert_eq!(
            format_gctrace_line(&c),
            "gc 48 @0.896s 13%: 3.2+3.4+0.008 ms clock, 6.5+0/0.21/6.0+0.016 ms cpu, \
             18->18->0 MB, 24 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)"
        );

        // GOMAXPROCS=1 GOGC=50: the fractional worker is the only background
        // worker and assists carry much of the work.
        let c = GctraceCycle {
            numgc: 103,
            t_sweep_term_ns: 2_261_500_000,
            t_mark_ns: 2_261_500_000 + 25_500,
            t_mark_term_ns: 2_261_525_500 + 18_300_000,
            t_end_ns: 2_279_825_500 + 8_100,
            gc_cpu_fraction: 0.635,
            stw_procs: 1,
            procs: 1,
            assist_time_ns: 7_790_000,
            background_mark_time_ns: 4_810_000,
            idle_mark_time_ns: 0,
            heap0_bytes: 13 * MIB,
            heap1_bytes: 16 * MIB + 7,
            heap2_bytes: 11 * MIB + 9,
            heap_goal_bytes: 15 * MIB + 100_000,
            ..cycle()
        };
        assert_eq!(
            format_gctrace_line(&c),
            "gc 103 @2.261s 63%: 0.025+18+0.008 ms clock, 0.025+7.7/4.8/0+0.008 ms cpu, \
             13->16->11 MB, 15 MB goal, 0 MB stacks, 0 MB globals, 1 P"
        );

        let c = GctraceCycle {
            numgc: 104,
            t_sweep_term_ns: 2_281_000_000,
            t_mark_ns: 2_281_000_000 + 15_000,
            t_mark_term_ns: 2_281_015_000 + 250_000,
            t_end_ns: 2_281_265_000 + 3_000,
            gc_cpu_fraction: 0.6301,
            stw_procs: 1,
            procs: 1,
            background_mark_time_ns: 48_000,
            idle_mark_time_ns: 180_000,
            heap0_bytes: 11 * MIB,
            heap1_bytes: 11 * MIB,
            heap2_bytes: 0,
            heap_goal_bytes: 17 * MIB,
            forced: true,
            ..cycle()
        };
        assert_eq!(
            format_gctrace_line(&c),
            "gc 104 @2.281s 63%: 0.015+0.25+0.003 ms clock, 0.015+0/0.048/0.18+0.003 ms cpu, \
             11->11->0 MB, 17 MB goal, 0 MB stacks, 0 MB globals, 1 P (forced)"
        );
    }

    #[test]
    fn leak_check_note_follows_the_percentage() {
        let c = GctraceCycle {
            numgc: 2,
            goroutine_leak_check: true,
            ..cycle()
        };
        assert!(
            format_gctrace_line(&c)
                .starts_with("gc 2 @0.000s 0% (checking for goroutine leaks): 0+0+0")
        );
    }
}
