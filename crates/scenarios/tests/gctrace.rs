//! The gctrace parser on what real Go printed and on what the model prints.

use proptest::prelude::*;
use scenarios::gctrace::{
    GctraceLine, heap_goal_median_bytes, is_gctrace_line, parse_gctrace, parse_gctrace_line,
};
use sim_gc::gctrace::{GctraceCycle, fmt_ns_as_ms, format_gctrace_line};

/// go1.27.3's stderr for 512 MiB of 64-byte objects with 8 MiB kept, then
/// runtime.GC() (the file's header says how it was captured).
const REAL: &str = include_str!("data/gctrace-go1.27.3.txt");

#[test]
fn every_line_real_go_printed_parses() {
    let cycles = parse_gctrace(REAL).unwrap_or_else(|e| panic!("{e}"));
    let gc_lines = REAL.lines().filter(|l| l.starts_with("gc ")).count();
    assert!(gc_lines >= 30, "the fixture has {gc_lines} gc lines");
    assert_eq!(cycles.len(), gc_lines);
    for (i, c) in cycles.iter().enumerate() {
        assert_eq!(c.cycle as usize, i + 1, "cycles are numbered from 1");
        assert_eq!(c.procs, 2, "GOMAXPROCS=2");
        assert_eq!(
            c.forced,
            i + 1 == cycles.len(),
            "only the last is runtime.GC()"
        );
        assert!(!c.goroutine_leak_check);
        assert!(c.heap_live_mb <= c.heap_end_mb + 1, "{c:?}");
        if i > 0 {
            assert!(c.at_ms >= cycles[i - 1].at_ms, "start times only grow");
        }
    }
    // The ring keeps 8 MiB (and itself, 1 MiB) live, so after the first few
    // cycles the goal is twice that and a bit: GOGC=100.
    let median = heap_goal_median_bytes(&cycles).unwrap();
    assert!(
        (16 << 20..=32 << 20).contains(&median),
        "median goal {} MiB",
        median >> 20
    );
    // And the forced cycle at the end finds the ring still live.
    let last = cycles.last().unwrap();
    assert!(last.heap_live_mb >= 8, "{last:?}");
}

#[test]
fn a_real_line_reads_field_by_field() {
    let first = REAL.lines().find(|l| is_gctrace_line(l)).unwrap();
    let c = parse_gctrace_line(first).unwrap();
    // Rebuild the text from the fields, as Go prints them.
    let ms = |us: u64| fmt_ns_as_ms(us * 1_000);
    let rebuilt = format!(
        "gc {} @{}.{:03}s {}%: {}+{}+{} ms clock, {}+{}/{}/{}+{} ms cpu, {}->{}->{} MB, {} MB goal, {} MB stacks, {} MB globals, {} P{}",
        c.cycle,
        c.at_ms / 1000,
        c.at_ms % 1000,
        c.cpu_percent,
        ms(c.sweep_term_clock_us),
        ms(c.mark_clock_us),
        ms(c.mark_term_clock_us),
        ms(c.sweep_term_cpu_us),
        ms(c.assist_cpu_us),
        ms(c.background_cpu_us),
        ms(c.idle_cpu_us),
        ms(c.mark_term_cpu_us),
        c.heap_start_mb,
        c.heap_end_mb,
        c.heap_live_mb,
        c.goal_mb,
        c.stacks_mb,
        c.globals_mb,
        c.procs,
        if c.forced { " (forced)" } else { "" }
    );
    assert_eq!(rebuilt, first);
}

fn model_cycle() -> GctraceCycle {
    const MIB: u64 = 1 << 20;
    GctraceCycle {
        numgc: 3,
        runtime_init_ns: 1_000_000,
        t_sweep_term_ns: 61_400_000,
        t_mark_ns: 61_400_000 + 236_000,
        t_mark_term_ns: 61_636_000 + 27_900_000,
        t_end_ns: 89_536_000 + 361_000,
        gc_cpu_fraction: 0.131,
        goroutine_leak_check: false,
        stw_procs: 2,
        assist_time_ns: 2_050_000,
        background_mark_time_ns: 8_950_000,
        idle_mark_time_ns: 19_700_000,
        heap0_bytes: 15 * MIB + 1,
        heap1_bytes: 18 * MIB + 2,
        heap2_bytes: 11 * MIB + 3,
        heap_goal_bytes: 18 * MIB + 400_000,
        stack_scan_bytes: 2_384,
        globals_scan_bytes: 158_122,
        procs: 2,
        forced: false,
    }
}

