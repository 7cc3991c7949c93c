//! Compiled flows, cached per (flow, revision): a revision never changes once written, so
//! its parsed definition and compiled Liquid templates are built once and shared.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use parley_flow::CompiledFlow;
use parley_store::Tx;

use crate::domain::flows;
use crate::error::{Error, Result};

/// Past this many compiled revisions the cache starts over; a busy server keeps the few
/// revisions that run hot, and recompiling one costs a fraction of a millisecond.
const MAX_ENTRIES: usize = 4_096;

#[derive(Default)]
pub struct FlowCache {
    compiled: RwLock<HashMap<(String, i64), Arc<CompiledFlow>>>,
}

impl FlowCache {
    /// The compiled revision, loading and compiling it from the store on a miss.
    pub fn get(&self, tx: &mut Tx<'_>, flow_sid: &str, revision: i64) -> Result<Arc<CompiledFlow>> {
        let key = (flow_sid.to_string(), revision);
        if let Some(f) = self
            .compiled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(f.clone());
        }
        let rev = flows::revision(tx, flow_sid, revision)?
            .ok_or_else(|| Error::not_found(&format!("/Flows/{flow_sid}/Revisions/{revision}")))?;
        let definition: serde_json::Value = serde_json::from_str(&rev.definition).map_err(|e| {
            Error::invalid(format!(
                "stored definition of {flow_sid} revision {revision} is not JSON: {e}"
            ))
        })?;
        let compiled = CompiledFlow::compile(flow_sid, revision, &definition).map_err(|r| {
            Error::invalid(format!(
                "flow {flow_sid} revision {revision} does not compile: {r}"
            ))
        })?;
        let compiled = Arc::new(compiled);
        let mut map = self.compiled.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, compiled.clone());
        Ok(compiled)
    }
}
