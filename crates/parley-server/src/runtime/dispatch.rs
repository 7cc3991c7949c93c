//! Turns the events of a domain operation into the work they owe, inside the operation's
//! transaction (the outbox): messages fan out to the other participants, `studio` webhooks
//! run their flow in-process, and webhook deliveries become durable jobs. Nothing is sent
//! before the commit, and nothing owed is lost after it.
//!
//! Events caused while dispatching (a flow's reply is itself a new message) are dispatched
//! too, in order.

use parley_store::{ConversationRow, ConversationWebhookRow, MessageRow, Param, ServiceRow};

use crate::domain::events::DomainEvent;
use crate::domain::{Actor, Op, services};
use crate::error::Result;
use crate::webhooks::delivery::{self, Delivery};
use crate::webhooks::payload;

/// A runaway chain of events (a flow that answers itself forever) stops here.
const MAX_EVENTS_PER_OPERATION: usize = 10_000;

pub fn dispatch(op: &mut Op<'_, '_>) -> Result<()> {
    let mut next = 0;
    while next < op.events.len() {
        if next >= MAX_EVENTS_PER_OPERATION {
            tracing::error!(
                events = op.events.len(),
                "too many events in one operation; the rest are dropped"
            );
            break;
        }
        let (event, actor) = op.events[next].clone();
        next += 1;
        handle(op, &event, actor)?;
    }
    op.events.clear();
    Ok(())
}

