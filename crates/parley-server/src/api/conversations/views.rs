//! The JSON shapes of Conversations resources, as in Twilio's OpenAPI spec and fixtures:
//! snake_case fields, absolute `url` and `links`, dates without fractions.

use parley_store::{
    AccountConfigRow, AddressConfigRow, ConversationRow, ConversationWebhookRow, CredentialRow,
    MessageRow, ParticipantRow, ReceiptRow, RoleRow, ServiceRow, UserRow,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::wire::Origin;
use crate::wire::dates::iso;

fn json_array(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(Value::is_array)
        .unwrap_or_else(|| json!([]))
}

pub fn conversation_url(o: &Origin, base: &str, sid: &str) -> String {
    o.url(&format!("{base}/Conversations/{sid}"))
}

pub fn timers(c: &ConversationRow) -> Value {
    let mut t = serde_json::Map::new();
    if let Some(d) = c.date_inactive {
        t.insert("date_inactive".into(), iso(d).into());
    }
    if let Some(d) = c.date_closed {
        t.insert("date_closed".into(), iso(d).into());
    }
    Value::Object(t)
}

fn bindings(c: &ConversationRow) -> Value {
    c.bindings
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_else(|| json!({}))
}

/// A conversation as the API shows it. A struct rather than a `json!` tree: conversation
/// and message creates are the hottest REST calls, and serialising a struct skips building
/// (and hashing the keys of) a map per response.
#[derive(Serialize)]
pub struct ConversationView<'a> {
    sid: &'a str,
    account_sid: &'a str,
    chat_service_sid: &'a str,
    messaging_service_sid: Option<&'a str>,
    friendly_name: Option<&'a str>,
    unique_name: Option<&'a str>,
    attributes: &'a str,
    date_created: String,
    date_updated: String,
    state: &'a str,
    timers: Value,
    bindings: Value,
    links: ConversationLinks,
    url: String,
}

#[derive(Serialize)]
struct ConversationLinks {
    participants: String,
    messages: String,
    webhooks: String,
}

pub fn conversation<'a>(o: &Origin, base: &str, c: &'a ConversationRow) -> ConversationView<'a> {
    let url = conversation_url(o, base, &c.sid);
    ConversationView {
        sid: &c.sid,
        account_sid: &c.account_sid,
        chat_service_sid: &c.service_sid,
        messaging_service_sid: c.messaging_service_sid.as_deref(),
        friendly_name: c.friendly_name.as_deref(),
        unique_name: c.unique_name.as_deref(),
        attributes: &c.attributes,
        date_created: iso(c.date_created),
        date_updated: iso(c.date_updated),
        state: &c.state,
        timers: timers(c),
        bindings: bindings(c),
        links: ConversationLinks {
            participants: format!("{url}/Participants"),
            messages: format!("{url}/Messages"),
            webhooks: format!("{url}/Webhooks"),
        },
        url,
    }
}

pub fn messaging_binding(p: &ParticipantRow) -> Value {
    match (&p.address, &p.proxy_address, &p.projected_address) {
        (None, None, None) => Value::Null,
        (None, None, Some(projected)) => json!({"type": "sms", "projected_address": projected}),
        (address, proxy, _) => json!({
            "type": p.channel_type.as_deref().unwrap_or("sms"),
            "address": address,
            "proxy_address": proxy,
        }),
    }
}

pub fn participant(o: &Origin, base: &str, p: &ParticipantRow) -> Value {
    json!({
        "sid": p.sid,
        "account_sid": p.account_sid,
        "chat_service_sid": p.service_sid,
        "conversation_sid": p.conversation_sid,
        "identity": p.identity,
        "attributes": p.attributes,
        "messaging_binding": messaging_binding(p),
        "role_sid": p.role_sid,
        "date_created": iso(p.date_created),
        "date_updated": iso(p.date_updated),
        "url": o.url(&format!("{base}/Conversations/{}/Participants/{}", p.conversation_sid, p.sid)),
        "last_read_message_index": p.last_read_message_index,
        "last_read_timestamp": p.last_read_timestamp,
    })
}

/// `delivery` summarises the receipts of a message: per status, all / some / none.
pub fn delivery(receipts: &[ReceiptRow]) -> Value {
    if receipts.is_empty() {
        return Value::Null;
    }
    let share = |states: &[&str]| {
        let n = receipts
            .iter()
            .filter(|r| states.contains(&r.status.as_str()))
            .count();
        if n == 0 {
            "none"
        } else if n == receipts.len() {
            "all"
        } else {
            "some"
        }
    };
    json!({
        "total": receipts.len(),
        "sent": share(&["sent", "delivered", "read"]),
        "delivered": share(&["delivered", "read"]),
        "read": share(&["read"]),
        "failed": share(&["failed"]),
        "undelivered": share(&["undelivered"]),
    })
}

