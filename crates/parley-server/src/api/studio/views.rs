//! The JSON shapes of Studio v2 resources.

use parley_store::{ExecutionRow, FlowRevisionRow, FlowRow, StepRow};
use serde_json::{Value, json};

use crate::core::sid::stable_sid;
use crate::wire::Origin;
use crate::wire::dates::iso;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub fn flow_url(o: &Origin, sid: &str) -> String {
    o.url(&format!("/v2/Flows/{sid}"))
}

/// `definition` is left out (null) of list pages, as Twilio does.
pub fn flow(o: &Origin, f: &FlowRow, with_definition: bool) -> Value {
    let url = flow_url(o, &f.sid);
    json!({
        "sid": f.sid,
        "account_sid": f.account_sid,
        "author_sid": null,
        "friendly_name": f.friendly_name,
        "definition": if with_definition { parse(&f.definition) } else { Value::Null },
        "status": f.status,
        "revision": f.revision,
        "commit_message": f.commit_message,
        "valid": f.valid,
        "errors": parse(&f.errors),
        "warnings": parse(&f.warnings),
        "date_created": iso(f.date_created),
        "date_updated": iso(f.date_updated),
        "webhook_url": o.url(&format!("/v1/Accounts/{}/Flows/{}", f.account_sid, f.sid)),
        "url": url,
        "links": {
            "test_users": format!("{url}/TestUsers"),
            "revisions": format!("{url}/Revisions"),
            "executions": format!("{url}/Executions"),
        },
    })
}

pub fn revision(o: &Origin, r: &FlowRevisionRow, with_definition: bool) -> Value {
    json!({
        "sid": r.flow_sid,
        "account_sid": r.account_sid,
        "author_sid": null,
        "friendly_name": r.friendly_name,
        "definition": if with_definition { parse(&r.definition) } else { Value::Null },
        "status": r.status,
        "revision": r.revision,
        "commit_message": r.commit_message,
        "valid": r.valid,
        "errors": parse(&r.errors),
        "date_created": iso(r.date_created),
        "date_updated": iso(r.date_updated),
        "url": o.url(&format!("/v2/Flows/{}/Revisions/{}", r.flow_sid, r.revision)),
    })
}

pub fn test_users(o: &Origin, f: &FlowRow) -> Value {
    json!({
        "sid": f.sid,
        "test_users": parse(&f.test_users),
        "url": o.url(&format!("/v2/Flows/{}/TestUsers", f.sid)),
    })
}

pub fn execution_url(o: &Origin, e: &ExecutionRow) -> String {
    o.url(&format!("/v2/Flows/{}/Executions/{}", e.flow_sid, e.sid))
}

/// The context the execution has built so far (Execution Context resource).
pub fn execution_context_value(e: &ExecutionRow) -> Value {
    serde_json::from_str::<parley_flow::Session>(&e.session)
        .map(|s| s.context())
        .unwrap_or_else(|_| json!({}))
}

pub fn execution(o: &Origin, e: &ExecutionRow) -> Value {
    let url = execution_url(o, e);
    json!({
        "sid": e.sid,
        "account_sid": e.account_sid,
        "flow_sid": e.flow_sid,
        "contact_channel_address": e.contact_channel_address,
        "contact_sid": stable_sid("FC", &e.contact_key),
        "flow_version": e.flow_revision,
        "context": execution_context_value(e),
        "status": e.status,
        "date_created": iso(e.date_created),
        "date_updated": iso(e.date_updated),
        "initiated_by": e.initiated_by,
        "url": url,
        "links": {
            "steps": format!("{url}/Steps"),
            "execution_context": format!("{url}/Context"),
        },
    })
}

pub fn execution_context(o: &Origin, e: &ExecutionRow) -> Value {
    json!({
        "account_sid": e.account_sid,
        "context": execution_context_value(e),
        "flow_sid": e.flow_sid,
        "execution_sid": e.sid,
        "url": format!("{}/Context", execution_url(o, e)),
    })
}

pub fn step(o: &Origin, s: &StepRow) -> Value {
    let url = o.url(&format!(
        "/v2/Flows/{}/Executions/{}/Steps/{}",
        s.flow_sid, s.execution_sid, s.sid
    ));
    json!({
        "sid": s.sid,
        "account_sid": s.account_sid,
        "flow_sid": s.flow_sid,
        "execution_sid": s.execution_sid,
        "parent_step_sid": s.parent_step_sid,
        "name": s.name,
        "context": parse(&s.context),
        "transitioned_from": s.transitioned_from,
        "transitioned_to": s.transitioned_to,
        "type": s.widget_type,
        "date_created": iso(s.date_created),
        "date_updated": iso(s.date_updated),
        "url": url,
        "links": { "step_context": format!("{url}/Context") },
    })
}

pub fn step_context(o: &Origin, s: &StepRow) -> Value {
    json!({
        "account_sid": s.account_sid,
        "context": parse(&s.context),
        "execution_sid": s.execution_sid,
        "flow_sid": s.flow_sid,
        "step_sid": s.sid,
        "url": o.url(&format!("/v2/Flows/{}/Executions/{}/Steps/{}/Context", s.flow_sid, s.execution_sid, s.sid)),
    })
}
