//! `parley flow test PATH…`: finds YAML test files, plays every case through the engine
//! harness of `parley-flow` (fixed clock, mocked HTTP, no server), prints `PASS`/`FAIL` per
//! case — for a failure the expectation, expected vs actual and the step trail — then a
//! summary; `--junit FILE` writes the same as JUnit XML. Exit 1 when a case fails.
//!
//! A test file holds one case (a mapping), a list of cases, or several YAML documents of
//! either; `docs/flow-tests.md` describes the format.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use parley_flow::harness::{CaseReport, FsFiles, ScriptStep, TestCase, run_case};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::TestArgs;
use crate::junit;
use crate::style::Style;

/// A case as loaded, with the YAML it came from (to quote the failing script line).
struct LoadedCase {
    case: TestCase,
    raw: Value,
}

pub fn run(args: &TestArgs) -> ExitCode {
    let files = match discover(&args.paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let style = Style::stdout();
    let started = Instant::now();
    let mut suites = Vec::new();
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    for file in &files {
        let shown = file.display().to_string();
        let cases = match load_file(file) {
            Ok(cases) => cases,
            Err(message) => {
                broken += 1;
                println!("{} {shown}: {message}", style.red("ERROR"));
                suites.push(junit::Suite {
                    name: shown,
                    cases: Vec::new(),
                    error: Some(message),
                });
                continue;
            }
        };
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut suite = junit::Suite {
            name: shown.clone(),
            cases: Vec::new(),
            error: None,
        };
        for loaded in cases {
            if args
                .filter
                .as_deref()
                .is_some_and(|f| !loaded.case.name.contains(f))
            {
                continue;
            }
            let clock = Instant::now();
            let report = run_case(&loaded.case, &FsFiles { base: base.clone() });
            let seconds = clock.elapsed().as_secs_f64();
            let failure = if report.passed() {
                passed += 1;
                println!("{} {} ({shown})", style.green("PASS"), report.name);
                None
            } else {
                failed += 1;
                println!(
                    "{} {} ({shown})",
                    style.red("FAIL"),
                    style.bold(&report.name)
                );
                let explained = explain(&report, &loaded.raw, style);
                print!("{}", explained.text);
                Some(junit::Failure {
                    message: explained.headline,
                    details: explain(&report, &loaded.raw, Style::plain()).text,
                })
            };
            suite.cases.push(junit::Case {
                name: report.name.clone(),
                seconds,
                failure,
            });
        }
        suites.push(suite);
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = passed + failed;
    if total == 0 && broken == 0 {
        eprintln!(
            "error: no test case to run{}",
            if args.filter.is_some() {
                " (none matches --filter)"
            } else {
                ""
            }
        );
        return ExitCode::from(2);
    }
    println!(
        "\n{}",
        summary(passed, failed, broken, files.len(), seconds, style)
    );
    if let Some(path) = &args.junit {
        let xml = junit::render(&suites, seconds);
        if let Err(e) = std::fs::write(path, xml) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if failed + broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(
    passed: usize,
    failed: usize,
    broken: usize,
    files: usize,
    seconds: f64,
    style: Style,
) -> String {
    let total = passed + failed;
    let mut parts = vec![style.green(&format!("{passed} passed"))];
    if failed > 0 {
        parts.push(style.red(&format!("{failed} failed")));
    }
    if broken > 0 {
        parts.push(style.red(&format!(
            "{broken} file{} not loaded",
            if broken == 1 { "" } else { "s" }
        )));
    }
    format!(
        "{}: {} ({} case{} in {files} file{}, {seconds:.2}s)",
        if failed + broken == 0 {
            style.green("ok")
        } else {
            style.red("FAILED")
        },
        parts.join(", "),
        total,
        if total == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
    )
}

struct Explained {
    /// One line for JUnit's `message`.
    headline: String,
    /// The indented block printed under `FAIL`.
    text: String,
}

/// Expected vs actual (marked `-`/`+`), the script line that failed, the trail.
fn explain(report: &CaseReport, raw: &Value, style: Style) -> Explained {
    let Some(failure) = &report.failure else {
        return Explained {
            headline: String::new(),
            text: String::new(),
        };
    };
    let mut text = String::new();
    let headline = if failure.script_step == 0 {
        format!("during set-up ({})", failure.step)
    } else {
        let quoted = raw
            .get("script")
            .and_then(|s| s.get(failure.script_step - 1))
            .map(inline_yaml)
            .unwrap_or_else(|| failure.step.clone());
        format!("script step {}: {quoted}", failure.script_step)
    };
    text.push_str(&format!("    {headline}\n"));
    text.push_str(&format!(
        "    {}\n",
        style.red(&indent_rest(&format!("- expected: {}", failure.expected)))
    ));
    text.push_str(&format!(
        "    {}\n",
        style.green(&indent_rest(&format!("+ actual:   {}", failure.actual)))
    ));
    text.push_str("    trail:\n");
    if report.trail.is_empty() {
        text.push_str("      (no step taken)\n");
    }
    for t in &report.trail {
        text.push_str(&format!(
            "      {} --{}--> {}\n",
            t.widget,
            style.dim(&t.event),
            t.to
        ));
    }
    for w in report.trace.calls.iter().flat_map(|c| &c.warnings) {
        text.push_str(&format!("    {} {w}\n", style.yellow("warning:")));
    }
    Explained {
        headline: format!(
            "{headline}: expected {}, actual {}",
            failure.expected, failure.actual
        ),
        text,
    }
}

/// Continuation lines of a multi-line value line up under its first line.
fn indent_rest(text: &str) -> String {
    text.replace('\n', "\n                ")
}

/// A script line as it reads in YAML flow style: `expect_message: {body: "🤖"}`.
fn inline_yaml(value: &Value) -> String {
    fn scalar_key(k: &str) -> String {
        let plain = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if plain {
            k.to_owned()
        } else {
            Value::from(k).to_string()
        }
    }
    fn inline(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let items: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{}: {}", scalar_key(k), inline(v)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(inline).collect();
                format!("[{}]", items.join(", "))
            }
            other => other.to_string(),
        }
    }
    match value {
        Value::Object(map) if map.len() == 1 => map
            .iter()
            .map(|(k, v)| format!("{}: {}", scalar_key(k), inline(v)))
            .collect(),
        Value::String(s) => s.clone(),
        other => inline(other),
    }
}

/// Test files under the paths: files as given, directories searched recursively for
/// `*.yaml`/`*.yml` (hidden directories skipped), in a stable order.
fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
        } else if path.is_dir() {
            let before = files.len();
            walk(path, &mut files).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            if files.len() == before {
                return Err(format!(
                    "no test file (*.yaml, *.yml) under {}",
                    path.display()
                ));
            }
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, out)?;
        } else if entry.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(entry);
        }
    }
    Ok(())
}

