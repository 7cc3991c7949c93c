//! Conversation-scoped webhooks: `webhook` (POST/GET events to a URL), `trigger` (call a
//! URL when a message matches a keyword) and `studio` (a flow answers the conversation).
//! At most five per conversation; post-events only.

use parley_store::{ConversationRow, ConversationWebhookRow, Param, Tx};

use super::Op;
use super::events::DomainEvent;
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

pub const MAX_PER_CONVERSATION: i64 = 5;
const MAX_URL: usize = 512;
const MAX_TRIGGERS: usize = 5;
const MAX_TRIGGER_LEN: usize = 248;

/// Post-events a scoped webhook (or an address auto-creation webhook) may ask for. The
/// Chat-era names still seen in samples are accepted too and stored as given.
pub const POST_EVENTS: &[&str] = &[
    "onMessageAdded",
    "onMessageUpdated",
    "onMessageRemoved",
    "onConversationAdded",
    "onConversationUpdated",
    "onConversationStateUpdated",
    "onConversationRemoved",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onDeliveryUpdated",
    "onUserAdded",
    "onUserUpdated",
    // Parley: a flow handed its contact to a person (send-to-flex).
    "onFlowHandoff",
    // legacy Programmable Chat names
    "onMessageSent",
    "onConversationDestroyed",
    "onMemberAdded",
    "onMemberRemoved",
];

pub const PRE_EVENTS: &[&str] = &[
    "onMessageAdd",
    "onMessageUpdate",
    "onMessageRemove",
    "onConversationAdd",
    "onConversationUpdate",
    "onConversationRemove",
    "onParticipantAdd",
    "onParticipantUpdate",
    "onParticipantRemove",
    "onUserUpdate",
];

pub fn check_filters(filters: &[&str], allowed_pre: bool) -> Result<Vec<String>> {
    for f in filters {
        let ok = POST_EVENTS.contains(f) || (allowed_pre && PRE_EVENTS.contains(f));
        if !ok {
            return Err(Error::api(
                codes::BAD_WEBHOOK_FILTER,
                format!("'{f}' is not a webhook event name this webhook can receive"),
            ));
        }
    }
    Ok(filters.iter().map(|s| s.to_string()).collect())
}

pub fn check_url(url: &str) -> Result<()> {
    if url.len() > MAX_URL {
        return Err(Error::api(
            codes::WEBHOOK_URL_TOO_LONG,
            "Configuration.Url is longer than 512 characters",
        ));
    }
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        _ => Err(Error::invalid(format!("'{url}' is not an http(s) URL"))),
    }
}

fn method(p: &Params, name: &str) -> Result<Option<String>> {
    Ok(p.one_of(name, &["get", "post"])?.map(str::to_string))
}

#[derive(Debug, Default, Clone)]
pub struct WebhookInput {
    pub target: Option<&'static str>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub filters: Option<Vec<String>>,
    pub triggers: Option<Vec<String>>,
    pub flow_sid: Option<String>,
    pub replay_after: Option<i64>,
}

impl WebhookInput {
    pub fn parse(p: &Params, creating: bool) -> Result<WebhookInput> {
        let target = if creating {
            match p.text("Target") {
                None => {
                    return Err(Error::api(
                        codes::NO_WEBHOOK_TARGET,
                        "Missing required parameter Target in the post body",
                    ));
                }
                Some(t) => Some(
                    ["webhook", "trigger", "studio"]
                        .into_iter()
                        .find(|x| x.eq_ignore_ascii_case(t))
                        .ok_or_else(|| {
                            Error::api(
                                codes::BAD_WEBHOOK_TARGET,
                                format!("Target '{t}' is not one of webhook, trigger, studio"),
                            )
                        })?,
                ),
            }
        } else {
            None
        };
        let url = p.owned("Configuration.Url").filter(|s| !s.is_empty());
        if let Some(u) = &url {
            check_url(u)?;
        }
        let filters = if p.has("Configuration.Filters") {
            Some(check_filters(
                &p.all("Configuration.Filters")
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>(),
                false,
            )?)
        } else {
            None
        };
        let triggers = if p.has("Configuration.Triggers") {
            let t: Vec<String> = p
                .all("Configuration.Triggers")
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if t.len() > MAX_TRIGGERS {
                return Err(Error::api(
                    codes::TOO_MANY_TRIGGERS,
                    "A trigger webhook takes at most 5 keywords",
                ));
            }
            if t.iter().any(|k| k.chars().count() > MAX_TRIGGER_LEN) {
                return Err(Error::api(
                    codes::BAD_TRIGGER,
                    "A trigger keyword is longer than 248 characters",
                ));
            }
            Some(t)
        } else {
            None
        };
        let flow_sid = p.owned("Configuration.FlowSid").filter(|s| !s.is_empty());
        if let Some(f) = &flow_sid
            && !is_sid(f, "FW")
        {
            return Err(Error::invalid(format!(
                "Configuration.FlowSid '{f}' is not a Flow SID (FW…)"
            )));
        }
        let replay_after = p.int("Configuration.ReplayAfter")?;
        if replay_after.is_some_and(|r| r < 0) {
            return Err(Error::invalid(
                "Configuration.ReplayAfter must be a message index (0 or more)",
            ));
        }
        Ok(WebhookInput {
            target,
            url,
            method: method(p, "Configuration.Method")?,
            filters,
            triggers,
            flow_sid,
            replay_after,
        })
    }
}

