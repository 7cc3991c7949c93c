//! The form fields of each webhook event, as Twilio sends them (conversations.md §4.5):
//! attributes as the stored JSON text, dates in ISO 8601, null values left out.

use parley_store::{ConversationRow, HandoffRow, MessageRow, ParticipantRow, ReceiptRow, UserRow};

use crate::domain::events::{DomainEvent, Source};
use crate::wire::dates::iso;

pub type Fields = Vec<(String, String)>;

struct Builder(Fields);

impl Builder {
    fn put(&mut self, k: &str, v: impl Into<String>) -> &mut Self {
        self.0.push((k.to_string(), v.into()));
        self
    }

    fn opt(&mut self, k: &str, v: &Option<String>) -> &mut Self {
        if let Some(v) = v {
            self.0.push((k.to_string(), v.clone()));
        }
        self
    }
}

fn conversation_fields(b: &mut Builder, c: &ConversationRow) {
    b.put("ConversationSid", &c.sid)
        .put("ChatServiceSid", &c.service_sid)
        .opt("MessagingServiceSid", &c.messaging_service_sid)
        .put("DateCreated", iso(c.date_created))
        .put("DateUpdated", iso(c.date_updated))
        .opt("FriendlyName", &c.friendly_name)
        .opt("UniqueName", &c.unique_name)
        .put("Attributes", &c.attributes)
        .put("State", &c.state);
}

pub fn message_fields(b: &mut Fields, c: &ConversationRow, m: &MessageRow) {
    let mut bb = Builder(std::mem::take(b));
    bb.put("ConversationSid", &c.sid)
        .put("ChatServiceSid", &c.service_sid)
        .opt("MessagingServiceSid", &c.messaging_service_sid)
        .put("MessageSid", &m.sid)
        .put("Index", m.idx.to_string())
        .put("DateCreated", iso(m.date_created))
        // Media-only messages still carry Body (empty), which some receivers expect.
        .put("Body", m.body.clone().unwrap_or_default())
        .put("Author", &m.author)
        .opt("ParticipantSid", &m.participant_sid)
        .put("Attributes", &m.attributes)
        .opt("Media", &m.media.as_ref().map(|t| media_for_webhook(t)));
    *b = bb.0;
}

/// Media in webhooks uses Twilio's capitalised keys `{Sid, Filename, ContentType, Size}`.
fn media_for_webhook(stored: &str) -> String {
    let items: Vec<serde_json::Value> = serde_json::from_str(stored).unwrap_or_default();
    let out: Vec<_> = items
        .iter()
        .map(|m| {
            serde_json::json!({
                "Sid": m.get("sid"),
                "Filename": m.get("filename"),
                "ContentType": m.get("content_type"),
                "Size": m.get("size"),
            })
        })
        .collect();
    serde_json::Value::Array(out).to_string()
}

fn participant_fields(b: &mut Builder, c: &ConversationRow, p: &ParticipantRow) {
    b.put("ConversationSid", &c.sid)
        .put("ChatServiceSid", &c.service_sid)
        .put("ParticipantSid", &p.sid)
        .put("DateCreated", iso(p.date_created))
        .put("DateUpdated", iso(p.date_updated))
        .opt("Identity", &p.identity)
        .opt("RoleSid", &p.role_sid)
        .put("Attributes", &p.attributes)
        .opt("MessagingBinding.Address", &p.address)
        .opt("MessagingBinding.ProxyAddress", &p.proxy_address)
        .opt("MessagingBinding.ProjectedAddress", &p.projected_address);
    if p.address.is_some() || p.projected_address.is_some() {
        b.put(
            "MessagingBinding.Type",
            p.channel_type
                .clone()
                .unwrap_or_else(|| "sms".into())
                .to_uppercase(),
        );
    }
    if let Some(i) = p.last_read_message_index {
        b.put("LastReadMessageIndex", i.to_string());
    }
}

fn user_fields(b: &mut Builder, u: &UserRow) {
    b.put("ChatServiceSid", &u.service_sid)
        .put("UserSid", &u.sid)
        .put("Identity", &u.identity)
        .opt("RoleSid", &u.role_sid)
        .put("Attributes", &u.attributes)
        .opt("FriendlyName", &u.friendly_name)
        .put("DateCreated", iso(u.date_created))
        .put("DateUpdated", iso(u.date_updated));
}

