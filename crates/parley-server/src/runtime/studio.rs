//! Runs Studio executions inside a store transaction: start or resume the pure engine,
//! then apply what it returned — steps, the new session, messages, timers, HTTP calls,
//! hand-offs — in the same transaction, so an acknowledged event always has its effects
//! and nothing is sent before the commit.

use std::sync::Arc;

use parley_flow::{
    CompiledFlow, Effect, EndReason, Env, Event, Outcome, RevisionSpec, Session, StartParams,
};
use parley_store::{
    ConversationRow, ExecutionRow, FlowRow, HandoffRow, NewJob, Param, StepRow, StoreError,
};

use crate::domain::events::DomainEvent;
use crate::domain::messages::{self, MessageInput};
use crate::domain::{Actor, Op, flows};
use crate::error::{Error, Result, codes};

pub const KIND_TIMER: &str = "studio_timer";
pub const KIND_HTTP: &str = "studio_http";

/// How many times a failed send may feed back into the execution in one operation.
const MAX_FEEDBACK_DEPTH: u32 = 8;

/// The engine's view of the outside world during one operation.
struct StudioEnv<'a, 'b, 'c> {
    op: &'a mut Op<'b, 'c>,
}

impl Env for StudioEnv<'_, '_, '_> {
    fn now_ms(&self) -> i64 {
        self.op.now
    }

    fn new_sid(&mut self, prefix: &str) -> String {
        self.op.sid(prefix)
    }

    fn load_flow(
        &mut self,
        flow_sid: &str,
        spec: RevisionSpec,
    ) -> std::result::Result<Arc<CompiledFlow>, String> {
        let flow = flows::shared(self.op.tx, self.op.account_sid, flow_sid)
            .map_err(|_| format!("flow {flow_sid} not found"))?;
        let revision = match spec {
            RevisionSpec::LatestPublished => flow
                .published_revision
                .ok_or_else(|| format!("flow {flow_sid} has no published revision"))?,
            RevisionSpec::LatestRevision => flow.revision,
            RevisionSpec::Exact(n) => n,
        };
        self.op
            .app
            .flows()
            .get(self.op.tx, flow_sid, revision)
            .map_err(|e| e.to_string())
    }
}

/// Which revision a contact runs: the latest draft for the flow's test users, otherwise
/// the latest published one.
pub fn revision_for(flow: &FlowRow, contact: &str) -> Result<i64> {
    if flows::test_users(flow).iter().any(|u| u == contact) {
        return Ok(flow.revision);
    }
    flow.published_revision.ok_or_else(|| {
        Error::api(codes::EXECUTION_BAD_PARAMETERS, format!("Flow {} has no published revision; publish it (Status=published) before running it", flow.sid))
    })
}

pub struct NewExecution {
    /// Shared with the unit's memo (a flow's definition is not copied per execution).
    pub flow: Arc<FlowRow>,
    pub revision: i64,
    pub params: StartParams,
    /// Identifies the contact for the one-active-execution rule.
    pub contact_key: String,
    pub conversation_sid: Option<String>,
    pub initiated_by: String,
}

/// The filter of a contact's active execution of a flow (at most one: a unique index).
const ACTIVE_FOR_CONTACT: &str = "flow_sid = ?1 AND contact_key = ?2 AND status = 'active'";

/// The contact's active execution of the flow, if any. Remembered on SQLite (`find_memo`):
/// the next message of the contact finds it without a statement, as `apply` left it.
pub fn active_execution(
    op: &mut Op<'_, '_>,
    flow_sid: &str,
    contact_key: &str,
) -> Result<Option<ExecutionRow>> {
    // Owned: the caller resumes it (the memo keeps its own until the unit writes it).
    Ok(op
        .tx
        .find_memo::<ExecutionRow>(
            ACTIVE_FOR_CONTACT,
            contact_key,
            flow_sid,
            &[Param::Text(flow_sid), Param::Text(contact_key)],
        )?
        .map(std::sync::Arc::unwrap_or_clone))
}

pub fn contact_key_for_conversation(conversation_sid: &str) -> String {
    format!("conversation:{conversation_sid}")
}

pub fn contact_key_for_pair(contact: &str, flow_address: &str) -> String {
    format!("pair:{contact}|{flow_address}")
}

