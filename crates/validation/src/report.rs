//! The HTML report (`gmpsim validate --report DIR`) and the sensitivity
//! check (`gmpsim validate --sensitivity`).
//!
//! The page is one self-contained file: tables and hand-written SVG charts,
//! no scripts, no external resources. Failing comparisons come first, each
//! with the mechanism most likely responsible ([`likely_mechanism`]).

use crate::verdict::{Comparison, Headline, Judgement, ScenarioReport};
use scenarios::gctrace::{GctraceLine, is_gctrace_line, parse_gctrace_line};
use sim_core::metrics::GC_CYCLES_TOTAL;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One step of a sweep: how a figure moves from one setting to the next.
#[derive(Clone, Debug)]
pub struct SweepStep {
    pub figure: String,
    pub from: String,
    pub to: String,
    pub model_factor: f64,
    pub real_factor: f64,
}

impl SweepStep {
    /// Same direction: both factors on the same side of 1 (a move under 5%
    /// counts as flat and matches flat or a small move either way).
    pub fn same_direction(&self) -> bool {
        let dir = |f: f64| {
            if (f - 1.0).abs() < 0.05 {
                0
            } else if f > 1.0 {
                1
            } else {
                -1
            }
        };
        let (m, r) = (dir(self.model_factor), dir(self.real_factor));
        m == r
            || m == 0 && (self.real_factor - 1.0).abs() < 0.10
            || r == 0 && (self.model_factor - 1.0).abs() < 0.10
    }

    /// Similar factor: within 25% of each other (the largest tolerance the
    /// figures involved have, NumGC at GOGC=200 ±15%, compounded over a step).
    pub fn similar_factor(&self) -> bool {
        (self.model_factor / self.real_factor).ln().abs() <= 1.25f64.ln()
    }
}

/// The sweeps the library has: GOGC 50→100→200 (alloc-steady) and
/// GOMAXPROCS 1→2→4 (cpu-fanout). Steps whose scenarios are not all in
/// `reports` are left out.
pub fn sensitivity(reports: &[ScenarioReport]) -> Vec<SweepStep> {
    type Sweep<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let sweeps: [Sweep; 2] = [
        (
            &[
                ("alloc-steady-gogc50", "GOGC=50"),
                ("alloc-steady", "GOGC=100"),
                ("alloc-steady-gogc200", "GOGC=200"),
            ],
            &[GC_CYCLES_TOTAL, "/gmpsim/gc/heap/goal-median:bytes"],
        ),
        (
            &[
                ("cpu-fanout-p1", "GOMAXPROCS=1"),
                ("cpu-fanout-p2", "GOMAXPROCS=2"),
                ("cpu-fanout", "GOMAXPROCS=4"),
            ],
            &["/gmpsim/process/elapsed:seconds"],
        ),
    ];
    let find = |scenario: &str, figure: &str| -> Option<(f64, f64)> {
        let r = reports.iter().find(|r| r.scenario == scenario)?;
        let c = r.comparisons.iter().find(|c| c.figure == figure)?;
        Some((c.simulated?, c.real.mean))
    };
    let mut steps = Vec::new();
    for (settings, figures) in sweeps {
        for figure in figures {
            for pair in settings.windows(2) {
                if let (Some(a), Some(b)) = (find(pair[0].0, figure), find(pair[1].0, figure)) {
                    steps.push(SweepStep {
                        figure: figure.to_string(),
                        from: pair[0].1.to_string(),
                        to: pair[1].1.to_string(),
                        model_factor: b.0 / a.0,
                        real_factor: b.1 / a.1,
                    });
                }
            }
        }
    }
    steps
}

