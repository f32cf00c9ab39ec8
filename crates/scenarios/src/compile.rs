//! From TOML text to a [`Scenario`]: format v1 as serde types, then the checks
//! serde cannot make, then the workload model (`sim_core::workload`).
//!
//! Parsing happens in three steps so each mistake gets the clearest message:
//! 1. the text must be TOML (else the parser's syntax error, with its position);
//! 2. `format` must be a version this crate reads, checked before anything
//!    else so a newer file says "format 2 is not supported" instead of listing
//!    fields this version does not know;
//! 3. the document is deserialized into the `Raw*` types below
//!    (`deny_unknown_fields` everywhere, `Spanned` on every value a later check
//!    may complain about), then compiled: ranges, op fields, names.
//!
//! An op is one flat struct with every op field optional, rather than a serde
//! enum tagged by `op`: internally tagged enums buffer their content and lose
//! the spans, and checking the fields per kind here lets the error say which
//! fields the kind takes.

use crate::bytesize::{format_byte_size, parse_byte_size};
use crate::duration::parse_duration_ns;
use crate::error::{ScenarioError, SourceMap};
use crate::{Assertions, Scenario};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use sim_core::ids::{ChannelId, MutexId, ProgramId, RwMutexId, WaitGroupId};
use sim_core::workload::{CaseOp, ChanRef, ChannelDecl, Op, Program, SelectCase, Workload};
use sim_sched::config::{GoDebug, RuntimeConfig};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The format versions this crate reads.
pub const SUPPORTED_FORMATS: [i64; 1] = [1];

/// The most Ps (and simulated CPUs) a scenario may ask for. Go itself has no
/// fixed cap any more; this one keeps a typo like `gomaxprocs = 40000` from
/// building a model too large to step through or print.
pub const MAX_GOMAXPROCS: i64 = 1024;

/// The largest object an `alloc` op may make, and the most stack a
/// `stack_grow` op may use: 1 GiB.
pub const MAX_OP_BYTES: u64 = 1 << 30;

/// The largest `gogc` (Go reads GOGC into an int32).
pub const MAX_GOGC: i64 = i32::MAX as i64;

/// The program the main goroutine runs.
pub const MAIN_PROGRAM: &str = "main";

/// What `chan = "nil"` (and `send = "nil"`, `recv = "nil"` in a select case)
/// names: a nil channel, on which sends and receives block forever.
pub(crate) const NIL_CHANNEL: &str = "nil";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    /// Checked before deserializing (step 2); named here so it is not unknown.
    #[serde(rename = "format")]
    _format: IgnoredAny,
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    runtime: RawRuntime,
    wait_groups: Option<Vec<Spanned<String>>>,
    channels: Option<Vec<Spanned<RawChannel>>>,
    mutexes: Option<Vec<Spanned<String>>>,
    rwmutexes: Option<Vec<Spanned<String>>>,
    programs: Spanned<BTreeMap<Spanned<String>, RawProgram>>,
    #[serde(rename = "assert")]
    assertions: Option<RawAssertions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssertions {
    max_wait: Option<Spanned<DurationText>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    name: Spanned<String>,
    capacity: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    gomaxprocs: Spanned<i64>,
    godebug: Option<Spanned<String>>,
    ncpu: Option<Spanned<i64>>,
    max_sim_time: Option<Spanned<DurationText>>,
    max_goroutines: Option<Spanned<i64>>,
    max_events: Option<Spanned<i64>>,
    max_heap: Option<Spanned<ByteSizeText>>,
    gogc: Option<Spanned<GogcValue>>,
    gomemlimit: Option<Spanned<ByteSizeText>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    #[serde(default)]
    description: String,
    ops: Vec<Spanned<RawOp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOp {
    op: Spanned<String>,
    duration: Option<Spanned<DurationText>>,
    preemptible: Option<Spanned<bool>>,
    program: Option<Spanned<String>>,
    count: Option<Spanned<i64>>,
    wait_group: Option<Spanned<String>>,
    delta: Option<Spanned<i64>>,
    body: Option<Spanned<Vec<Spanned<RawOp>>>>,
    chan: Option<Spanned<String>>,
    cases: Option<Spanned<Vec<Spanned<RawCase>>>>,
    default: Option<Spanned<Vec<Spanned<RawOp>>>>,
    mutex: Option<Spanned<String>>,
    rwmutex: Option<Spanned<String>>,
    latency: Option<Spanned<DurationText>>,
    size: Option<Spanned<ByteSizeText>>,
    pointers: Option<Spanned<i64>>,
    keep: Option<Spanned<i64>>,
    link: Option<Spanned<bool>>,
    used: Option<Spanned<ByteSizeText>>,
}

/// One `case` of a select: exactly one of `send`, `recv`, `after`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    send: Option<Spanned<String>>,
    recv: Option<Spanned<String>>,
    after: Option<Spanned<DurationText>>,
    body: Option<Spanned<Vec<Spanned<RawOp>>>>,
}

