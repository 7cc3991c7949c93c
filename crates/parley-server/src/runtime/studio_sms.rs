//! A Studio flow driven by SMS outside Conversations: what a phone number's incoming
//! message webhook does when it points straight at a flow. The contact is the sender
//! (`From`), the flow's address is the number (`To`); one active execution per pair.

use parley_flow::{Event, StartParams, Trigger};
use parley_store::{ExecutionRow, FlowRow};
use serde_json::{Map, Value};

use crate::domain::Op;
use crate::error::Result;
use crate::runtime::studio::{self, NewExecution};

/// Delivers an inbound message to `flow`: the waiting execution of this sender and number
/// gets it as a reply; with none active, a new execution starts (`incomingMessage`).
pub fn inbound_to_flow(
    op: &mut Op<'_, '_>,
    flow: std::sync::Arc<FlowRow>,
    message: Map<String, Value>,
) -> Result<ExecutionRow> {
    let from = message
        .get("From")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let to = message
        .get("To")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let key = studio::contact_key_for_pair(&from, &to);
    if let Some(exec) = studio::active_execution(op, &flow.sid, &key)? {
        return studio::resume(op, exec, Event::InboundMessage { message });
    }
    let revision = studio::revision_for(&flow, &from)?;
    let initiated_by = message
        .get("MessageSid")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| op.sid("SM"));
    let params = StartParams {
        execution_sid: op.sid("FN"),
        trigger: Trigger::IncomingMessage { message },
        contact_address: from,
        flow_address: to,
        channel_sid: None,
    };
    studio::start(
        op,
        NewExecution {
            flow,
            revision,
            params,
            contact_key: key,
            conversation_sid: None,
            initiated_by,
        },
    )
}

/// The fields Twilio's Messaging webhook sends for an inbound SMS, for a flow's
/// `trigger.message` and `widgets.X.inbound`.
pub fn sms_fields(
    account_sid: &str,
    message_sid: &str,
    from: &str,
    to: &str,
    body: &str,
    media_urls: &[String],
) -> Map<String, Value> {
    let mut m = Map::new();
    let s = |v: &str| Value::String(v.to_string());
    m.insert("AccountSid".into(), s(account_sid));
    m.insert("ApiVersion".into(), s("2010-04-01"));
    m.insert("MessageSid".into(), s(message_sid));
    m.insert("SmsSid".into(), s(message_sid));
    m.insert("SmsMessageSid".into(), s(message_sid));
    m.insert("SmsStatus".into(), s("received"));
    m.insert("From".into(), s(from));
    m.insert("To".into(), s(to));
    m.insert("Body".into(), s(body));
    m.insert("NumMedia".into(), s(&media_urls.len().to_string()));
    m.insert("NumSegments".into(), s("1"));
    for (i, u) in media_urls.iter().enumerate() {
        m.insert(format!("MediaUrl{i}"), s(u));
    }
    m
}
