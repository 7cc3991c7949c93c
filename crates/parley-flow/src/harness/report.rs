//! What running a test case reports: pass/fail, on failure the expectation that failed with
//! expected vs actual and the step trail, and the full machine-readable trace that golden
//! tests compare against a stored `<case>.trace.json`.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::engine::{Effect, EndReason, StepRecord};

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub name: String,
    pub failure: Option<CaseFailure>,
    /// Every transition taken, in order.
    pub trail: Vec<TrailEntry>,
    pub trace: Trace,
}

impl CaseReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFailure {
    /// 1-based position in the script; 0 for set-up (loading the flow, starting).
    pub script_step: usize,
    /// e.g. `expect_message`.
    pub step: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrailEntry {
    pub widget: String,
    pub event: String,
    pub to: String,
}

/// Everything the engine did, call by call; stable for identical inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub case: String,
    /// Validation warnings of the case's flows (`#/path: message`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flow_warnings: Vec<String>,
    pub calls: Vec<CallTrace>,
    /// The Execution Context at the end of the script.
    pub final_context: Value,
    pub ended: Option<EndReason>,
}

/// One call to `start` or `resume`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallTrace {
    /// What was delivered, e.g. `start: incomingConversationMessage`, `reply: yes`.
    pub input: String,
    pub at_ms: i64,
    pub steps: Vec<StepRecord>,
    /// Steps left out of `steps` because of the case's `max_trace_steps`.
    #[serde(skip_serializing_if = "is_zero")]
    pub steps_omitted: usize,
    pub effects: Vec<Effect>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<EndReason>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl fmt::Display for CaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => writeln!(f, "PASS {}", self.name)?,
            Some(failure) => {
                writeln!(f, "FAIL {}", self.name)?;
                if failure.script_step == 0 {
                    writeln!(f, "  during set-up ({})", failure.step)?;
                } else {
                    writeln!(
                        f,
                        "  at script step {} ({})",
                        failure.script_step, failure.step
                    )?;
                }
                writeln!(f, "  expected: {}", failure.expected)?;
                writeln!(f, "  actual:   {}", failure.actual)?;
            }
        }
        if self.failure.is_some() {
            writeln!(f, "  trail:")?;
            if self.trail.is_empty() {
                writeln!(f, "    (no step taken)")?;
            }
            for t in &self.trail {
                writeln!(f, "    {} --{}--> {}", t.widget, t.event, t.to)?;
            }
            let warnings = self.trace.calls.iter().flat_map(|c| &c.warnings);
            for w in warnings {
                writeln!(f, "  warning: {w}")?;
            }
        }
        Ok(())
    }
}
