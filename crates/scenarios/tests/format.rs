//! Format v1 as a user meets it: defaults, units, IDs, and errors for what
//! cannot be read.

use proptest::prelude::*;
use scenarios::{Location, library, load_file, parse_scenario};
use sim_core::ids::{ChannelId, MutexId, ProgramId, RwMutexId, WaitGroupId};
use sim_core::workload::{CaseOp, ChanRef, ChannelDecl, Op, SelectCase};
use sim_sched::config::DEFAULT_MAX_SIM_TIME_NS;
use std::path::Path;

const MINIMAL: &str = r#"
format = 1
name = "minimal"

[runtime]
gomaxprocs = 3

[programs.main]
ops = [{ op = "compute", duration = "1.5us" }]
"#;

#[test]
fn omitted_fields_take_their_documented_defaults() {
    let s = parse_scenario(MINIMAL, "minimal.toml").expect("valid");
    assert_eq!(s.runtime.gomaxprocs, 3);
    assert_eq!(s.runtime.ncpu, 2, "the reference machine has 2 CPUs");
    assert_eq!(s.runtime.max_sim_time_ns, DEFAULT_MAX_SIM_TIME_NS);
    assert_eq!(s.runtime.godebug, Default::default());
    assert_eq!(s.description, "");
    assert!(s.workload.wait_groups.is_empty());
    assert!(s.workload.channels.is_empty());
    assert!(s.workload.mutexes.is_empty());
    assert!(s.workload.rwmutexes.is_empty());
    assert_eq!(
        s.workload.programs[0].ops,
        vec![Op::Compute {
            duration_ns: 1_500,
            preemptible: true
        }]
    );
    assert_eq!(s.origin, "minimal.toml");
    assert_eq!(s.source, MINIMAL);
}

#[test]
fn every_op_and_runtime_field_compiles_to_the_workload_model() {
    let source = r#"
format = 1
name = "everything"
description = "All of it."
wait_groups = ["b", "a"]

[runtime]
gomaxprocs = 2
ncpu = 8
godebug = "schedtrace=5,scheddetail=1,asyncpreemptoff=1"
max_sim_time = "10s"

[programs.zeta]
ops = [{ op = "wg_done", wait_group = "a" }]

[programs.main]
description = "  Main.  "
ops = [
  { op = "wg_add", wait_group = "a", delta = 3 },
  { op = "wg_add", wait_group = "b", delta = -1 },
  { op = "spawn", program = "zeta", count = 3 },
  { op = "spawn", program = "alpha" },
  { op = "gosched" },
  { op = "sleep", duration = "1m30s" },
  { op = "syscall", duration = "200ns" },
  { op = "repeat", count = 2, body = [
    { op = "compute", duration = "2ms", preemptible = false },
    { op = "repeat", count = 3, body = [{ op = "gosched" }] },
  ] },
  { op = "wg_wait", wait_group = "a" },
]

[programs.alpha]
ops = []
"#;
    let s = parse_scenario(source, "everything.toml").expect("valid");
    assert_eq!(s.runtime.ncpu, 8);
    assert_eq!(s.runtime.max_sim_time_ns, 10_000_000_000);
    assert_eq!(
        s.runtime.godebug.to_string(),
        "schedtrace=5,scheddetail=1,asyncpreemptoff=1"
    );
    // Program IDs follow the sorted names; wait groups keep their declared order.
    let names: Vec<&str> = s
        .workload
        .programs
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["alpha", "main", "zeta"]);
    assert_eq!(s.workload.main, ProgramId(1));
    assert_eq!(s.workload.wait_groups, ["b", "a"]);
    assert_eq!(s.workload.programs[1].description, "Main.");
    let (a, b) = (WaitGroupId(1), WaitGroupId(0));
    assert_eq!(
        s.workload.programs[1].ops,
        vec![
            Op::WaitGroupAdd {
                wait_group: a,
                delta: 3
            },
            Op::WaitGroupAdd {
                wait_group: b,
                delta: -1
            },
            Op::Spawn {
                program: ProgramId(2),
                count: 3
            },
            Op::Spawn {
                program: ProgramId(0),
                count: 1
            },
            Op::Gosched,
            Op::Sleep {
                duration_ns: 90_000_000_000
            },
            Op::Syscall { duration_ns: 200 },
            Op::Repeat {
                count: 2,
                body: vec![
                    Op::Compute {
                        duration_ns: 2_000_000,
                        preemptible: false
                    },
                    Op::Repeat {
                        count: 3,
                        body: vec![Op::Gosched]
                    },
                ],
            },
            Op::WaitGroupWait { wait_group: a },
        ]
    );
    assert_eq!(
        s.workload.programs[2].ops,
        vec![Op::WaitGroupDone { wait_group: a }]
    );
}

