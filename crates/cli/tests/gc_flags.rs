//! `--gogc` and `--gomemlimit`: what they accept, what they refuse (naming
//! the flag), and that runs, JSON summaries and replays carry them.

mod common;
use common::{gmpsim, scratch, stderr, stdout};
use std::path::PathBuf;

/// A small allocating scenario: a few cycles, quick to simulate. Each test
/// writes its own copy (`name`): tests run in parallel, and a replay reads
/// its scenario file again.
fn allocating_scenario(name: &str) -> PathBuf {
    let path = scratch(&format!("{name}.toml"));
    std::fs::write(
        &path,
        r#"format = 1
name = "alloc-small"

[runtime]
gomaxprocs = 2
gogc = 100

[programs.main]
ops = [
  { op = "alloc", size = "64B", pointers = 1, count = 200000, keep = 16384 },
  { op = "gc" },
]
"#,
    )
    .unwrap();
    path
}

#[test]
fn bad_gogc_and_gomemlimit_values_fail_with_exit_1_naming_the_flag() {
    let scenario = allocating_scenario("bad-flags");
    let scenario = scenario.to_str().unwrap();
    for (flag, value, needle) in [
        ("--gogc", "-1", "write \"off\""),
        ("--gogc", "fifty", "\"fifty\" is not a GOGC value"),
        ("--gogc", "3000000000", "at most 2147483647"),
        ("--gomemlimit", "32MB", "write \"32MiB\""),
        ("--gomemlimit", "1.5GiB", "\"1536MiB\""),
        ("--gomemlimit", "-5MiB", "negative byte size"),
        ("--gomemlimit", "lots", "off means no limit"),
    ] {
        for command in ["run", "explore"] {
            let o = gmpsim(&[command, scenario, flag, value]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{command} {flag} {value}: {err}");
            assert!(
                err.starts_with(&format!("gmpsim: error: {flag}: ")),
                "{command} {flag} {value}: {err}"
            );
            assert!(err.contains(needle), "{command} {flag} {value}: {err}");
        }
    }
    // compare checks its flags before it looks for Go.
    let o = gmpsim(&["compare", scenario, "--gogc", "fifty"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--gogc: "), "{}", stderr(&o));
}

#[test]
fn the_flags_override_the_scenario_and_show_in_the_heading_and_the_json() {
    let scenario = allocating_scenario("overrides");
    let json = scratch("summary.json");
    let o = gmpsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--gogc",
        "off",
        "--gomemlimit",
        "32MiB",
        "--godebug",
        "gctrace=1",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "== alloc-small: seed 1, GOMAXPROCS=2, GODEBUG=gctrace=1, GOGC=off, GOMEMLIMIT=32MiB"
        ),
        "{out}"
    );
    // gctrace=1 passes through to the model, which prints Go's lines.
    assert!(
        out.lines().any(|l| l.starts_with("gc 1 @")),
        "no gctrace line in:\n{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["gogc"], "off");
    assert_eq!(v["gomemlimit"], "32MiB");
    assert_eq!(v["godebug"], "gctrace=1");

    // Without the flags: the scenario's settings, Go's defaults left out.
    let o = gmpsim(&["run", scenario.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("== alloc-small: seed 1, GOMAXPROCS=2 (model of"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_replay_records_gogc_and_the_memory_limit_and_reproduces_the_run() {
    let scenario = allocating_scenario("replayed");
    let replay = scratch("alloc.replay");
    let o = gmpsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--gogc",
        "50",
        "--gomemlimit",
        "64MiB",
        "--save-replay",
        replay.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&replay).unwrap();
    assert!(text.contains("\ngogc 50\ngomemlimit 64MiB\n"), "{text}");
    let r = gmpsim(&["replay", replay.to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let out = stdout(&r);
    assert!(out.contains("GOGC=50, GOMEMLIMIT=64MiB"), "{out}");
    assert!(out.contains("replay: reproduced byte for byte"), "{out}");
}
