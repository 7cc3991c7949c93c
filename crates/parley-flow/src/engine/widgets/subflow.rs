//! `run-subflow` (studio.md §6.8): load the subflow revision and start it in a new frame of
//! the same execution. What happens when it ends (its `flow.variables` become
//! `widgets.NAME.*` and the parent takes `completed`, or `failed`) is the step loop's job.

use serde_json::{Map, Value};

use super::{SubflowEntry, WidgetCtx, WidgetOutcome};
use crate::engine::context;
use crate::engine::session::Frame;
use crate::env::RevisionSpec;

pub(super) fn start(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    if w.depth >= 1 {
        return WidgetOutcome::FrameFails {
            code: 81024,
            message: format!(
                "{}: a subflow cannot run another subflow (nesting depth is 1)",
                w.who()
            ),
        };
    }
    // flow_sid and flow_revision are static in Studio (no Liquid).
    let flow_sid = w.state.property_str("flow_sid").unwrap_or_default().trim();
    let Some(revision) = revision_spec(w.state.properties.get("flow_revision")) else {
        return WidgetOutcome::Failure(format!(
            "{}: flow_revision must be LatestPublished, LatestRevision or a number",
            w.who()
        ));
    };
    let parameters: Map<String, Value> = match w.render_pairs("parameters") {
        // Only strings cross the boundary.
        Ok(pairs) => pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
        Err(message) => return WidgetOutcome::Failure(message),
    };
    let flow = match w.env.load_flow(flow_sid, revision) {
        Ok(f) => f,
        Err(e) => {
            return WidgetOutcome::Failure(format!(
                "{}: could not load subflow {flow_sid}: {e}",
                w.who()
            ));
        }
    };
    let context = context::subflow(&w.frame.context, flow.flow_sid(), parameters);
    let frame = Frame {
        flow_sid: flow.flow_sid().to_owned(),
        revision: flow.revision(),
        context,
        current: flow.definition().initial_state().to_owned(),
        wait: None,
        parent_widget: Some(w.name().to_owned()),
        parent_step_sid: None,
    };
    WidgetOutcome::EnterSubflow(Box::new(SubflowEntry { flow, frame }))
}

fn revision_spec(value: Option<&Value>) -> Option<RevisionSpec> {
    match value {
        Some(Value::String(s)) => match s.trim() {
            "" | "LatestPublished" => Some(RevisionSpec::LatestPublished),
            "LatestRevision" => Some(RevisionSpec::LatestRevision),
            n => n.parse().ok().map(RevisionSpec::Exact),
        },
        Some(Value::Number(n)) => n.as_i64().map(RevisionSpec::Exact),
        None | Some(Value::Null) => Some(RevisionSpec::LatestPublished),
        Some(_) => None,
    }
}