fn receipt_fields(b: &mut Builder, r: &ReceiptRow) {
    b.put("ConversationSid", &r.conversation_sid)
        .put("ChatServiceSid", &r.service_sid)
        .put("MessageSid", &r.message_sid)
        .put("DeliveryReceiptSid", &r.sid)
        .put("ChannelMessageSid", &r.channel_message_sid)
        .opt("ParticipantSid", &r.participant_sid)
        .put("Status", &r.status)
        .put("ErrorCode", r.error_code.to_string())
        .put("DateCreated", iso(r.date_created))
        .put("DateUpdated", iso(r.date_updated));
}

fn handoff_fields(b: &mut Builder, h: &HandoffRow, c: &Option<ConversationRow>) {
    b.put("TaskSid", &h.sid)
        .put("FlowSid", &h.flow_sid)
        .put("ExecutionSid", &h.execution_sid)
        .opt("ConversationSid", &h.conversation_sid)
        .put("Workflow", &h.workflow)
        .put("Channel", &h.channel)
        .put("TaskAttributes", &h.attributes)
        .put("Priority", h.priority.to_string())
        .put("Timeout", h.timeout.to_string())
        .put("DateCreated", iso(h.date_created));
    if let Some(c) = c {
        b.put("ChatServiceSid", &c.service_sid);
    }
}

/// The fields of an event, with the common `AccountSid`, `EventType`, `Source`.
pub fn event_fields(account_sid: &str, event: &DomainEvent, source: Source, now_ms: i64) -> Fields {
    let mut b = Builder(Vec::with_capacity(16));
    b.put("AccountSid", account_sid)
        .put("EventType", event.name())
        .put("Source", source.as_str());
    match event {
        DomainEvent::ConversationAdded { conversation }
        | DomainEvent::ConversationUpdated { conversation } => {
            conversation_fields(&mut b, conversation)
        }
        DomainEvent::ConversationRemoved { conversation } => {
            conversation_fields(&mut b, conversation);
            b.put("DateRemoved", iso(now_ms));
        }
        DomainEvent::ConversationStateUpdated {
            conversation,
            from,
            to,
            reason,
        } => {
            b.put("ConversationSid", &conversation.sid)
                .put("ChatServiceSid", &conversation.service_sid)
                .opt("MessagingServiceSid", &conversation.messaging_service_sid)
                .put("StateUpdated", iso(now_ms))
                .put("StateFrom", from)
                .put("StateTo", to)
                .put("Reason", reason.as_str());
        }
        DomainEvent::ParticipantAdded {
            conversation,
            participant,
        }
        | DomainEvent::ParticipantUpdated {
            conversation,
            participant,
        } => participant_fields(&mut b, conversation, participant),
        DomainEvent::ParticipantRemoved {
            conversation,
            participant,
        } => {
            participant_fields(&mut b, conversation, participant);
            b.put("DateRemoved", iso(now_ms));
        }
        DomainEvent::MessageAdded {
            conversation,
            message,
        }
        | DomainEvent::MessageUpdated {
            conversation,
            message,
        } => {
            message_fields(&mut b.0, conversation, message);
            if matches!(event, DomainEvent::MessageUpdated { .. }) {
                b.put("DateUpdated", iso(message.date_updated));
            }
        }
        DomainEvent::MessageRemoved {
            conversation,
            message,
        } => {
            message_fields(&mut b.0, conversation, message);
            b.put("DateRemoved", iso(now_ms));
        }
        DomainEvent::DeliveryUpdated { receipt, .. } => receipt_fields(&mut b, receipt),
        DomainEvent::UserAdded { user } | DomainEvent::UserUpdated { user } => {
            user_fields(&mut b, user)
        }
        DomainEvent::WebhookReplay { conversation, .. } => {
            conversation_fields(&mut b, conversation)
        }
        DomainEvent::FlowHandoff {
            handoff,
            conversation,
        } => handoff_fields(&mut b, handoff, conversation),
    }
    b.0
}