/// A message as the API shows it (a struct for the same reason as `ConversationView`).
#[derive(Serialize)]
pub struct MessageView<'a> {
    sid: &'a str,
    account_sid: &'a str,
    chat_service_sid: &'a str,
    conversation_sid: &'a str,
    index: i64,
    author: &'a str,
    body: Option<&'a str>,
    media: Option<Value>,
    attributes: &'a str,
    participant_sid: Option<&'a str>,
    date_created: String,
    date_updated: String,
    delivery: Value,
    content_sid: Option<&'a str>,
    links: MessageLinks,
    url: String,
}

#[derive(Serialize)]
struct MessageLinks {
    delivery_receipts: String,
    channel_metadata: String,
}

pub fn message<'a>(
    o: &Origin,
    base: &str,
    m: &'a MessageRow,
    receipts: &[ReceiptRow],
) -> MessageView<'a> {
    let url = o.url(&format!(
        "{base}/Conversations/{}/Messages/{}",
        m.conversation_sid, m.sid
    ));
    MessageView {
        sid: &m.sid,
        account_sid: &m.account_sid,
        chat_service_sid: &m.service_sid,
        conversation_sid: &m.conversation_sid,
        index: m.idx,
        author: &m.author,
        body: m.body.as_deref(),
        media: m
            .media
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok()),
        attributes: &m.attributes,
        participant_sid: m.participant_sid.as_deref(),
        date_created: iso(m.date_created),
        date_updated: iso(m.date_updated),
        delivery: delivery(receipts),
        content_sid: m.content_sid.as_deref(),
        links: MessageLinks {
            delivery_receipts: format!("{url}/Receipts"),
            channel_metadata: format!("{url}/ChannelMetadata"),
        },
        url,
    }
}

pub fn receipt(o: &Origin, base: &str, r: &ReceiptRow) -> Value {
    json!({
        "sid": r.sid,
        "account_sid": r.account_sid,
        "chat_service_sid": r.service_sid,
        "conversation_sid": r.conversation_sid,
        "message_sid": r.message_sid,
        "channel_message_sid": r.channel_message_sid,
        "participant_sid": r.participant_sid,
        "status": r.status,
        "error_code": r.error_code,
        "date_created": iso(r.date_created),
        "date_updated": iso(r.date_updated),
        "url": o.url(&format!("{base}/Conversations/{}/Messages/{}/Receipts/{}", r.conversation_sid, r.message_sid, r.sid)),
    })
}

pub fn webhook(o: &Origin, base: &str, w: &ConversationWebhookRow) -> Value {
    let filters = json_array(&w.filters);
    let triggers = json_array(&w.triggers);
    let mut config = serde_json::Map::new();
    match w.target.as_str() {
        "studio" => {
            config.insert("flow_sid".into(), json!(w.flow_sid));
            if filters.as_array().is_some_and(|a| !a.is_empty()) {
                config.insert("filters".into(), filters);
            }
        }
        "trigger" => {
            config.insert("url".into(), json!(w.url));
            config.insert("method".into(), json!(w.method));
            // Twilio echoes trigger keywords under `filters`.
            config.insert("filters".into(), triggers);
        }
        _ => {
            config.insert("url".into(), json!(w.url));
            config.insert("method".into(), json!(w.method));
            config.insert("filters".into(), filters);
        }
    }
    if let Some(r) = w.replay_after {
        config.insert("replay_after".into(), json!(r));
    }
    json!({
        "sid": w.sid,
        "account_sid": w.account_sid,
        "chat_service_sid": w.service_sid,
        "conversation_sid": w.conversation_sid,
        "target": w.target,
        "configuration": Value::Object(config),
        "date_created": iso(w.date_created),
        "date_updated": iso(w.date_updated),
        "url": o.url(&format!("{base}/Conversations/{}/Webhooks/{}", w.conversation_sid, w.sid)),
    })
}

