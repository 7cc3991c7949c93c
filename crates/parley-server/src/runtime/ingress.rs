//! Inbound routing: a message from address A (a handset) to Parley address P goes, in
//! this order, to
//! 1. the conversation that binds the pair (A, P) — an inactive one wakes up;
//! 2. a Studio execution outside Conversations waiting for a reply from A through P;
//! 3. a new conversation, when P's Address Configuration auto-creates (with its `studio`
//!    flow or `webhook` attached);
//! 4. P's own incoming-message URL (a flow's webhook runs in-process; any other URL gets
//!    Twilio's inbound-SMS webhook);
//! 5. nowhere: it is refused, logged, and kept where an operator can see it.

use parley_store::{
    AddressConfigRow, BindingRow, ConversationRow, ConversationWebhookRow, ExecutionRow, Param,
    ParticipantRow, PhoneNumberRow, RefusedMessageRow,
};
use serde::Serialize;

use crate::app::App;
use crate::domain::conversations::{self, ConversationInput};
use crate::domain::messages::{self, MessageInput};
use crate::domain::participants::{self, ParticipantInput};
use crate::domain::{Op, Source, flows, services};
use crate::error::Result;
use crate::runtime::{studio, studio_sms};
use crate::webhooks::delivery::{self, Delivery};
use crate::webhooks::pre::{self, PreOutcome};

#[derive(Debug, Clone)]
pub struct Inbound {
    /// The carrier's SID of the message (SM…).
    pub sid: String,
    pub from: String,
    pub to: String,
    pub body: Option<String>,
    pub media_urls: Vec<String>,
    /// Set by a pre-event webhook that changed the message.
    pub author: Option<String>,
    pub attributes: Option<String>,
}

impl Inbound {
    pub fn new(
        sid: String,
        from: String,
        to: String,
        body: Option<String>,
        media_urls: Vec<String>,
    ) -> Inbound {
        Inbound {
            sid,
            from,
            to,
            body,
            media_urls,
            author: None,
            attributes: None,
        }
    }

    pub fn source(&self) -> Source {
        if self.from.starts_with("whatsapp:") {
            Source::Whatsapp
        } else {
            Source::Sms
        }
    }
}

/// Where an inbound message went.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "routed", rename_all = "snake_case")]
pub enum Routed {
    Conversation {
        conversation_sid: String,
        message_sid: String,
    },
    Execution {
        execution_sid: String,
    },
    AutoCreated {
        conversation_sid: String,
        message_sid: String,
    },
    Flow {
        execution_sid: String,
    },
    Webhook {
        url: String,
    },
    Refused {
        reason: String,
    },
}

impl Routed {
    pub fn conversation_sid(&self) -> Option<&str> {
        match self {
            Routed::Conversation {
                conversation_sid, ..
            }
            | Routed::AutoCreated {
                conversation_sid, ..
            } => Some(conversation_sid),
            _ => None,
        }
    }
}

fn message_input(inbound: &Inbound) -> MessageInput {
    MessageInput {
        author: Some(
            inbound
                .author
                .clone()
                .unwrap_or_else(|| inbound.from.clone()),
        ),
        body: inbound.body.clone(),
        attributes: inbound.attributes.clone(),
        media: (!inbound.media_urls.is_empty())
            .then(|| crate::channels::media_json(&inbound.media_urls)),
        ..Default::default()
    }
}

