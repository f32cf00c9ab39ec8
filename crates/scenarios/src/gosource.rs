//! Generating the Go program a scenario describes.
//!
//! [`generate`] turns a scenario into one self-contained Go program (package
//! main, standard library only) that a student can read: each goroutine
//! program becomes a Go function, `main` becomes `func main()`, and each op
//! becomes the line of Go it stands for (the table is in FORMAT.md, "How ops
//! map to Go"). The program measures itself with a harness that is the same in
//! every generated program (`gosource/harness.go`, appended verbatim): it
//! calibrates the compute loops before the scenario starts and prints one JSON
//! object in the shape of `sim_core::metrics::Summary` when `main` returns.
//!
//! The runtime settings (GOMAXPROCS, GODEBUG, GOGC, GOMEMLIMIT) are not in
//! the program: as for any Go program they come from the environment
//! ([`environment_variables`]), and the runner ([`crate::realgo`]) sets them
//! from the scenario.
//!
//! The memory ops become plain Go: an `alloc` is a `for` loop of `new(T)`
//! with one named type per object shape (a byte array without pointers, else
//! a struct starting with `next *T`), its ring and index declared at the top
//! of the goroutine's function and kept alive to its end; `gc` is
//! `runtime.GC()`; `stack_grow` calls the harness's `growStack`. A program
//! with any of them reports the GC's figures too (`const reportGC = true`).
//!
//! Descriptions are copied into comments inside function bodies and into a
//! header that is not attached to the package clause: gofmt rewrites doc
//! comments (lists, headings), so text placed there could make the output
//! differ from gofmt's.

use crate::Scenario;
use crate::bytesize::format_byte_size;
use crate::compile::GO_PREDECLARED;
use sim_core::workload::{CaseOp, ChanRef, Op, Workload};
use sim_sched::config::RuntimeConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The harness every generated program ends with.
const HARNESS: &str = include_str!("gosource/harness.go");

/// The packages the harness imports (and so every generated program). A
/// program that declares wait groups or mutexes also imports `sync`.
const IMPORTS: &[&str] = &[
    "encoding/json",
    "math",
    "os",
    "runtime",
    "runtime/metrics",
    "slices",
    "sync/atomic",
    "syscall",
    "time",
    "unsafe",
];

/// Package-level names a scenario's program or wait group may not take in
/// Go: the harness's own names, the imported packages, `init` (Go would call
/// it before main) and the blank identifier.
const HARNESS_NAMES: &[&str] = &[
    "init",
    "_",
    // imported packages
    "json",
    "math",
    "os",
    "runtime",
    "metrics",
    "slices",
    "sync",
    "atomic",
    "syscall",
    "time",
    "unsafe",
    // harness.go
    "nsPerCallIteration",
    "nsPerNoCallIteration",
    "sink",
    "step",
    "computeWithCalls",
    "loopWithCalls",
    "computeNoCalls",
    "loopNoCalls",
    "iterations",
    "calibrate",
    "nsPerIteration",
    "blockingSyscall",
    "netWait",
    "nilChannel",
    "latenessSample",
    "sleepLateness",
    "sleep",
    "schedLatencies",
    "startTime",
    "latenciesAtStart",
    "startMeasuring",
    "readMetrics",
    "histogramSummary",
    "nearestRank",
    "summarizeExact",
    "summarizeBuckets",
    "reportMeasurements",
    "report",
    "outcome",
    "processCPU",
    "allocSink",
    "stackFrameArray",
    "stackFrameBytes",
    "stackFrame",
    "measureStackFrame",
    "growStack",
    "gcMetrics",
    "gcPauses",
    "memStatsMetrics",
    "addMetrics",
    // generated beside the programs
    "reportGC",
];

/// The Go name of every program, wait group, channel and mutex: the
/// scenario's own name, unless Go or the harness already uses it (then with
/// a suffix, `stepProg`, `sinkWG`), so that any valid scenario compiles.
struct GoNames {
    programs: Vec<String>,
    wait_groups: Vec<String>,
    channels: Vec<String>,
    mutexes: Vec<String>,
    rwmutexes: Vec<String>,
    /// The type of each object shape the alloc ops make, by (size, pointers).
    shapes: BTreeMap<(u64, u32), String>,
    /// Per program, the Go names of each alloc op's state, in the order the
    /// ops come in the program (bodies of repeats and selects included).
    alloc_states: Vec<Vec<AllocState>>,
}