#[test]
fn every_channel_lock_and_network_op_compiles_to_the_workload_model() {
    let source = r#"
format = 1
name = "sync"
channels = [{ name = "jobs" }, { name = "results", capacity = 8 }]
mutexes = ["mu", "other"]
rwmutexes = ["rw"]

[runtime]
gomaxprocs = 2

[programs.main]
ops = [
  { op = "send", chan = "results" },
  { op = "recv", chan = "jobs" },
  { op = "close", chan = "results" },
  { op = "send", chan = "nil" },
  { op = "recv", chan = "nil" },
  { op = "lock", mutex = "other" },
  { op = "unlock", mutex = "other" },
  { op = "rlock", rwmutex = "rw" },
  { op = "runlock", rwmutex = "rw" },
  { op = "wlock", rwmutex = "rw" },
  { op = "wunlock", rwmutex = "rw" },
  { op = "net_wait", latency = "2ms" },
  { op = "select", cases = [
    { send = "jobs", body = [{ op = "gosched" }] },
    { recv = "results" },
    { recv = "nil", body = [] },
    { after = "5ms", body = [
      { op = "select", cases = [{ send = "nil" }], default = [{ op = "lock", mutex = "mu" }] },
    ] },
  ], default = [{ op = "net_wait", latency = "0s" }] },
  { op = "select", cases = [{ recv = "jobs" }] },
  { op = "select", default = [] },
  { op = "select" },
]
"#;
    let s = parse_scenario(source, "sync.toml").unwrap_or_else(|e| panic!("{e}"));
    // Declarations keep their order; capacity defaults to 0 (unbuffered).
    assert_eq!(
        s.workload.channels,
        vec![
            ChannelDecl {
                name: "jobs".into(),
                capacity: 0
            },
            ChannelDecl {
                name: "results".into(),
                capacity: 8
            },
        ]
    );
    assert_eq!(s.workload.mutexes, ["mu", "other"]);
    assert_eq!(s.workload.rwmutexes, ["rw"]);
    let jobs = ChanRef::Chan(ChannelId(0));
    let results = ChanRef::Chan(ChannelId(1));
    let (mu, other, rw) = (MutexId(0), MutexId(1), RwMutexId(0));
    assert_eq!(
        s.workload.programs[0].ops,
        vec![
            Op::Send { chan: results },
            Op::Recv { chan: jobs },
            Op::Close { chan: results },
            Op::Send { chan: ChanRef::Nil },
            Op::Recv { chan: ChanRef::Nil },
            Op::Lock { mutex: other },
            Op::Unlock { mutex: other },
            Op::RLock { rwmutex: rw },
            Op::RUnlock { rwmutex: rw },
            Op::WLock { rwmutex: rw },
            Op::WUnlock { rwmutex: rw },
            Op::NetWait {
                latency_ns: 2_000_000
            },
            Op::Select {
                cases: vec![
                    SelectCase {
                        op: CaseOp::Send(jobs),
                        body: vec![Op::Gosched],
                    },
                    SelectCase {
                        op: CaseOp::Recv(results),
                        body: vec![],
                    },
                    SelectCase {
                        op: CaseOp::Recv(ChanRef::Nil),
                        body: vec![],
                    },
                    SelectCase {
                        op: CaseOp::After {
                            duration_ns: 5_000_000
                        },
                        body: vec![Op::Select {
                            cases: vec![SelectCase {
                                op: CaseOp::Send(ChanRef::Nil),
                                body: vec![],
                            }],
                            default: Some(vec![Op::Lock { mutex: mu }]),
                        }],
                    },
                ],
                default: Some(vec![Op::NetWait { latency_ns: 0 }]),
            },
            // No default: the select blocks until a case is ready.
            Op::Select {
                cases: vec![SelectCase {
                    op: CaseOp::Recv(jobs),
                    body: vec![],
                }],
                default: None,
            },
            // Only a default: never blocks.
            Op::Select {
                cases: vec![],
                default: Some(vec![]),
            },
            // `select {}`: blocks forever.
            Op::Select {
                cases: vec![],
                default: None,
            },
        ]
    );
}