/// Routes one inbound message. The caller's `Op` carries the channel as its actor.
pub fn route(op: &mut Op<'_, '_>, inbound: &Inbound) -> Result<Routed> {
    // Two texts from one handset to one number at once must not both auto-create.
    op.tx.lock_key(&format!(
        "pair:{}:{}:{}",
        op.account_sid, inbound.from, inbound.to
    ))?;
    // 1. A conversation binds the pair. (Remembered: the next text of the pair finds it
    // without a statement until a binding is written.)
    if let Some(binding) = op.tx.find_memo::<BindingRow>(
        "account_sid = ?1 AND address = ?2 AND proxy_address = ?3",
        &format!("{}|{}|{}", op.account_sid, inbound.from, inbound.to),
        "",
        &[
            Param::Text(op.account_sid),
            Param::Text(&inbound.from),
            Param::Text(&inbound.to),
        ],
    )? && let Some(mut conv) = op
        .tx
        .get_for_update::<ConversationRow>(&binding.conversation_sid)?
        && conv.state != "closed"
    {
        // A binding's participant is a messaging one: usually found in the set the
        // message's fan-out reads anyway (one statement for both), by its sid otherwise.
        let participant = match crate::runtime::fanout::messaging_participants(op, &conv.sid)?
            .iter()
            .find(|p| p.sid == binding.participant_sid)
            .cloned()
        {
            Some(p) => Some(p),
            None => op.tx.get::<ParticipantRow>(&binding.participant_sid)?,
        };
        let m = messages::create(op, &mut conv, message_input(inbound), participant.as_ref())?;
        return Ok(Routed::Conversation {
            conversation_sid: conv.sid,
            message_sid: m.sid,
        });
    }

    // 2. A flow outside Conversations waits for this contact's reply through this number.
    if let Some(exec) = op.tx.find::<ExecutionRow>(
        "account_sid = ?1 AND contact_channel_address = ?2 AND flow_channel_address = ?3 AND status = 'active' \
         AND conversation_sid IS NULL AND waiting_for_reply = 1",
        &[Param::Text(op.account_sid), Param::Text(&inbound.from), Param::Text(&inbound.to)],
    )? {
        let fields = studio_sms::sms_fields(op.account_sid, &inbound.sid, &inbound.from, &inbound.to, inbound.body.as_deref().unwrap_or(""), &inbound.media_urls);
        let exec = studio::resume(op, exec, parley_flow::Event::InboundMessage { message: fields })?;
        return Ok(Routed::Execution { execution_sid: exec.sid });
    }

    // 3. The address auto-creates conversations.
    if let Some(cfg) = op.tx.find::<AddressConfigRow>(
        "account_sid = ?1 AND address = ?2 AND auto_enabled = 1",
        &[Param::Text(op.account_sid), Param::Text(&inbound.to)],
    )? {
        return auto_create(op, &cfg, inbound);
    }

    // 4. The number's own incoming-message URL.
    if let Some(number) = op.tx.find::<PhoneNumberRow>(
        "account_sid = ?1 AND phone_number = ?2 AND sms_url IS NOT NULL",
        &[Param::Text(op.account_sid), Param::Text(&inbound.to)],
    )? && let Some(url) = number.sms_url.clone()
    {
        let fields = studio_sms::sms_fields(
            op.account_sid,
            &inbound.sid,
            &inbound.from,
            &inbound.to,
            inbound.body.as_deref().unwrap_or(""),
            &inbound.media_urls,
        );
        if let Some(flow_sid) = own_flow_webhook(op.account_sid, &url) {
            let flow = flows::shared(op.tx, op.account_sid, &flow_sid)?;
            let exec = studio_sms::inbound_to_flow(op, flow, fields)?;
            return Ok(Routed::Flow {
                execution_sid: exec.sid,
            });
        }
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        delivery::enqueue(
            op,
            Delivery {
                url: url.clone(),
                method: number.sms_method.clone(),
                fields,
                event_type: "incomingMessage".into(),
                conversation_sid: None,
                webhook_sid: Some(number.sid.clone()),
                max_attempts: delivery::DEFAULT_ATTEMPTS,
            },
        )?;
        return Ok(Routed::Webhook { url });
    }

    // 5. Nobody takes it.
    let reason = format!(
        "no conversation binds {} to {}, no flow waits for it, and {} has no auto-creating address configuration or incoming-message URL",
        inbound.from, inbound.to, inbound.to
    );
    refuse(op, inbound, reason)
}

