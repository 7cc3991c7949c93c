//! Real carriers, chosen per Parley address (a "sender"): Twilio's Programmable Messaging
//! API, or a generic HTTP relay for any other gateway. Outbound messages are durable jobs
//! run after the commit; a 4xx from the carrier is final (the message failed), anything
//! else is retried with backoff. Delivery status comes back through `/webhooks/…/status`.

use std::time::Duration;

use parley_store::{JobRow, NewJob, Param, PhoneNumberRow};
use serde::{Deserialize, Serialize};

use super::OutboundSms;
use crate::app::App;
use crate::domain::{Actor, Op};
use crate::error::Result;
use crate::runtime::jobs::JobOutcome;
use crate::webhooks::signature;

pub const KIND_TWILIO: &str = "carrier_twilio";
pub const KIND_RELAY: &str = "carrier_relay";
const ATTEMPTS: i64 = 5;
const TIMEOUT_MS: u64 = 10_000;

/// A sender's carrier settings (`phone_numbers.carrier_config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CarrierConfig {
    /// Twilio: the operator's Account SID and Auth Token for the Messaging API.
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    /// Twilio: the API origin (https://api.twilio.com unless testing).
    pub twilio_api_base: Option<String>,
    /// Relay: where outbound messages are POSTed, and the secret that signs both ways.
    pub relay_url: Option<String>,
    pub relay_secret: Option<String>,
}