#[test]
fn declared_names_share_one_namespace_with_programs() {
    let e = error_of(
        "format = 1\nname = \"x\"\nmutexes = [\"worker\"]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = []\n[programs.worker]\nops = []\n",
    );
    assert_eq!(
        e,
        "t.toml:8:11: programs.worker: program \"worker\" has the same name as a mutex \"worker\" (both become package-level names in the generated Go program)"
    );
    let e = error_of(
        "format = 1\nname = \"x\"\nrwmutexes = [\"rw\", \"rw\"]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = []\n",
    );
    assert_eq!(
        e,
        "t.toml:3:20: rwmutexes[1]: rwmutex \"rw\" is declared twice"
    );
    let e = error_of(
        "format = 1\nname = \"x\"\nchannels = [{ name = \"2nd\" }]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = []\n",
    );
    assert!(
        e.starts_with("t.toml:3:22: channels[0].name: channel name \"2nd\" is not an identifier"),
        "{e}"
    );
}

#[test]
fn a_mutex_op_on_an_rwmutex_says_which_ops_fit() {
    let e = error_of(
        "format = 1\nname = \"x\"\nmutexes = [\"mu\"]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = [{ op = \"wunlock\", rwmutex = \"mu\" }]\n",
    );
    assert_eq!(
        e,
        "t.toml:7:36: programs.main.ops[0].rwmutex: \"mu\" is declared in mutexes, not rwmutexes: a sync.Mutex takes the ops lock and unlock, with mutex = \"mu\""
    );
}

#[test]
fn select_bodies_are_checked_like_any_ops() {
    let e = error_of(
        "format = 1\nname = \"x\"\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = [{ op = \"select\", default = [{ op = \"sleep\" }] }]\n",
    );
    assert_eq!(
        e,
        "t.toml:6:36: programs.main.ops[0].default[0]: missing field \"duration\" (op \"sleep\" needs it)"
    );
    let e = error_of(
        "format = 1\nname = \"x\"\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = [{ op = \"select\", cases = [{ after = \"1ms\", body = [\"gosched\"] }] }]\n",
    );
    assert_eq!(
        e,
        "t.toml:6:59: programs.main.ops[0].cases[0].body[0]: invalid type: string \"gosched\", expected a table"
    );
}

#[test]
fn a_file_that_cannot_be_read_is_an_error_naming_its_path() {
    let path = Path::new("no/such/dir/scenario.toml");
    let e = load_file(path).expect_err("missing file");
    assert_eq!(e.origin, "no/such/dir/scenario.toml");
    assert_eq!(e.location, None);
    assert!(
        e.to_string()
            .starts_with("no/such/dir/scenario.toml: cannot read the scenario file: "),
        "{e}"
    );
}

fn error_of(source: &str) -> String {
    parse_scenario(source, "t.toml")
        .expect_err("invalid")
        .to_string()
}

#[test]
fn errors_point_into_inline_and_dotted_forms_too() {
    // Programs written as an inline table, runtime as dotted keys.
    let e = error_of(
        "format = 1\nname = \"x\"\nruntime.gomaxprocs = 1\nruntime.ncpu = 0\nprograms = { main = { ops = [] } }\n",
    );
    assert_eq!(e, "t.toml:4:16: runtime.ncpu: must be at least 1, got 0");
    let e = error_of(
        "format = 1\nname = \"x\"\n[runtime]\ngomaxprocs = 1\n[programs]\nmain = { ops = [{ op = \"spawn\", program = \"main\", count = 5000000000 }] }\n",
    );
    assert_eq!(
        e,
        "t.toml:6:59: programs.main.ops[0].count: must be at most 4294967295, got 5000000000"
    );
}

#[test]
fn names_that_cannot_become_go_identifiers_are_rejected() {
    let e = error_of(
        "format = 1\nname = \"x\"\nwait_groups = [\"go\"]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = []\n",
    );
    assert_eq!(
        e,
        "t.toml:3:16: wait_groups[0]: wait group name \"go\" is a Go keyword (it becomes a name in the generated Go program)"
    );
    let e = error_of(
        "format = 1\nname = \"x\"\nwait_groups = [\"a\", \"a\"]\n[runtime]\ngomaxprocs = 1\n[programs.main]\nops = []\n",
    );
    assert_eq!(
        e,
        "t.toml:3:21: wait_groups[1]: wait group \"a\" is declared twice"
    );
}

#[test]
fn the_empty_file_says_what_is_missing() {
    let e = parse_scenario("", "empty.toml").expect_err("empty");
    assert_eq!(e.location, Some(Location { line: 1, column: 1 }));
    assert!(e.message.contains("missing field \"format\""), "{e}");
}