/// Starts an execution. A second active execution for the same contact is refused (20409).
pub fn start(op: &mut Op<'_, '_>, new: NewExecution) -> Result<ExecutionRow> {
    let exec = ExecutionRow {
        seq: 0,
        sid: new.params.execution_sid.clone(),
        account_sid: op.account_sid.to_string(),
        flow_sid: new.flow.sid.clone(),
        flow_revision: new.revision,
        contact_key: new.contact_key,
        contact_channel_address: new.params.contact_address.clone(),
        flow_channel_address: new.params.flow_address.clone(),
        conversation_sid: new.conversation_sid,
        status: "active".into(),
        initiated_by: new.initiated_by,
        waiting_for_reply: false,
        session: "{}".into(),
        date_created: op.now,
        date_updated: op.now,
    };
    // The row is written once, after the first steps ran (`apply` inserts it), not
    // inserted empty and rewritten with its session: the engine only reads while it runs,
    // and a refused insert (one active execution per contact) rolls the unit back anyway.
    let flow = op.app.flows().get(op.tx, &new.flow.sid, new.revision)?;
    let limits = op.app.flow_limits().clone();
    let outcome = parley_flow::start(&flow, new.params, &mut StudioEnv { op }, &limits);
    apply(op, exec, outcome, 0, Stored::No)
}

/// Whether `apply` updates the execution's row or inserts it.
enum Stored {
    /// A new execution: the row is inserted.
    No,
    /// The row as read in this transaction: only what changed is written.
    As(Box<ExecutionRow>),
}

/// An active execution's session as `apply` last wrote it, parsed: remembered on SQLite
/// (`Tx::remember`) so that its next event does not parse the JSON again. Any write to the
/// execution's row forgets it; `apply` remembers the new one after writing.
const PARSED_SESSION: &str = "parsed session";

pub fn session_of(exec: &ExecutionRow) -> Result<Session> {
    serde_json::from_str(&exec.session)
        .map_err(|e| Error::Store(StoreError::Corrupt(format!("session of {}: {e}", exec.sid))))
}

/// Delivers an event to an execution. Events it cannot take are ignored (logged).
/// `exec` must have been read (or written) in this same operation.
pub fn resume(op: &mut Op<'_, '_>, exec: ExecutionRow, event: Event) -> Result<ExecutionRow> {
    resume_at(op, exec, event, 0)
}

fn resume_at(
    op: &mut Op<'_, '_>,
    mut exec: ExecutionRow,
    event: Event,
    depth: u32,
) -> Result<ExecutionRow> {
    // Lock order across nodes (scale-out on PostgreSQL): the conversation before its
    // execution, as an inbound message does, so a timer and a reply never deadlock.
    if let Some(conv) = exec.conversation_sid.as_deref() {
        op.tx.lock_row::<parley_store::ConversationRow>(conv)?;
    }
    // The session is read-modify-written: hold the execution so that a timer and a reply
    // arriving together (on two nodes) are applied one after the other. Every caller read
    // `exec` in this same operation, so on SQLite (one writer) it is already current.
    if !op.tx.lock_read(&mut exec)? {
        return Ok(exec);
    }
    if exec.status != "active" {
        return Ok(exec);
    }
    let session = match op
        .tx
        .take_remembered::<ExecutionRow, Session>(PARSED_SESSION, &exec.sid)
    {
        Some(s) => s,
        None => session_of(&exec)?,
    };
    let flow = op
        .app
        .flows()
        .get(op.tx, &exec.flow_sid, exec.flow_revision)?;
    let limits = op.app.flow_limits().clone();
    let outcome = parley_flow::resume(&flow, session, event, &mut StudioEnv { op }, &limits);
    if outcome.steps.is_empty() && outcome.effects.is_empty() && outcome.ended.is_none() {
        for w in &outcome.warnings {
            tracing::warn!(execution = %exec.sid, warning = %w, "studio");
        }
        return Ok(exec);
    }
    let stored = Stored::As(Box::new(exec.clone()));
    apply(op, exec, outcome, depth, stored)
}

