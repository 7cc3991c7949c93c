//! Conversations: create, update (state machine, timers), delete, and lookup by SID or
//! unique name. States: `active ⇄ inactive → closed`; `closed` is final and frees the
//! conversation's address bindings.

use parley_store::{
    BindingRow, ConversationRow, ConversationWebhookRow, MessageRow, NewJob, Param, ParticipantRow,
    ReceiptRow, ServiceRow, Tx,
};

use super::events::{DomainEvent, StateReason};
use super::{Op, duration};
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

pub const MAX_ATTRIBUTES: usize = 16 * 1024;
const MAX_NAME: usize = 256;
const MIN_INACTIVE_MS: i64 = 60_000;
const MIN_CLOSED_MS: i64 = 600_000;

/// Conversation fields from a create or update request, validated.
#[derive(Debug, Default, Clone)]
pub struct ConversationInput {
    pub friendly_name: Option<String>,
    pub unique_name: Option<String>,
    pub attributes: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub state: Option<&'static str>,
    pub timer_inactive: Option<String>,
    pub timer_closed: Option<String>,
    pub date_created: Option<i64>,
    pub date_updated: Option<i64>,
    pub bindings: Option<String>,
}

fn check_len(name: &str, v: &Option<String>, max: usize) -> Result<()> {
    if let Some(s) = v
        && s.chars().count() > max
    {
        return Err(Error::invalid(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(())
}

impl ConversationInput {
    pub fn parse(p: &Params) -> Result<ConversationInput> {
        let input = ConversationInput {
            friendly_name: p.owned("FriendlyName"),
            unique_name: p.owned("UniqueName").filter(|s| !s.is_empty()),
            attributes: p.json_text("Attributes")?,
            messaging_service_sid: p.owned("MessagingServiceSid").filter(|s| !s.is_empty()),
            state: p.one_of("State", &["active", "inactive", "closed"])?,
            timer_inactive: p.owned("Timers.Inactive").filter(|s| !s.is_empty()),
            timer_closed: p.owned("Timers.Closed").filter(|s| !s.is_empty()),
            date_created: p.date("DateCreated")?,
            date_updated: p.date("DateUpdated")?,
            bindings: email_bindings(p),
        };
        check_len("FriendlyName", &input.friendly_name, MAX_NAME)?;
        check_len("UniqueName", &input.unique_name, MAX_NAME)?;
        if let Some(a) = &input.attributes {
            super::check_attributes("Attributes", a, MAX_ATTRIBUTES)?;
        }
        if let Some(u) = &input.unique_name
            && is_sid(u, "CH")
        {
            return Err(Error::api(
                codes::UNIQUE_NAME_LOOKS_LIKE_SID,
                format!("UniqueName '{u}' looks like a Conversation SID; choose another name"),
            ));
        }
        if let Some(m) = &input.messaging_service_sid
            && !is_sid(m, "MG")
        {
            return Err(Error::invalid(format!(
                "MessagingServiceSid '{m}' is not a Messaging Service SID (MG…)"
            )));
        }
        if let Some(t) = &input.timer_inactive {
            let ms = duration::parse_ms(t).ok_or_else(|| {
                Error::api(
                    codes::BAD_INACTIVE_TIMER,
                    format!("Timers.Inactive '{t}' is not an ISO 8601 duration such as PT5M"),
                )
            })?;
            if ms != 0 && ms < MIN_INACTIVE_MS {
                return Err(Error::api(
                    codes::INACTIVE_TIMER_TOO_SHORT,
                    "Timers.Inactive must be at least PT1M (or PT0S to disable it)",
                ));
            }
        }
        if let Some(t) = &input.timer_closed {
            let ms = duration::parse_ms(t).ok_or_else(|| {
                Error::api(
                    codes::BAD_CLOSED_TIMER,
                    format!("Timers.Closed '{t}' is not an ISO 8601 duration such as PT10M"),
                )
            })?;
            if ms != 0 && ms < MIN_CLOSED_MS {
                return Err(Error::api(
                    codes::CLOSED_TIMER_TOO_SHORT,
                    "Timers.Closed must be at least PT10M (or PT0S to disable it)",
                ));
            }
        }
        Ok(input)
    }
}

fn email_bindings(p: &Params) -> Option<String> {
    let address = p.text("Bindings.Email.Address");
    let name = p.text("Bindings.Email.Name");
    if address.is_none() && name.is_none() {
        return None;
    }
    Some(serde_json::json!({"email": {"address": address, "name": name}}).to_string())
}

/// Finds a conversation of `service` by SID or unique name.
pub fn find(
    tx: &mut Tx<'_>,
    service_sid: &str,
    sid_or_name: &str,
) -> Result<Option<ConversationRow>> {
    let row = if is_sid(sid_or_name, "CH") {
        tx.find::<ConversationRow>(
            "sid = ?1 AND service_sid = ?2",
            &[Param::Text(sid_or_name), Param::Text(service_sid)],
        )?
    } else {
        tx.find::<ConversationRow>(
            "service_sid = ?1 AND unique_name = ?2",
            &[Param::Text(service_sid), Param::Text(sid_or_name)],
        )?
    };
    Ok(row)
}

/// `find` in the account's default service, without reading the service first (one
/// statement for every request on the short paths, `/v1/Conversations/{Sid}/…`).
pub fn find_in_default_service(
    tx: &mut Tx<'_>,
    account_sid: &str,
    sid_or_name: &str,
) -> Result<Option<ConversationRow>> {
    let filter = if is_sid(sid_or_name, "CH") {
        "sid = ?1 AND account_sid = ?2 AND service_sid = \
         (SELECT default_chat_service_sid FROM account_configs WHERE account_sid = ?2)"
    } else {
        "unique_name = ?1 AND account_sid = ?2 AND service_sid = \
         (SELECT default_chat_service_sid FROM account_configs WHERE account_sid = ?2)"
    };
    Ok(tx.find::<ConversationRow>(
        filter,
        &[Param::Text(sid_or_name), Param::Text(account_sid)],
    )?)
}

pub fn get(tx: &mut Tx<'_>, service_sid: &str, sid_or_name: &str) -> Result<ConversationRow> {
    find(tx, service_sid, sid_or_name)?
        .ok_or_else(|| Error::not_found(&format!("/Conversations/{sid_or_name}")))
}

fn timer_ms(t: &Option<String>) -> Option<i64> {
    t.as_deref()
        .and_then(duration::parse_ms)
        .filter(|ms| *ms > 0)
}

/// Recomputes the absolute deadlines from `now` (Twilio counts both timers from the last
/// activity) and schedules the timer job for the earliest one that applies.
pub fn arm_timers(op: &mut Op<'_, '_>, conv: &mut ConversationRow) -> Result<()> {
    set_timer_dates(op.now, conv);
    schedule_timer_job(op, conv)
}

/// When the conversation's timers fall due, counted from `now`.
fn set_timer_dates(now: i64, conv: &mut ConversationRow) {
    let inactive = timer_ms(&conv.timer_inactive);
    let closed = timer_ms(&conv.timer_closed);
    conv.date_inactive = if conv.state == "active" {
        inactive.map(|ms| now + ms)
    } else {
        None
    };
    conv.date_closed = if conv.state != "closed" {
        closed.map(|ms| now + ms)
    } else {
        None
    };
}

pub fn timer_job_key(conversation_sid: &str) -> String {
    format!("conversation-timer:{conversation_sid}")
}

fn schedule_timer_job(op: &mut Op<'_, '_>, conv: &ConversationRow) -> Result<()> {
    let due = [conv.date_inactive, conv.date_closed]
        .into_iter()
        .flatten()
        .min();
    let key = timer_job_key(&conv.sid);
    match due {
        Some(at) => op.schedule_job(&NewJob {
            key,
            kind: crate::runtime::jobs::KIND_CONVERSATION_TIMER.into(),
            account_sid: conv.account_sid.clone(),
            run_at: at,
            max_attempts: 10,
            payload: serde_json::json!({ "conversation_sid": conv.sid }).to_string(),
        })?,
        None => {
            op.tx.cancel_job(&key)?;
        }
    }
    Ok(())
}

pub fn create(
    op: &mut Op<'_, '_>,
    service: &ServiceRow,
    input: ConversationInput,
) -> Result<ConversationRow> {
    if input.state == Some("closed") {
        return Err(Error::api(
            codes::CREATE_CLOSED,
            "A conversation cannot be created in the closed state",
        ));
    }
    let cfg = super::services::account_config(op.tx, op.account_sid)?;
    let created = input.date_created.unwrap_or(op.now);
    let mut conv = ConversationRow {
        seq: 0,
        sid: op.sid("CH"),
        account_sid: op.account_sid.to_string(),
        service_sid: service.sid.clone(),
        messaging_service_sid: input
            .messaging_service_sid
            .or(Some(cfg.default_messaging_service_sid)),
        friendly_name: input.friendly_name,
        unique_name: input.unique_name,
        attributes: input.attributes.unwrap_or_else(|| "{}".into()),
        state: input.state.unwrap_or("active").to_string(),
        timer_inactive: input.timer_inactive.or(cfg.default_inactive_timer),
        timer_closed: input.timer_closed.or(cfg.default_closed_timer),
        date_inactive: None,
        date_closed: None,
        bindings: input.bindings,
        next_index: 0,
        date_created: created,
        date_updated: input.date_updated.unwrap_or(created),
    };
    // A new conversation has no timer job to cancel: schedule one only if a timer is set.
    set_timer_dates(op.now, &mut conv);
    if conv.date_inactive.is_some() || conv.date_closed.is_some() {
        schedule_timer_job(op, &conv)?;
    }
    conv.seq = op
        .tx
        .insert(&conv)
        .map_err(|e| unique_name_taken(e, &conv))?;
    op.emit(DomainEvent::ConversationAdded {
        conversation: conv.clone(),
    });
    Ok(conv)
}

fn unique_name_taken(e: parley_store::StoreError, conv: &ConversationRow) -> Error {
    match e {
        parley_store::StoreError::Unique(ix)
            if ix == parley_store::schema::CONVERSATION_UNIQUE_NAME =>
        {
            Error::api(
                codes::UNIQUE_NAME_EXISTS,
                format!(
                    "A conversation with UniqueName '{}' already exists in this service",
                    conv.unique_name.as_deref().unwrap_or("")
                ),
            )
        }
        other => other.into(),
    }
}

pub fn update(
    op: &mut Op<'_, '_>,
    mut conv: ConversationRow,
    input: ConversationInput,
) -> Result<ConversationRow> {
    if conv.state == "closed" {
        return Err(closed_error(&conv.sid));
    }
    if let Some(v) = input.friendly_name {
        conv.friendly_name = Some(v);
    }
    if let Some(v) = input.unique_name {
        conv.unique_name = Some(v);
    }
    if let Some(v) = input.attributes {
        conv.attributes = v;
    }
    if let Some(v) = input.messaging_service_sid {
        conv.messaging_service_sid = Some(v);
    }
    if let Some(v) = input.bindings {
        conv.bindings = Some(v);
    }
    if let Some(v) = input.date_created {
        conv.date_created = v;
    }
    let timers_changed = input.timer_inactive.is_some() || input.timer_closed.is_some();
    if let Some(v) = input.timer_inactive {
        conv.timer_inactive = Some(v);
    }
    if let Some(v) = input.timer_closed {
        conv.timer_closed = Some(v);
    }
    conv.date_updated = input.date_updated.unwrap_or(op.now);
    let state_change = input.state.filter(|s| *s != conv.state);
    if let Some(to) = state_change {
        set_state(op, &mut conv, to, StateReason::Api)?;
    } else if timers_changed {
        arm_timers(op, &mut conv)?;
    }
    op.tx
        .update(&conv)
        .map_err(|e| unique_name_taken(e, &conv))?;
    op.emit(DomainEvent::ConversationUpdated {
        conversation: conv.clone(),
    });
    Ok(conv)
}

pub fn closed_error(sid: &str) -> Error {
    Error::api(
        codes::CONVERSATION_CLOSED,
        format!("Conversation {sid} is closed; closed conversations cannot change"),
    )
}

/// Moves the conversation to `to` and records the state event. Closing releases the
/// conversation's address bindings, so the same pair can start a new conversation.
/// The caller writes the row.
pub fn set_state(
    op: &mut Op<'_, '_>,
    conv: &mut ConversationRow,
    to: &str,
    reason: StateReason,
) -> Result<()> {
    let from = std::mem::replace(&mut conv.state, to.to_string());
    if to == "closed" {
        op.tx.execute(
            "DELETE FROM bindings WHERE conversation_sid = ?1",
            &[Param::Text(&conv.sid)],
        )?;
        conv.date_inactive = None;
        conv.date_closed = None;
        op.tx.cancel_job(&timer_job_key(&conv.sid))?;
    } else {
        arm_timers(op, conv)?;
    }
    op.emit(DomainEvent::ConversationStateUpdated {
        conversation: conv.clone(),
        from,
        to: to.to_string(),
        reason,
    });
    Ok(())
}

/// Activity (a message, a new participant) wakes an inactive conversation and restarts
/// its timers. Writes the row.
pub fn touch(op: &mut Op<'_, '_>, conv: &mut ConversationRow) -> Result<()> {
    // Only the state and timer columns change here: written alone, they leave the
    // conversation's indexes (service, unique name) as they are.
    if conv.state == "inactive" {
        let before = conv.clone();
        set_state(op, conv, "active", StateReason::Event)?;
        op.tx.update_changed(&before, conv)?;
    } else if conv.timer_inactive.is_some() || conv.timer_closed.is_some() {
        let before = conv.clone();
        arm_timers(op, conv)?;
        op.tx.update_changed(&before, conv)?;
    }
    Ok(())
}

pub fn delete(op: &mut Op<'_, '_>, conv: ConversationRow) -> Result<()> {
    delete_rows(op.tx, &conv)?;
    op.emit(DomainEvent::ConversationRemoved { conversation: conv });
    Ok(())
}

/// Removes a conversation and everything under it.
pub fn delete_rows(tx: &mut Tx<'_>, conv: &ConversationRow) -> Result<()> {
    let sid = [Param::Text(&conv.sid)];
    for table in [
        <ReceiptRow as parley_store::Record>::TABLE,
        <MessageRow as parley_store::Record>::TABLE,
        <ParticipantRow as parley_store::Record>::TABLE,
        <BindingRow as parley_store::Record>::TABLE,
        <ConversationWebhookRow as parley_store::Record>::TABLE,
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE conversation_sid = ?1"),
            &sid,
        )?;
    }
    tx.cancel_job(&timer_job_key(&conv.sid))?;
    tx.delete::<ConversationRow>(&conv.sid)?;
    Ok(())
}

/// Applies due timers (the conversation-timer job). Returns true if anything changed.
pub fn apply_due_timers(op: &mut Op<'_, '_>, conv_sid: &str) -> Result<bool> {
    let Some(mut conv) = op.tx.get_for_update::<ConversationRow>(conv_sid)? else {
        return Ok(false);
    };
    let now = op.now;
    if conv.state != "closed" && conv.date_closed.is_some_and(|t| t <= now) {
        set_state(op, &mut conv, "closed", StateReason::Timer)?;
    } else if conv.state == "active" && conv.date_inactive.is_some_and(|t| t <= now) {
        let from = std::mem::replace(&mut conv.state, "inactive".into());
        conv.date_inactive = None;
        schedule_timer_job(op, &conv)?;
        op.emit(DomainEvent::ConversationStateUpdated {
            conversation: conv.clone(),
            from,
            to: "inactive".into(),
            reason: StateReason::Timer,
        });
    } else {
        // Not due (the deadline moved): make sure the job matches the current deadlines.
        schedule_timer_job(op, &conv)?;
        return Ok(false);
    }
    conv.date_updated = now;
    op.tx.update(&conv)?;
    Ok(true)
}