fn mutations() -> impl Strategy<Value = String> {
    let sources: Vec<&'static str> = library::entries().iter().map(|e| e.source).collect();
    (
        proptest::sample::select(sources),
        any::<proptest::sample::Index>(),
        0usize..40,
        "[ -~\n\"\\[\\]{}=,.µ-]{0,12}",
    )
        .prop_map(|(source, at, cut, insert)| {
            let mut start = at.index(source.len() + 1);
            while !source.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + cut).min(source.len());
            while !source.is_char_boundary(end) {
                end += 1;
            }
            format!("{}{insert}{}", &source[..start], &source[end..])
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the text, parsing returns (never panics), and an error points
    /// at a line that exists.
    #[test]
    fn any_edit_of_a_library_file_parses_or_points_at_a_real_line(source in mutations()) {
        if let Err(e) = parse_scenario(&source, "edited.toml") {
            if let Some(location) = e.location {
                prop_assert!(location.line >= 1 && location.line <= source.lines().count() + 1, "{e}");
                prop_assert!(location.column >= 1, "{e}");
            }
            prop_assert!(e.to_string().starts_with("edited.toml"), "{e}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        let _ = parse_scenario(&source, "random.toml");
    }
}

#[test]
fn the_full_example_in_format_md_is_a_valid_scenario() {
    let doc = include_str!("../FORMAT.md");
    let start = doc.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("end of the example");
    let s = parse_scenario(&doc[start..end], "FORMAT.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "cpu-fanout");
    assert_eq!(s.runtime.max_sim_time_ns, 10_000_000_000);
    // The same program as the library's cpu-fanout (descriptions aside).
    let library = library::get("cpu-fanout").expect("library").workload;
    let ops = |w: &sim_core::workload::Workload| -> Vec<(String, Vec<Op>)> {
        w.programs
            .iter()
            .map(|p| (p.name.clone(), p.ops.clone()))
            .collect()
    };
    assert_eq!(ops(&s.workload), ops(&library));
}

#[test]
fn the_channel_lock_and_select_examples_in_format_md_compile() {
    let doc = include_str!("../FORMAT.md");
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("end of a toml block")])
        .collect();
    let declarations = blocks
        .iter()
        .find(|b| b.starts_with("channels = ["))
        .expect("the declarations example");
    let ops = blocks
        .iter()
        .find(|b| b.starts_with("ops = ["))
        .expect("the ops example");
    let select = blocks
        .iter()
        .find(|b| b.starts_with("{ op = \"select\""))
        .expect("the select example");
    let source = format!(
        "format = 1\nname = \"doc\"\n{declarations}\n[runtime]\ngomaxprocs = 1\n\n[programs.main]\n{ops}\n[programs.selector]\nops = [\n{select}]\n"
    );
    let s = parse_scenario(&source, "FORMAT.md").unwrap_or_else(|e| panic!("{e}\n{source}"));
    assert_eq!(s.workload.channels[1].capacity, 10);
    let main = &s.workload.programs[0].ops;
    assert_eq!(main.len(), 11, "one example per op");
    assert!(main.contains(&Op::Recv { chan: ChanRef::Nil }));
    let Op::Select { cases, default } = &s.workload.programs[1].ops[0] else {
        panic!("a select");
    };
    assert_eq!(cases.len(), 3);
    assert_eq!(
        default.as_deref(),
        Some(
            &[Op::Sleep {
                duration_ns: 1_000_000
            }][..]
        )
    );
}

#[test]
fn memory_ops_and_gc_settings_compile_to_the_workload_model() {
    let source = r#"
format = 1
name = "memory"

[runtime]
gomaxprocs = 2
gogc = 50
gomemlimit = "32MiB"

[programs.main]
ops = [
  { op = "alloc", size = "64B", pointers = 1, count = 8388608, keep = 131072 },
  { op = "alloc", size = 24, count = 3 },
  { op = "alloc", size = "4KiB", pointers = 512, count = 1, keep = 1, link = true },
  { op = "gc" },
  { op = "repeat", count = 2, body = [{ op = "stack_grow", used = "1GiB" }] },
]
"#;
    let s = parse_scenario(source, "memory.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.runtime.gogc, 50);
    assert_eq!(s.runtime.memory_limit_bytes, 32 << 20);
    assert_eq!(
        s.workload.programs[0].ops,
        vec![
            Op::Alloc {
                size_bytes: 64,
                pointer_words: 1,
                count: 8_388_608,
                keep: 131_072,
                link: false
            },
            Op::Alloc {
                size_bytes: 24,
                pointer_words: 0,
                count: 3,
                keep: 0,
                link: false
            },
            Op::Alloc {
                size_bytes: 4096,
                pointer_words: 512,
                count: 1,
                keep: 1,
                link: true
            },
            Op::Gc,
            Op::Repeat {
                count: 2,
                body: vec![Op::StackGrow {
                    used_bytes: 1 << 30
                }]
            },
        ]
    );
}

#[test]
fn gogc_and_gomemlimit_default_to_gos_defaults_and_take_off() {
    let s = parse_scenario(MINIMAL, "minimal.toml").unwrap();
    assert_eq!(s.runtime.gogc, 100);
    assert_eq!(s.runtime.memory_limit_bytes, i64::MAX);
    let with = |lines: &str| {
        parse_scenario(
            &MINIMAL.replace("gomaxprocs = 3", &format!("gomaxprocs = 3\n{lines}")),
            "x.toml",
        )
    };
    let off = with("gogc = \"off\"\ngomemlimit = \"off\"").unwrap();
    assert_eq!(
        (off.runtime.gogc, off.runtime.memory_limit_bytes),
        (-1, i64::MAX)
    );
    let numbers = with("gogc = 0\ngomemlimit = 33554432").unwrap();
    assert_eq!(
        (numbers.runtime.gogc, numbers.runtime.memory_limit_bytes),
        (0, 32 << 20)
    );
    let e = with("gogc = 2147483648").unwrap_err();
    assert!(e.message.contains("at most 2147483647"), "{e}");
    let e = with("gomemlimit = \"8TB\"").unwrap_err();
    assert!(e.message.contains("write \"8TiB\""), "{e}");
}

#[test]
fn an_object_with_pointers_gets_sizes_that_fit_suggested() {
    let error_of = |program: &str| {
        error_of(&format!(
            "format = 1\nname = \"x\"\n[runtime]\ngomaxprocs = 1\n{program}"
        ))
    };
    let e = error_of(
        "[programs.main]\nops = [{ op = \"alloc\", size = 12, pointers = 1, count = 1 }]\n",
    );
    assert!(e.contains("use 8B or 16B"), "{e}");
    let e = error_of(
        "[programs.main]\nops = [{ op = \"alloc\", size = 12, pointers = 1, count = 1, link = true }]\n",
    );
    assert!(e.contains("use 8B or 16B"), "{e}");
    let e = error_of(
        "[programs.main]\nops = [{ op = \"alloc\", size = 20, pointers = 2, count = 1 }]\n",
    );
    assert!(e.contains("use 16B or 24B"), "{e}");
    let e = error_of(
        "[programs.main]\nops = [{ op = \"alloc\", size = 20, pointers = 3, count = 1 }]\n",
    );
    assert!(e.contains("3 pointer words take 24 bytes"), "{e}");
}

#[test]
fn the_allocation_example_in_format_md_compiles() {
    let doc = include_str!("../FORMAT.md");
    let example = doc
        .split("```toml\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("end of a toml block")])
        .find(|b| b.contains("op = \"alloc\""))
        .expect("the allocation example");
    let source = format!("format = 1\nname = \"doc\"\n{example}");
    let s = parse_scenario(&source, "FORMAT.md").unwrap_or_else(|e| panic!("{e}\n{source}"));
    assert_eq!(s.runtime.gogc, 100);
    let ops = &s.workload.programs[0].ops;
    assert_eq!(ops.len(), 5);
    assert!(ops.contains(&Op::Gc));
    assert!(ops.contains(&Op::StackGrow {
        used_bytes: 256 << 10
    }));
}

proptest! {
    /// The byte-size parser accepts exactly what Go's GOMEMLIMIT parser
    /// accepts (the model's copy of it), with the same value.
    #[test]
    fn byte_sizes_follow_gos_gomemlimit_rules(text in "[-+]?[0-9]{0,20}(\\.[0-9])?(B|KiB|MiB|GiB|TiB|KB|iB|i|Ki|MB| MiB|kib)?") {
        let ours = scenarios::parse_byte_size(&text).ok();
        let gos = if text.is_empty() {
            None // Go reads an empty GOMEMLIMIT as unset; a size is never empty
        } else {
            sim_gc::pacer::parse_gomemlimit(Some(&text)).map(|v| v as u64)
        };
        prop_assert_eq!(ours, gos, "{:?}", text);
    }
}
