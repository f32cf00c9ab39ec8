//! The Go program generated from a scenario: what each op becomes, and that
//! every library scenario's program is formatted, vetted and builds.
//!
//! Tests marked `#[ignore]` need the pinned Go toolchain; CI runs them with
//! `cargo test --workspace --release -- --ignored` after `scripts/install-go.sh`.

use scenarios::gosource::generate;
use scenarios::realgo::{self, GoToolchain, RealOutcome};
use scenarios::{library, parse_scenario};
use std::path::PathBuf;
use std::process::Command;

/// A scenario with every op kind.
const EVERY_OP: &str = r#"
format = 1
name = "every-op"
description = """
Uses every op once.

What to look for: nothing, it is a test.
"""
wait_groups = ["done"]
channels = [{ name = "jobs", capacity = 2 }, { name = "results" }]
mutexes = ["mu"]
rwmutexes = ["rw"]

[runtime]
gomaxprocs = 3
godebug = "schedtrace=5,asyncpreemptoff=1"

[programs.main]
description = "Starts the others and waits."
ops = [
  { op = "wg_add", wait_group = "done", delta = 5 },
  { op = "spawn", program = "worker", count = 3 },
  { op = "spawn", program = "sleeper" },
  { op = "spawn", program = "talker" },
  { op = "wg_wait", wait_group = "done" },
]

[programs.worker]
description = "Computes both ways, yields, and calls into the kernel."
ops = [
  { op = "repeat", count = 4, body = [
    { op = "compute", duration = "5ms", preemptible = true },
    { op = "compute", duration = "1.5us", preemptible = false },
    { op = "gosched" },
    { op = "repeat", count = 2, body = [
      { op = "syscall", duration = "2ms" },
    ] },
  ] },
  { op = "lock", mutex = "mu" },
  { op = "unlock", mutex = "mu" },
  { op = "rlock", rwmutex = "rw" },
  { op = "runlock", rwmutex = "rw" },
  { op = "wlock", rwmutex = "rw" },
  { op = "wunlock", rwmutex = "rw" },
  { op = "wg_done", wait_group = "done" },
]

[programs.sleeper]
description = "Sleeps, waits on the network, and takes one count too many and gives it back."
ops = [
  { op = "lock_os_thread" },
  { op = "sleep", duration = "1ms" },
  { op = "net_wait", latency = "3ms" },
  { op = "unlock_os_thread" },
  { op = "wg_add", wait_group = "done", delta = 1 },
  { op = "wg_add", wait_group = "done", delta = -1 },
  { op = "wg_done", wait_group = "done" },
]

[programs.talker]
description = "Channels: buffered sends, a select, and a close."
ops = [
  { op = "send", chan = "jobs" },
  { op = "recv", chan = "jobs" },
  { op = "select", cases = [
    { send = "jobs", body = [{ op = "compute", duration = "10us" }] },
    { recv = "nil" },
    { after = "5ms", body = [{ op = "gosched" }] },
  ], default = [{ op = "sleep", duration = "1ms" }] },
  { op = "select", cases = [{ recv = "jobs" }] },
  { op = "close", chan = "results" },
  { op = "recv", chan = "results" },
  { op = "wg_done", wait_group = "done" },
]
"#;

/// Programs and wait groups named like Go builtins and harness functions.
const CLASHES: &str = r#"
format = 1
name = "clashes"
wait_groups = ["sink"]
channels = [{ name = "netWait" }]
mutexes = ["json"]
rwmutexes = ["report"]
[runtime]
gomaxprocs = 1
[programs.main]
ops = [
  { op = "spawn", program = "sleep" },
  { op = "spawn", program = "step" },
  { op = "spawn", program = "init" },
  { op = "wg_wait", wait_group = "sink" },
  { op = "lock", mutex = "json" },
  { op = "rlock", rwmutex = "report" },
  { op = "close", chan = "netWait" },
]
[programs.sleep]
ops = []
[programs.step]
ops = []
[programs.init]
ops = []
[programs.worker]
ops = []
"#;

/// The generated lines, trimmed of their indentation.
fn lines(source: &str) -> Vec<&str> {
    source.lines().map(str::trim).collect()
}

/// The body of `func NAME() { ... }`, lines trimmed.
fn function_body<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("func {name}() {{");
    let mut body = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        if line == head {
            inside = true;
        } else if inside && line == "}" {
            return body;
        } else if inside {
            body.push(line.trim());
        }
    }
    panic!("no func {name} in:\n{source}");
}