/// The sensitivity check as text, one line per step.
pub fn sensitivity_text(reports: &[ScenarioReport]) -> String {
    let mut out =
        String::from("sensitivity (factor from one setting to the next, model vs real):\n");
    for s in sensitivity(reports) {
        let _ = writeln!(
            out,
            "  {:<36} {:>12} -> {:<12} model x{:.3}  real x{:.3}  {}, {}",
            s.figure,
            s.from,
            s.to,
            s.model_factor,
            s.real_factor,
            if s.same_direction() {
                "same direction"
            } else {
                "OPPOSITE direction"
            },
            if s.similar_factor() {
                "similar factor"
            } else {
                "factor differs by more than 25%"
            }
        );
    }
    out
}

/// The part of the model most likely responsible when `figure` disagrees.
pub fn likely_mechanism(figure: &str) -> &'static str {
    const TABLE: [(&str, &str); 14] = [
        (
            "/gc/cycles",
            "GC pacer: trigger and heap goal (sim-gc), allocation rate",
        ),
        (
            "/gmpsim/gc/heap/goal",
            "pacer heap goal: live heap at mark end, stacks and globals in the goal",
        ),
        (
            "/gc/heap/goal",
            "pacer heap goal: live heap at mark end, stacks and globals in the goal",
        ),
        (
            "/gc/heap/live",
            "marked live heap: object sizes, size-class rounding",
        ),
        (
            "/gmpsim/gc/cpu-fraction",
            "GC CPU: mark cost per KiB/object, dedicated and fractional workers, assists",
        ),
        (
            "/cpu/classes/gc",
            "GC CPU: mark cost per KiB/object, dedicated and fractional workers, assists",
        ),
        (
            "/sched/pauses",
            "stop-the-world: STW phase costs and the wait for running Gs to stop",
        ),
        (
            "/gmpsim/process/elapsed",
            "makespan: compute and runtime operation costs, parallelism, GC CPU",
        ),
        (
            "/sched/latencies",
            "run queue order, runnext, wakep and spinning Ms, thread wake cost",
        ),
        (
            "/sched/threads",
            "M creation: syscall handoff (handoffp/startm), spinning Ms, template thread",
        ),
        (
            "/sync/mutex",
            "runtime-internal lock contention (real Go counts it) and sync.Mutex spinning and handoff",
        ),
        (
            "/sched/goroutines",
            "goroutine accounting: runtime goroutines, leaked goroutines",
        ),
        (
            "/memory",
            "heap and stack memory accounting: spans, stack size classes, scavenger",
        ),
        ("/gmpsim/sleep", "timers: timer slack and netpoller wakeups"),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| figure.starts_with(prefix))
        .map_or("(no mechanism recorded for this figure)", |(_, m)| m)
}

