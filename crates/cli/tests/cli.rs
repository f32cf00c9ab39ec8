//! The gmpsim binary as a user runs it: output, exit codes, bad input.

mod common;
use common::{gmpsim, scratch, stderr, stdout};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch_file(name: &str, text: &str) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn list_names_every_library_scenario_with_a_description() {
    let o = gmpsim(&["list"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for name in [
        "cpu-fanout",
        "starvation-tight-loop",
        "syscall-handoff",
        "spawn-storm",
        "steal-imbalance",
        "gosched-pingpong",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(line.len() > name.len() + 10, "no description: {line}");
    }
}

#[test]
fn run_prints_schedtrace_lines_then_a_summary_and_the_same_seed_prints_the_same_bytes() {
    let a = gmpsim(&[
        "run",
        "cpu-fanout",
        "--seed",
        "7",
        "--godebug",
        "schedtrace=1",
    ]);
    let b = gmpsim(&[
        "run",
        "cpu-fanout",
        "--seed",
        "7",
        "--godebug",
        "schedtrace=1",
    ]);
    assert!(a.status.success(), "{}", stderr(&a));
    let text = stdout(&a);
    assert!(
        text.starts_with("SCHED 0ms: gomaxprocs=4 idleprocs="),
        "{text}"
    );
    assert!(text.contains("/sched/latencies:seconds"));
    assert!(text.contains("exit status 0: main returned"));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn go_harness_runs_the_calibration_loops_before_the_scenario() {
    let events = |args: &[&str]| -> u64 {
        let o = gmpsim(args);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        let line = text
            .lines()
            .find(|l| l.contains("main returned at"))
            .unwrap_or_else(|| panic!("no outcome line: {text}"));
        let n = line.rsplit_once('(').unwrap().1;
        n.split_whitespace().next().unwrap().parse().unwrap()
    };
    let plain = events(&["run", "select-timeout"]);
    let harnessed = events(&[
        "run",
        "select-timeout",
        "--go-harness",
        "--check-determinism",
    ]);
    // sysmon preempts the 50 ms of calibration loops and the runtime's own
    // goroutines start during them: more events than the scenario alone.
    assert!(harnessed > plain, "{harnessed} vs {plain} events");
    let o = gmpsim(&["run", "select-timeout", "--go-harness"]);
    assert!(stdout(&o).contains("harness: main ran the Go program's compute-loop calibration"));
    let o = gmpsim(&[
        "run",
        "select-timeout",
        "--go-harness",
        "--save-replay",
        "x.replay",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

#[test]
fn check_determinism_reports_identical_runs() {
    let o = gmpsim(&[
        "run",
        "steal-imbalance",
        "--seed",
        "3",
        "--check-determinism",
    ]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("produced identical traces"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn trace_out_writes_chrome_trace_json_with_a_track_per_p_and_per_m() {
    let path =
        std::env::temp_dir().join(format!("gmpsim-cli-test-{}.trace.json", std::process::id()));
    let o = gmpsim(&[
        "run",
        "cpu-fanout-p2",
        "--trace-out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let names: Vec<String> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"P0".to_string()) && names.contains(&"P1".to_string()));
    assert!(names.contains(&"M0".to_string()));
    std::fs::remove_file(path).ok();
}

#[test]
fn a_deadlocked_program_prints_gos_fatal_error_and_exits_2() {
    let path = scratch_file(
        "deadlock.toml",
        r#"format = 1
name = "deadlock"
description = "main waits for a WaitGroup nobody marks done."
wait_groups = ["never"]
[runtime]
gomaxprocs = 2
[programs.main]
ops = [
  { op = "wg_add", wait_group = "never", delta = 1 },
  { op = "wg_wait", wait_group = "never" },
]
"#,
    );
    let o = gmpsim(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let text = stdout(&o);
    assert!(
        text.contains("fatal error: all goroutines are asleep - deadlock!"),
        "{text}"
    );
    assert!(
        text.contains("goroutine 1 [sync.WaitGroup.Wait]:"),
        "{text}"
    );
}

#[test]
fn every_bad_scenario_file_fails_with_exit_1_naming_the_file_and_never_panics() {
    let dir = repo_root().join("crates/scenarios/tests/bad");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let o = gmpsim(&["run", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
        let file_name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            err.starts_with("gmpsim: error: ") && err.contains(file_name),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} bad files");
}

/// The other files gmpsim reads: replay files and cost-model files.
#[test]
fn every_bad_replay_and_cost_model_file_fails_with_exit_1_naming_the_file() {
    let dir = repo_root().join("crates/cli/tests/bad-inputs");
    let mut checked = 0;
    for (kind, args) in [
        ("replay", vec!["replay", "FILE"]),
        (
            "cost-model",
            vec!["run", "cpu-fanout", "--cost-model", "FILE"],
        ),
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let args: Vec<&str> = args
                .iter()
                .map(|a| {
                    if *a == "FILE" {
                        path.to_str().unwrap()
                    } else {
                        a
                    }
                })
                .collect();
            let o = gmpsim(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
            let file_name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                err.starts_with("gmpsim: error: ") && err.contains(file_name),
                "{err}"
            );
            assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} bad files");
}

#[test]
fn bad_flags_fail_with_exit_1_and_say_which_flag() {
    for (args, needle) in [
        (
            vec!["run", "cpu-fanout", "--gomaxprocs", "0"],
            "--gomaxprocs",
        ),
        (
            vec!["run", "cpu-fanout", "--godebug", "nosuch=1"],
            "--godebug",
        ),
        (
            vec!["run", "cpu-fanout", "--godebug", "schedtrace=-5"],
            "schedtrace=-5",
        ),
        (vec!["run", "no-such-scenario"], "cpu-fanout"),
        (
            vec!["run", "cpu-fanout", "--cost-model", "/no/such/file.toml"],
            "/no/such/file.toml",
        ),
        (
            vec!["run", "cpu-fanout", "--no-such-flag"],
            "--no-such-flag",
        ),
        (vec!["no-such-command"], "no-such-command"),
        (
            vec!["run", "cpu-fanout", "--max-heap", "lots"],
            "--max-heap",
        ),
    ] {
        let o = gmpsim(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn explore_shrinks_the_workload_and_the_replay_of_the_smaller_run_reproduces_it() {
    let dir = scratch("explore-shrink");
    let o = gmpsim(&[
        "explore",
        "leaky-worker-pool",
        "--seeds",
        "1..10",
        "--replay-dir",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(4), "{text}{}", stderr(&o));
    assert!(
        text.contains("shrunk the workload: GOMAXPROCS 2 -> 1, programs.main.ops[0].count 4 -> 2"),
        "{text}"
    );
    let replay = dir.join("leaky-worker-pool-1.replay");
    let saved = std::fs::read_to_string(&replay).unwrap();
    assert!(saved.contains("\ngomaxprocs 1\n") && saved.contains("\nworkload-count 0 2\n"));
    let r = gmpsim(&["replay", replay.to_str().unwrap()]);
    assert!(
        stdout(&r).contains("replay: reproduced byte for byte"),
        "{}{}",
        stdout(&r),
        stderr(&r)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn explore_finds_a_deadlocking_seed_and_its_replay_reproduces_it_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("gmpsim-explore-{}", std::process::id()));
    let o = gmpsim(&[
        "explore",
        "deadlock-lock-order",
        "--seeds",
        "1..500",
        "--replay-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("found a failure at seed"), "{text}");
    let replay = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let r = gmpsim(&["replay", replay.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2), "the replayed run deadlocks again");
    assert!(
        stdout(&r).contains("replay: reproduced byte for byte"),
        "{}",
        stdout(&r)
    );
    // A replay fixes everything that changes behaviour: such flags are refused by name.
    let refused = gmpsim(&["replay", replay.to_str().unwrap(), "--seed", "3"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--seed"), "{}", stderr(&refused));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_replay_of_a_scenario_file_that_changed_is_refused() {
    let source =
        std::fs::read_to_string(repo_root().join("crates/scenarios/library/fan-in.toml")).unwrap();
    let path = scratch_file("fan-in-copy.toml", &source);
    let replay = path.with_extension("replay");
    let o = gmpsim(&[
        "run",
        path.to_str().unwrap(),
        "--save-replay",
        replay.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&path, source.replace("format = 1", "format = 1\n# edited")).unwrap();
    let r = gmpsim(&["replay", replay.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("changed since the replay was recorded"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn a_run_that_hits_a_limit_stops_with_exit_3_and_a_partial_summary() {
    for (args, needle) in [
        (
            vec!["run", "million-parked", "--max-goroutines", "1000"],
            "the limit of 1000 goroutines was reached",
        ),
        (
            vec!["run", "cpu-fanout", "--max-events", "50"],
            "the limit of 50 events was reached",
        ),
        (
            vec!["run", "cpu-fanout", "--max-sim-time", "20ms"],
            "the simulated time limit 20ms was reached",
        ),
        (
            vec!["run", "slow-leak", "--max-heap", "8MiB"],
            "past the limit of 8388608 bytes",
        ),
    ] {
        let o = gmpsim(&args);
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {text}");
        assert!(text.contains(needle), "{args:?}: {text}");
        assert!(
            text.contains("/sched/goroutines:goroutines"),
            "the partial summary is printed"
        );
    }
}

#[test]
fn completions_are_generated_for_bash_and_every_subcommand_has_help_with_examples() {
    let o = gmpsim(&["completions", "bash"]);
    assert!(o.status.success());
    let script = stdout(&o);
    assert!(
        script.contains("gmpsim") && script.contains("explore") && script.contains("--seeds"),
        "{script}"
    );
    for sub in [
        "list",
        "show",
        "run",
        "compare",
        "go-source",
        "replay",
        "explore",
        "completions",
        "bench",
        "top",
        "validate",
        "calibrate",
    ] {
        let h = gmpsim(&[sub, "--help"]);
        assert!(h.status.success(), "{sub} --help");
        let text = stdout(&h);
        assert!(text.contains("Usage: gmpsim"), "{sub}: {text}");
        assert!(
            text.contains("Examples:"),
            "{sub} --help has no examples:\n{text}"
        );
    }
}

#[test]
fn validate_judges_a_scenario_against_its_baseline_offline() {
    let o = gmpsim(&["validate", "steal-imbalance", "--verbose"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains("== steal-imbalance: "), "{text}");
    assert!(text.contains("/gmpsim/process/elapsed:seconds"), "{text}");
    assert!(
        text.contains("comparisons within tolerance") && text.contains("of 1 outcomes match"),
        "{text}"
    );
    let o = gmpsim(&["validate", "no-such-scenario"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-scenario"), "{}", stderr(&o));
    let o = gmpsim(&["validate", "--record"]);
    assert_eq!(o.status.code(), Some(1), "--record needs --live");
}

#[test]
fn validate_writes_an_html_report_and_the_sensitivity_check() {
    let dir = std::env::temp_dir().join(format!("gmpsim-report-{}", std::process::id()));
    let o = gmpsim(&[
        "validate",
        "cpu-fanout-p1",
        "cpu-fanout-p2",
        "cpu-fanout",
        "--sensitivity",
        "--report",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(
        text.contains("GOMAXPROCS=1 -> GOMAXPROCS=2") && text.contains("model x"),
        "{text}"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("comparisons within tolerance"), "no headline");
    assert!(html.contains("<svg") && html.contains("makespan (ms) vs GOMAXPROCS"));
    assert!(html.contains("id='cpu-fanout-p2'") && html.contains("Failing comparisons"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn top_without_a_terminal_says_so_and_exits_1() {
    let o = gmpsim(&["top", "cpu-fanout"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("terminal"), "{}", stderr(&o));
    let o = gmpsim(&["top", "cpu-fanout", "--speed", "fast"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--speed fast"), "{}", stderr(&o));
}

#[test]
fn bench_prints_a_row_per_scenario_and_writes_json() {
    let json = std::env::temp_dir().join(format!("gmpsim-bench-{}.json", std::process::id()));
    let o = gmpsim(&[
        "bench",
        "cpu-fanout",
        "deadlock-unbuffered",
        "--repeat",
        "1",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("cpu-fanout") && out.contains("deadlock-unbuffered"),
        "{out}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["events"].as_u64().unwrap() > 100);
    assert!(rows[0]["decisions"].as_u64().unwrap() > 10);
    // Memory per goroutine: cpu-fanout has main, eight workers and the
    // runtime's own goroutines.
    assert!(rows[0]["goroutines"].as_u64().unwrap() >= 9);
    assert!(rows[0]["peak_bytes_per_goroutine"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_file(json);
}

/// A goroutine that wants a P while another spins on the only one for 30 ms.
const WAITS_FOR_A_P: &str = r#"
format = 1
name = "waits-for-a-p"
wait_groups = ["done"]

[runtime]
gomaxprocs = 1

[programs.main]
ops = [
  { op = "wg_add", wait_group = "done", delta = 2 },
  { op = "spawn", program = "spinner", count = 2 },
  { op = "wg_wait", wait_group = "done" },
]

[programs.spinner]
ops = [
  { op = "compute", duration = "30ms" },
  { op = "wg_done", wait_group = "done" },
]

[assert]
max_wait = "MAX"
"#;

#[test]
fn a_failed_assert_is_reported_and_exits_4_and_explore_uses_it() {
    let strict = scratch_file("assert-strict.toml", &WAITS_FOR_A_P.replace("MAX", "1ms"));
    let o = gmpsim(&["run", strict.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("assert max_wait = 1ms: FAILED"),
        "{}",
        stdout(&o)
    );
    let replays = std::env::temp_dir().join(format!("gmpsim-assert-{}", std::process::id()));
    let o = gmpsim(&[
        "explore",
        strict.to_str().unwrap(),
        "--seeds",
        "1..3",
        "--replay-dir",
        replays.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
    let _ = std::fs::remove_dir_all(&replays);

    let generous = scratch_file("assert-generous.toml", &WAITS_FOR_A_P.replace("MAX", "1s"));
    let o = gmpsim(&["run", generous.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("assert max_wait = 1s: holds"),
        "{}",
        stdout(&o)
    );
}
