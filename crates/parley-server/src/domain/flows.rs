//! Studio flows and their revisions. Every create or update is a new revision; executions
//! run the latest published revision (or the latest draft for the flow's test users).
//! A definition that fails validation is refused with 81022 and the findings in
//! `details.errors`; soft findings are kept as the flow's `warnings`.

use parley_flow::{ValidationReport, validate};
use parley_store::{FlowRevisionRow, FlowRow, Param, Tx};
use serde_json::Value;

use super::Op;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

/// The largest definition accepted (bytes of JSON). Studio caps flows at 1,000 widgets;
/// this bounds the text itself.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default, Clone)]
pub struct FlowInput {
    pub friendly_name: Option<String>,
    pub status: Option<&'static str>,
    /// The definition as parsed JSON and as the text to store.
    pub definition: Option<(Value, String)>,
    pub commit_message: Option<String>,
}

/// Parses and validates a definition; 81022 with the findings when it is invalid.
pub fn checked_definition(raw: &str) -> Result<(Value, String, ValidationReport)> {
    if raw.len() > MAX_DEFINITION_BYTES {
        return Err(Error::with_details(
            codes::FLOW_INVALID,
            "Invalid Flow Definition",
            serde_json::json!({"errors": [{"message": format!("the definition is {} bytes; the limit is {MAX_DEFINITION_BYTES}", raw.len()), "property_path": "#"}]}),
        ));
    }
    let value: Value = serde_json::from_str(raw).map_err(|e| {
        Error::with_details(
            codes::FLOW_INVALID,
            "Invalid Flow Definition",
            serde_json::json!({"errors": [{"message": format!("Definition is not valid JSON: {e}"), "property_path": "#"}]}),
        )
    })?;
    let report = validate(&value);
    if !report.is_valid() {
        return Err(Error::with_details(
            codes::FLOW_INVALID,
            "Invalid Flow Definition",
            serde_json::json!({ "errors": report.errors }),
        ));
    }
    // Stored as compact JSON of the parsed value: the same object comes back (key order,
    // offsets and unknown keys kept), whatever whitespace the client sent.
    let text = value.to_string();
    Ok((value, text, report))
}

impl FlowInput {
    pub fn parse(p: &Params, creating: bool) -> Result<(FlowInput, Option<ValidationReport>)> {
        let friendly_name = if creating {
            Some(p.required("FriendlyName")?.to_string())
        } else {
            p.owned("FriendlyName")
        };
        p.required("Status")?;
        let status = p.one_of("Status", &["draft", "published"])?;
        let (definition, report) = match (p.str("Definition"), creating) {
            (None, true) => return Err(Error::missing("Definition")),
            (None, false) => (None, None),
            (Some(raw), _) => {
                let (v, t, r) = checked_definition(raw)?;
                (Some((v, t)), Some(r))
            }
        };
        Ok((
            FlowInput {
                friendly_name,
                status,
                definition,
                commit_message: p.owned("CommitMessage"),
            },
            report,
        ))
    }
}

pub fn get(tx: &mut Tx<'_>, account_sid: &str, sid: &str) -> Result<FlowRow> {
    shared(tx, account_sid, sid).map(std::sync::Arc::unwrap_or_clone)
}