impl CarrierConfig {
    pub fn parse(text: &str) -> CarrierConfig {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// The sender row of a Parley address, if one is configured.
pub fn sender(op: &mut Op<'_, '_>, address: &str) -> Result<Option<PhoneNumberRow>> {
    Ok(op.tx.find::<PhoneNumberRow>(
        "account_sid = ?1 AND phone_number = ?2",
        &[Param::Text(op.account_sid), Param::Text(address)],
    )?)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outbound {
    sid: String,
    from: String,
    to: String,
    body: Option<String>,
    media_urls: Vec<String>,
    conversation_sid: Option<String>,
    execution_sid: Option<String>,
}

/// Queues a message for a real carrier.
pub fn enqueue(op: &mut Op<'_, '_>, carrier: &str, msg: &OutboundSms) -> Result<()> {
    let kind = if carrier == "twilio" {
        KIND_TWILIO
    } else {
        KIND_RELAY
    };
    let payload = Outbound {
        sid: msg.sid.clone(),
        from: msg.from.clone(),
        to: msg.to.clone(),
        body: msg.body.clone(),
        media_urls: msg.media_urls.clone(),
        conversation_sid: msg.conversation_sid.clone(),
        execution_sid: msg.execution_sid.clone(),
    };
    op.schedule_job(&NewJob {
        key: format!("{kind}:{}", msg.sid),
        kind: kind.into(),
        account_sid: op.account_sid.to_string(),
        run_at: op.now,
        max_attempts: ATTEMPTS,
        payload: serde_json::to_string(&payload).unwrap_or_default(),
    })
}

/// The origin carriers call back on (the configured public URL, else the bound address).
fn callback_base(app: &App) -> String {
    app.config()
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{}", app.config().bound_addr_string()))
}

pub fn status_callback(
    app: &App,
    carrier: &str,
    account_sid: &str,
    from: &str,
    msg_sid: &str,
    execution_sid: Option<&str>,
) -> String {
    let from: String = form_urlencoded::byte_serialize(from.as_bytes()).collect();
    let mut u = format!(
        "{}/webhooks/{carrier}/{account_sid}/status?ParleySid={msg_sid}&From={from}",
        callback_base(app)
    );
    if let Some(e) = execution_sid {
        u.push_str(&format!("&ExecutionSid={e}"));
    }
    u
}

enum Attempt {
    Sent,
    Failed { code: i64, reason: String },
    Retry(String),
}

pub async fn run(app: &App, job: &JobRow) -> Result<JobOutcome> {
    let Ok(msg) = serde_json::from_str::<Outbound>(&job.payload) else {
        return Ok(JobOutcome::Retry("unreadable carrier job".into()));
    };
    let (acct, from) = (job.account_sid.clone(), msg.from.clone());
    let sender = app
        .store()
        .read(move |tx| -> Result<Option<PhoneNumberRow>> {
            Ok(tx.find::<PhoneNumberRow>(
                "account_sid = ?1 AND phone_number = ?2",
                &[Param::Text(&acct), Param::Text(&from)],
            )?)
        })
        .await?;
    let attempt = match sender {
        None => Attempt::Failed {
            code: 30003,
            reason: format!("{} has no carrier configured any more", msg.from),
        },
        Some(s) => {
            let cfg = CarrierConfig::parse(&s.carrier_config);
            if job.kind == KIND_TWILIO {
                send_twilio(app, &job.account_sid, &cfg, &msg).await
            } else {
                send_relay(app, &job.account_sid, &cfg, &msg).await
            }
        }
    };
    let give_up = job.attempts >= job.max_attempts;
    let (code, reason) = match attempt {
        Attempt::Sent => {
            finish(app, job).await?;
            return Ok(JobOutcome::Done);
        }
        Attempt::Retry(reason) if !give_up => return Ok(JobOutcome::Retry(reason)),
        Attempt::Retry(reason) => (30008, reason),
        Attempt::Failed { code, reason } => (code, reason),
    };
    tracing::warn!(message = %msg.sid, %reason, "carrier delivery failed");
    let (key, run_at) = (job.job_key.clone(), job.run_at);
    record_status(
        app,
        &job.account_sid,
        &msg.sid,
        msg.execution_sid.as_deref(),
        "failed",
        code,
        move |op| {
            op.tx.finish_job(&key, run_at)?;
            Ok(())
        },
    )
    .await?;
    Ok(JobOutcome::Done)
}

async fn finish(app: &App, job: &JobRow) -> Result<()> {
    let (key, run_at) = (job.job_key.clone(), job.run_at);
    app.store()
        .write(move |tx| -> Result<()> {
            tx.finish_job(&key, run_at)?;
            Ok(())
        })
        .await
}

async fn send_twilio(app: &App, account_sid: &str, cfg: &CarrierConfig, msg: &Outbound) -> Attempt {
    let (Some(sid), Some(token)) = (&cfg.twilio_account_sid, &cfg.twilio_auth_token) else {
        return Attempt::Failed {
            code: 30003,
            reason: "the Twilio carrier has no TwilioAccountSid/TwilioAuthToken".into(),
        };
    };
    let base = cfg
        .twilio_api_base
        .clone()
        .unwrap_or_else(|| "https://api.twilio.com".into());
    let url = format!(
        "{}/2010-04-01/Accounts/{sid}/Messages.json",
        base.trim_end_matches('/')
    );
    let mut form: Vec<(String, String)> = vec![
        ("From".into(), msg.from.clone()),
        ("To".into(), msg.to.clone()),
    ];
    if let Some(b) = &msg.body {
        form.push(("Body".into(), b.clone()));
    }
    for m in &msg.media_urls {
        form.push(("MediaUrl".into(), m.clone()));
    }
    form.push((
        "StatusCallback".into(),
        status_callback(
            app,
            "twilio",
            account_sid,
            &msg.from,
            &msg.sid,
            msg.execution_sid.as_deref(),
        ),
    ));
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let resp = app
        .http()
        .post(&url)
        .basic_auth(sid, Some(token))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encoded)
        .timeout(Duration::from_millis(TIMEOUT_MS))
        .send()
        .await;
    classify(resp).await
}

async fn send_relay(app: &App, account_sid: &str, cfg: &CarrierConfig, msg: &Outbound) -> Attempt {
    let Some(url) = &cfg.relay_url else {
        return Attempt::Failed {
            code: 30003,
            reason: "the relay carrier has no RelayUrl".into(),
        };
    };
    if let Err(reason) = crate::webhooks::guard::check_url(app, url).await {
        return Attempt::Failed {
            code: 30003,
            reason,
        };
    }
    let body = serde_json::json!({
        "sid": msg.sid,
        "account_sid": account_sid,
        "from": msg.from,
        "to": msg.to,
        "body": msg.body,
        "media_urls": msg.media_urls,
        "status_callback": status_callback(app, "relay", account_sid, &msg.from, &msg.sid, msg.execution_sid.as_deref()),
    })
    .to_string();
    let key = cfg.relay_secret.clone().unwrap_or_default();
    let (signed_url, sig) = signature::sign_json(&key, url, body.as_bytes());
    let resp = app
        .http()
        .post(&signed_url)
        .header("Content-Type", "application/json")
        .header("X-Twilio-Signature", sig)
        .body(body)
        .timeout(Duration::from_millis(TIMEOUT_MS))
        .send()
        .await;
    classify(resp).await
}

async fn classify(resp: std::result::Result<reqwest::Response, reqwest::Error>) -> Attempt {
    match resp {
        Err(e) => Attempt::Retry(format!("carrier unreachable: {e}")),
        Ok(r) if r.status().is_success() => Attempt::Sent,
        Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["code"].as_i64())
                .unwrap_or(30008);
            Attempt::Failed {
                code,
                reason: format!(
                    "carrier refused the message (HTTP {status}): {}",
                    text.chars().take(300).collect::<String>()
                ),
            }
        }
        Ok(r) => Attempt::Retry(format!("carrier answered HTTP {}", r.status().as_u16())),
    }
}

