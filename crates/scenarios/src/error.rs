//! Errors that point into the scenario file.
//!
//! Every problem with a scenario, from a TOML syntax error to a `spawn` of a
//! program that does not exist, becomes one [`ScenarioError`] that names the
//! file, the line and column, and the field path (`programs.worker.ops[2].duration`),
//! so a student can go straight to the mistake:
//!
//! ```text
//! library/bad.toml:14:9: programs.worker.ops[2].duration: negative duration "-5ms" (durations must be >= 0)
//! ```
//!
//! Positions come from byte spans: the TOML parser's own for syntax and type
//! errors, `toml::Spanned` values for the checks this crate makes. The field
//! path is found the same way for both, by looking the span up in the parsed
//! document ([`SourceMap`]), so no check has to carry its path along.

use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A position in a scenario file, both 1-based. The column counts characters
/// (not bytes), as editors do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Why a scenario could not be loaded, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file path as the user gave it, or `library:NAME`.
    pub origin: String,
    /// Where in the file; `None` when the error is about the file as a whole
    /// (it cannot be read, or no scenario has that name).
    pub location: Option<Location>,
    /// The dotted path of the offending field, like `runtime.gomaxprocs` or
    /// `programs.main.ops[0].op`; empty when no single field is at fault
    /// (a TOML syntax error, a missing top-level key).
    pub field_path: String,
    /// What is wrong, in words a student can act on.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(Location { line, column }) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if !self.field_path.is_empty() {
            write!(f, ": {}", self.field_path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error about the file or name as a whole, with no position in it.
    pub(crate) fn whole_file(origin: &str, message: String) -> Self {
        Self {
            origin: origin.to_string(),
            location: None,
            field_path: String::new(),
            message,
        }
    }

    /// An error at a whole line of a line-oriented file (a replay).
    pub(crate) fn at_line(origin: &str, line: usize, field: &str, message: String) -> Self {
        Self {
            origin: origin.to_string(),
            location: Some(Location { line, column: 1 }),
            field_path: field.to_string(),
            message,
        }
    }
}

/// The 1-based line and character column of a byte offset. Offsets past the
/// end, or inside a multi-byte character, are clamped rather than trusted.
pub(crate) fn location_of(source: &str, byte_offset: usize) -> Location {
    let before = &source.as_bytes()[..byte_offset.min(source.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    // Count characters by their first byte (UTF-8 continuation bytes are 10xxxxxx).
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    Location { line, column }
}

/// The parsed document's spans, to turn a byte span back into a field path
/// and an error.
pub(crate) struct SourceMap<'s> {
    origin: &'s str,
    source: &'s str,
    /// Every key, value and array element with the path it stands for.
    nodes: Vec<(Range<usize>, String)>,
}

impl<'s> SourceMap<'s> {
    /// A map for a document that parsed as TOML.
    pub(crate) fn new(origin: &'s str, source: &'s str, document: &Spanned<DeTable<'_>>) -> Self {
        let mut nodes = Vec::new();
        collect_table(document.get_ref(), "", &mut nodes);
        Self {
            origin,
            source,
            nodes,
        }
    }

    /// A map that knows no fields (the document is not valid TOML).
    pub(crate) fn without_fields(origin: &'s str, source: &'s str) -> Self {
        Self {
            origin,
            source,
            nodes: Vec::new(),
        }
    }

    /// An error at `span`, with the field path that span belongs to.
    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            origin: self.origin.to_string(),
            location: Some(location_of(self.source, span.start)),
            field_path: self.path_at(&span),
            message: message.into(),
        }
    }

    /// An error the TOML parser or serde reported, with its span if it has one.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> ScenarioError {
        let message = tidy_serde_message(error.message());
        match error.span() {
            Some(span) => self.error(span, message),
            None => ScenarioError::whole_file(self.origin, message),
        }
    }

    /// The path of the field a span belongs to: the node with exactly this
    /// span if there is one (the deepest, where a table header and its
    /// implicit parent share one), else the smallest node containing it.
    /// Empty spans (positions between tokens) only match exactly.
    fn path_at(&self, span: &Range<usize>) -> String {
        let deepest =
            |a: &&(Range<usize>, String), b: &&(Range<usize>, String)| a.1.len().cmp(&b.1.len());
        if let Some((_, path)) = self.nodes.iter().filter(|(s, _)| s == span).max_by(deepest) {
            return path.clone();
        }
        if span.is_empty() {
            return String::new();
        }
        self.nodes
            .iter()
            .filter(|(s, _)| s.start <= span.start && span.start < s.end)
            .min_by(|a, b| a.0.len().cmp(&b.0.len()).then(deepest(b, a)))
            .map(|(_, path)| path.clone())
            .unwrap_or_default()
    }
}