/// `get`, shared with what the unit remembers (no copy of the definition): for the
/// message path, where every new execution reads its flow. Remembered on SQLite until the
/// flow is written.
pub fn shared(tx: &mut Tx<'_>, account_sid: &str, sid: &str) -> Result<std::sync::Arc<FlowRow>> {
    tx.find_memo::<FlowRow>(
        "sid = ?1 AND account_sid = ?2",
        sid,
        account_sid,
        &[Param::Text(sid), Param::Text(account_sid)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Flows/{sid}")))
}

pub fn revision(tx: &mut Tx<'_>, flow_sid: &str, revision: i64) -> Result<Option<FlowRevisionRow>> {
    Ok(tx.get::<FlowRevisionRow>(&rev_key(flow_sid, revision))?)
}

pub fn rev_key(flow_sid: &str, revision: i64) -> String {
    format!("{flow_sid}:{revision}")
}

fn warnings_json(report: &Option<ValidationReport>) -> String {
    report
        .as_ref()
        .map(|r| serde_json::to_string(&r.warnings).unwrap_or_else(|_| "[]".into()))
        .unwrap_or_else(|| "[]".into())
}

fn insert_revision(op: &mut Op<'_, '_>, flow: &FlowRow) -> Result<()> {
    let rev = FlowRevisionRow {
        seq: 0,
        rev_key: rev_key(&flow.sid, flow.revision),
        flow_sid: flow.sid.clone(),
        account_sid: flow.account_sid.clone(),
        revision: flow.revision,
        friendly_name: flow.friendly_name.clone(),
        status: flow.status.clone(),
        commit_message: flow.commit_message.clone(),
        definition: flow.definition.clone(),
        valid: flow.valid,
        errors: flow.errors.clone(),
        date_created: op.now,
        date_updated: op.now,
    };
    op.tx.insert(&rev)?;
    Ok(())
}

pub fn create(
    op: &mut Op<'_, '_>,
    input: FlowInput,
    report: Option<ValidationReport>,
) -> Result<FlowRow> {
    let status = input.status.unwrap_or("draft");
    let (_, text) = input
        .definition
        .ok_or_else(|| Error::missing("Definition"))?;
    let mut flow = FlowRow {
        seq: 0,
        sid: op.sid("FW"),
        account_sid: op.account_sid.to_string(),
        friendly_name: input.friendly_name.unwrap_or_default(),
        status: status.to_string(),
        revision: 1,
        published_revision: (status == "published").then_some(1),
        commit_message: input.commit_message,
        definition: text,
        valid: true,
        errors: "[]".into(),
        warnings: warnings_json(&report),
        test_users: "[]".into(),
        date_created: op.now,
        date_updated: op.now,
    };
    flow.seq = op.tx.insert(&flow)?;
    insert_revision(op, &flow)?;
    Ok(flow)
}

pub fn update(
    op: &mut Op<'_, '_>,
    mut flow: FlowRow,
    input: FlowInput,
    report: Option<ValidationReport>,
) -> Result<FlowRow> {
    if let Some(n) = input.friendly_name {
        flow.friendly_name = n;
    }
    if let Some((_, text)) = input.definition {
        flow.definition = text;
        flow.warnings = warnings_json(&report);
    }
    flow.commit_message = input.commit_message;
    let status = input.status.unwrap_or("draft");
    flow.status = status.to_string();
    flow.revision += 1;
    if status == "published" {
        flow.published_revision = Some(flow.revision);
    }
    flow.date_updated = op.now;
    op.tx.update(&flow)?;
    insert_revision(op, &flow)?;
    // A change of what runs: compiled copies of older revisions stay valid (they are
    // keyed by revision), so nothing to invalidate.
    Ok(flow)
}

/// Deletes a flow with its revisions, executions and their steps and pending jobs.
pub fn delete(op: &mut Op<'_, '_>, flow: FlowRow) -> Result<()> {
    let sid = [Param::Text(&flow.sid)];
    op.tx
        .execute("DELETE FROM steps WHERE flow_sid = ?1", &sid)?;
    op.tx
        .execute("DELETE FROM executions WHERE flow_sid = ?1", &sid)?;
    op.tx
        .execute("DELETE FROM flow_revisions WHERE flow_sid = ?1", &sid)?;
    op.tx.delete::<FlowRow>(&flow.sid)?;
    Ok(())
}

/// Resolves `{Revision}` of the Revisions resource: a number, `LatestPublished` or
/// `LatestRevision`.
pub fn resolve_revision(flow: &FlowRow, spec: &str) -> Option<i64> {
    match spec {
        "LatestPublished" => flow.published_revision,
        "LatestRevision" => Some(flow.revision),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|r| *r >= 1 && *r <= flow.revision),
    }
}

pub fn test_users(flow: &FlowRow) -> Vec<String> {
    serde_json::from_str(&flow.test_users).unwrap_or_default()
}