/// Keeps a message nobody takes (or a pre-event webhook rejected), visibly.
pub fn refuse(op: &mut Op<'_, '_>, inbound: &Inbound, reason: String) -> Result<Routed> {
    tracing::warn!(from = %inbound.from, to = %inbound.to, "inbound message refused: {reason}");
    let mut row = RefusedMessageRow {
        seq: 0,
        sid: inbound.sid.clone(),
        account_sid: op.account_sid.to_string(),
        from_address: inbound.from.clone(),
        to_address: inbound.to.clone(),
        body: inbound.body.clone(),
        reason: reason.clone(),
        date_created: op.now,
    };
    row.seq = op.tx.insert(&row)?;
    crate::runtime::live::after_commit(
        op,
        "onInboundRefused",
        None,
        || serde_json::json!({"sid": row.sid, "from": row.from_address, "to": row.to_address, "body": row.body, "reason": reason}),
    );
    Ok(Routed::Refused { reason })
}

/// A URL that is one of this account's flow webhooks (`…/v1/Accounts/{AC}/Flows/{FW}`),
/// on any origin: the flow runs in-process instead of over HTTP.
fn own_flow_webhook(account_sid: &str, url: &str) -> Option<String> {
    let path = url::Url::parse(url).ok()?.path().to_string();
    let rest = path.strip_prefix(&format!("/v1/Accounts/{account_sid}/Flows/"))?;
    crate::core::sid::is_sid(rest, "FW").then(|| rest.to_string())
}

/// Auto-creation: conversation, participant, the configured webhook, then the message —
/// so the webhooks fire in Twilio's order: onConversationAdded, onParticipantAdded,
/// onMessageAdded.
fn auto_create(op: &mut Op<'_, '_>, cfg: &AddressConfigRow, inbound: &Inbound) -> Result<Routed> {
    let service =
        services::resolve_service(op.tx, op.account_sid, cfg.auto_service_sid.as_deref())?;
    let mut conv = conversations::create(op, &service, ConversationInput::default())?;
    let participant = participants::create(
        op,
        &service,
        &mut conv,
        ParticipantInput {
            address: Some(inbound.from.clone()),
            proxy_address: Some(Some(inbound.to.clone())),
            ..Default::default()
        },
    )?;
    let hook = match cfg.auto_type.as_deref() {
        Some("studio") => Some((
            "studio",
            None,
            None,
            "[]".to_string(),
            cfg.studio_flow_sid.clone(),
        )),
        Some("webhook") => Some((
            "webhook",
            cfg.webhook_url.clone(),
            Some(cfg.webhook_method.clone().unwrap_or_else(|| "post".into())),
            cfg.webhook_filters.clone(),
            None,
        )),
        _ => None,
    };
    if let Some((target, url, method, filters, flow_sid)) = hook {
        let mut w = ConversationWebhookRow {
            seq: 0,
            sid: op.sid("WH"),
            account_sid: op.account_sid.to_string(),
            service_sid: service.sid.clone(),
            conversation_sid: conv.sid.clone(),
            target: target.into(),
            url,
            method,
            filters,
            triggers: "[]".into(),
            flow_sid,
            replay_after: None,
            retry_count: cfg.studio_retry_count,
            date_created: op.now,
            date_updated: op.now,
        };
        w.seq = op.tx.insert(&w)?;
    }
    let m = messages::create(op, &mut conv, message_input(inbound), Some(&participant))?;
    Ok(Routed::AutoCreated {
        conversation_sid: conv.sid,
        message_sid: m.sid,
    })
}

/// Where a message would go, read before the transaction so that pre-event webhooks can
/// be asked first.
enum Preview {
    Conversation {
        service_sid: String,
        conversation_sid: String,
        participant_sid: String,
    },
    AutoCreate {
        service_sid: String,
    },
    Other,
}