#[test]
fn every_op_becomes_the_go_statement_it_stands_for() {
    let scenario = parse_scenario(EVERY_OP, "every-op.toml").unwrap();
    let go = generate(&scenario);
    assert_eq!(
        function_body(&go, "main"),
        [
            "// Starts the others and waits.",
            "startMeasuring() // calibrate the compute loops, then start the clock",
            "done.Add(5)",
            "for range 3 {",
            "go worker()",
            "}",
            "go sleeper()",
            "go talker()",
            "done.Wait()",
            "reportMeasurements() // print the measurements as one JSON object",
        ]
    );
    assert_eq!(
        function_body(&go, "worker"),
        [
            "// Computes both ways, yields, and calls into the kernel.",
            "for range 4 {",
            "computeWithCalls(5 * time.Millisecond)",
            "computeNoCalls(1500 * time.Nanosecond)",
            "runtime.Gosched()",
            "for range 2 {",
            "blockingSyscall(2 * time.Millisecond)",
            "}",
            "}",
            "mu.Lock()",
            "mu.Unlock()",
            "rw.RLock()",
            "rw.RUnlock()",
            "rw.Lock()",
            "rw.Unlock()",
            "done.Done()",
        ]
    );
    assert_eq!(
        function_body(&go, "sleeper"),
        [
            "// Sleeps, waits on the network, and takes one count too many and gives it back.",
            "runtime.LockOSThread()",
            "sleep(time.Millisecond)",
            "netWait(3 * time.Millisecond)",
            "runtime.UnlockOSThread()",
            "done.Add(1)",
            "done.Add(-1)",
            "done.Done()",
        ]
    );
    assert!(go.contains(
        "\tselect {\n\
         \tcase jobs <- 1:\n\
         \t\tcomputeWithCalls(10 * time.Microsecond)\n\
         \tcase <-nilChannel:\n\
         \tcase <-time.After(5 * time.Millisecond):\n\
         \t\truntime.Gosched()\n\
         \tdefault:\n\
         \t\tsleep(time.Millisecond)\n\
         \t}\n"
    ));
    assert_eq!(
        function_body(&go, "talker"),
        [
            "// Channels: buffered sends, a select, and a close.",
            "jobs <- 1",
            "<-jobs",
            "select {",
            "case jobs <- 1:",
            "computeWithCalls(10 * time.Microsecond)",
            "case <-nilChannel:",
            "case <-time.After(5 * time.Millisecond):",
            "runtime.Gosched()",
            "default:",
            "sleep(time.Millisecond)",
            "}",
            "select {",
            "case <-jobs:",
            "}",
            "close(results)",
            "<-results",
            "done.Done()",
        ]
    );
    for declaration in [
        "var jobs = make(chan int, 2)",
        "var results = make(chan int)",
        "var mu sync.Mutex",
        "var rw sync.RWMutex",
    ] {
        assert!(lines(&go).contains(&declaration), "{declaration}");
    }
    assert!(lines(&go).contains(&"var done sync.WaitGroup"));
}

#[test]
fn the_program_starts_with_the_scenario_description_and_how_to_run_it() {
    let scenario = parse_scenario(EVERY_OP, "every-op.toml").unwrap();
    let go = generate(&scenario);
    let first: Vec<&str> = go.lines().take(8).collect();
    assert_eq!(
        first[0],
        "// Code generated by gmpsim from the scenario \"every-op\" (every-op.toml). DO NOT EDIT."
    );
    assert_eq!(first[2], "// Uses every op once.");
    assert_eq!(first[3], "//");
    assert!(
        go.contains("//\tGOMAXPROCS=3 GODEBUG=schedtrace=5,asyncpreemptoff=1 go run main.go\n")
    );
    // main is the first function, the others follow in name order.
    let funcs: Vec<&str> = go
        .lines()
        .filter(|l| l.starts_with("func ") && l.ends_with("() {"))
        .take(3)
        .collect();
    assert_eq!(
        funcs,
        ["func main() {", "func sleeper() {", "func talker() {"]
    );
}