impl RawOp {
    /// The optional fields that are present, with the span of their values.
    fn present_fields(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut fields = Vec::new();
        let mut add = |name, span: Option<Range<usize>>| {
            if let Some(span) = span {
                fields.push((name, span));
            }
        };
        add("duration", self.duration.as_ref().map(Spanned::span));
        add("preemptible", self.preemptible.as_ref().map(Spanned::span));
        add("program", self.program.as_ref().map(Spanned::span));
        add("count", self.count.as_ref().map(Spanned::span));
        add("wait_group", self.wait_group.as_ref().map(Spanned::span));
        add("delta", self.delta.as_ref().map(Spanned::span));
        add("body", self.body.as_ref().map(Spanned::span));
        add("chan", self.chan.as_ref().map(Spanned::span));
        add("cases", self.cases.as_ref().map(Spanned::span));
        add("default", self.default.as_ref().map(Spanned::span));
        add("mutex", self.mutex.as_ref().map(Spanned::span));
        add("rwmutex", self.rwmutex.as_ref().map(Spanned::span));
        add("latency", self.latency.as_ref().map(Spanned::span));
        add("size", self.size.as_ref().map(Spanned::span));
        add("pointers", self.pointers.as_ref().map(Spanned::span));
        add("keep", self.keep.as_ref().map(Spanned::span));
        add("link", self.link.as_ref().map(Spanned::span));
        add("used", self.used.as_ref().map(Spanned::span));
        fields
    }
}

/// The Go spec's predeclared identifiers
/// (https://go.dev/ref/spec#Predeclared_identifiers): scenario names become
/// package-level Go names, and a `var close sync.Mutex` compiles but then
/// `close(jobs)` does not; a function named `len` would hide the builtin.
pub(crate) const GO_PREDECLARED: [&str; 44] = [
    "any",
    "bool",
    "byte",
    "comparable",
    "complex64",
    "complex128",
    "error",
    "float32",
    "float64",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "rune",
    "string",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintptr",
    "true",
    "false",
    "iota",
    "nil",
    "append",
    "cap",
    "clear",
    "close",
    "complex",
    "copy",
    "delete",
    "imag",
    "len",
    "make",
    "max",
    "min",
    "new",
    "panic",
    "print",
    "println",
    "real",
    "recover",
];

/// The kinds of op, named as in the file (`op = "wg_add"`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Compute,
    Spawn,
    Gosched,
    Sleep,
    Syscall,
    NetWait,
    WaitGroupAdd,
    WaitGroupDone,
    WaitGroupWait,
    Send,
    Recv,
    Close,
    Select,
    Lock,
    Unlock,
    RLock,
    RUnlock,
    WLock,
    WUnlock,
    LockOsThread,
    UnlockOsThread,
    Alloc,
    Gc,
    StackGrow,
    Repeat,
}

impl OpKind {
    /// Every kind, in the order the documentation lists them.
    const ALL: [OpKind; 25] = [
        OpKind::Compute,
        OpKind::Spawn,
        OpKind::Gosched,
        OpKind::Sleep,
        OpKind::Syscall,
        OpKind::NetWait,
        OpKind::WaitGroupAdd,
        OpKind::WaitGroupDone,
        OpKind::WaitGroupWait,
        OpKind::Send,
        OpKind::Recv,
        OpKind::Close,
        OpKind::Select,
        OpKind::Lock,
        OpKind::Unlock,
        OpKind::RLock,
        OpKind::RUnlock,
        OpKind::WLock,
        OpKind::WUnlock,
        OpKind::LockOsThread,
        OpKind::UnlockOsThread,
        OpKind::Alloc,
        OpKind::Gc,
        OpKind::StackGrow,
        OpKind::Repeat,
    ];

    fn name(self) -> &'static str {
        match self {
            OpKind::Compute => "compute",
            OpKind::Spawn => "spawn",
            OpKind::Gosched => "gosched",
            OpKind::Sleep => "sleep",
            OpKind::Syscall => "syscall",
            OpKind::NetWait => "net_wait",
            OpKind::WaitGroupAdd => "wg_add",
            OpKind::WaitGroupDone => "wg_done",
            OpKind::WaitGroupWait => "wg_wait",
            OpKind::Send => "send",
            OpKind::Recv => "recv",
            OpKind::Close => "close",
            OpKind::Select => "select",
            OpKind::Lock => "lock",
            OpKind::Unlock => "unlock",
            OpKind::RLock => "rlock",
            OpKind::RUnlock => "runlock",
            OpKind::WLock => "wlock",
            OpKind::WUnlock => "wunlock",
            OpKind::LockOsThread => "lock_os_thread",
            OpKind::UnlockOsThread => "unlock_os_thread",
            OpKind::Alloc => "alloc",
            OpKind::Gc => "gc",
            OpKind::StackGrow => "stack_grow",
            OpKind::Repeat => "repeat",
        }
    }

    fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The fields this kind takes besides `op`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            OpKind::Compute => &["duration", "preemptible"],
            OpKind::Spawn => &["program", "count"],
            OpKind::Gosched | OpKind::LockOsThread | OpKind::UnlockOsThread | OpKind::Gc => &[],
            OpKind::Sleep | OpKind::Syscall => &["duration"],
            OpKind::NetWait => &["latency"],
            OpKind::WaitGroupAdd => &["wait_group", "delta"],
            OpKind::WaitGroupDone | OpKind::WaitGroupWait => &["wait_group"],
            OpKind::Send | OpKind::Recv | OpKind::Close => &["chan"],
            OpKind::Select => &["cases", "default"],
            OpKind::Lock | OpKind::Unlock => &["mutex"],
            OpKind::RLock | OpKind::RUnlock | OpKind::WLock | OpKind::WUnlock => &["rwmutex"],
            OpKind::Alloc => &["size", "pointers", "count", "keep", "link"],
            OpKind::StackGrow => &["used"],
            OpKind::Repeat => &["count", "body"],
        }
    }
}

