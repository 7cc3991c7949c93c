//! What the engine needs from the outside world, injected so that it stays pure: the clock, SID
//! minting and subflow loading ([`Env`]), and the safety limits ([`Limits`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::compile::CompiledFlow;

/// The engine's window on the world. The server implements it over its clock, SID generator
/// and flow cache; tests use a manual clock and counting SIDs (see `harness`).
pub trait Env {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// A fresh SID: `prefix` (two letters) followed by 32 lowercase hex digits. The engine
    /// asks for `FT` (steps), `SM`/`IM` (messages, IM when the execution is bound to a
    /// conversation), `WT` (Flex tasks), `TM` (reply timers) and `RQ` (HTTP requests).
    fn new_sid(&mut self, prefix: &str) -> String;

    /// Loads (and compiles, or fetches from a cache) a flow revision for `run-subflow`, and
    /// again on resume while a subflow waits.
    fn load_flow(
        &mut self,
        flow_sid: &str,
        revision: RevisionSpec,
    ) -> Result<Arc<CompiledFlow>, String>;
}

/// Which revision of a subflow to run (`run-subflow.flow_revision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevisionSpec {
    LatestPublished,
    LatestRevision,
    Exact(i64),
}

/// Safety limits; the defaults are Studio's (studio.md §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Steps per execution, subflow steps included.
    pub max_steps: u32,
    /// Times the same widget may run back to back (a widget looping to itself) before the
    /// execution is stopped.
    pub max_same_widget_runs: u32,
    /// Largest rendered template (and largest variable a template may build).
    pub liquid_max_output_bytes: usize,
    /// Iterations one Liquid `for` loop may run.
    pub liquid_max_loop_iterations: usize,
    pub http_timeout_ms: u64,
    pub http_max_response_bytes: usize,
    /// `send-and-wait-for-reply` timeout when the widget gives none (or an invalid one).
    pub default_reply_timeout_s: u64,
    /// Zone of `{{ "now" | date: … }}`, in minutes east of UTC. Twilio renders "now" in its own
    /// zone (Pacific time, observed not UTC); Parley defaults to UTC and the server makes it
    /// configurable so operators can match what their flows were written against.
    pub timezone_offset_minutes: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1000,
            max_same_widget_runs: 10,
            liquid_max_output_bytes: 16384,
            liquid_max_loop_iterations: 15,
            http_timeout_ms: 10_000,
            http_max_response_bytes: 65_536,
            default_reply_timeout_s: 3600,
            timezone_offset_minutes: 0,
        }
    }
}