#[test]
fn sync_is_imported_only_by_programs_that_declare_what_it_provides() {
    let bare = parse_scenario(
        r#"
format = 1
name = "bare"
[runtime]
gomaxprocs = 1
[programs.main]
ops = [{ op = "select", cases = [{ after = "1ms" }] }, { op = "select" }]
"#,
        "bare.toml",
    )
    .unwrap();
    let go = generate(&bare);
    assert!(!go.contains("\t\"sync\"\n"));
    assert!(go.contains("\t\"sync/atomic\"\n"));
    assert!(go.contains("\tselect {\n\tcase <-time.After(time.Millisecond):\n\t}\n\tselect {}\n"));
    let every = generate(&parse_scenario(EVERY_OP, "every-op.toml").unwrap());
    assert!(every.contains("\t\"slices\"\n\t\"sync\"\n\t\"sync/atomic\"\n"));
}

#[test]
fn the_output_is_laid_out_as_gofmt_would() {
    // The real gofmt check is gofmt_finds_nothing_to_change below; these are
    // the rules the generator relies on, checked without Go.
    for entry in library::entries() {
        let go = generate(&entry.parse().unwrap());
        for (i, line) in go.lines().enumerate() {
            assert_eq!(
                line,
                line.trim_end(),
                "{}:{}: trailing space",
                entry.name,
                i + 1
            );
            assert!(
                !line.starts_with(' '),
                "{}:{}: indented with spaces",
                entry.name,
                i + 1
            );
        }
        assert!(go.ends_with("}\n") && !go.ends_with("\n\n"));
        assert!(!go.contains("\n\n\n"), "{}: two blank lines", entry.name);
    }
}

#[test]
fn names_that_go_or_the_harness_already_use_get_a_suffix() {
    let scenario = parse_scenario(CLASHES, "clashes.toml").unwrap();
    let go = generate(&scenario);
    assert_eq!(
        function_body(&go, "main")[1..8],
        [
            "go sleepProg()",
            "go stepProg()",
            "go initProg()",
            "sinkWG.Wait()",
            "jsonMu.Lock()",
            "reportRW.RLock()",
            "close(netWaitCh)",
        ]
    );
    for func in ["sleepProg", "stepProg", "initProg", "worker"] {
        function_body(&go, func);
    }
    for declaration in [
        "var sinkWG sync.WaitGroup",
        "var netWaitCh = make(chan int)",
        "var jsonMu sync.Mutex",
        "var reportRW sync.RWMutex",
    ] {
        assert!(lines(&go).contains(&declaration), "{declaration}");
    }
}

// ---------------------------------------------------------------------------
// With the real toolchain.
// ---------------------------------------------------------------------------