/// The variables one alloc op keeps for the life of its goroutine: the ring
/// of kept objects and where the next one goes, and the previous object.
#[derive(Clone, Debug)]
struct AllocState {
    /// `ring0` and `idx0`, when the op keeps objects.
    ring: Option<(String, String)>,
    /// `prev0`, when the op links each object to the one before.
    prev: Option<String>,
}

impl GoNames {
    fn new(workload: &Workload) -> Self {
        let mut taken: BTreeSet<String> = HARNESS_NAMES
            .iter()
            .chain(GO_PREDECLARED.iter())
            .map(|s| s.to_string())
            .collect();
        let mut claim = |name: &str, suffix: &str| -> String {
            let mut candidate = name.to_string();
            while taken.contains(&candidate) {
                candidate.push_str(suffix);
            }
            taken.insert(candidate.clone());
            candidate
        };
        // `main` first, so that it keeps its name whatever else is declared.
        let main_index = workload.main.index();
        let mut programs = vec![String::new(); workload.programs.len()];
        programs[main_index] = claim(&workload.programs[main_index].name, "Prog");
        for (i, p) in workload.programs.iter().enumerate() {
            if i != main_index {
                programs[i] = claim(&p.name, "Prog");
            }
        }
        let mut claim_all = |names: &mut dyn Iterator<Item = &String>, suffix: &str| {
            names.map(|n| claim(n, suffix)).collect::<Vec<_>>()
        };
        let wait_groups = claim_all(&mut workload.wait_groups.iter(), "WG");
        let channels = claim_all(&mut workload.channels.iter().map(|c| &c.name), "Ch");
        let mutexes = claim_all(&mut workload.mutexes.iter(), "Mu");
        let rwmutexes = claim_all(&mut workload.rwmutexes.iter(), "RW");
        let mut allocs: Vec<Vec<AllocShape>> = Vec::new();
        for program in &workload.programs {
            let mut found = Vec::new();
            alloc_shapes(&program.ops, &mut found);
            allocs.push(found);
        }
        let mut shapes = BTreeMap::new();
        for shape in allocs.iter().flatten() {
            let key = (shape.size_bytes, shape.pointer_words);
            if let std::collections::btree_map::Entry::Vacant(entry) = shapes.entry(key) {
                let name = match shape.pointer_words {
                    0 => format!("obj{}", shape.size_bytes),
                    p => format!("obj{}p{p}", shape.size_bytes),
                };
                entry.insert(claim(&name, "T"));
            }
        }
        // The state variables are local to their function, but a local
        // `ring0` would hide a package-level `ring0` (a program, say) in the
        // whole function, so they avoid every package-level name.
        let alloc_states = allocs
            .iter()
            .map(|found| {
                let mut local_names = taken.clone();
                let mut local = |name: String| -> String {
                    let mut candidate = name;
                    while local_names.contains(&candidate) {
                        candidate.push('_');
                    }
                    local_names.insert(candidate.clone());
                    candidate
                };
                found
                    .iter()
                    .enumerate()
                    .map(|(i, shape)| AllocState {
                        ring: (shape.keep > 0)
                            .then(|| (local(format!("ring{i}")), local(format!("idx{i}")))),
                        prev: shape.link.then(|| local(format!("prev{i}"))),
                    })
                    .collect()
            })
            .collect();
        Self {
            programs,
            wait_groups,
            channels,
            mutexes,
            rwmutexes,
            shapes,
            alloc_states,
        }
    }

    /// A channel operand: the declared channel, or the harness's nil one.
    fn chan(&self, chan: ChanRef) -> &str {
        match chan {
            ChanRef::Nil => "nilChannel",
            ChanRef::Chan(id) => &self.channels[id.index()],
        }
    }
}

