//! The real-Go runner: how it reads a run's end (completed, Go fatal error,
//! crash, timeout) and what it passes to the program. These tests stand in
//! small shell scripts for Go programs, so they need no Go; the same paths
//! with real Go are in realgo_library.rs.

#![cfg(unix)]

use scenarios::realgo::{self, GoToolchain, RealGoError, RealOutcome};
use sim_core::metrics::{GMPSIM_GC_GOAL_MEDIAN, SCHED_GOMAXPROCS};
use sim_sched::config::RuntimeConfig;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The stand-in programs, by file name.
fn script_bodies() -> Vec<(&'static str, String)> {
    vec![
        // `exec` so that the process killed is the one holding the pipes.
        ("sleeps-forever.sh", "exec sleep 600".to_string()),
        (
            "reports.sh",
            format!(
                "echo \"SCHED 0ms: GODEBUG=$GODEBUG GOGC=${{GOGC:-unset}}\" >&2\n\
                 echo '{REPORT}' | sed \"s/GOMAXPROCS_HERE/$GOMAXPROCS/\""
            ),
        ),
        (
            "deadlocks.sh",
            "echo 'fatal error: all goroutines are asleep - deadlock!' >&2\n\
             echo >&2\necho 'goroutine 1 [semacquire]:' >&2\nexit 2"
                .to_string(),
        ),
        ("panics.sh", "echo 'panic: boom' >&2; exit 2".to_string()),
        ("exits-3.sh", "exit 3".to_string()),
        ("segfaults.sh", "kill -SEGV $$".to_string()),
        ("prints-nothing.sh", "exit 0".to_string()),
        (
            "gc-env.sh",
            format!(
                "echo \"GOGC=${{GOGC:-unset}} GOMEMLIMIT=${{GOMEMLIMIT:-unset}} GODEBUG=${{GODEBUG:-unset}}\" >&2\n\
                 echo '{GC_LINES}' >&2\n\
                 echo '{REPORT}' | sed \"s/GOMAXPROCS_HERE/$GOMAXPROCS/\""
            ),
        ),
        (
            "bad-gctrace.sh",
            format!(
                "echo 'gc 1 @0.002s 12%: 0.020+2.6 ms clock' >&2\n\
                 echo '{REPORT}' | sed \"s/GOMAXPROCS_HERE/$GOMAXPROCS/\""
            ),
        ),
    ]
}

/// The stand-in program `name`, an executable shell script. All of them are
/// written before any test starts a process: a file still open for writing
/// in one thread while another thread forks cannot be executed ("text file
/// busy").
fn script(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gmpsim-realgo-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in script_bodies() {
            let path = dir.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    });
    let path = dir.join(name);
    assert!(path.is_file(), "no script {name}");
    path
}

fn runtime(gomaxprocs: u32, godebug: &str) -> RuntimeConfig {
    let mut r = RuntimeConfig {
        gomaxprocs,
        ..RuntimeConfig::default()
    };
    r.godebug.apply(godebug).unwrap();
    r
}

/// Three gctrace lines with goals of 4, 25 and 10 MB (the median: 10 MB).
const GC_LINES: &str = "gc 1 @0.002s 12%: 0.020+2.6+0.026 ms clock, 0.041+0.30/0.91/1.7+0.053 ms cpu, 3->5->5 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n\
gc 2 @0.008s 9%: 0.012+3.7+0.023 ms clock, 0.024+0.61/0.43/3.1+0.047 ms cpu, 8->11->11 MB, 25 MB goal, 0 MB stacks, 0 MB globals, 2 P\n\
gc 3 @0.017s 8%: 0.013+4.4+0.024 ms clock, 0.026+0.30/1.1/3.4+0.049 ms cpu, 19->22->12 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)";

const REPORT: &str = r#"{"go_version":"go1.27.3","outcome":{"exit_code":0,"reason":"main returned"},"metrics":{"/sched/gomaxprocs:threads":GOMAXPROCS_HERE,"/gmpsim/process/elapsed:seconds":0.25},"process_cpu_seconds":{"user":0.1,"system":0}}"#;

#[test]
fn a_run_that_outlives_its_timeout_is_killed_and_reported_as_a_timeout() {
    let sleeper = script("sleeps-forever.sh");
    let start = Instant::now();
    let run = realgo::run_program(
        &sleeper,
        &runtime(1, ""),
        Duration::from_millis(300),
        "go1.27.3",
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(10), "it waited");
    assert_eq!(run.outcome, RealOutcome::Timeout { after_s: 0.3 });
    assert_eq!(run.outcome.to_string(), "timeout: killed after 0.3s");
    assert_eq!(run.summary.outcome.reason, "timeout: killed after 0.3s");
    assert!(run.summary.metrics.is_empty());
    assert!(run.wall_s >= 0.3 && run.wall_s < 10.0, "{}", run.wall_s);
}

#[test]
fn the_program_gets_gomaxprocs_and_godebug_and_its_json_becomes_the_summary() {
    let program = script("reports.sh");
    let run = realgo::run_program(
        &program,
        &runtime(3, "schedtrace=5"),
        Duration::from_secs(30),
        "go1.27.3",
    )
    .unwrap();
    assert_eq!(run.outcome, RealOutcome::Completed, "{}", run.stderr);
    assert_eq!(run.summary.count(SCHED_GOMAXPROCS), Some(3));
    assert_eq!(run.summary.outcome.reason, "main returned");
    assert_eq!(
        run.stderr, "SCHED 0ms: GODEBUG=schedtrace=5 GOGC=unset\n",
        "GODEBUG from the scenario, nothing else leaks in"
    );
    let load = run
        .background_cpu_per_wall_s
        .expect("/proc/stat is readable");
    assert!((0.0..=1024.0).contains(&load), "{load}");
}