fn go() -> GoToolchain {
    GoToolchain::locate().unwrap_or_else(|e| panic!("{e}"))
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gmpsim-gosource-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn gofmt_finds_nothing_to_change() {
    let go = go();
    let gofmt = go.go.with_file_name("gofmt");
    let dir = scratch_dir("gofmt");
    let mut sources = vec![
        (
            "every-op".to_string(),
            generate(&parse_scenario(EVERY_OP, "every-op.toml").unwrap()),
        ),
        (
            "memory".to_string(),
            generate(&parse_scenario(MEMORY, "memory.toml").unwrap()),
        ),
    ];
    for entry in library::entries() {
        sources.push((entry.name.to_string(), generate(&entry.parse().unwrap())));
    }
    for (name, source) in sources {
        let path = dir.join(format!("{name}.go"));
        std::fs::write(&path, &source).unwrap();
        let out = Command::new(&gofmt).arg("-d").arg(&path).output().unwrap();
        assert!(out.status.success(), "gofmt failed on {name}: {out:?}");
        assert!(
            out.stdout.is_empty(),
            "gofmt would change {name}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn programs_with_every_op_and_with_clashing_names_pass_go_vet() {
    let go = go();
    let cache = scratch_dir("vet-cache");
    for (name, toml) in [
        ("every-op", EVERY_OP),
        ("clashes", CLASHES),
        ("memory", MEMORY),
    ] {
        let scenario = parse_scenario(toml, name).unwrap();
        let built = realgo::build(&go, name, &generate(&scenario), &cache)
            .unwrap_or_else(|e| panic!("{e}"));
        realgo::vet(&go, &built).unwrap_or_else(|e| panic!("{e}"));
        // And every op really runs: the program completes and reports.
        let run = realgo::run_program(
            &built.binary,
            &scenario.runtime,
            std::time::Duration::from_secs(60),
            &go.version,
        )
        .unwrap();
        assert_eq!(
            run.outcome,
            RealOutcome::Completed,
            "{name}: {}",
            run.stderr
        );
    }
}

/// Allocation, collection and stack growth, with names that clash with the
/// generated types and state variables.
const MEMORY: &str = r#"
format = 1
name = "memory"
wait_groups = ["done"]

[runtime]
gomaxprocs = 2
gogc = 50
gomemlimit = "64MiB"

[programs.main]
ops = [
  { op = "wg_add", wait_group = "done", delta = 1 },
  { op = "spawn", program = "ring0" },
  { op = "alloc", size = "64B", pointers = 1, count = 100000, keep = 1024 },
  { op = "repeat", count = 3, body = [
    { op = "alloc", size = "4KiB", pointers = 3, count = 10, keep = 4, link = true },
  ] },
  { op = "alloc", size = 8, count = 1000 },
  { op = "alloc", size = "32B", pointers = 4, count = 1000, link = true },
  { op = "gc" },
  { op = "stack_grow", used = "256KiB" },
  { op = "wg_wait", wait_group = "done" },
]

[programs.ring0]
description = "Named like a ring: the generated variables give way."
ops = [
  { op = "alloc", size = "64B", pointers = 1, count = 10, keep = 2 },
  { op = "wg_done", wait_group = "done" },
]

[programs.obj64p1]
description = "Named like a generated type."
ops = []
"#;

#[test]
fn alloc_gc_and_stack_grow_become_new_runtime_gc_and_a_call_chain() {
    let scenario = parse_scenario(MEMORY, "memory.toml").unwrap();
    let go = generate(&scenario);
    assert!(go.contains("//\tGOMAXPROCS=2 GOGC=50 GOMEMLIMIT=64MiB go run main.go\n"));
    assert!(lines(&go).contains(&"const reportGC = true"));
    // One type per shape, named after it (a program took obj64p1).
    for declaration in [
        "type obj8 [8]byte",
        "type obj32p4 struct {",
        "type obj64p1T struct {",
        "type obj4096p3 struct {",
    ] {
        assert!(lines(&go).contains(&declaration), "{declaration}\n{go}");
    }
    assert!(go.contains(
        "type obj4096p3 struct {\n\tnext *obj4096p3\n\tmore [2]*obj4096p3\n\t_    [4072]byte\n}\n"
    ));
    assert!(go.contains("type obj32p4 struct {\n\tnext *obj32p4\n\tmore [3]*obj32p4\n}\n"));
    assert!(go.contains("type obj64p1T struct {\n\tnext *obj64p1T\n\t_    [56]byte\n}\n"));
    assert_eq!(
        function_body(&go, "main")[1..],
        [
            "// What the alloc ops keep while the goroutine runs:",
            "// ring0_ keeps the last 1024 objects of an alloc op (idx0: where the next one goes).",
            "// ring1 keeps the last 4 objects of an alloc op (idx1: where the next one goes).",
            "// prev1 is the last object an alloc op made (to link the next one).",
            "// prev3 is the last object an alloc op made (to link the next one).",
            "var ring0_ []*obj64p1T",
            "var idx0 int",
            "var ring1 []*obj4096p3",
            "var idx1 int",
            "var prev1 *obj4096p3",
            "var prev3 *obj32p4",
            "done.Add(1)",
            "go ring0()",
            "// Allocate 100000 objects of 64B, keeping the last 1024.",
            "if ring0_ == nil {",
            "ring0_ = make([]*obj64p1T, 1024)",
            "}",
            "for range 100000 {",
            "n := new(obj64p1T)",
            "ring0_[idx0] = n",
            "idx0 = (idx0 + 1) % 1024",
            "}",
            "for range 3 {",
            "// Allocate 10 objects of 4KiB, each linked from the one before, keeping the last 4.",
            "if ring1 == nil {",
            "ring1 = make([]*obj4096p3, 4)",
            "}",
            "for range 10 {",
            "n := new(obj4096p3)",
            "if prev1 != nil {",
            "prev1.next = n",
            "}",
            "ring1[idx1] = n",
            "idx1 = (idx1 + 1) % 4",
            "prev1 = n",
            "}",
            "}",
            "// Allocate 1000 objects of 8B, keeping none.",
            "for range 1000 {",
            "allocSink = new(obj8)",
            "}",
            "// Allocate 1000 objects of 32B, each linked from the one before, keeping none.",
            "for range 1000 {",
            "n := new(obj32p4)",
            "if prev3 != nil {",
            "prev3.next = n",
            "}",
            "prev3 = n",
            "}",
            "runtime.GC()",
            "// A chain of calls that uses 256KiB of stack, then returns.",
            "growStack(262144)",
            "done.Wait()",
            "// What the alloc ops keep stays reachable as long as the goroutine runs.",
            "runtime.KeepAlive(ring0_)",
            "runtime.KeepAlive(ring1)",
            "runtime.KeepAlive(prev1)",
            "runtime.KeepAlive(prev3)",
            "reportMeasurements() // print the measurements as one JSON object",
        ]
    );
    // The other goroutine numbers its own ops from 0 again.
    let ring0 = function_body(&go, "ring0");
    assert!(ring0.contains(&"var ring0_ []*obj64p1T"), "{ring0:?}");
    assert!(ring0.contains(&"runtime.KeepAlive(ring0_)"), "{ring0:?}");
}

#[test]
fn programs_that_neither_allocate_nor_collect_leave_the_gc_out_of_the_report() {
    let go = generate(&parse_scenario(EVERY_OP, "every-op.toml").unwrap());
    assert!(lines(&go).contains(&"const reportGC = false"));
    assert!(!go.contains("type obj"));
    assert!(
        !go.contains("GOGC="),
        "Go's default GOGC is not spelled out"
    );
}

// Needs Go; CI runs it with `cargo test --workspace --release -- --ignored`.
#[test]
#[ignore = "needs the pinned Go toolchain (scripts/install-go.sh)"]
fn memory_ops_allocate_on_the_heap_and_the_report_has_the_gcs_figures() {
    use sim_core::metrics::{
        GC_CYCLES_FORCED, GC_CYCLES_TOTAL, GC_HEAP_ALLOCS, GMPSIM_GC_GOAL_MEDIAN, MEMORY_STACKS,
    };
    let go = go();
    let scenario = parse_scenario(MEMORY, "memory.toml").unwrap();
    let source = generate(&scenario);
    let dir = scratch_dir("escape");
    std::fs::write(dir.join("main.go"), &source).unwrap();
    std::fs::write(dir.join("go.mod"), "module escape\n\ngo 1.27\n").unwrap();
    // The compiler's escape analysis: every new(T) of an alloc op is on
    // the heap.
    let out = Command::new(&go.go)
        .current_dir(&dir)
        .args(["build", "-gcflags=-m", "-o", "program", "."])
        .envs([
            ("GOTOOLCHAIN", "local"),
            ("GOPROXY", "off"),
            ("GOFLAGS", "-mod=mod"),
            ("CGO_ENABLED", "0"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report = String::from_utf8_lossy(&out.stderr);
    let news: Vec<&str> = report.lines().filter(|l| l.contains(": new(obj")).collect();
    assert_eq!(news.len(), 5, "{report}");
    for line in news {
        assert!(line.ends_with("escapes to heap"), "{line}");
    }

    let options = realgo::RunOptions {
        runs: 1,
        cache_root: scratch_dir("memory-cache"),
        ..Default::default()
    };
    let real = realgo::measure(&go, &scenario, &options, &mut |_| {}).unwrap();
    assert!(real.gctrace_added);
    assert_eq!(
        (real.gogc.as_str(), real.gomemlimit.as_str()),
        ("50", "64MiB")
    );
    let run = &real.runs[0];
    assert_eq!(run.outcome, RealOutcome::Completed, "{}", run.stderr);
    let summary = &run.summary;
    let allocated = 100_000 + 30 + 1_000 + 1_000 + 10;
    assert!(
        summary.count(GC_HEAP_ALLOCS).unwrap() >= allocated - 1_000,
        "tiny 8-byte objects are counted by the block: {summary:?}"
    );
    assert!(summary.count(GC_CYCLES_FORCED).unwrap() >= 1);
    assert!(summary.count(GC_CYCLES_TOTAL).unwrap() >= 1);
    assert!(
        summary.count(GMPSIM_GC_GOAL_MEDIAN).unwrap() > 0,
        "{}",
        run.stderr
    );
    // The 256 KiB call chain grew main's stack to 512 KiB; runtime.GC()
    // came before it, so nothing has shrunk it since.
    assert!(
        summary.count(MEMORY_STACKS).unwrap() >= 512 << 10,
        "{summary:?}"
    );
}