/// A duration string, parsed after deserializing so the error can say what
/// is wrong with it; a number in its place gets a hint about units.
struct DurationText(String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit, like \"50ms\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationText, E> {
                Ok(DurationText(text.to_string()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// A byte size: a string in Go's GOMEMLIMIT syntax (`"64B"`, `"32MiB"`) or
/// an integer number of bytes, parsed after deserializing so the error can
/// say what is wrong with it.
enum ByteSizeText {
    Text(String),
    Bytes(i64),
}

impl<'de> Deserialize<'de> for ByteSizeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ByteSizeVisitor;
        impl Visitor<'_> for ByteSizeVisitor {
            type Value = ByteSizeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size like \"64B\" or \"32MiB\", or an integer number of bytes")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSizeText, E> {
                Ok(ByteSizeText::Text(text.to_string()))
            }
            fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<ByteSizeText, E> {
                Ok(ByteSizeText::Bytes(bytes))
            }
        }
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

impl ByteSizeText {
    /// The size in bytes; `"off"` is `None` where `off_allowed`.
    fn bytes(&self, off_allowed: bool) -> Result<Option<u64>, String> {
        match self {
            ByteSizeText::Bytes(n) => u64::try_from(*n)
                .map(Some)
                .map_err(|_| format!("negative byte size {n} (byte sizes must be >= 0)")),
            ByteSizeText::Text(text) if off_allowed && text == "off" => Ok(None),
            ByteSizeText::Text(text) => parse_byte_size(text).map(Some),
        }
    }

    /// The value as the file spells it, for messages.
    fn shown(&self) -> String {
        match self {
            ByteSizeText::Bytes(n) => n.to_string(),
            ByteSizeText::Text(text) => format!("{text:?}"),
        }
    }
}

/// `gogc`: a percentage or `"off"`.
enum GogcValue {
    Percent(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for GogcValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GogcVisitor;
        impl Visitor<'_> for GogcVisitor {
            type Value = GogcValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer percentage like 100, or \"off\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<GogcValue, E> {
                Ok(GogcValue::Text(text.to_string()))
            }
            fn visit_i64<E: de::Error>(self, percent: i64) -> Result<GogcValue, E> {
                Ok(GogcValue::Percent(percent))
            }
        }
        deserializer.deserialize_any(GogcVisitor)
    }
}

/// GOGC as a scenario or the command line gives it: an integer from 0 to
/// [`MAX_GOGC`], or `off` (−1, as Go's `readGOGC` returns it). Stricter than
/// Go, which takes any other text as 100 and a negative number as off: a
/// typo should not pass silently. The error follows `field: ` or a flag name.
pub fn parse_gogc(text: &str) -> Result<i32, String> {
    if text == "off" {
        return Ok(-1);
    }
    match text.parse::<i64>() {
        Ok(percent) => gogc_percent(percent),
        Err(_) => Err(format!(
            "{text:?} is not a GOGC value (expected an integer percentage like 100, or \"off\")"
        )),
    }
}

fn gogc_percent(percent: i64) -> Result<i32, String> {
    if percent < 0 {
        Err(format!(
            "must be at least 0, got {percent} (write \"off\" to turn the collector off, as GOGC=off does)"
        ))
    } else if percent > MAX_GOGC {
        Err(format!("must be at most {MAX_GOGC}, got {percent}"))
    } else {
        Ok(percent as i32)
    }
}

/// GOMEMLIMIT as a scenario or the command line gives it: a byte size in
/// Go's syntax, or `off` for no limit (`i64::MAX`, Go's default).
pub fn parse_gomemlimit(text: &str) -> Result<i64, String> {
    if text == "off" {
        return Ok(i64::MAX);
    }
    // parse_byte_size stops at i64::MAX.
    parse_byte_size(text).map(|bytes| bytes as i64)
}

/// Just the version, read before the rest (step 2).
#[derive(Deserialize)]
struct FormatOnly {
    format: Option<Spanned<toml::Value>>,
}

/// Parses and compiles one scenario; see [`crate::parse_scenario`].
pub(crate) fn parse(source: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let document = DeTable::parse(source).map_err(|error| {
        let mut e = SourceMap::without_fields(origin, source).toml_error(&error);
        e.message = format!("invalid TOML: {}", e.message);
        e
    })?;
    let map = SourceMap::new(origin, source, &document);
    check_format(source, &map)?;
    check_table_shapes(document.get_ref(), &map)?;
    let raw: RawScenario = toml::from_str(source).map_err(|e| map.toml_error(&e))?;
    compile(raw, &map, origin, source)
}

fn check_format(source: &str, map: &SourceMap<'_>) -> Result<(), ScenarioError> {
    let supported = SUPPORTED_FORMATS.map(|v| v.to_string()).join(", ");
    let only: FormatOnly = toml::from_str(source).map_err(|e| map.toml_error(&e))?;
    let Some(format) = only.format else {
        return Err(map.error(
            0..0,
            format!("missing field \"format\" (put `format = 1` at the top; supported formats: {supported})"),
        ));
    };
    match format.get_ref() {
        toml::Value::Integer(version) if SUPPORTED_FORMATS.contains(version) => Ok(()),
        toml::Value::Integer(version) => Err(map.error(
            format.span(),
            format!("unsupported format {version} (this gmpsim reads format {supported})"),
        )),
        other => Err(map.error(
            format.span(),
            format!(
                "expected the format version as an integer, got {} (supported formats: {supported})",
                other.type_str()
            ),
        )),
    }
}