async fn preview(app: &App, account_sid: &str, inbound: &Inbound) -> Result<Preview> {
    let (acct, from, to) = (
        account_sid.to_string(),
        inbound.from.clone(),
        inbound.to.clone(),
    );
    app.store()
        .read(move |tx| -> Result<Preview> {
            if let Some(b) = tx.find::<BindingRow>(
                "account_sid = ?1 AND address = ?2 AND proxy_address = ?3",
                &[Param::Text(&acct), Param::Text(&from), Param::Text(&to)],
            )? && let Some(c) = tx.get::<ConversationRow>(&b.conversation_sid)?
            {
                return Ok(Preview::Conversation {
                    service_sid: c.service_sid,
                    conversation_sid: c.sid,
                    participant_sid: b.participant_sid,
                });
            }
            if let Some(cfg) = tx.find::<AddressConfigRow>(
                "account_sid = ?1 AND address = ?2 AND auto_enabled = 1",
                &[Param::Text(&acct), Param::Text(&to)],
            )? {
                let service =
                    services::resolve_service(tx, &acct, cfg.auto_service_sid.as_deref())?;
                return Ok(Preview::AutoCreate {
                    service_sid: service.sid,
                });
            }
            Ok(Preview::Other)
        })
        .await
}

/// Asks the pre-event webhooks about an inbound message (`onMessageAdd` for a message to
/// an existing conversation, `onConversationAdd` for one that would create a conversation;
/// auto-creation fires no other pre-event, as in Twilio). Returns a rejection, if any, and
/// applies accepted changes to `inbound`.
pub async fn ask_pre_hooks(
    app: &App,
    account_sid: &str,
    inbound: &mut Inbound,
) -> Result<Option<String>> {
    if !crate::runtime::account_flags::flags_now(app, account_sid)
        .await?
        .pre_hooks
    {
        return Ok(None);
    }
    let source = inbound.source().as_str().to_string();
    let outcome = match preview(app, account_sid, inbound).await? {
        Preview::Conversation {
            service_sid,
            conversation_sid,
            participant_sid,
        } => {
            let fields = vec![
                ("ConversationSid".to_string(), conversation_sid),
                ("ChatServiceSid".to_string(), service_sid.clone()),
                ("Body".to_string(), inbound.body.clone().unwrap_or_default()),
                ("Author".to_string(), inbound.from.clone()),
                ("ParticipantSid".to_string(), participant_sid),
                ("Attributes".to_string(), "{}".to_string()),
                ("Source".to_string(), source),
            ];
            pre::check(app, account_sid, Some(&service_sid), "onMessageAdd", fields).await?
        }
        Preview::AutoCreate { service_sid } => {
            let fields = vec![
                ("ChatServiceSid".to_string(), service_sid.clone()),
                ("MessagingBinding.Address".to_string(), inbound.from.clone()),
                (
                    "MessagingBinding.ProxyAddress".to_string(),
                    inbound.to.clone(),
                ),
                (
                    "MessageBody".to_string(),
                    inbound.body.clone().unwrap_or_default(),
                ),
                ("State".to_string(), "active".to_string()),
                ("Source".to_string(), source),
            ];
            pre::check(
                app,
                account_sid,
                Some(&service_sid),
                "onConversationAdd",
                fields,
            )
            .await?
        }
        Preview::Other => return Ok(None),
    };
    match outcome {
        PreOutcome::Reject(why) => Ok(Some(why)),
        PreOutcome::Proceed(changes) => {
            let text = |k: &str| changes.get(k).and_then(|v| v.as_str()).map(str::to_string);
            if let Some(b) = text("body") {
                inbound.body = Some(b);
            }
            if let Some(a) = text("author") {
                inbound.author = Some(a);
            }
            if let Some(a) = changes.get("attributes") {
                inbound.attributes = Some(
                    a.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| a.to_string()),
                );
            }
            Ok(None)
        }
    }
}

/// The whole inbound pipeline for a carrier's message: pre-event webhooks, then routing in
/// one transaction.
pub async fn receive(app: &App, account_sid: &str, mut inbound: Inbound) -> Result<Routed> {
    let rejected = ask_pre_hooks(app, account_sid, &mut inbound).await?;
    let actor = crate::domain::Actor {
        source: inbound.source(),
        fire_webhooks: true,
    };
    crate::domain::run(app, account_sid, actor, move |op| match rejected.clone() {
        Some(why) => refuse(op, &inbound, why),
        None => route(op, &inbound),
    })
    .await
}