#[test]
fn a_go_fatal_error_is_an_outcome_with_gos_message() {
    let program = script("deadlocks.sh");
    let run = realgo::run_program(
        &program,
        &runtime(1, ""),
        Duration::from_secs(30),
        "go1.27.3",
    )
    .unwrap();
    let message = "fatal error: all goroutines are asleep - deadlock!".to_string();
    assert_eq!(
        run.outcome,
        RealOutcome::FatalError {
            message: message.clone()
        }
    );
    assert_eq!(run.summary.outcome.exit_code, 2);
    assert_eq!(run.summary.outcome.reason, message);
    assert_eq!(run.summary.go_version, "go1.27.3");
}

#[test]
fn panics_crashes_signals_and_missing_measurements_are_told_apart() {
    let cases = [
        (
            "panics.sh",
            RealOutcome::Panic {
                message: "panic: boom".to_string(),
            },
        ),
        (
            "exits-3.sh",
            RealOutcome::Crashed {
                description: "exit status 3".to_string(),
            },
        ),
        (
            "segfaults.sh",
            RealOutcome::Crashed {
                description: "killed by signal 11".to_string(),
            },
        ),
    ];
    for (name, expected) in cases {
        let run = realgo::run_program(
            &script(name),
            &runtime(1, ""),
            Duration::from_secs(30),
            "go1.27.3",
        )
        .unwrap();
        assert_eq!(run.outcome, expected, "{name}");
    }
    let silent = realgo::run_program(
        &script("prints-nothing.sh"),
        &runtime(1, ""),
        Duration::from_secs(30),
        "go1.27.3",
    )
    .unwrap();
    match silent.outcome {
        RealOutcome::Crashed { description } => {
            assert!(description.contains("no measurements"), "{description}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_go_binary_that_does_not_exist_is_an_error_that_names_it() {
    let missing = std::path::Path::new("/no/such/dir/go");
    let e = GoToolchain::at(missing).unwrap_err();
    assert!(e.to_string().contains("/no/such/dir/go"), "{e}");
}

#[test]
fn no_go_at_all_says_how_to_install_the_pinned_one() {
    let e = RealGoError::GoNotFound {
        looked_at: vec![
            "GMPSIM_GO (not set)".to_string(),
            "`go` on PATH".to_string(),
        ],
    };
    let text = e.to_string();
    assert!(text.contains("scripts/install-go.sh"), "{text}");
    assert!(text.contains("go1.27.3"), "{text}");
    assert!(text.contains("`go` on PATH"), "{text}");
}

#[test]
fn gogc_and_gomemlimit_reach_the_program_only_when_set() {
    let program = script("gc-env.sh");
    let mut settings = runtime(2, "");
    let run =
        realgo::run_program(&program, &settings, Duration::from_secs(30), "go1.27.3").unwrap();
    assert!(
        run.stderr
            .starts_with("GOGC=unset GOMEMLIMIT=unset GODEBUG=unset\n"),
        "Go's defaults are left to Go: {}",
        run.stderr
    );
    settings.gogc = -1;
    settings.memory_limit_bytes = 32 << 20;
    let run =
        realgo::run_program(&program, &settings, Duration::from_secs(30), "go1.27.3").unwrap();
    assert!(
        run.stderr
            .starts_with("GOGC=off GOMEMLIMIT=32MiB GODEBUG=unset\n"),
        "{}",
        run.stderr
    );
    settings.gogc = 50;
    let run =
        realgo::run_program(&program, &settings, Duration::from_secs(30), "go1.27.3").unwrap();
    assert!(run.stderr.starts_with("GOGC=50 "), "{}", run.stderr);
    // Without gctrace in GODEBUG the runner reads no gctrace lines.
    assert_eq!(run.summary.count(GMPSIM_GC_GOAL_MEDIAN), None);
}

#[test]
fn with_gctrace_the_median_heap_goal_comes_from_stderr() {
    let run = realgo::run_program(
        &script("gc-env.sh"),
        &runtime(2, "gctrace=1"),
        Duration::from_secs(30),
        "go1.27.3",
    )
    .unwrap();
    assert!(run.stderr.contains("GODEBUG=gctrace=1"), "{}", run.stderr);
    assert_eq!(run.outcome, RealOutcome::Completed, "{}", run.stderr);
    assert_eq!(run.summary.count(GMPSIM_GC_GOAL_MEDIAN), Some(10 << 20));
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);

    let broken = realgo::run_program(
        &script("bad-gctrace.sh"),
        &runtime(2, "gctrace=1"),
        Duration::from_secs(30),
        "go1.27.3",
    )
    .unwrap();
    assert_eq!(broken.outcome, RealOutcome::Completed);
    assert_eq!(broken.summary.count(GMPSIM_GC_GOAL_MEDIAN), None);
    assert_eq!(broken.warnings.len(), 1);
    assert!(
        broken.warnings[0].contains("gctrace line 1, column 28: expected \"+\""),
        "{:?}",
        broken.warnings
    );
}