/// serde reads a struct from an array too (field by field, in order), which
/// turns `[[runtime]]` or `ops = [["sleep"]]` into baffling type errors about
/// the first field. Where format v1 wants a table, say so first.
fn check_table_shapes(document: &DeTable<'_>, map: &SourceMap<'_>) -> Result<(), ScenarioError> {
    fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }
    fn table<'t, 'i>(
        value: &'t Spanned<DeValue<'i>>,
        map: &SourceMap<'_>,
        hint: &str,
    ) -> Result<Option<&'t DeTable<'i>>, ScenarioError> {
        match value.get_ref() {
            DeValue::Table(table) => Ok(Some(table)),
            DeValue::Array(_) => Err(map.error(
                value.span(),
                format!("expected a table, got an array ({hint})"),
            )),
            // Other types get serde's "invalid type" message, which is clear.
            _ => Ok(None),
        }
    }
    fn ops(value: &Spanned<DeValue<'_>>, map: &SourceMap<'_>) -> Result<(), ScenarioError> {
        let DeValue::Array(list) = value.get_ref() else {
            return Ok(());
        };
        for op in list.iter() {
            let hint = "each op is an inline table, like { op = \"gosched\" }";
            let Some(op) = table(op, map, hint)? else {
                continue;
            };
            for nested in ["body", "default"] {
                if let Some(body) = get(op, nested) {
                    ops(body, map)?;
                }
            }
            if let Some(DeValue::Array(cases)) = get(op, "cases").map(Spanned::get_ref) {
                for case in cases.iter() {
                    let hint =
                        "each case is an inline table, like { recv = \"results\", body = [] }";
                    if let Some(body) = table(case, map, hint)?.and_then(|c| get(c, "body")) {
                        ops(body, map)?;
                    }
                }
            }
        }
        Ok(())
    }
    if let Some(runtime) = get(document, "runtime") {
        table(runtime, map, "write [runtime], not [[runtime]]")?;
    }
    // `channels = ["jobs"]`, written like wait_groups, would get serde's
    // "expected a table" with no hint of what the table holds.
    if let Some(DeValue::Array(channels)) = get(document, "channels").map(Spanned::get_ref) {
        for channel in channels.iter() {
            if !matches!(channel.get_ref(), DeValue::Table(_)) {
                return Err(map.error(
                    channel.span(),
                    format!(
                        "expected a table, got {} (each channel is an inline table, like {{ name = \"jobs\", capacity = 0 }})",
                        with_article(channel.get_ref().type_str())
                    ),
                ));
            }
        }
    }
    let Some(programs) = get(document, "programs") else {
        return Ok(());
    };
    let Some(programs) = table(programs, map, "write [programs.NAME] for each program")? else {
        return Ok(());
    };
    for (_, program) in programs.iter() {
        let hint = "write [programs.NAME], not [[programs.NAME]]";
        if let Some(program_ops) = table(program, map, hint)?.and_then(|p| get(p, "ops")) {
            ops(program_ops, map)?;
        }
    }
    Ok(())
}

fn compile(
    raw: RawScenario,
    map: &SourceMap<'_>,
    origin: &str,
    source: &str,
) -> Result<Scenario, ScenarioError> {
    let name = raw.name.get_ref().trim();
    if name.is_empty() || name.contains('\n') {
        return Err(map.error(
            raw.name.span(),
            "the scenario name must be one non-empty line",
        ));
    }
    let runtime = compile_runtime(&raw.runtime, map)?;

    // Every declared name becomes a package-level name in the generated Go
    // program, so wait groups, channels, mutexes, RWMutexes and programs
    // share one namespace.
    let mut names = Namespace::default();
    let mut wait_groups: Vec<String> = Vec::new();
    for declared in raw.wait_groups.iter().flatten() {
        names.declare(map, declared, "wait group")?;
        wait_groups.push(declared.get_ref().clone());
    }
    let mut channels: Vec<ChannelDecl> = Vec::new();
    for declared in raw.channels.iter().flatten() {
        let channel = declared.get_ref();
        if channel.name.get_ref() == NIL_CHANNEL {
            return Err(map.error(
                channel.name.span(),
                "\"nil\" cannot name a channel: chan = \"nil\" in an op means a nil channel",
            ));
        }
        names.declare(map, &channel.name, "channel")?;
        channels.push(ChannelDecl {
            name: channel.name.get_ref().clone(),
            capacity: match &channel.capacity {
                Some(capacity) => in_range(map, capacity, 0, i64::from(u32::MAX))? as u32,
                None => 0,
            },
        });
    }
    let mut mutexes: Vec<String> = Vec::new();
    for declared in raw.mutexes.iter().flatten() {
        names.declare(map, declared, "mutex")?;
        mutexes.push(declared.get_ref().clone());
    }
    let mut rwmutexes: Vec<String> = Vec::new();
    for declared in raw.rwmutexes.iter().flatten() {
        names.declare(map, declared, "rwmutex")?;
        rwmutexes.push(declared.get_ref().clone());
    }

    // ProgramId(i) is the i-th name in sorted order (the BTreeMap's order).
    let program_names: Vec<&str> = raw
        .programs
        .get_ref()
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    for key in raw.programs.get_ref().keys() {
        names.declare(map, key, "program")?;
    }
    let Some(main_index) = program_names.iter().position(|&n| n == MAIN_PROGRAM) else {
        return Err(map.error(
            raw.programs.span(),
            format!(
                "no program named \"main\": the main goroutine runs programs.main (defined: {})",
                list_or_none(&program_names)
            ),
        ));
    };

    let compiler = OpCompiler {
        map,
        program_names: &program_names,
        wait_groups: &wait_groups,
        channels: &channels,
        mutexes: &mutexes,
        rwmutexes: &rwmutexes,
    };
    let mut programs = Vec::with_capacity(program_names.len());
    for (key, program) in raw.programs.get_ref() {
        programs.push(Program {
            name: key.get_ref().clone(),
            description: program.description.trim().to_string(),
            ops: compiler.ops(&program.ops)?,
        });
    }

    let mut assertions = Assertions::default();
    if let Some(raw_assertions) = &raw.assertions
        && let Some(max_wait) = &raw_assertions.max_wait
    {
        let ns = duration_ns(map, max_wait)?;
        if ns == 0 {
            return Err(map.error(
                max_wait.span(),
                "must be longer than 0s (every wait would break it)",
            ));
        }
        assertions.max_wait_ns = Some(ns);
    }

    Ok(Scenario {
        name: name.to_string(),
        description: raw.description.trim().to_string(),
        runtime,
        workload: Workload {
            programs,
            main: ProgramId(main_index as u32),
            wait_groups,
            channels,
            mutexes,
            rwmutexes,
        },
        origin: origin.to_string(),
        source: source.to_string(),
        assertions,
    })
}