pub fn address_config(o: &Origin, a: &AddressConfigRow) -> Value {
    let mut auto = serde_json::Map::new();
    auto.insert("enabled".into(), json!(a.auto_enabled));
    if let Some(t) = &a.auto_type {
        auto.insert("type".into(), json!(t));
    }
    match a.auto_type.as_deref() {
        Some("studio") => {
            auto.insert("conversation_service_sid".into(), json!(a.auto_service_sid));
            auto.insert("studio_flow_sid".into(), json!(a.studio_flow_sid));
            auto.insert(
                "studio_retry_count".into(),
                json!(a.studio_retry_count.unwrap_or(3)),
            );
        }
        Some("webhook") => {
            auto.insert("conversation_service_sid".into(), json!(a.auto_service_sid));
            auto.insert("webhook_url".into(), json!(a.webhook_url));
            auto.insert(
                "webhook_method".into(),
                json!(a.webhook_method.as_deref().unwrap_or("post")),
            );
            auto.insert("webhook_filters".into(), json_array(&a.webhook_filters));
        }
        Some(_) => {
            auto.insert("conversation_service_sid".into(), json!(a.auto_service_sid));
        }
        None => {}
    }
    json!({
        "sid": a.sid,
        "account_sid": a.account_sid,
        "type": a.address_type,
        "address": a.address,
        "friendly_name": a.friendly_name,
        "auto_creation": Value::Object(auto),
        "date_created": iso(a.date_created),
        "date_updated": iso(a.date_updated),
        "url": o.url(&format!("/v1/Configuration/Addresses/{}", a.sid)),
        "address_country": a.address_country,
    })
}

pub fn service(o: &Origin, s: &ServiceRow) -> Value {
    let url = o.url(&format!("/v1/Services/{}", s.sid));
    json!({
        "account_sid": s.account_sid,
        "sid": s.sid,
        "friendly_name": s.friendly_name,
        "date_created": iso(s.date_created),
        "date_updated": iso(s.date_updated),
        "url": url,
        "links": {
            "conversations": format!("{url}/Conversations"),
            "users": format!("{url}/Users"),
            "roles": format!("{url}/Roles"),
            "bindings": format!("{url}/Bindings"),
            "configuration": format!("{url}/Configuration"),
            "participant_conversations": format!("{url}/ParticipantConversations"),
        },
    })
}

pub fn configuration(o: &Origin, c: &AccountConfigRow) -> Value {
    json!({
        "account_sid": c.account_sid,
        "default_chat_service_sid": c.default_chat_service_sid,
        "default_messaging_service_sid": c.default_messaging_service_sid,
        "default_inactive_timer": c.default_inactive_timer,
        "default_closed_timer": c.default_closed_timer,
        "url": o.url("/v1/Configuration"),
        "links": {
            "service": o.url(&format!("/v1/Services/{}/Configuration", c.default_chat_service_sid)),
            "webhooks": o.url("/v1/Configuration/Webhooks"),
        },
    })
}

pub fn global_webhooks(o: &Origin, c: &AccountConfigRow) -> Value {
    json!({
        "account_sid": c.account_sid,
        "method": c.webhook_method,
        "filters": json_array(&c.webhook_filters),
        "pre_webhook_url": c.webhook_pre_url,
        "post_webhook_url": c.webhook_post_url,
        "target": c.webhook_target,
        "url": o.url("/v1/Configuration/Webhooks"),
    })
}

pub fn service_configuration(o: &Origin, s: &ServiceRow) -> Value {
    let url = o.url(&format!("/v1/Services/{}/Configuration", s.sid));
    json!({
        "chat_service_sid": s.sid,
        "default_conversation_creator_role_sid": s.default_conversation_creator_role_sid,
        "default_conversation_role_sid": s.default_conversation_role_sid,
        "default_chat_service_role_sid": s.default_chat_service_role_sid,
        "url": url,
        "links": {
            "notifications": format!("{url}/Notifications"),
            "webhooks": format!("{url}/Webhooks"),
        },
        "reachability_enabled": s.reachability_enabled,
    })
}

pub fn service_webhooks(o: &Origin, s: &ServiceRow) -> Value {
    json!({
        "account_sid": s.account_sid,
        "chat_service_sid": s.sid,
        "pre_webhook_url": s.webhook_pre_url,
        "post_webhook_url": s.webhook_post_url,
        "filters": json_array(&s.webhook_filters),
        "method": s.webhook_method,
        "url": o.url(&format!("/v1/Services/{}/Configuration/Webhooks", s.sid)),
    })
}

