//! What the gctrace and schedtrace readers share: a cursor over one line
//! that says where and why the line stops following the format, the error it
//! produces, and the loop that picks a format's lines out of a process's
//! stderr.
//!
//! Both formats are printed by the runtime with `print`, field by field, so
//! the readers are hand-written: each literal is checked where Go prints it
//! and each number is read where Go prints one, and a mismatch names the
//! column and what was expected there.

use std::fmt;

/// A line that starts like a trace line of its format but does not follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLineError {
    /// Which format: `gctrace` or `schedtrace`.
    pub format: &'static str,
    /// The line's number in the text it came from (1-based; 1 for a single
    /// line).
    pub line: usize,
    /// The column (1-based, in characters) where the line stops matching.
    pub column: usize,
    /// What was expected there and what was found.
    pub message: String,
}

impl fmt::Display for TraceLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line {}, column {}: {}",
            self.format, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for TraceLineError {}

/// Every line of `text` for which `is_line` holds, parsed by `parse`, in
/// order; other lines are skipped. A line that is meant to be one of the
/// format's but does not parse is an error naming its line, so that a change
/// in Go's format is noticed rather than silently read as no lines.
///
/// One exception: a last line without its newline that does not parse is
/// skipped. A program whose `main` returns while the runtime is printing a
/// trace line exits in the middle of the line (go1.27.3 does this in about
/// one run in twenty of a program that allocates until it ends), so that
/// cut-off line is not Go's format changing; it is not counted.
pub(crate) fn parse_lines<T>(
    text: &str,
    is_line: impl Fn(&str) -> bool,
    parse: impl Fn(&str) -> Result<T, TraceLineError>,
) -> Result<Vec<T>, TraceLineError> {
    let mut parsed = Vec::new();
    let line_count = text.lines().count();
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    for (index, line) in text.lines().enumerate() {
        if !is_line(line) {
            continue;
        }
        match parse(line) {
            Ok(value) => parsed.push(value),
            Err(_) if unterminated && index + 1 == line_count => {}
            Err(e) => {
                return Err(TraceLineError {
                    line: index + 1,
                    ..e
                });
            }
        }
    }
    Ok(parsed)
}

/// A position in the line being parsed.
pub(crate) struct Cursor<'a> {
    format: &'static str,
    line: &'a str,
    /// Byte offset.
    pub(crate) at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(format: &'static str, line: &'a str) -> Cursor<'a> {
        Cursor {
            format,
            line,
            at: 0,
        }
    }

    pub(crate) fn rest(&self) -> &'a str {
        let line = self.line;
        &line[self.at..]
    }

    pub(crate) fn error(&self, message: String) -> TraceLineError {
        TraceLineError {
            format: self.format,
            line: 1,
            column: 1 + self.line[..self.at].chars().count(),
            message,
        }
    }

    pub(crate) fn found(&self) -> String {
        let rest = self.rest();
        if rest.is_empty() {
            "the end of the line".to_string()
        } else {
            let shown: String = rest.chars().take(16).collect();
            format!("{shown:?}")
        }
    }

    pub(crate) fn literal(&mut self, text: &str) -> Result<(), TraceLineError> {
        if self.rest().starts_with(text) {
            self.at += text.len();
            Ok(())
        } else {
            Err(self.error(format!("expected {text:?}, found {}", self.found())))
        }
    }

    pub(crate) fn optional(&mut self, text: &str) -> bool {
        let present = self.rest().starts_with(text);
        if present {
            self.at += text.len();
        }
        present
    }

    pub(crate) fn end(&self) -> Result<(), TraceLineError> {
        if self.rest().is_empty() {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected the end of the line, found {}",
                self.found()
            )))
        }
    }

    pub(crate) fn digits(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    pub(crate) fn integer(&mut self, what: &str) -> Result<u64, TraceLineError> {
        let start = self.at;
        let digits = self.digits();
        if digits.is_empty() {
            return Err(self.error(format!("expected {what} (digits), found {}", self.found())));
        }
        digits.parse().map_err(|_| {
            self.at = start;
            self.error(format!("{what} {digits} is out of range"))
        })
    }

    /// `name=` then an integer.
    pub(crate) fn field(&mut self, name: &str) -> Result<u64, TraceLineError> {
        self.literal(name)?;
        self.literal("=")?;
        self.integer(name)
    }

    /// `name=` then `true` or `false`.
    pub(crate) fn bool_field(&mut self, name: &str) -> Result<bool, TraceLineError> {
        self.literal(name)?;
        self.literal("=")?;
        if self.optional("true") {
            Ok(true)
        } else if self.optional("false") {
            Ok(false)
        } else {
            Err(self.error(format!(
                "expected true or false for {name}, found {}",
                self.found()
            )))
        }
    }
}
