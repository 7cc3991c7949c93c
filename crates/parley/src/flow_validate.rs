//! `parley flow validate FILE…`: the API's validation, offline. One line per finding —
//! `file: #/states/3/transitions/0/next: message` for errors, `file: warning: path: message`
//! for warnings; exit 1 when some file has errors, 2 when some file cannot be read.

use std::path::Path;
use std::process::ExitCode;

use parley_flow::ValidationReport;

use crate::cli::ValidateArgs;
use crate::flow_file::{self, LoadError};
use crate::style::Style;

/// Formats a report's findings as `file: path: message` lines (errors first).
pub fn finding_lines(file: &str, report: &ValidationReport, style: Style) -> Vec<String> {
    let errors = report
        .errors
        .iter()
        .map(|e| format!("{file}: {}: {}", e.property_path, style.red(&e.message)));
    let warnings = report.warnings.iter().map(|w| {
        format!(
            "{file}: {}: {}: {}",
            style.yellow("warning"),
            w.property_path,
            w.message
        )
    });
    errors.chain(warnings).collect()
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    let style = Style::stdout();
    let mut unreadable = false;
    let mut invalid = false;
    for path in &args.files {
        match validate_file(path, style) {
            Outcome::Valid { lines } => {
                match lines.len() {
                    0 if args.quiet => {}
                    0 => println!("{}: {}", path.display(), style.green("ok")),
                    n => println!(
                        "{}: {}, {n} warning{}",
                        path.display(),
                        style.green("ok"),
                        if n == 1 { "" } else { "s" }
                    ),
                }
                for line in lines {
                    println!("{line}");
                }
            }
            Outcome::Invalid { lines } => {
                invalid = true;
                for line in lines {
                    println!("{line}");
                }
            }
            Outcome::Unreadable(line) => {
                unreadable = true;
                eprintln!("{line}");
            }
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if invalid {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

enum Outcome {
    Valid { lines: Vec<String> },
    Invalid { lines: Vec<String> },
    Unreadable(String),
}

fn validate_file(path: &Path, style: Style) -> Outcome {
    let file = path.display().to_string();
    let definition = match flow_file::read(path) {
        Ok(v) => v,
        Err(e @ LoadError::Unreadable(_)) => return Outcome::Unreadable(e.line_for(&file)),
        Err(e) => {
            return Outcome::Invalid {
                lines: vec![e.line_for(&file)],
            };
        }
    };
    let report = flow_file::check(&definition);
    let lines = finding_lines(&file, &report, style);
    if report.is_valid() {
        Outcome::Valid { lines }
    } else {
        Outcome::Invalid { lines }
    }
}
