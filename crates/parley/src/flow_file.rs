//! Reading a flow definition file: the text, parsed as JSON, with a syntax error reported at
//! its line and column, and the API's validation of what it holds.

use std::fmt;
use std::path::Path;

use parley_flow::{ValidationReport, validate};
use parley_server::domain::flows::MAX_DEFINITION_BYTES;
use serde_json::Value;

/// Why a file could not be read as a flow definition.
#[derive(Debug)]
pub enum LoadError {
    /// The file is missing or unreadable: a usage error.
    Unreadable(String),
    /// Not JSON: where and why.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
}

impl LoadError {
    /// One line naming the file, in the `file: …` style of `parley flow validate`.
    pub fn line_for(&self, file: &str) -> String {
        match self {
            LoadError::Unreadable(why) => format!("{file}: {why}"),
            LoadError::Syntax {
                line,
                column,
                message,
            } => format!("{file}:{line}:{column}: invalid JSON: {message}"),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Unreadable(why) => f.write_str(why),
            LoadError::Syntax {
                line,
                column,
                message,
            } => write!(f, "invalid JSON at line {line}, column {column}: {message}"),
        }
    }
}

/// Reads and parses a flow file.
pub fn read(path: &Path) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadError::Unreadable(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            _ => format!("cannot read: {e}"),
        })
    })?;
    parse(&text)
}

/// Parses flow JSON; a syntax error keeps its position apart from its message.
pub fn parse(text: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        LoadError::Syntax {
            line,
            column,
            message,
        }
    })
}

/// What the API checks on create, update and `/v2/Flows/Validate`: the size of the
/// definition, then the definition itself.
pub fn check(definition: &Value) -> ValidationReport {
    let size = definition.to_string().len();
    if size > MAX_DEFINITION_BYTES {
        let mut report = ValidationReport::default();
        report.errors.push(parley_flow::Finding {
            message: format!("the definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES}"),
            property_path: "#".into(),
        });
        return report;
    }
    validate(definition)
}

/// The name a file's flow gets by default: the file name without its extension.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flow".into())
}