fn compile_runtime(raw: &RawRuntime, map: &SourceMap<'_>) -> Result<RuntimeConfig, ScenarioError> {
    let mut config = RuntimeConfig {
        gomaxprocs: in_range(map, &raw.gomaxprocs, 1, MAX_GOMAXPROCS)? as u32,
        ..RuntimeConfig::default()
    };
    if let Some(ncpu) = &raw.ncpu {
        config.ncpu = in_range(map, ncpu, 1, MAX_GOMAXPROCS)? as u32;
    }
    if let Some(godebug) = &raw.godebug {
        let mut parsed = GoDebug::default();
        parsed
            .apply(godebug.get_ref())
            .map_err(|e| map.error(godebug.span(), e.to_string()))?;
        config.godebug = parsed;
    }
    if let Some(max_sim_time) = &raw.max_sim_time {
        let max_sim_time_ns = duration_ns(map, max_sim_time)?;
        if max_sim_time_ns == 0 {
            return Err(map.error(
                max_sim_time.span(),
                "must be longer than 0s (the run would stop before it starts)",
            ));
        }
        config.max_sim_time_ns = max_sim_time_ns;
    }
    if let Some(max) = &raw.max_goroutines {
        config.max_goroutines = in_range(map, max, 1, i64::MAX)? as u64;
    }
    if let Some(max) = &raw.max_events {
        config.max_events = in_range(map, max, 1, i64::MAX)? as u64;
    }
    if let Some(max) = &raw.max_heap {
        config.max_heap_bytes = match max.get_ref().bytes(false) {
            Ok(Some(bytes)) if bytes > 0 => bytes,
            Ok(_) => return Err(map.error(max.span(), "must be larger than 0B")),
            Err(message) => return Err(map.error(max.span(), message)),
        };
    }
    if let Some(gogc) = &raw.gogc {
        config.gogc = match gogc.get_ref() {
            GogcValue::Percent(percent) => gogc_percent(*percent),
            GogcValue::Text(text) => parse_gogc(text),
        }
        .map_err(|message| map.error(gogc.span(), message))?;
    }
    if let Some(limit) = &raw.gomemlimit {
        config.memory_limit_bytes = match limit.get_ref().bytes(true) {
            Ok(Some(bytes)) => bytes as i64,
            Ok(None) => i64::MAX,
            Err(message) => {
                return Err(map.error(limit.span(), format!("{message}; \"off\" means no limit")));
            }
        };
    }
    Ok(config)
}

/// The names declared so far and what each names, to catch a name used twice.
#[derive(Default)]
struct Namespace {
    declared: Vec<(String, &'static str)>,
}

impl Namespace {
    /// Checks that `name` can be a Go identifier and is not taken, and takes it.
    fn declare(
        &mut self,
        map: &SourceMap<'_>,
        name: &Spanned<String>,
        what: &'static str,
    ) -> Result<(), ScenarioError> {
        let text = name.get_ref();
        check_identifier(map, name.span(), what, text)?;
        if let Some((_, other)) = self.declared.iter().find(|(n, _)| n == text) {
            let message = if *other == what {
                format!("{what} {text:?} is declared twice")
            } else {
                format!(
                    "{what} {text:?} has the same name as {} {text:?} (both become package-level names in the generated Go program)",
                    with_article(other)
                )
            };
            return Err(map.error(name.span(), message));
        }
        self.declared.push((text.clone(), what));
        Ok(())
    }
}

fn with_article(what: &str) -> String {
    if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {what}")
    } else {
        format!("a {what}")
    }
}

struct OpCompiler<'a> {
    map: &'a SourceMap<'a>,
    program_names: &'a [&'a str],
    wait_groups: &'a [String],
    channels: &'a [ChannelDecl],
    mutexes: &'a [String],
    rwmutexes: &'a [String],
}