/// The cases of one file: each YAML document is a case or a list of cases.
fn load_file(path: &Path) -> Result<Vec<LoadedCase>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut cases = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        // Through JSON values, as `TestCase::from_yaml` does: the script's steps are
        // one-key maps, which serde_yaml would only read as enums from `!tags`.
        let value = Value::deserialize(document).map_err(|e| format!("invalid YAML: {e}"))?;
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    cases.push(load_case(item).map_err(|e| format!("case #{}: {e}", i + 1))?);
                }
            }
            Value::Object(_) => cases.push(load_case(value)?),
            _ => {
                return Err(
                    "a test file holds a case (a mapping) or a list of cases; see docs/flow-tests.md"
                        .into(),
                );
            }
        }
    }
    if cases.is_empty() {
        return Err("no test case in the file".into());
    }
    Ok(cases)
}

fn load_case(raw: Value) -> Result<LoadedCase, String> {
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!(" '{n}'"))
        .unwrap_or_default();
    let case = serde_json::from_value::<TestCase>(raw.clone()).map_err(|e| {
        // serde does not say where in the case it failed; the script is where most
        // mistakes are, so name the first step that does not read.
        let bad_step = raw
            .get("script")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .find_map(|(i, step)| {
                serde_json::from_value::<ScriptStep>(step.clone())
                    .err()
                    .map(|e| format!("script step {}: {e}", i + 1))
            });
        format!(
            "invalid test case{name}: {}",
            bad_step.unwrap_or_else(|| e.to_string())
        )
    })?;
    Ok(LoadedCase { case, raw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_script_lines_as_yaml() {
        assert_eq!(
            inline_yaml(&json!({"expect_message": {"body": "🤖", "widget": "w"}})),
            r#"expect_message: {body: "🤖", widget: "w"}"#
        );
        assert_eq!(
            inline_yaml(&json!("expect_no_message")),
            "expect_no_message"
        );
        assert_eq!(inline_yaml(&json!({"advance": "5m"})), r#"advance: "5m""#);
    }
}
