//! Running flows as tests: a deterministic [`TestEnv`] (fixed clock, counted SIDs, subflows in
//! memory), test cases as YAML data ([`TestCase`]), and a runner that plays a case's script
//! against the engine — storing the session as JSON and reading it back between every event —
//! and reports pass/fail with the step trail ([`CaseReport`]) and a full [`Trace`].
//!
//! This is what the golden tests (`tests/golden/`) run, and the base of `parley flow test`.
//! The engine stays pure: files come in through [`Files`]; [`FsFiles`] is the one place
//! that touches the file system, for callers that want it.

mod case;
mod env;
mod expect;
mod report;
mod runner;

use std::path::{Path, PathBuf};

pub use case::{
    DurationSpec, EndExpectation, HandoffExpectation, HttpExpectation, HttpMock,
    MessageExpectation, Reply, ScriptStep, TestCase, TriggerSpec,
};
pub use env::{START_MS, TestEnv};
pub use report::{CallTrace, CaseFailure, CaseReport, Trace, TrailEntry};
pub use runner::{MAIN_FLOW_SID, run_case};

/// Where a case's flow files come from (paths are as written in the case).
pub trait Files {
    fn read(&self, path: &str) -> Result<String, String>;
}

/// Reads files relative to a directory (the case file's).
#[derive(Debug, Clone)]
pub struct FsFiles {
    pub base: PathBuf,
}

impl Files for FsFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.base.join(path);
        std::fs::read_to_string(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))
    }
}

/// Loads a case file and runs it, reading flows relative to the case's directory.
pub fn run_case_file(path: &Path) -> Result<CaseReport, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let case = TestCase::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(run_case(&case, &FsFiles { base }))
}
