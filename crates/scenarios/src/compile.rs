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

use crate::Scenario;
use crate::duration::parse_duration_ns;
use crate::error::{ScenarioError, SourceMap};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use sim_core::ids::{ProgramId, WaitGroupId};
use sim_core::workload::{Op, Program, Workload};
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

/// The program the main goroutine runs.
pub const MAIN_PROGRAM: &str = "main";

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
    programs: Spanned<BTreeMap<Spanned<String>, RawProgram>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    gomaxprocs: Spanned<i64>,
    godebug: Option<Spanned<String>>,
    ncpu: Option<Spanned<i64>>,
    max_sim_time: Option<Spanned<DurationText>>,
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
        fields
    }
}

/// The kinds of op, named as in the file (`op = "wg_add"`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Compute,
    Spawn,
    Gosched,
    Sleep,
    Syscall,
    WaitGroupAdd,
    WaitGroupDone,
    WaitGroupWait,
    LockOsThread,
    UnlockOsThread,
    Repeat,
}

impl OpKind {
    /// Every kind, in the order the documentation lists them.
    const ALL: [OpKind; 11] = [
        OpKind::Compute,
        OpKind::Spawn,
        OpKind::Gosched,
        OpKind::Sleep,
        OpKind::Syscall,
        OpKind::WaitGroupAdd,
        OpKind::WaitGroupDone,
        OpKind::WaitGroupWait,
        OpKind::LockOsThread,
        OpKind::UnlockOsThread,
        OpKind::Repeat,
    ];

    fn name(self) -> &'static str {
        match self {
            OpKind::Compute => "compute",
            OpKind::Spawn => "spawn",
            OpKind::Gosched => "gosched",
            OpKind::Sleep => "sleep",
            OpKind::Syscall => "syscall",
            OpKind::WaitGroupAdd => "wg_add",
            OpKind::WaitGroupDone => "wg_done",
            OpKind::WaitGroupWait => "wg_wait",
            OpKind::LockOsThread => "lock_os_thread",
            OpKind::UnlockOsThread => "unlock_os_thread",
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
            OpKind::Gosched | OpKind::LockOsThread | OpKind::UnlockOsThread => &[],
            OpKind::Sleep | OpKind::Syscall => &["duration"],
            OpKind::WaitGroupAdd => &["wait_group", "delta"],
            OpKind::WaitGroupDone | OpKind::WaitGroupWait => &["wait_group"],
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
        if let DeValue::Array(list) = value.get_ref() {
            for op in list.iter() {
                let hint = "each op is an inline table, like { op = \"gosched\" }";
                if let Some(body) = table(op, map, hint)?.and_then(|op| get(op, "body")) {
                    ops(body, map)?;
                }
            }
        }
        Ok(())
    }
    if let Some(runtime) = get(document, "runtime") {
        table(runtime, map, "write [runtime], not [[runtime]]")?;
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

    let mut wait_groups: Vec<String> = Vec::new();
    for declared in raw.wait_groups.iter().flatten() {
        let wait_group = declared.get_ref();
        check_identifier(map, declared.span(), "wait group", wait_group)?;
        if wait_groups.contains(wait_group) {
            return Err(map.error(
                declared.span(),
                format!("wait group {wait_group:?} is declared twice"),
            ));
        }
        wait_groups.push(wait_group.clone());
    }

    // ProgramId(i) is the i-th name in sorted order (the BTreeMap's order).
    let program_names: Vec<&str> = raw
        .programs
        .get_ref()
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    for key in raw.programs.get_ref().keys() {
        check_identifier(map, key.span(), "program", key.get_ref())?;
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
    };
    let mut programs = Vec::with_capacity(program_names.len());
    for (key, program) in raw.programs.get_ref() {
        programs.push(Program {
            name: key.get_ref().clone(),
            description: program.description.trim().to_string(),
            ops: compiler.ops(&program.ops)?,
        });
    }

    Ok(Scenario {
        name: name.to_string(),
        description: raw.description.trim().to_string(),
        runtime,
        workload: Workload {
            programs,
            main: ProgramId(main_index as u32),
            wait_groups,
        },
        origin: origin.to_string(),
        source: source.to_string(),
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
    Ok(config)
}

struct OpCompiler<'a> {
    map: &'a SourceMap<'a>,
    program_names: &'a [&'a str],
    wait_groups: &'a [String],
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

    fn wait_group(&self, name: &Spanned<String>) -> Result<WaitGroupId, ScenarioError> {
        match self.wait_groups.iter().position(|n| n == name.get_ref()) {
            Some(index) => Ok(WaitGroupId(index as u32)),
            None if self.wait_groups.is_empty() => Err(self.map.error(
                name.span(),
                format!(
                    "unknown wait group {0:?} (no wait groups are declared: add wait_groups = [{0:?}] at the top of the file)",
                    name.get_ref()
                ),
            )),
            None => Err(self.map.error(
                name.span(),
                format!(
                    "unknown wait group {:?} (declared in wait_groups: {})",
                    name.get_ref(),
                    self.wait_groups.join(", ")
                ),
            )),
        }
    }
}

fn duration_ns(map: &SourceMap<'_>, text: &Spanned<DurationText>) -> Result<u64, ScenarioError> {
    parse_duration_ns(&text.get_ref().0).map_err(|message| map.error(text.span(), message))
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

/// Program and wait-group names become Go identifiers in the generated program.
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
    Ok(())
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
