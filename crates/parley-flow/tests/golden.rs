//! Golden tests, goflow-style: every `tests/golden/<dir>/*.yaml` case is played through the
//! harness (fixed clock, counted SIDs, session stored as JSON between events); it must pass
//! its own expectations, and its trace (steps, effects, warnings, final context) must equal
//! the stored `<case>.trace.json` byte for byte.
//!
//! After an intended behaviour change, regenerate the traces and review the diff:
//! `PARLEY_GOLDEN_UPDATE=1 cargo test -p parley-flow --test golden`.

use std::fs;
use std::path::{Path, PathBuf};

use parley_flow::harness::run_case_file;

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn updating() -> bool {
    std::env::var("PARLEY_GOLDEN_UPDATE").is_ok_and(|v| v == "1")
}

fn run_dir(name: &str) {
    let dir = golden_root().join(name);
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no *.yaml case in {}", dir.display());
    let mut problems = Vec::new();
    for case in &cases {
        let report = match run_case_file(case) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if !report.passed() {
            problems.push(format!("{}:\n{report}", case.display()));
        }
        let trace_path = case.with_extension("trace.json");
        let actual = serde_json::to_string_pretty(&report.trace).expect("trace serialises") + "\n";
        if updating() {
            fs::write(&trace_path, &actual).expect("trace written");
            continue;
        }
        match fs::read_to_string(&trace_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                let line = expected
                    .lines()
                    .zip(actual.lines())
                    .position(|(e, a)| e != a)
                    .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
                problems.push(format!(
                    "{}: trace differs from {} at line {}:\n  stored: {}\n  now:    {}\n(re-run with PARLEY_GOLDEN_UPDATE=1 if the change is intended)",
                    case.display(),
                    trace_path.display(),
                    line + 1,
                    expected.lines().nth(line).unwrap_or("<end>"),
                    actual.lines().nth(line).unwrap_or("<end>"),
                ));
            }
            Err(_) => problems.push(format!(
                "{}: no stored trace {}; run with PARLEY_GOLDEN_UPDATE=1 to write it",
                case.display(),
                trace_path.display()
            )),
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

macro_rules! golden {
    ($($dir:ident),* $(,)?) => {
        $(
            #[test]
            fn $dir() {
                run_dir(stringify!($dir));
            }
        )*
        const LISTED: &[&str] = &[$(stringify!($dir)),*];
    };
}

golden!(
    seed_flow,
    send_message,
    send_and_wait,
    conditions,
    set_variables,
    http_request,
    run_function,
    subflow,
    send_to_flex,
    voice,
    limits,
    liquid,
);

#[test]
fn every_golden_directory_is_listed() {
    let mut on_disk: Vec<String> = fs::read_dir(golden_root())
        .expect("golden dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add new golden directories to the golden! list"
    );
}