fn handle(op: &mut Op<'_, '_>, event: &DomainEvent, actor: Actor) -> Result<()> {
    publish_live(op, event);
    match event {
        DomainEvent::MessageAdded {
            conversation,
            message,
        } => {
            super::fanout::deliver(op, conversation, message)?;
            if actor.fire_webhooks {
                scoped_webhooks(op, conversation, event, actor, None)?;
                account_webhooks(op, Some(&conversation.service_sid), event, actor)?;
            }
        }
        DomainEvent::WebhookReplay {
            conversation,
            webhook,
            after_index,
        } => {
            replay(op, conversation, webhook, *after_index)?;
        }
        // Delivery receipts and hand-offs are Parley's own doing: always announced.
        DomainEvent::DeliveryUpdated {
            receipt,
            conversation,
        } => {
            let loaded;
            let conv = match conversation {
                Some(c) => Some(c),
                None => {
                    loaded = op.tx.get::<ConversationRow>(&receipt.conversation_sid)?;
                    loaded.as_ref()
                }
            };
            if let Some(conv) = conv {
                scoped_webhooks(op, conv, event, actor, None)?;
            }
            account_webhooks(op, Some(&receipt.service_sid), event, actor)?;
        }
        DomainEvent::FlowHandoff { conversation, .. } => {
            let service = conversation.as_ref().map(|c| c.service_sid.clone());
            account_webhooks(op, service.as_deref(), event, actor)?;
        }
        _ if actor.fire_webhooks => {
            if let Some(conv) = event.conversation() {
                scoped_webhooks(op, conv, event, actor, None)?;
            }
            let service = match event {
                DomainEvent::UserAdded { user } | DomainEvent::UserUpdated { user } => {
                    Some(user.service_sid.clone())
                }
                _ => event.conversation().map(|c| c.service_sid.clone()),
            };
            account_webhooks(op, service.as_deref(), event, actor)?;
        }
        _ => {}
    }
    Ok(())
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A `trigger` webhook fires when the message body is one of its keywords (trimmed,
/// case-insensitive; Twilio does not document the rule, this is our choice).
fn trigger_matches(keywords: &[String], message: &MessageRow) -> bool {
    let body = message.body.as_deref().unwrap_or("").trim();
    keywords.iter().any(|k| k.trim().eq_ignore_ascii_case(body))
}

/// The conversation's own webhooks. `only` restricts to one webhook (a replay).
fn scoped_webhooks(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    event: &DomainEvent,
    actor: Actor,
    only: Option<&str>,
) -> Result<()> {
    // Remembered for the unit: an inbound text and the flow's reply both dispatch here.
    let hooks = op
        .tx
        .find_all_memo::<ConversationWebhookRow>("conversation_sid = ?1", &conv.sid)?;
    if hooks.is_empty() {
        return Ok(());
    }
    // A closed conversation keeps its webhooks but only announces its state change.
    if conv.state == "closed" && !matches!(event, DomainEvent::ConversationStateUpdated { .. }) {
        return Ok(());
    }
    let name = event.name();
    for hook in hooks.iter().filter(|h| only.is_none_or(|o| o == h.sid)) {
        let filters = json_list(&hook.filters);
        match hook.target.as_str() {
            "studio" => {
                // A studio webhook without filters hears new messages (the tutorial sets none).
                let wants = if filters.is_empty() {
                    name == "onMessageAdded"
                } else {
                    filters.iter().any(|f| f == name)
                };
                if let (true, DomainEvent::MessageAdded { message, .. }) = (wants, event) {
                    super::studio_conversations::on_message(op, conv, hook, message)?;
                }
            }
            "trigger" => {
                if let DomainEvent::MessageAdded { message, .. } = event
                    && trigger_matches(&json_list(&hook.triggers), message)
                {
                    enqueue(
                        op,
                        hook.url.clone(),
                        hook.method.clone(),
                        event,
                        actor,
                        Some(conv),
                        Some(&hook.sid),
                    )?;
                }
            }
            _ => {
                if filters.iter().any(|f| f == name) {
                    enqueue(
                        op,
                        hook.url.clone(),
                        hook.method.clone(),
                        event,
                        actor,
                        Some(conv),
                        Some(&hook.sid),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The service's and the account's post-event webhooks, each when its Filters name the event.
fn account_webhooks(
    op: &mut Op<'_, '_>,
    service_sid: Option<&str>,
    event: &DomainEvent,
    actor: Actor,
) -> Result<()> {
    if !crate::runtime::account_flags::flags(op)?.post_hooks {
        return Ok(());
    }
    let name = event.name();
    let cfg = services::account_config(op.tx, op.account_sid)?;
    let mut targets = Vec::new();
    if let Some(s) = service_sid
        && let Some(svc) = op.tx.get::<ServiceRow>(s)?
        && let Some(url) = svc.webhook_post_url.clone()
        && json_list(&svc.webhook_filters).iter().any(|f| f == name)
    {
        targets.push((url, svc.webhook_method.clone()));
    }
    if let Some(url) = cfg.webhook_post_url.clone()
        && json_list(&cfg.webhook_filters).iter().any(|f| f == name)
    {
        targets.push((url, cfg.webhook_method.clone()));
    }
    let conv = event.conversation().cloned();
    for (url, method) in targets {
        enqueue(
            op,
            Some(url),
            Some(method),
            event,
            actor,
            conv.as_ref(),
            None,
        )?;
    }
    Ok(())
}

fn enqueue(
    op: &mut Op<'_, '_>,
    url: Option<String>,
    method: Option<String>,
    event: &DomainEvent,
    actor: Actor,
    conv: Option<&ConversationRow>,
    webhook_sid: Option<&str>,
) -> Result<()> {
    let Some(url) = url else { return Ok(()) };
    let mut fields = payload::event_fields(op.account_sid, event, actor.source, op.now);
    if let Some(w) = webhook_sid {
        fields.push(("WebhookSid".into(), w.to_string()));
        fields.push(("WebhookType".into(), "webhook".into()));
    }
    delivery::enqueue(
        op,
        Delivery {
            url,
            method: method.unwrap_or_else(|| "POST".into()),
            fields,
            event_type: event.name().to_string(),
            conversation_sid: conv.map(|c| c.sid.clone()),
            webhook_sid: webhook_sid.map(str::to_string),
            max_attempts: delivery::DEFAULT_ATTEMPTS,
        },
    )
}

/// `ReplayAfter`: the messages already in the conversation from that index on go to the
/// new webhook (and only to it), in order.
fn replay(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    hook: &ConversationWebhookRow,
    after: i64,
) -> Result<()> {
    let messages = op.tx.find_all::<MessageRow>(
        "conversation_sid = ?1 AND idx >= ?2",
        &[Param::Text(&conv.sid), Param::Int(after)],
    )?;
    for m in messages {
        let event = DomainEvent::MessageAdded {
            conversation: conv.clone(),
            message: m,
        };
        scoped_webhooks(op, conv, &event, Actor::system(), Some(&hook.sid))?;
    }
    Ok(())
}

/// The live stream sees every event, whatever the webhook settings.
fn publish_live(op: &mut Op<'_, '_>, event: &DomainEvent) {
    use crate::api::conversations::views;
    if !op.app.live().has_subscribers() {
        return;
    }
    // Relative URLs: the stream is not tied to one request's origin.
    let o = crate::wire::Origin(String::new());
    let data = match event {
        DomainEvent::ConversationAdded { conversation }
        | DomainEvent::ConversationUpdated { conversation }
        | DomainEvent::ConversationRemoved { conversation } => {
            to_json(views::conversation(&o, "/v1", conversation))
        }
        DomainEvent::ConversationStateUpdated {
            conversation,
            from,
            to,
            reason,
        } => serde_json::json!({
            "conversation_sid": conversation.sid, "state_from": from, "state_to": to, "reason": reason.as_str(),
        }),
        DomainEvent::ParticipantAdded { participant, .. }
        | DomainEvent::ParticipantUpdated { participant, .. }
        | DomainEvent::ParticipantRemoved { participant, .. } => {
            views::participant(&o, "/v1", participant)
        }
        DomainEvent::MessageAdded { message, .. }
        | DomainEvent::MessageUpdated { message, .. }
        | DomainEvent::MessageRemoved { message, .. } => {
            to_json(views::message(&o, "/v1", message, &[]))
        }
        DomainEvent::DeliveryUpdated { receipt, .. } => views::receipt(&o, "/v1", receipt),
        DomainEvent::UserAdded { user } | DomainEvent::UserUpdated { user } => {
            views::user(&o, "/v1", user)
        }
        DomainEvent::FlowHandoff { handoff, .. } => serde_json::json!({
            "task_sid": handoff.sid, "flow_sid": handoff.flow_sid, "execution_sid": handoff.execution_sid,
            "conversation_sid": handoff.conversation_sid, "workflow": handoff.workflow, "channel": handoff.channel,
            "attributes": handoff.attributes,
        }),
        DomainEvent::WebhookReplay { .. } => return,
    };
    let conv = match event {
        DomainEvent::DeliveryUpdated { receipt, .. } => Some(receipt.conversation_sid.clone()),
        DomainEvent::FlowHandoff { handoff, .. } => handoff.conversation_sid.clone(),
        e => e.conversation().map(|c| c.sid.clone()),
    };
    super::live::after_commit(op, event.name(), conv, move || data);
}

fn to_json(view: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}