fn apply(
    op: &mut Op<'_, '_>,
    mut exec: ExecutionRow,
    outcome: Outcome,
    depth: u32,
    stored: Stored,
) -> Result<ExecutionRow> {
    for w in &outcome.warnings {
        tracing::warn!(execution = %exec.sid, warning = %w, "studio");
    }
    exec.status = if outcome.session.is_active() {
        "active"
    } else {
        "ended"
    }
    .into();
    exec.waiting_for_reply = outcome.session.waiting_for_reply().is_some();
    // Sized from the session it replaces: a session only grows by a step's outputs.
    exec.session = json_sized(&outcome.session, exec.session.len() + 512)
        .map_err(|e| Error::invalid(e.to_string()))?;
    exec.date_updated = op.now;
    match stored {
        Stored::No => {
            // The one-active-execution rule is a unique index over active rows only, so a
            // flow that ended on its first steps goes in as active (and is refused like any
            // other start while another one runs for the contact), then is ended.
            let status = std::mem::replace(&mut exec.status, "active".into());
            exec.seq = op.tx.insert(&exec).map_err(|e| match e {
                StoreError::Unique(ix) if ix == parley_store::schema::EXECUTION_ACTIVE_CONTACT => Error::api(
                    codes::CONFLICT,
                    format!("Execution is already active for this contact ({}). End it (Status=ended) before starting another.", exec.contact_channel_address),
                ),
                other => other.into(),
            })?;
            if status != exec.status {
                let inserted = exec.clone();
                exec.status = status;
                op.tx.update_changed(&inserted, &exec)?;
            }
        }
        Stored::As(before) => {
            op.tx.update_changed(&*before, &exec)?;
        }
    }
    // What `active_execution` finds for this contact now: the row as written, or none;
    // and the session it holds, already parsed, for its next event.
    let active = exec.status == "active";
    op.tx.remember_found(
        ACTIVE_FOR_CONTACT,
        &exec.contact_key,
        &exec.flow_sid,
        active.then(|| exec.clone()),
    );
    let Outcome {
        session,
        steps,
        effects,
        ended,
        ..
    } = outcome;
    if active {
        // Filed under the execution, which is new each time, but read again when its
        // contact comes back: kept across units once the contact has come up before (a
        // returning handset's answer then needs no parse), not for a first contact that
        // may never answer (parked executions would fill the writer's memo).
        op.tx.remember_admitted_as::<ExecutionRow, Session>(
            PARSED_SESSION,
            &exec.sid,
            &exec.contact_key,
            session,
        );
    }
    for s in &steps {
        let row = StepRow {
            seq: 0,
            sid: s.step_sid.clone(),
            account_sid: exec.account_sid.clone(),
            flow_sid: exec.flow_sid.clone(),
            execution_sid: exec.sid.clone(),
            parent_step_sid: s.parent_step_sid.clone(),
            name: s.name.clone(),
            transitioned_from: s.transitioned_from.clone(),
            transitioned_to: s.transitioned_to.clone(),
            widget_type: s.widget_type.clone(),
            // serde_json's writer, not Display: Display formats through fmt::Write, slower.
            context: json_sized(&s.context, 1024).unwrap_or_else(|_| "{}".into()),
            date_created: s.at_ms,
            date_updated: s.at_ms,
        };
        op.tx.insert(&row)?;
    }
    match &ended {
        Some(EndReason::Failed { code, message }) => {
            tracing::warn!(execution = %exec.sid, code, reason = %message, "execution failed");
        }
        Some(EndReason::Stopped { reason }) => {
            tracing::info!(execution = %exec.sid, reason = %reason, "execution stopped")
        }
        _ => {}
    }
    crate::runtime::live::after_commit(
        op,
        "onExecutionUpdated",
        exec.conversation_sid.clone(),
        || {
            let steps: Vec<serde_json::Value> = steps
            .iter()
            .map(|s| serde_json::json!({"sid": s.step_sid, "name": s.name, "transitioned_from": s.transitioned_from, "transitioned_to": s.transitioned_to, "type": s.widget_type}))
            .collect();
            serde_json::json!({"execution_sid": exec.sid, "flow_sid": exec.flow_sid, "status": exec.status, "steps": steps})
        },
    );

    let mut failed_sends = Vec::new();
    for effect in effects {
        match effect {
            Effect::SendMessage {
                message_sid,
                from,
                to,
                body,
                media_urls,
                attributes,
                channel_sid,
                ..
            } => {
                let sent = match &channel_sid {
                    Some(conv_sid) => post_to_conversation(
                        op,
                        conv_sid,
                        &message_sid,
                        body,
                        media_urls,
                        attributes,
                    ),
                    None => crate::channels::send_sms(
                        op,
                        crate::channels::OutboundSms {
                            sid: message_sid.clone(),
                            from,
                            to,
                            body: Some(body),
                            media_urls,
                            conversation_sid: None,
                            execution_sid: Some(exec.sid.clone()),
                        },
                    )
                    .map(|_| ()),
                };
                if let Err(reason) = sent {
                    tracing::warn!(execution = %exec.sid, message = %message_sid, %reason, "flow message not sent");
                    failed_sends.push((message_sid, reason));
                }
            }
            Effect::HttpRequest { ref request_id, .. } => {
                // The call happens after the commit, in a job; its response resumes the
                // execution in a later transaction.
                op.schedule_job(&NewJob {
                    key: format!("{KIND_HTTP}:{request_id}"),
                    kind: KIND_HTTP.into(),
                    account_sid: exec.account_sid.clone(),
                    run_at: op.now,
                    max_attempts: 3,
                    payload: serde_json::json!({ "execution_sid": exec.sid, "effect": effect })
                        .to_string(),
                })?;
            }
            Effect::ScheduleTimer {
                timer_id,
                fire_at_ms,
            } => {
                op.schedule_job(&NewJob {
                    key: format!("{KIND_TIMER}:{timer_id}"),
                    kind: KIND_TIMER.into(),
                    account_sid: exec.account_sid.clone(),
                    run_at: fire_at_ms,
                    max_attempts: 10,
                    payload: format!(
                        r#"{{"execution_sid":"{}","timer_id":"{}"}}"#,
                        exec.sid, timer_id
                    ),
                })?;
            }
            Effect::CancelTimer { timer_id } => {
                op.tx.cancel_job(&format!("{KIND_TIMER}:{timer_id}"))?;
            }
            Effect::Handoff {
                widget,
                task_sid,
                workflow,
                channel,
                attributes,
                priority,
                timeout_s,
            } => {
                handoff(
                    op,
                    &exec,
                    HandoffRow {
                        seq: 0,
                        sid: task_sid,
                        account_sid: exec.account_sid.clone(),
                        flow_sid: exec.flow_sid.clone(),
                        execution_sid: exec.sid.clone(),
                        conversation_sid: exec.conversation_sid.clone(),
                        workflow,
                        channel,
                        attributes,
                        priority,
                        timeout: timeout_s,
                        date_created: op.now,
                    },
                    &widget,
                )?;
            }
        }
    }
    if depth < MAX_FEEDBACK_DEPTH {
        for (message_sid, reason) in failed_sends {
            exec = resume_at(
                op,
                exec,
                Event::DeliveryFailed {
                    message_sid,
                    error_code: Some(30008),
                    error_message: Some(reason),
                },
                depth + 1,
            )?;
        }
    }
    Ok(exec)
}