pub fn notifications(o: &Origin, s: &ServiceRow) -> Value {
    let n: Value = serde_json::from_str(&s.notifications).unwrap_or_else(|_| json!({}));
    json!({
        "account_sid": s.account_sid,
        "chat_service_sid": s.sid,
        "new_message": n.get("new_message").cloned().unwrap_or_else(|| json!({})),
        "added_to_conversation": n.get("added_to_conversation").cloned().unwrap_or_else(|| json!({})),
        "removed_from_conversation": n.get("removed_from_conversation").cloned().unwrap_or_else(|| json!({})),
        "log_enabled": n.get("log_enabled").and_then(Value::as_bool).unwrap_or(false),
        "url": o.url(&format!("/v1/Services/{}/Configuration/Notifications", s.sid)),
    })
}

pub fn user(o: &Origin, base: &str, u: &UserRow) -> Value {
    let url = o.url(&format!("{base}/Users/{}", u.sid));
    json!({
        "sid": u.sid,
        "account_sid": u.account_sid,
        "chat_service_sid": u.service_sid,
        "role_sid": u.role_sid,
        "identity": u.identity,
        "friendly_name": u.friendly_name,
        "attributes": u.attributes,
        "is_online": null,
        "is_notifiable": null,
        "date_created": iso(u.date_created),
        "date_updated": iso(u.date_updated),
        "url": url,
        "links": { "user_conversations": format!("{url}/Conversations") },
    })
}

pub fn role(o: &Origin, base: &str, r: &RoleRow) -> Value {
    json!({
        "sid": r.sid,
        "account_sid": r.account_sid,
        "chat_service_sid": r.service_sid,
        "friendly_name": r.friendly_name,
        "type": r.role_type,
        "permissions": json_array(&r.permissions),
        "date_created": iso(r.date_created),
        "date_updated": iso(r.date_updated),
        "url": o.url(&format!("{base}/Roles/{}", r.sid)),
    })
}

pub fn credential(o: &Origin, c: &CredentialRow) -> Value {
    json!({
        "sid": c.sid,
        "account_sid": c.account_sid,
        "friendly_name": c.friendly_name,
        "type": c.credential_type,
        "sandbox": c.sandbox.to_string(),
        "date_created": iso(c.date_created),
        "date_updated": iso(c.date_updated),
        "url": o.url(&format!("/v1/Credentials/{}", c.sid)),
    })
}

/// A row of ParticipantConversations.
pub fn participant_conversation(
    o: &Origin,
    base: &str,
    p: &ParticipantRow,
    c: &ConversationRow,
) -> Value {
    let conv_url = conversation_url(o, base, &c.sid);
    json!({
        "account_sid": p.account_sid,
        "chat_service_sid": p.service_sid,
        "participant_sid": p.sid,
        "participant_user_sid": p.user_sid,
        "participant_identity": p.identity,
        "participant_messaging_binding": messaging_binding(p),
        "conversation_sid": c.sid,
        "conversation_unique_name": c.unique_name,
        "conversation_friendly_name": c.friendly_name,
        "conversation_attributes": c.attributes,
        "conversation_date_created": iso(c.date_created),
        "conversation_date_updated": iso(c.date_updated),
        "conversation_created_by": null,
        "conversation_state": c.state,
        "conversation_timers": timers(c),
        "links": {
            "participant": format!("{conv_url}/Participants/{}", p.sid),
            "conversation": conv_url,
        },
    })
}

/// A row of a user's conversations.
pub fn user_conversation(
    o: &Origin,
    base: &str,
    user: &UserRow,
    p: &ParticipantRow,
    c: &ConversationRow,
) -> Value {
    let conv_url = conversation_url(o, base, &c.sid);
    let unread = match p.last_read_message_index {
        Some(i) => (c.next_index - 1 - i).max(0),
        None => c.next_index,
    };
    json!({
        "account_sid": p.account_sid,
        "chat_service_sid": p.service_sid,
        "conversation_sid": c.sid,
        "unread_messages_count": unread,
        "last_read_message_index": p.last_read_message_index,
        "participant_sid": p.sid,
        "user_sid": user.sid,
        "friendly_name": c.friendly_name,
        "conversation_state": c.state,
        "timers": timers(c),
        "attributes": c.attributes,
        "date_created": iso(c.date_created),
        "date_updated": iso(c.date_updated),
        "created_by": null,
        "notification_level": p.notification_level.as_deref().unwrap_or("default"),
        "unique_name": c.unique_name,
        "url": o.url(&format!("{base}/Users/{}/Conversations/{}", user.sid, c.sid)),
        "links": {
            "participant": format!("{conv_url}/Participants/{}", p.sid),
            "conversation": conv_url,
        },
    })
}