/// The figures a model cycle's line must parse back to.
fn expected(c: &GctraceCycle) -> GctraceLine {
    // fmtNSAsMS, in microseconds: what parsing the printed text gives.
    let us = |ns: u64| -> u64 {
        if ns >= 10_000_000 {
            return ns / 1_000_000 * 1_000;
        }
        let (mut x, mut scale) = (ns / 1_000, 1);
        while x >= 100 {
            x /= 10;
            scale *= 10;
        }
        x * scale
    };
    let procs = u64::from(c.stw_procs);
    GctraceLine {
        cycle: c.numgc,
        at_ms: (c.t_sweep_term_ns - c.runtime_init_ns) / 1_000_000,
        cpu_percent: (c.gc_cpu_fraction * 100.0) as u32,
        goroutine_leak_check: c.goroutine_leak_check,
        sweep_term_clock_us: us(c.t_mark_ns - c.t_sweep_term_ns),
        mark_clock_us: us(c.t_mark_term_ns - c.t_mark_ns),
        mark_term_clock_us: us(c.t_end_ns - c.t_mark_term_ns),
        sweep_term_cpu_us: us(procs * (c.t_mark_ns - c.t_sweep_term_ns)),
        assist_cpu_us: us(c.assist_time_ns),
        background_cpu_us: us(c.background_mark_time_ns),
        idle_cpu_us: us(c.idle_mark_time_ns),
        mark_term_cpu_us: us(procs * (c.t_end_ns - c.t_mark_term_ns)),
        heap_start_mb: c.heap0_bytes >> 20,
        heap_end_mb: c.heap1_bytes >> 20,
        heap_live_mb: c.heap2_bytes >> 20,
        goal_mb: c.heap_goal_bytes >> 20,
        stacks_mb: c.stack_scan_bytes >> 20,
        globals_mb: c.globals_scan_bytes >> 20,
        procs: c.procs,
        forced: c.forced,
    }
}

#[test]
fn the_models_lines_parse_back_to_the_models_figures() {
    let mut cycle = model_cycle();
    let line = format_gctrace_line(&cycle);
    assert_eq!(
        line,
        "gc 3 @0.060s 13%: 0.23+27+0.36 ms clock, 0.47+2.0/8.9/19+0.72 ms cpu, \
         15->18->11 MB, 18 MB goal, 0 MB stacks, 0 MB globals, 2 P"
    );
    assert_eq!(parse_gctrace_line(&line), Ok(expected(&cycle)));

    cycle.forced = true;
    cycle.goroutine_leak_check = true;
    cycle.numgc = 48;
    let line = format_gctrace_line(&cycle);
    assert!(line.ends_with(" (forced)") && line.contains("(checking for goroutine leaks)"));
    let parsed = parse_gctrace_line(&line).unwrap();
    assert!(parsed.forced && parsed.goroutine_leak_check);
    assert_eq!(parsed, expected(&cycle));
}

fn cycles() -> impl Strategy<Value = GctraceCycle> {
    (
        (1u32..100_000, 0u64..10_000_000_000, 0u64..50_000_000),
        (0u64..2_000_000_000, 0u64..50_000_000, 0.0f64..1.0),
        (
            0u64..5_000_000_000,
            0u64..5_000_000_000,
            0u64..5_000_000_000,
        ),
        (0u64..1 << 40, 0u64..1 << 40, 0u64..1 << 40, 0u64..1 << 40),
        (
            0u64..1 << 32,
            0u64..1 << 32,
            1u32..1025,
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c, d, e)| {
            let (numgc, init, sweep_term) = a;
            let (mark, mark_term, fraction) = b;
            let (assist, background, idle) = c;
            let (heap0, heap1, heap2, goal) = d;
            let (stacks, globals, procs, forced, leak) = e;
            let t_sweep_term_ns = init + 1_000_000;
            let t_mark_ns = t_sweep_term_ns + sweep_term;
            let t_mark_term_ns = t_mark_ns + mark;
            GctraceCycle {
                numgc,
                runtime_init_ns: init,
                t_sweep_term_ns,
                t_mark_ns,
                t_mark_term_ns,
                t_end_ns: t_mark_term_ns + mark_term,
                gc_cpu_fraction: fraction,
                goroutine_leak_check: leak,
                stw_procs: procs.min(2),
                assist_time_ns: assist,
                background_mark_time_ns: background,
                idle_mark_time_ns: idle,
                heap0_bytes: heap0,
                heap1_bytes: heap1,
                heap2_bytes: heap2,
                heap_goal_bytes: goal,
                stack_scan_bytes: stacks,
                globals_scan_bytes: globals,
                procs,
                forced,
            }
        })
}

proptest! {
    #[test]
    fn any_model_line_parses_back(cycle in cycles()) {
        let line = format_gctrace_line(&cycle);
        prop_assert_eq!(parse_gctrace_line(&line), Ok(expected(&cycle)), "{}", line);
    }
}