impl OpCompiler<'_> {
    fn ops(&self, raw_ops: &[Spanned<RawOp>]) -> Result<Vec<Op>, ScenarioError> {
        raw_ops.iter().map(|raw| self.op(raw)).collect()
    }

    fn op(&self, spanned: &Spanned<RawOp>) -> Result<Op, ScenarioError> {
        let map = self.map;
        let raw = spanned.get_ref();
        let Some(kind) = OpKind::from_name(raw.op.get_ref()) else {
            let names: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
            return Err(map.error(
                raw.op.span(),
                format!(
                    "unknown op {:?} (expected one of: {})",
                    raw.op.get_ref(),
                    names.join(", ")
                ),
            ));
        };
        let allowed = kind.fields();
        let kind_name = kind.name();
        for (field, span) in raw.present_fields() {
            if !allowed.contains(&field) {
                let takes = if allowed.is_empty() {
                    format!("{kind_name} takes no other fields")
                } else {
                    format!("{kind_name} takes: {}", allowed.join(", "))
                };
                return Err(map.error(
                    span,
                    format!("op {kind_name:?} has no field {field:?} ({takes})"),
                ));
            }
        }
        let missing = |field: &str| {
            map.error(
                spanned.span(),
                format!("missing field {field:?} (op {kind_name:?} needs it)"),
            )
        };
        Ok(match kind {
            OpKind::Compute => Op::Compute {
                duration_ns: duration_ns(
                    map,
                    raw.duration.as_ref().ok_or_else(|| missing("duration"))?,
                )?,
                preemptible: raw.preemptible.as_ref().is_none_or(|p| *p.get_ref()),
            },
            OpKind::Spawn => {
                let program = raw.program.as_ref().ok_or_else(|| missing("program"))?;
                Op::Spawn {
                    program: self.program(program)?,
                    count: match &raw.count {
                        Some(count) => in_range(map, count, 1, i64::from(u32::MAX))? as u32,
                        None => 1,
                    },
                }
            }
            OpKind::Gosched => Op::Gosched,
            OpKind::LockOsThread => Op::LockOsThread,
            OpKind::UnlockOsThread => Op::UnlockOsThread,
            OpKind::Sleep => Op::Sleep {
                duration_ns: duration_ns(
                    map,
                    raw.duration.as_ref().ok_or_else(|| missing("duration"))?,
                )?,
            },
            OpKind::Syscall => Op::Syscall {
                duration_ns: duration_ns(
                    map,
                    raw.duration.as_ref().ok_or_else(|| missing("duration"))?,
                )?,
            },
            OpKind::WaitGroupAdd => {
                let wait_group = self.wait_group(
                    raw.wait_group
                        .as_ref()
                        .ok_or_else(|| missing("wait_group"))?,
                )?;
                let delta = raw.delta.as_ref().ok_or_else(|| missing("delta"))?;
                if *delta.get_ref() == 0 {
                    return Err(map.error(delta.span(), "must not be 0 (wg.Add(0) does nothing)"));
                }
                Op::WaitGroupAdd {
                    wait_group,
                    delta: *delta.get_ref(),
                }
            }
            OpKind::WaitGroupDone => Op::WaitGroupDone {
                wait_group: self.wait_group(
                    raw.wait_group
                        .as_ref()
                        .ok_or_else(|| missing("wait_group"))?,
                )?,
            },
            OpKind::WaitGroupWait => Op::WaitGroupWait {
                wait_group: self.wait_group(
                    raw.wait_group
                        .as_ref()
                        .ok_or_else(|| missing("wait_group"))?,
                )?,
            },
            OpKind::NetWait => Op::NetWait {
                latency_ns: duration_ns(
                    map,
                    raw.latency.as_ref().ok_or_else(|| missing("latency"))?,
                )?,
            },
            OpKind::Send | OpKind::Recv | OpKind::Close => {
                let chan = self.channel(raw.chan.as_ref().ok_or_else(|| missing("chan"))?)?;
                match kind {
                    OpKind::Send => Op::Send { chan },
                    OpKind::Recv => Op::Recv { chan },
                    _ => Op::Close { chan },
                }
            }
            OpKind::Select => {
                let mut cases = Vec::new();
                for case in raw.cases.iter().flat_map(|c| c.get_ref()) {
                    cases.push(self.select_case(case)?);
                }
                Op::Select {
                    cases,
                    default: match &raw.default {
                        Some(body) => Some(self.ops(body.get_ref())?),
                        None => None,
                    },
                }
            }
            OpKind::Lock | OpKind::Unlock => {
                let mutex = self.mutex(raw.mutex.as_ref().ok_or_else(|| missing("mutex"))?)?;
                match kind {
                    OpKind::Lock => Op::Lock { mutex },
                    _ => Op::Unlock { mutex },
                }
            }
            OpKind::RLock | OpKind::RUnlock | OpKind::WLock | OpKind::WUnlock => {
                let rwmutex =
                    self.rwmutex(raw.rwmutex.as_ref().ok_or_else(|| missing("rwmutex"))?)?;
                match kind {
                    OpKind::RLock => Op::RLock { rwmutex },
                    OpKind::RUnlock => Op::RUnlock { rwmutex },
                    OpKind::WLock => Op::WLock { rwmutex },
                    _ => Op::WUnlock { rwmutex },
                }
            }
            OpKind::Alloc => {
                let size_field = raw.size.as_ref().ok_or_else(|| missing("size"))?;
                let size = op_bytes(map, size_field, "an object")?;
                let pointers = match &raw.pointers {
                    Some(pointers) => {
                        let n = in_range(map, pointers, 0, i64::from(u32::MAX))? as u64;
                        if n * 8 > size {
                            return Err(map.error(
                                pointers.span(),
                                format!(
                                    "{n} pointer words take {} bytes, more than the object's size {} (pointers × 8 must be at most size)",
                                    n * 8,
                                    format_byte_size(size)
                                ),
                            ));
                        }
                        n as u32
                    }
                    None => 0,
                };
                if pointers > 0 && size % 8 != 0 {
                    let below = size / 8 * 8;
                    return Err(map.error(
                        size_field.span(),
                        format!(
                            "an object with pointers is a Go struct, whose size is a multiple of 8 (the pointers' alignment), but {} is not: use {}{}",
                            format_byte_size(size),
                            if below >= u64::from(pointers) * 8 {
                                format!("{} or ", format_byte_size(below))
                            } else {
                                String::new()
                            },
                            format_byte_size(below + 8)
                        ),
                    ));
                }
                let count = raw.count.as_ref().ok_or_else(|| missing("count"))?;
                let link = match &raw.link {
                    Some(link) if *link.get_ref() && pointers == 0 => {
                        return Err(map.error(
                            link.span(),
                            "link = true stores each object in the previous one's first pointer word, so it needs pointers >= 1 (this op has pointers = 0)",
                        ));
                    }
                    Some(link) => *link.get_ref(),
                    None => false,
                };
                Op::Alloc {
                    size_bytes: size,
                    pointer_words: pointers,
                    count: in_range(map, count, 1, i64::MAX)? as u64,
                    keep: match &raw.keep {
                        Some(keep) => in_range(map, keep, 0, i64::from(u32::MAX))? as u32,
                        None => 0,
                    },
                    link,
                }
            }
            OpKind::Gc => Op::Gc,
            OpKind::StackGrow => Op::StackGrow {
                used_bytes: op_bytes(
                    map,
                    raw.used.as_ref().ok_or_else(|| missing("used"))?,
                    "a call chain",
                )?,
            },
            OpKind::Repeat => {
                let count = raw.count.as_ref().ok_or_else(|| missing("count"))?;
                let body = raw.body.as_ref().ok_or_else(|| missing("body"))?;
                if body.get_ref().is_empty() {
                    return Err(
                        map.error(body.span(), "a repeat needs at least one op in its body")
                    );
                }
                Op::Repeat {
                    count: in_range(map, count, 1, i64::MAX)? as u64,
                    body: self.ops(body.get_ref())?,
                }
            }
        })
    }

    fn program(&self, name: &Spanned<String>) -> Result<ProgramId, ScenarioError> {
        match self.program_names.iter().position(|n| n == name.get_ref()) {
            Some(index) => Ok(ProgramId(index as u32)),
            None => Err(self.map.error(
                name.span(),
                format!(
                    "unknown program {:?} (defined programs: {})",
                    name.get_ref(),
                    list_or_none(self.program_names)
                ),
            )),
        }
    }

    /// One `case` of a select: exactly one of send, recv and after.
    fn select_case(&self, spanned: &Spanned<RawCase>) -> Result<SelectCase, ScenarioError> {
        let map = self.map;
        let raw = spanned.get_ref();
        let mut directions: Vec<(&str, Range<usize>)> = [
            ("send", raw.send.as_ref().map(Spanned::span)),
            ("recv", raw.recv.as_ref().map(Spanned::span)),
            ("after", raw.after.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(name, span)| span.map(|span| (name, span)))
        .collect();
        directions.sort_by_key(|(_, span)| span.start);
        if let [(first, _), (second, span), ..] = directions.as_slice() {
            return Err(map.error(
                span.clone(),
                format!(
                    "a select case is one operation, but this one has both {first:?} and {second:?} (write one case for each)"
                ),
            ));
        }
        let op = if let Some(chan) = &raw.send {
            CaseOp::Send(self.channel(chan)?)
        } else if let Some(chan) = &raw.recv {
            CaseOp::Recv(self.channel(chan)?)
        } else if let Some(after) = &raw.after {
            CaseOp::After {
                duration_ns: duration_ns(map, after)?,
            }
        } else {
            return Err(map.error(
                spanned.span(),
                "a select case needs one of \"send\", \"recv\" or \"after\", like { recv = \"results\", body = [...] }",
            ));
        };
        Ok(SelectCase {
            op,
            body: match &raw.body {
                Some(body) => self.ops(body.get_ref())?,
                None => Vec::new(),
            },
        })
    }

    fn wait_group(&self, name: &Spanned<String>) -> Result<WaitGroupId, ScenarioError> {
        let index = self.declared(
            name,
            self.wait_groups.iter().map(String::as_str),
            &WAIT_GROUPS,
        )?;
        Ok(WaitGroupId(index))
    }

    fn channel(&self, name: &Spanned<String>) -> Result<ChanRef, ScenarioError> {
        if name.get_ref() == NIL_CHANNEL {
            return Ok(ChanRef::Nil);
        }
        let declared = self.channels.iter().map(|c| c.name.as_str());
        Ok(ChanRef::Chan(ChannelId(
            self.declared(name, declared, &CHANNELS)?,
        )))
    }

    fn mutex(&self, name: &Spanned<String>) -> Result<MutexId, ScenarioError> {
        if self.rwmutexes.contains(name.get_ref()) {
            return Err(self.map.error(
                name.span(),
                format!(
                    "{:?} is declared in rwmutexes, not mutexes: a sync.RWMutex takes the ops rlock, runlock, wlock and wunlock, with rwmutex = {0:?}",
                    name.get_ref()
                ),
            ));
        }
        let index = self.declared(name, self.mutexes.iter().map(String::as_str), &MUTEXES)?;
        Ok(MutexId(index))
    }

    fn rwmutex(&self, name: &Spanned<String>) -> Result<RwMutexId, ScenarioError> {
        if self.mutexes.contains(name.get_ref()) {
            return Err(self.map.error(
                name.span(),
                format!(
                    "{:?} is declared in mutexes, not rwmutexes: a sync.Mutex takes the ops lock and unlock, with mutex = {0:?}",
                    name.get_ref()
                ),
            ));
        }
        let index = self.declared(name, self.rwmutexes.iter().map(String::as_str), &RWMUTEXES)?;
        Ok(RwMutexId(index))
    }

    /// The index of `name` among the declared names of one kind, or an
    /// error that lists them (or says how to declare one).
    fn declared<'n>(
        &self,
        name: &Spanned<String>,
        declared: impl Iterator<Item = &'n str>,
        kind: &DeclaredKind,
    ) -> Result<u32, ScenarioError> {
        let declared: Vec<&str> = declared.collect();
        let text = name.get_ref();
        if let Some(index) = declared.iter().position(|n| n == text) {
            return Ok(index as u32);
        }
        let message = if declared.is_empty() {
            format!(
                "unknown {} {text:?} (no {} are declared: add {} at the top of the file)",
                kind.what,
                kind.plural,
                (kind.example)(text)
            )
        } else {
            format!(
                "unknown {} {text:?} (declared in {}: {}{})",
                kind.what,
                kind.field,
                declared.join(", "),
                kind.note
            )
        };
        Err(self.map.error(name.span(), message))
    }
}