/// Points (x, y) of a line.
type Points = Vec<(f64, f64)>;
/// A named, coloured line.
type Series<'a> = (&'a str, &'a str, Points);

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn fmt_value(v: f64, unit: &str) -> String {
    if unit == "seconds" {
        sim_core::time::format_duration_ns((v * 1e9).round().max(0.0) as u64)
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e4 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// A line chart of several series (x, y) in an SVG element.
fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h, left, bottom) = (560.0, 240.0, 60.0, 30.0);
    let points = series.iter().flat_map(|s| s.2.iter());
    let x_max = points.clone().map(|p| p.0).fold(0.0, f64::max).max(1e-9);
    let y_max = points.map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{}' font-size='11'><text x='{left}' y='12'>{}</text>",
        h + 20.0,
        esc(title)
    );
    let px = |x: f64| left + x / x_max * (w - left - 10.0);
    let py = |y: f64| h - bottom - y / y_max * (h - bottom - 20.0);
    let _ = write!(
        svg,
        "<line x1='{left}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{left}' y1='20' x2='{left}' y2='{}' stroke='black'/>",
        h - bottom,
        w - 10.0,
        h - bottom,
        h - bottom
    );
    let _ = write!(
        svg,
        "<text x='{}' y='{}'>{}</text><text x='2' y='30'>{:.3}</text><text x='2' y='{}'>0</text><text x='{}' y='{}'>{:.3}</text><text x='2' y='{}'>{}</text>",
        w / 2.0,
        h - 5.0,
        esc(x_label),
        y_max,
        h - bottom,
        w - 60.0,
        h - 5.0,
        x_max,
        h + 12.0,
        esc(y_label)
    );
    for (i, (name, color, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{}'/><text x='{}' y='{}' fill='{color}'>{}</text>",
            path.join(" "),
            w - 200.0,
            30.0 + 13.0 * i as f64,
            esc(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Grouped bars: per label, model and real.
fn bar_chart(title: &str, bars: &[(String, f64, f64)]) -> String {
    let (w, h) = (560.0, 220.0);
    let max = bars
        .iter()
        .map(|b| b.1.max(b.2))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-size='11'><text x='10' y='12'>{}</text><text x='400' y='12' fill='#1f77b4'>model</text><text x='450' y='12' fill='#d62728'>real mean</text>",
        esc(title)
    );
    let slot = (w - 20.0) / bars.len().max(1) as f64;
    for (i, (label, m, r)) in bars.iter().enumerate() {
        let x = 10.0 + slot * i as f64;
        for (j, (v, color)) in [(*m, "#1f77b4"), (*r, "#d62728")].iter().enumerate() {
            let bh = v / max * (h - 60.0);
            let _ = write!(
                svg,
                "<rect x='{:.1}' y='{:.1}' width='{:.1}' height='{bh:.1}' fill='{color}'/><text x='{:.1}' y='{:.1}'>{}</text>",
                x + 5.0 + j as f64 * slot * 0.4,
                h - 30.0 - bh,
                slot * 0.38,
                x + 5.0 + j as f64 * slot * 0.4,
                h - 33.0 - bh,
                fmt_value(*v, "value")
            );
        }
        let _ = write!(
            svg,
            "<text x='{:.1}' y='{}'>{}</text>",
            x + 5.0,
            h - 15.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn gctrace(text: &str) -> Vec<GctraceLine> {
    text.lines()
        .filter(|l| is_gctrace_line(l))
        .filter_map(|l| parse_gctrace_line(l).ok())
        .collect()
}

/// Heap live and goal per GC cycle (MB), from gctrace lines, against time (s).
fn heap_series(cycles: &[GctraceLine]) -> (Points, Points) {
    let live = cycles
        .iter()
        .map(|c| (c.at_ms as f64 / 1000.0, c.heap_live_mb as f64))
        .collect();
    let goal = cycles
        .iter()
        .map(|c| (c.at_ms as f64 / 1000.0, c.goal_mb as f64))
        .collect();
    (live, goal)
}

fn table(rows: &[(&str, &Comparison)], with_scenario: bool) -> String {
    let mut t = String::from("<table><tr>");
    if with_scenario {
        t.push_str("<th>scenario</th>");
    }
    t.push_str("<th>metric</th><th>model</th><th>real mean</th><th>real min–max</th><th>real CV</th><th>rule</th><th>verdict</th><th>likely mechanism</th></tr>");
    for (scenario, c) in rows {
        let (class, verdict) = match c.judgement {
            Judgement::Pass => ("pass", "ok"),
            Judgement::Fail => ("fail", "FAIL"),
            Judgement::NotCompared => ("none", "not compared"),
            Judgement::FewRealSamples { .. } => ("none", "not compared: few real samples"),
        };
        let _ = write!(t, "<tr class='{class}'>");
        if with_scenario {
            let _ = write!(t, "<td><a href='#{0}'>{0}</a></td>", esc(scenario));
        }
        let unit = if c.figure.contains(":seconds") && !c.figure.ends_with(" count") {
            "seconds"
        } else {
            "value"
        };
        let _ = write!(
            t,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{:.1}%</td><td title='{}'>{:?} {}</td><td>{verdict}</td><td>{}</td></tr>",
            esc(&c.figure),
            c.simulated
                .map_or("no samples".to_string(), |v| fmt_value(v, unit)),
            fmt_value(c.real.mean, unit),
            fmt_value(c.real.min, unit),
            fmt_value(c.real.max, unit),
            c.real_cv * 100.0,
            esc(&c.rule.basis),
            c.rule.kind,
            c.rule.tolerance,
            if c.judgement == Judgement::Fail {
                likely_mechanism(&c.figure)
            } else {
                ""
            }
        );
    }
    t.push_str("</table>");
    t
}

/// What the report shows of one scenario beyond its comparisons: the
/// model's stderr (with gctrace when it collects), the start of a real run's
/// stderr when the baseline kept one, and the baseline's header.
pub struct ScenarioExtras {
    pub model_stderr: String,
    pub real_stderr: Option<String>,
    pub baseline_note: String,
}

/// Writes `dir/index.html` for `reports`; `extras` is parallel to `reports`.
pub fn write(
    dir: &Path,
    reports: &[ScenarioReport],
    extras: &[ScenarioExtras],
    headline: &Headline,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let mut html = String::from(
        "<!doctype html><html><head><meta charset='utf-8'><title>gmpsim validation</title><style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}tr.fail{background:#fdd}tr.pass{background:#efe}pre{font-size:11px;max-height:300px;overflow:auto;background:#f6f6f6}table.side td{vertical-align:top;width:50%}table.side pre{max-width:580px}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>gmpsim: model vs real Go</h1><p><b>{}</b></p><p>Model: gmpsim's model of {}, the mean over seeds 1-5 (as many seeds as real runs), committed cost model. Real: the recorded baselines in validation/baselines/.</p>",
        esc(&headline.to_string()),
        sim_sched::GO_VERSION,
    );
    let failing: Vec<(&str, &Comparison)> = reports
        .iter()
        .flat_map(|r| r.comparisons.iter().map(move |c| (r.scenario.as_str(), c)))
        .filter(|(_, c)| c.judgement == Judgement::Fail)
        .collect();
    let _ = write!(html, "<h2>Failing comparisons ({})</h2>", failing.len());
    html.push_str(&table(&failing, true));
    let differing: Vec<&ScenarioReport> = reports.iter().filter(|r| !r.outcome.matches()).collect();
    let _ = write!(
        html,
        "<h3>Outcomes that differ ({})</h3><ul>",
        differing.len()
    );
    for r in differing {
        let _ = write!(
            html,
            "<li>{}: model {:?}, real {:?}</li>",
            esc(&r.scenario),
            r.outcome.model,
            r.outcome.real
        );
    }
    html.push_str("</ul><h2>Sensitivity</h2><pre>");
    html.push_str(&esc(&sensitivity_text(reports)));
    html.push_str("</pre>");
    let bars = |figure: &str, list: &[(&str, &str)], scale: f64| -> Vec<(String, f64, f64)> {
        list.iter()
            .filter_map(|(s, label)| {
                let r = reports.iter().find(|r| r.scenario == *s)?;
                let c = r.comparisons.iter().find(|c| c.figure == figure)?;
                Some((label.to_string(), c.simulated? * scale, c.real.mean * scale))
            })
            .collect()
    };
    let gogc = bars(
        GC_CYCLES_TOTAL,
        &[
            ("alloc-steady-gogc50", "GOGC=50"),
            ("alloc-steady", "GOGC=100"),
            ("alloc-steady-gogc200", "GOGC=200"),
        ],
        1.0,
    );
    if !gogc.is_empty() {
        html.push_str(&bar_chart("GC cycles vs GOGC (alloc-steady)", &gogc));
    }
    let procs = bars(
        "/gmpsim/process/elapsed:seconds",
        &[
            ("cpu-fanout-p1", "P=1"),
            ("cpu-fanout-p2", "P=2"),
            ("cpu-fanout", "P=4"),
        ],
        1e3,
    );
    if !procs.is_empty() {
        html.push_str(&bar_chart(
            "makespan (ms) vs GOMAXPROCS (cpu-fanout)",
            &procs,
        ));
    }
    let latency: Vec<(String, f64, f64)> = reports
        .iter()
        .filter_map(|r| {
            let c = r
                .comparisons
                .iter()
                .find(|c| c.figure == "/sched/latencies:seconds p99")?;
            Some((
                r.scenario.chars().take(9).collect(),
                c.simulated? * 1e6,
                c.real.mean * 1e6,
            ))
        })
        .take(12)
        .collect();
    if !latency.is_empty() {
        html.push_str(&bar_chart(
            "scheduling latency p99 (µs), first scenarios",
            &latency,
        ));
    }
    for (r, extra) in reports.iter().zip(extras) {
        let _ = write!(
            html,
            "<h2 id='{0}'>{0}</h2><p>{1}</p><p>outcome: model {2:?}; real {3:?}: <b>{4}</b></p>",
            esc(&r.scenario),
            esc(&extra.baseline_note),
            r.outcome.model,
            r.outcome.real,
            if r.outcome.matches() {
                "match"
            } else {
                "DIFFER"
            }
        );
        let rows: Vec<(&str, &Comparison)> = r
            .comparisons
            .iter()
            .map(|c| (r.scenario.as_str(), c))
            .collect();
        html.push_str(&table(&rows, false));
        let cycles = gctrace(&extra.model_stderr);
        let real_cycles = extra
            .real_stderr
            .as_deref()
            .map(gctrace)
            .unwrap_or_default();
        if !cycles.is_empty() {
            let (live, goal) = heap_series(&cycles);
            let mut series = vec![
                ("model live", "#1f77b4", live),
                ("model goal", "#aec7e8", goal),
            ];
            let title = if real_cycles.is_empty() {
                let real_goal = r
                    .comparisons
                    .iter()
                    .find(|c| c.figure == "/gmpsim/gc/heap/goal-median:bytes")
                    .map(|c| c.real.mean / 1048576.0);
                let end = cycles.last().map_or(0.0, |c| c.at_ms as f64 / 1000.0);
                if let Some(g) = real_goal {
                    series.push(("real median goal", "#d62728", vec![(0.0, g), (end, g)]));
                }
                "heap live and goal per GC cycle, model (MB); real Go's median goal from its gctrace"
            } else {
                let (real_live, real_goal) = heap_series(&real_cycles);
                series.push(("real live", "#d62728", real_live));
                series.push(("real goal", "#ff9896", real_goal));
                "heap live and goal per GC cycle (MB), model and a real run, from their gctrace lines"
            };
            html.push_str(&line_chart(title, "time (s)", "MB", &series));
        }
        let excerpt = |text: &str| text.lines().take(30).collect::<Vec<_>>().join("\n");
        let real = extra.real_stderr.as_deref().map_or_else(
            || {
                "(this baseline kept no stderr: re-record it with validate --live --record)"
                    .to_string()
            },
            excerpt,
        );
        let _ = write!(
            html,
            "<table class='side'><tr><th>model stderr (first 30 lines)</th><th>real Go stderr, first run (first 30 lines)</th></tr><tr><td><pre>{}</pre></td><td><pre>{}</pre></td></tr></table>",
            esc(&excerpt(&extra.model_stderr)),
            esc(&real)
        );
    }
    html.push_str("</body></html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, html).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_judge_direction_and_factor() {
        let step = |m: f64, r: f64| SweepStep {
            figure: String::new(),
            from: String::new(),
            to: String::new(),
            model_factor: m,
            real_factor: r,
        };
        assert!(step(0.5, 0.45).same_direction() && step(0.5, 0.45).similar_factor());
        assert!(!step(1.5, 0.5).same_direction());
        assert!(step(1.02, 0.97).same_direction());
        assert!(!step(0.5, 0.9).similar_factor());
    }

    #[test]
    fn every_failure_gets_a_mechanism() {
        assert!(likely_mechanism("/gc/cycles/total:gc-cycles").contains("pacer"));
        assert!(likely_mechanism("/nope").starts_with("(no mechanism"));
    }
}