/// `serde_json::to_string` into a buffer of `capacity` bytes: `to_string` starts at 128
/// bytes and doubles, which copied a 2.5 KB session five times per step.
fn json_sized<T: serde::Serialize>(value: &T, capacity: usize) -> serde_json::Result<String> {
    let mut buf = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut buf, value)?;
    // serde_json writes UTF-8 only; checked rather than assumed.
    String::from_utf8(buf).map_err(serde::ser::Error::custom)
}

/// A flow's message into its conversation: authored `system`, delivered to every
/// participant, and (being Studio's own) never fed back into Studio.
fn post_to_conversation(
    op: &mut Op<'_, '_>,
    conversation_sid: &str,
    message_sid: &str,
    body: String,
    media_urls: Vec<String>,
    attributes: Option<String>,
) -> std::result::Result<(), String> {
    // Usually read already by this unit (the inbound text's routing): remembered.
    let conv = op
        .tx
        .get_memo::<ConversationRow>(conversation_sid)
        .map_err(|e| e.to_string())?
        .filter(|c| c.account_sid == op.account_sid)
        .map(std::sync::Arc::unwrap_or_clone);
    let Some(mut conv) = conv else {
        return Err(format!("conversation {conversation_sid} no longer exists"));
    };
    let media = (!media_urls.is_empty()).then(|| crate::channels::media_json(&media_urls));
    let input = MessageInput {
        author: None,
        body: (!body.is_empty()).then_some(body),
        attributes,
        media,
        ..Default::default()
    };
    input.check().map_err(|e| e.to_string())?;
    let previous = std::mem::replace(&mut op.actor, Actor::studio());
    let result =
        messages::create_with_sid(op, &mut conv, input, None, Some(message_sid.to_string()));
    op.actor = previous;
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// Send to Flex: record the hand-off, detach the flow from the conversation (its `studio`
/// webhooks go, so the next message reaches the people, not the bot), and announce it.
fn handoff(
    op: &mut Op<'_, '_>,
    exec: &ExecutionRow,
    mut row: HandoffRow,
    widget: &str,
) -> Result<()> {
    row.seq = op.tx.insert(&row)?;
    let mut conversation = None;
    if let Some(conv_sid) = &exec.conversation_sid {
        op.tx.execute(
            "DELETE FROM conversation_webhooks WHERE conversation_sid = ?1 AND target = 'studio'",
            &[Param::Text(conv_sid)],
        )?;
        conversation = op.tx.get::<ConversationRow>(conv_sid)?;
    }
    tracing::info!(execution = %exec.sid, widget, task = %row.sid, "flow handed the contact to a person");
    op.emit(DomainEvent::FlowHandoff {
        handoff: row,
        conversation,
    });
    Ok(())
}
