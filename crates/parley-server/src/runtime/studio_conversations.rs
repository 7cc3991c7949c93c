//! The joint between Conversations and Studio: a `studio` webhook hears a message and the
//! flow answers in the conversation. It runs in-process, in the transaction that added the
//! message, so the reply is durable together with the message that caused it.

use parley_flow::{Event, StartParams, Trigger};
use parley_store::{
    ConversationRow, ConversationWebhookRow, MessageRow, ParticipantRow, WebhookDeliveryRow,
};
use serde_json::{Map, Value};

use crate::domain::{Op, flows};
use crate::error::{Error, Result};
use crate::runtime::studio::{self, NewExecution};
use crate::wire::dates::iso;

/// The `onMessageAdded` payload a flow sees as `trigger.conversation` or as a reply.
fn payload(
    op: &Op<'_, '_>,
    conv: &ConversationRow,
    hook: &ConversationWebhookRow,
    m: &MessageRow,
    source: &str,
) -> Map<String, Value> {
    let mut p = Map::new();
    let s = |v: &str| Value::String(v.to_string());
    p.insert("AccountSid".into(), s(op.account_sid));
    p.insert("EventType".into(), s("onMessageAdded"));
    p.insert("Source".into(), s(source));
    p.insert("ConversationSid".into(), s(&conv.sid));
    p.insert("ChannelSid".into(), s(&conv.sid));
    p.insert("ChatServiceSid".into(), s(&conv.service_sid));
    p.insert("InstanceSid".into(), s(&conv.service_sid));
    if let Some(mg) = &conv.messaging_service_sid {
        p.insert("MessagingServiceSid".into(), s(mg));
    }
    p.insert("MessageSid".into(), s(&m.sid));
    p.insert("Index".into(), Value::from(m.idx));
    p.insert("Body".into(), s(m.body.as_deref().unwrap_or("")));
    p.insert("Author".into(), s(&m.author));
    p.insert("From".into(), s(&m.author));
    if let Some(ps) = &m.participant_sid {
        p.insert("ParticipantSid".into(), s(ps));
    }
    p.insert("Attributes".into(), s(&m.attributes));
    // Conversation attributes reach flows parsed (studio.md §3.3).
    p.insert(
        "ChannelAttributes".into(),
        serde_json::from_str(&conv.attributes).unwrap_or_else(|_| Value::Object(Map::new())),
    );
    p.insert("DateCreated".into(), s(&iso(m.date_created)));
    if let Some(media) = &m.media {
        p.insert("Media".into(), s(media));
    }
    p.insert("WebhookSid".into(), s(&hook.sid));
    p.insert("WebhookType".into(), s("studio"));
    p.insert("RetryCount".into(), Value::from(0));
    p
}

/// A message reached a conversation with a `studio` webhook: the waiting execution gets
/// it as its reply, or a new execution starts. Messages authored by `system` (including
/// the flow's own) never drive a flow.
pub fn on_message(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    hook: &ConversationWebhookRow,
    m: &MessageRow,
) -> Result<()> {
    if m.author == "system" {
        return Ok(());
    }
    let Some(flow_sid) = hook.flow_sid.clone() else {
        return Ok(());
    };
    match drive(op, conv, hook, m, &flow_sid) {
        Ok(()) => Ok(()),
        // The flow is gone or unpublished: the message stays, the failure is recorded
        // where an operator looks (deliveries), and the conversation goes on.
        Err(Error::Api { message, .. }) => {
            tracing::warn!(conversation = %conv.sid, flow = %flow_sid, reason = %message, "studio webhook could not run its flow");
            let mut row = WebhookDeliveryRow {
                seq: 0,
                sid: op.sid("WD"),
                account_sid: op.account_sid.to_string(),
                conversation_sid: Some(conv.sid.clone()),
                webhook_sid: Some(hook.sid.clone()),
                event_type: "onMessageAdded".into(),
                url: format!("studio:{flow_sid}"),
                method: "POST".into(),
                status: "failed".into(),
                attempts: 1,
                response_status: None,
                last_error: Some(message),
                date_created: op.now,
                date_updated: op.now,
            };
            row.seq = op.tx.insert(&row)?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn drive(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    hook: &ConversationWebhookRow,
    m: &MessageRow,
    flow_sid: &str,
) -> Result<()> {
    let source = m.source.clone();
    let message = payload(op, conv, hook, m, &source);
    let key = studio::contact_key_for_conversation(&conv.sid);
    if let Some(exec) = studio::active_execution(op, flow_sid, &key)? {
        studio::resume(op, exec, Event::InboundMessage { message })?;
        return Ok(());
    }
    let flow = flows::shared(op.tx, op.account_sid, flow_sid)?;
    let revision = studio::revision_for(&flow, &m.author)?;
    // The contact is the author's address (or identity); the flow's address is the
    // number the author writes to, when there is one.
    let author_participant = match &m.participant_sid {
        Some(ps) => op.tx.get_memo::<ParticipantRow>(ps)?,
        None => None,
    };
    let flow_address = author_participant
        .as_ref()
        .and_then(|p| p.proxy_address.clone().or(p.projected_address.clone()))
        .unwrap_or_else(|| conv.sid.clone());
    let params = StartParams {
        execution_sid: op.sid("FN"),
        trigger: Trigger::IncomingConversationMessage {
            conversation: message,
        },
        contact_address: m.author.clone(),
        flow_address,
        channel_sid: Some(conv.sid.clone()),
    };
    studio::start(
        op,
        NewExecution {
            flow,
            revision,
            params,
            contact_key: key,
            conversation_sid: Some(conv.sid.clone()),
            initiated_by: m.sid.clone(),
        },
    )?;
    Ok(())
}
