//! A deterministic [`Env`]: a manual clock, SIDs counted up from one, and subflows served from
//! memory. The same inputs always produce the same SIDs and times, which is what lets golden
//! traces be compared byte for byte.

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::CompiledFlow;
use crate::env::{Env, RevisionSpec};

/// 2024-01-01T00:00:00Z, where every test clock starts.
pub const START_MS: i64 = 1_704_067_200_000;

#[derive(Debug, Clone)]
pub struct TestEnv {
    now_ms: i64,
    issued: u64,
    flows: HashMap<String, Arc<CompiledFlow>>,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new(START_MS)
    }
}

impl TestEnv {
    pub fn new(now_ms: i64) -> TestEnv {
        TestEnv {
            now_ms,
            issued: 0,
            flows: HashMap::new(),
        }
    }

    pub fn set_now_ms(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// Makes a flow loadable by `run-subflow` under its SID. Any revision spec resolves to
    /// the one revision held; an exact number must match it.
    pub fn add_flow(&mut self, flow: Arc<CompiledFlow>) {
        self.flows.insert(flow.flow_sid().to_owned(), flow);
    }
}

impl TestEnv {
    /// A flow added with [`TestEnv::add_flow`].
    pub fn flow(&self, flow_sid: &str) -> Option<&Arc<CompiledFlow>> {
        self.flows.get(flow_sid)
    }
}

impl Env for TestEnv {
    fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn new_sid(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}{:032x}", self.issued)
    }

    fn load_flow(
        &mut self,
        flow_sid: &str,
        revision: RevisionSpec,
    ) -> Result<Arc<CompiledFlow>, String> {
        let flow = self
            .flows
            .get(flow_sid)
            .ok_or_else(|| format!("flow {flow_sid} not found"))?;
        match revision {
            RevisionSpec::Exact(n) if n != flow.revision() => {
                Err(format!("flow {flow_sid} has no revision {n}"))
            }
            _ => Ok(flow.clone()),
        }
    }
}