/// The Go program equivalent to `scenario`, gofmt-formatted.
pub fn generate(scenario: &Scenario) -> String {
    let workload = &scenario.workload;
    let names = GoNames::new(workload);
    let mut g = GoWriter::default();

    g.line(&format!(
        "// Code generated by gmpsim from the scenario {:?} ({}). DO NOT EDIT.",
        scenario.name, scenario.origin
    ));
    g.blank();
    g.comment_block(&scenario.description);
    g.line("//");
    g.line("// Run it with the scenario's runtime settings in the environment:");
    g.line("//");
    g.line(&format!("//\t{} go run main.go", environment(scenario)));
    g.line("//");
    g.line("// It prints one JSON object on stdout when main returns: the figures gmpsim");
    g.line("// compares with its model of the Go runtime.");
    g.blank();
    g.line("package main");
    g.blank();
    let uses_sync = !(workload.wait_groups.is_empty()
        && workload.mutexes.is_empty()
        && workload.rwmutexes.is_empty());
    let mut imports: Vec<&str> = IMPORTS.to_vec();
    if uses_sync {
        imports.push("sync");
    }
    imports.sort_unstable();
    g.line("import (");
    for import in imports {
        g.line(&format!("\t{import:?}"));
    }
    g.line(")");

    let mut shared = Vec::new();
    for (decl, name) in workload.channels.iter().zip(&names.channels) {
        shared.push(match decl.capacity {
            0 => format!("var {name} = make(chan int)"),
            n => format!("var {name} = make(chan int, {n})"),
        });
    }
    for name in &names.mutexes {
        shared.push(format!("var {name} sync.Mutex"));
    }
    for name in &names.rwmutexes {
        shared.push(format!("var {name} sync.RWMutex"));
    }
    for name in &names.wait_groups {
        shared.push(format!("var {name} sync.WaitGroup"));
    }
    if !shared.is_empty() {
        g.blank();
        g.line("// What the goroutines share.");
        for line in &shared {
            g.line(line);
        }
    }
    for (&(size, pointers), name) in &names.shapes {
        g.blank();
        g.shape(name, size, pointers);
    }
    g.blank();
    if uses_gc(workload) {
        g.line("// The scenario allocates, collects or grows stacks, so the report includes");
        g.line("// the garbage collector's and the memory's figures.");
        g.line("const reportGC = true");
    } else {
        g.line("// The scenario does not allocate, collect or grow stacks (alloc, gc and");
        g.line("// stack_grow ops), so the report leaves out the garbage collector's figures.");
        g.line("const reportGC = false");
    }

    let main_index = workload.main.index();
    let order = std::iter::once(main_index)
        .chain((0..workload.programs.len()).filter(|&i| i != main_index));
    for i in order {
        let program = &workload.programs[i];
        let is_main = i == main_index;
        g.blank();
        g.line(&format!("func {}() {{", names.programs[i]));
        g.indent += 1;
        g.comment_block(&program.description);
        if is_main {
            g.line("startMeasuring() // calibrate the compute loops, then start the clock");
        }
        let states = &names.alloc_states[i];
        if !states.is_empty() {
            g.alloc_declarations(states, &program.ops, &names);
        }
        g.program = i;
        g.alloc_next = 0;
        for op in &program.ops {
            g.op(op, &names);
        }
        let kept: Vec<&str> = states
            .iter()
            .flat_map(|s| {
                s.ring
                    .iter()
                    .map(|(ring, _)| ring.as_str())
                    .chain(s.prev.as_deref())
            })
            .collect();
        if !kept.is_empty() {
            g.line("// What the alloc ops keep stays reachable as long as the goroutine runs.");
            for name in kept {
                g.line(&format!("runtime.KeepAlive({name})"));
            }
        }
        if is_main {
            g.line("reportMeasurements() // print the measurements as one JSON object");
        }
        g.indent -= 1;
        g.line("}");
    }
    g.blank();
    g.out.push_str(HARNESS);
    g.out
}

