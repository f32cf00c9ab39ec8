//! Every file in tests/bad/ is a scenario with one mistake. Its first two
//! lines say what the error must be:
//!
//! ```text
//! # expect: LINE:COLUMN FIELD.PATH      (no path when no field is at fault)
//! # message: text the message must contain
//! ```
//!
//! The test loads each file as the CLI would and checks that the error names
//! the file, the line and column, the field path, and the reason.

use scenarios::{Location, load_file};
use std::path::{Path, PathBuf};

struct Expectation {
    location: Location,
    field_path: String,
    message: String,
}

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("bad")
}

fn bad_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(bad_dir())
        .expect("tests/bad exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn expectation(path: &Path) -> Expectation {
    let text = std::fs::read_to_string(path).expect("readable bad file");
    let mut lines = text.lines();
    let expect = lines
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| {
            panic!(
                "{}: first line must be `# expect: LINE:COLUMN PATH`",
                path.display()
            )
        });
    let message = lines
        .next()
        .and_then(|l| l.strip_prefix("# message: "))
        .unwrap_or_else(|| panic!("{}: second line must be `# message: TEXT`", path.display()));
    let (position, field_path) = expect.split_once(' ').unwrap_or((expect, ""));
    let (line, column) = position.split_once(':').expect("LINE:COLUMN");
    Expectation {
        location: Location {
            line: line.parse().expect("line number"),
            column: column.parse().expect("column number"),
        },
        field_path: field_path.to_string(),
        message: message.to_string(),
    }
}

#[test]
fn every_bad_file_is_rejected_naming_file_line_column_field_and_reason() {
    let files = bad_files();
    assert!(files.len() >= 8, "tests/bad has only {} files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let expected = expectation(path);
        let error = match load_file(path) {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", path.display()));
                continue;
            }
            Err(error) => error,
        };
        let shown = error.to_string();
        let location = format!("{}:{}", expected.location.line, expected.location.column);
        let prefix = if expected.field_path.is_empty() {
            format!("{}:{location}: ", path.display())
        } else {
            format!("{}:{location}: {}: ", path.display(), expected.field_path)
        };
        let ok = shown.starts_with(&prefix)
            && error.location == Some(expected.location)
            && error.field_path == expected.field_path
            && error.message.contains(&expected.message);
        if !ok {
            failures.push(format!(
                "{}:\n  expected: {prefix}...{}...\n  got:      {shown}",
                path.display(),
                expected.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_bad_files_cover_every_required_kind_of_mistake() {
    let names: Vec<String> = bad_files()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for required in [
        "unknown-op",
        "missing-field",
        "negative-duration",
        "gomaxprocs-zero",
        "unknown-program",
        "unknown-key",
        "bad-format-version",
        "malformed",
        "unknown-wait-group",
        "missing-main",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "tests/bad/{required}.toml is missing"
        );
    }
}