/// How to talk about one kind of declared name in an "unknown name" error.
struct DeclaredKind {
    what: &'static str,
    plural: &'static str,
    /// The top-level field that declares them.
    field: &'static str,
    /// The declaration to add, for a name used but not declared.
    example: fn(&str) -> String,
    /// Appended to the list of declared names.
    note: &'static str,
}

const WAIT_GROUPS: DeclaredKind = DeclaredKind {
    what: "wait group",
    plural: "wait groups",
    field: "wait_groups",
    example: |name| format!("wait_groups = [{name:?}]"),
    note: "",
};

const CHANNELS: DeclaredKind = DeclaredKind {
    what: "channel",
    plural: "channels",
    field: "channels",
    example: |name| format!("channels = [{{ name = {name:?}, capacity = 0 }}]"),
    note: "; \"nil\" is a nil channel",
};

const MUTEXES: DeclaredKind = DeclaredKind {
    what: "mutex",
    plural: "mutexes",
    field: "mutexes",
    example: |name| format!("mutexes = [{name:?}]"),
    note: "",
};

const RWMUTEXES: DeclaredKind = DeclaredKind {
    what: "rwmutex",
    plural: "rwmutexes",
    field: "rwmutexes",
    example: |name| format!("rwmutexes = [{name:?}]"),
    note: "",
};