/// The environment the scenario runs in, as a shell prefix
/// (`GOMAXPROCS=4 GODEBUG=schedtrace=10 GOGC=50`).
fn environment(scenario: &Scenario) -> String {
    environment_variables(&scenario.runtime)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The environment variables that give a Go program these runtime settings:
/// `GOMAXPROCS` always, `GODEBUG`, `GOGC` and `GOMEMLIMIT` when they are not
/// Go's defaults (GOGC=100, no memory limit).
pub fn environment_variables(runtime: &RuntimeConfig) -> Vec<(&'static str, String)> {
    let mut env = vec![("GOMAXPROCS", runtime.gomaxprocs.to_string())];
    let godebug = runtime.godebug.to_string();
    if !godebug.is_empty() {
        env.push(("GODEBUG", godebug));
    }
    if runtime.gogc != 100 {
        env.push(("GOGC", gogc_text(runtime.gogc)));
    }
    if runtime.memory_limit_bytes != i64::MAX {
        env.push(("GOMEMLIMIT", gomemlimit_text(runtime.memory_limit_bytes)));
    }
    env
}

/// GOGC as Go reads it: a percentage, or `off` (any negative value).
pub fn gogc_text(gogc: i32) -> String {
    if gogc < 0 {
        "off".to_string()
    } else {
        gogc.to_string()
    }
}

/// GOMEMLIMIT as Go reads it: `32MiB`, or `off` for no limit.
pub fn gomemlimit_text(limit_bytes: i64) -> String {
    match u64::try_from(limit_bytes) {
        Ok(bytes) if limit_bytes != i64::MAX => format_byte_size(bytes),
        _ => "off".to_string(),
    }
}

/// Whether the workload allocates, collects or grows a stack: then the
/// program reports the GC's figures, and the runner reads its gctrace.
pub fn uses_gc(workload: &Workload) -> bool {
    fn any(ops: &[Op]) -> bool {
        ops.iter().any(|op| match op {
            Op::Alloc { .. } | Op::Gc | Op::StackGrow { .. } => true,
            Op::Repeat { body, .. } => any(body),
            Op::Select { cases, default } => {
                cases.iter().any(|c| any(&c.body)) || default.as_deref().is_some_and(any)
            }
            _ => false,
        })
    }
    workload.programs.iter().any(|p| any(&p.ops))
}

/// What one alloc op makes and keeps.
#[derive(Clone, Copy, Debug)]
struct AllocShape {
    size_bytes: u64,
    pointer_words: u32,
    keep: u32,
    link: bool,
}

/// The alloc ops among `ops`, in the order they are written (bodies of
/// repeats and select cases included), which is the order
/// [`GoWriter::op`] meets them in.
fn alloc_shapes(ops: &[Op], found: &mut Vec<AllocShape>) {
    for op in ops {
        match op {
            Op::Alloc {
                size_bytes,
                pointer_words,
                keep,
                link,
                ..
            } => found.push(AllocShape {
                size_bytes: *size_bytes,
                pointer_words: *pointer_words,
                keep: *keep,
                link: *link,
            }),
            Op::Repeat { body, .. } => alloc_shapes(body, found),
            Op::Select { cases, default } => {
                for case in cases {
                    alloc_shapes(&case.body, found);
                }
                if let Some(body) = default {
                    alloc_shapes(body, found);
                }
            }
            _ => {}
        }
    }
}

/// Go source text, a line at a time, indented with tabs as gofmt does.
#[derive(Default)]
struct GoWriter {
    out: String,
    indent: usize,
    /// The program being written, and how many of its alloc ops are written.
    program: usize,
    alloc_next: usize,
}

impl GoWriter {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push('\t');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// `text` as `//` comment lines, trailing blank lines dropped.
    fn comment_block(&mut self, text: &str) {
        let lines: Vec<&str> = text.trim_end().lines().map(str::trim_end).collect();
        let first = lines
            .iter()
            .position(|l| !l.is_empty())
            .unwrap_or(lines.len());
        for l in &lines[first..] {
            if l.is_empty() {
                self.line("//");
            } else {
                self.line(&format!("// {l}"));
            }
        }
    }

    /// One op as Go statements: one arm per op kind.
    fn op(&mut self, op: &Op, names: &GoNames) {
        match op {
            Op::Compute {
                duration_ns,
                preemptible: true,
            } => self.line(&format!("computeWithCalls({})", go_duration(*duration_ns))),
            Op::Compute {
                duration_ns,
                preemptible: false,
            } => self.line(&format!("computeNoCalls({})", go_duration(*duration_ns))),
            Op::Spawn { program, count } => {
                let call = format!("go {}()", names.programs[program.index()]);
                if *count == 1 {
                    self.line(&call);
                } else {
                    self.line(&format!("for range {count} {{"));
                    self.indent += 1;
                    self.line(&call);
                    self.indent -= 1;
                    self.line("}");
                }
            }
            Op::Gosched => self.line("runtime.Gosched()"),
            Op::Sleep { duration_ns } => {
                self.line(&format!("sleep({})", go_duration(*duration_ns)))
            }
            Op::Syscall { duration_ns } => {
                self.line(&format!("blockingSyscall({})", go_duration(*duration_ns)))
            }
            Op::WaitGroupAdd { wait_group, delta } => self.line(&format!(
                "{}.Add({delta})",
                names.wait_groups[wait_group.index()]
            )),
            Op::WaitGroupDone { wait_group } => {
                self.line(&format!("{}.Done()", names.wait_groups[wait_group.index()]))
            }
            Op::WaitGroupWait { wait_group } => {
                self.line(&format!("{}.Wait()", names.wait_groups[wait_group.index()]))
            }
            Op::LockOsThread => self.line("runtime.LockOSThread()"),
            Op::UnlockOsThread => self.line("runtime.UnlockOSThread()"),
            Op::Send { chan } => self.line(&format!("{} <- 1", names.chan(*chan))),
            Op::Recv { chan } => self.line(&format!("<-{}", names.chan(*chan))),
            Op::Close { chan } => self.line(&format!("close({})", names.chan(*chan))),
            Op::Select { cases, default } => {
                if cases.is_empty() && default.is_none() {
                    return self.line("select {}");
                }
                self.line("select {");
                for case in cases {
                    self.line(&match case.op {
                        CaseOp::Send(chan) => format!("case {} <- 1:", names.chan(chan)),
                        CaseOp::Recv(chan) => format!("case <-{}:", names.chan(chan)),
                        CaseOp::After { duration_ns } => {
                            format!("case <-time.After({}):", go_duration(duration_ns))
                        }
                    });
                    self.ops(&case.body, names);
                }
                if let Some(body) = default {
                    self.line("default:");
                    self.ops(body, names);
                }
                self.line("}");
            }
            Op::Lock { mutex } => self.line(&format!("{}.Lock()", names.mutexes[mutex.index()])),
            Op::Unlock { mutex } => {
                self.line(&format!("{}.Unlock()", names.mutexes[mutex.index()]))
            }
            Op::RLock { rwmutex } => {
                self.line(&format!("{}.RLock()", names.rwmutexes[rwmutex.index()]))
            }
            Op::RUnlock { rwmutex } => {
                self.line(&format!("{}.RUnlock()", names.rwmutexes[rwmutex.index()]))
            }
            Op::WLock { rwmutex } => {
                self.line(&format!("{}.Lock()", names.rwmutexes[rwmutex.index()]))
            }
            Op::WUnlock { rwmutex } => {
                self.line(&format!("{}.Unlock()", names.rwmutexes[rwmutex.index()]))
            }
            Op::NetWait { latency_ns } => {
                self.line(&format!("netWait({})", go_duration(*latency_ns)))
            }
            Op::Alloc {
                size_bytes,
                pointer_words,
                count,
                keep,
                link: _,
            } => self.alloc(*size_bytes, *pointer_words, *count, *keep, names),
            Op::Gc => self.line("runtime.GC()"),
            Op::StackGrow { used_bytes } => {
                self.line(&format!(
                    "// A chain of calls that uses {} of stack, then returns.",
                    format_byte_size(*used_bytes)
                ));
                self.line(&format!("growStack({used_bytes})"));
            }
            Op::Repeat { count, body } => {
                self.line(&format!("for range {} {{", go_count(*count)));
                self.ops(body, names);
                self.line("}");
            }
        }
    }

    /// The type of the objects of one shape: a byte array when they hold no
    /// pointers; else a struct whose first word is `next`, a pointer to the
    /// same type (what `link` sets), then the other pointer words, then
    /// bytes, so that `unsafe.Sizeof` is exactly `size`.
    fn shape(&mut self, name: &str, size: u64, pointers: u32) {
        if pointers == 0 {
            self.line(&format!(
                "// {name} is {size} bytes without pointers: the GC never scans it."
            ));
            self.line(&format!("type {name} [{size}]byte"));
            return;
        }
        let words = if pointers == 1 {
            "whose first word is a pointer".to_string()
        } else {
            format!("whose first {pointers} words are pointers")
        };
        self.line(&format!(
            "// {name} is {size} bytes {words}: the GC scans {}.",
            if pointers == 1 { "it" } else { "them" }
        ));
        let mut fields: Vec<(&str, String)> = vec![("next", format!("*{name}"))];
        if pointers > 1 {
            fields.push(("more", format!("[{}]*{name}", pointers - 1)));
        }
        let pad = size - 8 * u64::from(pointers);
        if pad > 0 {
            fields.push(("_", format!("[{pad}]byte")));
        }
        // gofmt aligns the field types in one column.
        let width = fields.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
        self.line(&format!("type {name} struct {{"));
        self.indent += 1;
        for (field, ty) in fields {
            self.line(&format!("{field:<width$} {ty}"));
        }
        self.indent -= 1;
        self.line("}");
    }

    /// The variables a program's alloc ops keep while the goroutine runs,
    /// declared at the top of its function, with a comment saying which is
    /// which.
    fn alloc_declarations(&mut self, states: &[AllocState], ops: &[Op], names: &GoNames) {
        let mut shapes = Vec::new();
        alloc_shapes(ops, &mut shapes);
        let mut said = Vec::new();
        let mut declarations = Vec::new();
        for (state, shape) in states.iter().zip(&shapes) {
            let ty = &names.shapes[&(shape.size_bytes, shape.pointer_words)];
            if let Some((ring, idx)) = &state.ring {
                said.push(format!(
                    "{ring} keeps the last {} objects of an alloc op ({idx}: where the next one goes)",
                    shape.keep
                ));
                declarations.push(format!("var {ring} []*{ty}"));
                declarations.push(format!("var {idx} int"));
            }
            if let Some(prev) = &state.prev {
                said.push(format!(
                    "{prev} is the last object an alloc op made (to link the next one)"
                ));
                declarations.push(format!("var {prev} *{ty}"));
            }
        }
        if declarations.is_empty() {
            return;
        }
        self.line("// What the alloc ops keep while the goroutine runs:");
        for line in said {
            self.line(&format!("// {line}."));
        }
        for line in declarations {
            self.line(&line);
        }
    }

    /// One alloc op: `count` objects made with `new`, each put in the ring
    /// (when the op keeps some) and linked from the one before (with `link`).
    fn alloc(&mut self, size: u64, pointers: u32, count: u64, keep: u32, names: &GoNames) {
        let state = names.alloc_states[self.program][self.alloc_next].clone();
        self.alloc_next += 1;
        let ty = &names.shapes[&(size, pointers)];
        let mut what = format!("{count} objects of {}", format_byte_size(size));
        if state.prev.is_some() {
            what.push_str(", each linked from the one before,");
        }
        match keep {
            0 => what.push_str(" keeping none"),
            n => {
                let _ = write!(what, " keeping the last {n}");
            }
        }
        if state.prev.is_none() {
            what = what.replacen(" keeping", ", keeping", 1);
        }
        self.line(&format!("// Allocate {what}."));
        if let Some((ring, _)) = &state.ring {
            self.line(&format!("if {ring} == nil {{"));
            self.indent += 1;
            self.line(&format!("{ring} = make([]*{ty}, {keep})"));
            self.indent -= 1;
            self.line("}");
        }
        self.line(&format!("for range {} {{", go_count(count)));
        self.indent += 1;
        match (&state.ring, &state.prev) {
            (None, None) => {
                // Nothing keeps the object: a package-level variable takes
                // it, so the compiler cannot keep it on the stack instead.
                self.line(&format!("allocSink = new({ty})"));
            }
            (ring, prev) => {
                self.line(&format!("n := new({ty})"));
                if let Some(prev) = prev {
                    self.line(&format!("if {prev} != nil {{"));
                    self.indent += 1;
                    self.line(&format!("{prev}.next = n"));
                    self.indent -= 1;
                    self.line("}");
                }
                if let Some((ring, idx)) = ring {
                    self.line(&format!("{ring}[{idx}] = n"));
                    self.line(&format!("{idx} = ({idx} + 1) % {keep}"));
                }
                if let Some(prev) = prev {
                    self.line(&format!("{prev} = n"));
                }
            }
        }
        self.indent -= 1;
        self.line("}");
    }

    /// Ops one level deeper than the line before (a loop's or a case's body).
    fn ops(&mut self, ops: &[Op], names: &GoNames) {
        self.indent += 1;
        for op in ops {
            self.op(op, names);
        }
        self.indent -= 1;
    }
}

/// A loop count as a Go constant: an untyped constant above MaxInt64 does
/// not fit Go's int.
fn go_count(count: u64) -> String {
    if i64::try_from(count).is_ok() {
        count.to_string()
    } else {
        format!("uint64({count})")
    }
}

/// A duration in nanoseconds as a Go constant expression in the largest unit
/// that divides it: `50 * time.Millisecond`, `time.Second`, `1500 * time.Nanosecond`.
pub fn go_duration(duration_ns: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (3_600_000_000_000, "time.Hour"),
        (60_000_000_000, "time.Minute"),
        (1_000_000_000, "time.Second"),
        (1_000_000, "time.Millisecond"),
        (1_000, "time.Microsecond"),
        (1, "time.Nanosecond"),
    ];
    if duration_ns == 0 {
        return "0".to_string();
    }
    let (unit_ns, unit) = UNITS
        .iter()
        .find(|(unit_ns, _)| duration_ns / unit_ns * unit_ns == duration_ns)
        .expect("every duration is a whole number of nanoseconds");
    match duration_ns / unit_ns {
        1 => unit.to_string(),
        n => format!("{n} * {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The package-level names harness.go declares.
    fn harness_declarations() -> Vec<String> {
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let mut names = Vec::new();
        let mut in_block = false;
        for line in HARNESS.lines() {
            if in_block {
                if line == ")" {
                    in_block = false;
                } else if let Some(rest) = line.strip_prefix('\t') {
                    names.push(ident(rest));
                }
                continue;
            }
            for keyword in ["func ", "var ", "const ", "type "] {
                if let Some(rest) = line.strip_prefix(keyword) {
                    if rest.starts_with('(') {
                        in_block = true;
                    } else {
                        names.push(ident(rest));
                    }
                }
            }
        }
        names
    }

    #[test]
    fn every_name_the_harness_declares_is_kept_from_scenarios() {
        let declared = harness_declarations();
        assert!(declared.len() > 20, "{declared:?}");
        for name in &declared {
            assert!(
                HARNESS_NAMES.contains(&name.as_str()),
                "harness.go declares {name}: add it to HARNESS_NAMES"
            );
        }
    }

    #[test]
    fn every_import_is_a_package_name_kept_from_scenarios() {
        for import in IMPORTS {
            let package = import.rsplit('/').next().unwrap();
            assert!(HARNESS_NAMES.contains(&package), "{package}");
        }
    }

    #[test]
    fn durations_read_in_the_largest_exact_unit() {
        assert_eq!(go_duration(0), "0");
        assert_eq!(go_duration(1_000_000), "time.Millisecond");
        assert_eq!(go_duration(50_000_000), "50 * time.Millisecond");
        assert_eq!(go_duration(1_500), "1500 * time.Nanosecond");
        assert_eq!(go_duration(90_000_000_000), "90 * time.Second");
        assert_eq!(go_duration(7_200_000_000_000), "2 * time.Hour");
        assert_eq!(
            go_duration(i64::MAX as u64),
            "9223372036854775807 * time.Nanosecond"
        );
    }
}