/// Applies a delivery status to the message it concerns: its receipt (conversation
/// messages) and, for a failure, the flow that waits on it (`deliveryFailure`).
pub async fn record_status(
    app: &App,
    account_sid: &str,
    message_sid: &str,
    execution_sid: Option<&str>,
    status: &str,
    error_code: i64,
    also: impl Fn(&mut Op<'_, '_>) -> Result<()> + Send + 'static,
) -> Result<()> {
    let (msg, exec, status) = (
        message_sid.to_string(),
        execution_sid.map(str::to_string),
        status.to_string(),
    );
    crate::domain::run(app, account_sid, Actor::system(), move |op| {
        also(op)?;
        apply_status(op, &msg, exec.as_deref(), &status, error_code)
    })
    .await
}

/// Twilio's statuses mapped onto receipt statuses; `None` for ones a receipt does not track.
pub fn receipt_status(carrier_status: &str) -> Option<&'static str> {
    match carrier_status {
        "sent" | "queued" | "sending" | "accepted" => Some("sent"),
        "delivered" => Some("delivered"),
        "read" => Some("read"),
        "undelivered" => Some("undelivered"),
        "failed" => Some("failed"),
        _ => None,
    }
}

pub fn apply_status(
    op: &mut Op<'_, '_>,
    message_sid: &str,
    execution_sid: Option<&str>,
    status: &str,
    error_code: i64,
) -> Result<()> {
    let Some(new_status) = receipt_status(status) else {
        return Ok(());
    };
    if let Some(mut r) = op.tx.find::<parley_store::ReceiptRow>(
        "channel_message_sid = ?1 AND account_sid = ?2",
        &[Param::Text(message_sid), Param::Text(op.account_sid)],
    )? {
        // failed and undelivered are final; a late "sent" never overwrites "delivered".
        let rank = |s: &str| match s {
            "sent" => 1,
            "delivered" => 2,
            "read" => 3,
            _ => 4,
        };
        if rank(new_status) > rank(&r.status) {
            r.status = new_status.into();
            r.error_code = error_code;
            r.date_updated = op.now;
            op.tx.update(&r)?;
            op.emit(crate::domain::DomainEvent::DeliveryUpdated {
                receipt: r,
                conversation: None,
            });
        }
    }
    if matches!(new_status, "failed" | "undelivered")
        && let Some(e) = execution_sid
        && let Some(exec) = op.tx.get::<parley_store::ExecutionRow>(e)?
        && exec.account_sid == op.account_sid
    {
        crate::runtime::studio::resume(
            op,
            exec,
            parley_flow::Event::DeliveryFailed {
                message_sid: message_sid.to_string(),
                error_code: Some(error_code),
                error_message: Some(format!("the carrier reported {status}")),
            },
        )?;
    }
    Ok(())
}