fn duration_ns(map: &SourceMap<'_>, text: &Spanned<DurationText>) -> Result<u64, ScenarioError> {
    parse_duration_ns(&text.get_ref().0).map_err(|message| map.error(text.span(), message))
}

/// An op's byte size (`size`, `used`): from 1 byte to [`MAX_OP_BYTES`].
fn op_bytes(
    map: &SourceMap<'_>,
    value: &Spanned<ByteSizeText>,
    what: &str,
) -> Result<u64, ScenarioError> {
    let text = value.get_ref();
    let bytes = text
        .bytes(false)
        .map_err(|message| map.error(value.span(), message))?
        .expect("off is not allowed here");
    if bytes == 0 {
        return Err(map.error(
            value.span(),
            format!("must be at least 1 byte, got {}", text.shown()),
        ));
    }
    if bytes > MAX_OP_BYTES {
        return Err(map.error(
            value.span(),
            format!(
                "must be at most 1GiB ({MAX_OP_BYTES} bytes) for {what}, got {}",
                text.shown()
            ),
        ));
    }
    Ok(bytes)
}

fn in_range(
    map: &SourceMap<'_>,
    value: &Spanned<i64>,
    min: i64,
    max: i64,
) -> Result<i64, ScenarioError> {
    let v = *value.get_ref();
    if v < min {
        Err(map.error(value.span(), format!("must be at least {min}, got {v}")))
    } else if v > max {
        Err(map.error(value.span(), format!("must be at most {max}, got {v}")))
    } else {
        Ok(v)
    }
}

/// Declared names (programs, wait groups, channels, mutexes, RWMutexes)
/// become Go identifiers in the generated program.
fn check_identifier(
    map: &SourceMap<'_>,
    span: Range<usize>,
    what: &str,
    name: &str,
) -> Result<(), ScenarioError> {
    // The Go spec's keywords (https://go.dev/ref/spec#Keywords).
    const GO_KEYWORDS: [&str; 25] = [
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ];
    let mut chars = name.chars();
    let is_identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_identifier {
        return Err(map.error(
            span,
            format!(
                "{what} name {name:?} is not an identifier (use letters, digits and _, not starting with a digit: it becomes a name in the generated Go program)"
            ),
        ));
    }
    if GO_KEYWORDS.contains(&name) {
        return Err(map.error(
            span,
            format!("{what} name {name:?} is a Go keyword (it becomes a name in the generated Go program)"),
        ));
    }
    if GO_PREDECLARED.contains(&name) {
        return Err(map.error(
            span,
            format!(
                "{what} name {name:?} is predeclared in Go (it becomes a name in the generated Go program, and would hide Go's own {name:?})"
            ),
        ));
    }
    Ok(())
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