pub fn get(tx: &mut Tx<'_>, conversation_sid: &str, sid: &str) -> Result<ConversationWebhookRow> {
    tx.find::<ConversationWebhookRow>("sid = ?1 AND conversation_sid = ?2", &[Param::Text(sid), Param::Text(conversation_sid)])?
        .ok_or_else(|| {
            Error::api(codes::WEBHOOK_NOT_FOUND, format!("The requested resource /Conversations/{conversation_sid}/Webhooks/{sid} was not found"))
        })
}

/// Checks the fields a target needs, on the row as it will be stored.
fn check_target(w: &ConversationWebhookRow) -> Result<()> {
    let filters: Vec<String> = serde_json::from_str(&w.filters).unwrap_or_default();
    let triggers: Vec<String> = serde_json::from_str(&w.triggers).unwrap_or_default();
    match w.target.as_str() {
        "webhook" => {
            if w.url.is_none() {
                return Err(Error::api(
                    codes::NO_WEBHOOK_URL,
                    "Missing required parameter Configuration.Url for a webhook target",
                ));
            }
            if filters.is_empty() {
                return Err(Error::api(
                    codes::NO_WEBHOOK_FILTER,
                    "A webhook target needs at least one Configuration.Filters event",
                ));
            }
        }
        "trigger" => {
            if w.url.is_none() {
                return Err(Error::api(
                    codes::NO_WEBHOOK_URL,
                    "Missing required parameter Configuration.Url for a trigger target",
                ));
            }
            if triggers.is_empty() {
                return Err(Error::api(
                    codes::NO_TRIGGER,
                    "A trigger target needs at least one Configuration.Triggers keyword",
                ));
            }
        }
        _ => {
            if w.flow_sid.is_none() {
                return Err(Error::missing("Configuration.FlowSid"));
            }
        }
    }
    Ok(())
}

pub fn create(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    input: WebhookInput,
) -> Result<ConversationWebhookRow> {
    let count = op
        .tx
        .count::<ConversationWebhookRow>("conversation_sid = ?1", &[Param::Text(&conv.sid)])?;
    if count >= MAX_PER_CONVERSATION {
        return Err(Error::api(
            codes::TOO_MANY_WEBHOOKS,
            "A conversation has at most 5 scoped webhooks",
        ));
    }
    let target = input.target.unwrap_or("webhook");
    let mut w = ConversationWebhookRow {
        seq: 0,
        sid: op.sid("WH"),
        account_sid: conv.account_sid.clone(),
        service_sid: conv.service_sid.clone(),
        conversation_sid: conv.sid.clone(),
        target: target.to_string(),
        url: input.url,
        method: Some(input.method.unwrap_or_else(|| "post".into())),
        filters: serde_json::to_string(&input.filters.unwrap_or_default())
            .unwrap_or_else(|_| "[]".into()),
        triggers: serde_json::to_string(&input.triggers.unwrap_or_default())
            .unwrap_or_else(|_| "[]".into()),
        flow_sid: input.flow_sid,
        replay_after: input.replay_after,
        retry_count: None,
        date_created: op.now,
        date_updated: op.now,
    };
    check_target(&w)?;
    w.seq = op.tx.insert(&w)?;
    if let Some(after) = w.replay_after {
        op.emit(DomainEvent::WebhookReplay {
            conversation: conv.clone(),
            webhook: w.clone(),
            after_index: after,
        });
    }
    Ok(w)
}

pub fn update(
    op: &mut Op<'_, '_>,
    mut w: ConversationWebhookRow,
    input: WebhookInput,
) -> Result<ConversationWebhookRow> {
    if let Some(u) = input.url {
        w.url = Some(u);
    }
    if let Some(m) = input.method {
        w.method = Some(m);
    }
    if let Some(f) = input.filters {
        w.filters = serde_json::to_string(&f).unwrap_or_else(|_| "[]".into());
    }
    if let Some(t) = input.triggers {
        w.triggers = serde_json::to_string(&t).unwrap_or_else(|_| "[]".into());
    }
    if let Some(f) = input.flow_sid {
        w.flow_sid = Some(f);
    }
    check_target(&w)?;
    w.date_updated = op.now;
    op.tx.update(&w)?;
    Ok(w)
}