fn collect_table(table: &DeTable<'_>, prefix: &str, nodes: &mut Vec<(Range<usize>, String)>) {
    for (key, value) in table.iter() {
        let path = join_key(prefix, key.get_ref());
        nodes.push((key.span(), path.clone()));
        collect_value(value, path, nodes);
    }
}

fn collect_value(
    value: &Spanned<DeValue<'_>>,
    path: String,
    nodes: &mut Vec<(Range<usize>, String)>,
) {
    match value.get_ref() {
        DeValue::Table(table) => collect_table(table, &path, nodes),
        DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                collect_value(element, format!("{path}[{index}]"), nodes);
            }
        }
        _ => {}
    }
    nodes.push((value.span(), path));
}

/// `prefix.key`, with the key quoted when it is not a TOML bare key, so the
/// path can be pasted back into the file.
fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// serde quotes names with backticks and speaks Rust types; students read
/// TOML, so quote like TOML and name TOML's types.
fn tidy_serde_message(message: &str) -> String {
    let mut message = message.replace('`', "\"").replace(" as i128", "");
    // "expected struct RawOp": the name of a Rust type means nothing here.
    while let Some(at) = message.find("expected struct ") {
        let name_start = at + "expected struct ".len();
        let name_end = message[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .map_or(message.len(), |len| name_start + len);
        message.replace_range(at..name_end, "expected a table");
    }
    message
        .replace("expected i64", "expected an integer")
        .replace("expected a map", "expected a table")
        .replace("invalid type: map", "invalid type: table")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("expected a sequence", "expected an array")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let source = "a = 1\nµ = \"x\"\n";
        assert_eq!(location_of(source, 0), Location { line: 1, column: 1 });
        assert_eq!(location_of(source, 4), Location { line: 1, column: 5 });
        assert_eq!(location_of(source, 6), Location { line: 2, column: 1 });
        // 'µ' is two bytes but one column: the '=' at byte 9 is in column 3.
        assert_eq!(location_of(source, 9), Location { line: 2, column: 3 });
        assert_eq!(location_of(source, 1_000), Location { line: 3, column: 1 });
    }

    #[test]
    fn spans_map_back_to_dotted_paths() {
        let source = "[programs.main]\nops = [\n  { op = \"sleep\", duration = \"1ms\" },\n]\n";
        let document = DeTable::parse(source).expect("valid TOML");
        let map = SourceMap::new("t.toml", source, &document);
        let at = |needle: &str| {
            let start = source.find(needle).expect("needle in source");
            map.path_at(&(start..start + needle.len()))
        };
        assert_eq!(at("\"1ms\""), "programs.main.ops[0].duration");
        assert_eq!(at("duration"), "programs.main.ops[0].duration");
        assert_eq!(
            at("{ op = \"sleep\", duration = \"1ms\" }"),
            "programs.main.ops[0]"
        );
        assert_eq!(at("[programs.main]"), "programs.main");
        assert_eq!(map.path_at(&(0..0)), "");
    }

    #[test]
    fn display_names_file_line_column_field_and_problem() {
        let e = ScenarioError {
            origin: "x.toml".into(),
            location: Some(Location { line: 7, column: 1 }),
            field_path: "runtime.gomaxprocs".into(),
            message: "must be at least 1, got 0".into(),
        };
        assert_eq!(
            e.to_string(),
            "x.toml:7:1: runtime.gomaxprocs: must be at least 1, got 0"
        );
        let e = ScenarioError::whole_file("nope", "no such scenario".into());
        assert_eq!(e.to_string(), "nope: no such scenario");
    }
}
