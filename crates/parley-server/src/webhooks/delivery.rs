//! Durable webhook deliveries. Enqueuing writes a `webhook_deliveries` row (what an operator
//! sees) and a job, in the transaction that caused the event. The job POSTs (or GETs) the
//! signed form, waits at most 5 s, and retries with backoff; after the last attempt the
//! delivery is marked `failed` — visibly — and the conversation goes on regardless.

use std::time::Duration;

use parley_store::{JobRow, NewJob, WebhookDeliveryRow};

use crate::app::App;
use crate::domain::Op;
use crate::error::Result;
use crate::runtime::jobs::{JobOutcome, backoff_ms};
use crate::webhooks::signature;

pub const KIND_WEBHOOK: &str = "webhook";
/// Twilio's Conversations webhook timeout (the default of `Config::webhook_timeout_ms`).
pub const TIMEOUT_MS: u64 = 5_000;
/// Attempts for a post-event webhook (first try + retries).
pub const DEFAULT_ATTEMPTS: i64 = 3;

pub struct Delivery {
    pub url: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
    pub event_type: String,
    pub conversation_sid: Option<String>,
    pub webhook_sid: Option<String>,
    pub max_attempts: i64,
}

pub fn enqueue(op: &mut Op<'_, '_>, d: Delivery) -> Result<()> {
    let mut row = WebhookDeliveryRow {
        seq: 0,
        sid: op.sid("WD"),
        account_sid: op.account_sid.to_string(),
        conversation_sid: d.conversation_sid,
        webhook_sid: d.webhook_sid,
        event_type: d.event_type,
        url: d.url.clone(),
        method: d.method.to_ascii_uppercase(),
        status: "pending".into(),
        attempts: 0,
        response_status: None,
        last_error: None,
        date_created: op.now,
        date_updated: op.now,
    };
    row.seq = op.tx.insert(&row)?;
    op.schedule_job(&NewJob {
        key: format!("{KIND_WEBHOOK}:{}", row.sid),
        kind: KIND_WEBHOOK.into(),
        account_sid: op.account_sid.to_string(),
        run_at: op.now,
        max_attempts: d.max_attempts.max(1),
        payload: serde_json::json!({
            "delivery_sid": row.sid,
            // Deliveries of one conversation run in order (runtime::jobs lanes).
            "lane": row.conversation_sid.clone().unwrap_or_else(|| op.account_sid.to_string()),
            "url": d.url,
            "method": row.method,
            "fields": d.fields,
        })
        .to_string(),
    })
}

/// Makes one attempt and records its outcome (and the job's) in one transaction.
pub async fn run(app: &App, job: &JobRow) -> Result<JobOutcome> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let delivery_sid = payload["delivery_sid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let url = payload["url"].as_str().unwrap_or_default().to_string();
    let method = payload["method"].as_str().unwrap_or("POST").to_string();
    let mut fields: Vec<(String, String)> =
        serde_json::from_value(payload["fields"].clone()).unwrap_or_default();
    fields.push(("RetryCount".into(), (job.attempts - 1).max(0).to_string()));

    let account = job.account_sid.clone();
    let signer = app
        .store()
        .read(move |tx| -> Result<signature::Signer> { Ok(signature::Signer::load(tx, &account)?) })
        .await?;
    let outcome = attempt(app, &signer, &url, &method, &fields, &delivery_sid).await;

    let now = app.now_ms();
    let key = job.job_key.clone();
    let run_at = job.run_at;
    let attempts = job.attempts;
    let give_up = attempts >= job.max_attempts;
    let next = now + backoff_ms(attempts);
    let recorded = outcome.clone();
    app.store()
        .write(move |tx| -> Result<()> {
            let mut row = tx.get::<WebhookDeliveryRow>(&delivery_sid)?;
            let (status, code, error) = match &recorded {
                Ok(code) => ("delivered", Some(*code as i64), None),
                Err((code, e)) if give_up => ("failed", code.map(|c| c as i64), Some(e.clone())),
                Err((code, e)) => ("retrying", code.map(|c| c as i64), Some(e.clone())),
            };
            if let Some(r) = row.as_mut() {
                r.status = status.into();
                r.attempts = attempts;
                r.response_status = code;
                r.last_error = error.clone();
                r.date_updated = now;
                tx.update(r)?;
            }
            match (&recorded, give_up) {
                (Ok(_), _) | (Err(_), true) => tx.finish_job(&key, run_at)?,
                (Err((_, e)), false) => tx.retry_job(&key, run_at, next, e)?,
            }
            Ok(())
        })
        .await?;
    if let Err((_, e)) = &outcome {
        if give_up {
            tracing::warn!(url = %crate::webhooks::guard::redact(&url), attempts, error = %e, "webhook delivery failed; giving up");
        } else {
            tracing::info!(url = %crate::webhooks::guard::redact(&url), attempts, error = %e, "webhook delivery failed; will retry");
        }
    }
    Ok(JobOutcome::Done)
}

/// One HTTP attempt: Ok(status) on 2xx, Err((status, reason)) otherwise.
async fn attempt(
    app: &App,
    signer: &signature::Signer,
    url: &str,
    method: &str,
    fields: &[(String, String)],
    delivery_sid: &str,
) -> std::result::Result<u16, (Option<u16>, String)> {
    if let Err(reason) = crate::webhooks::guard::check_url(app, url).await {
        return Err((None, reason));
    }
    let req = signer
        .request(app.http(), url, method, fields)
        .map_err(|e| (None, e))?;
    let resp = req
        .header("I-Twilio-Idempotency-Token", delivery_sid)
        .timeout(Duration::from_millis(app.config().webhook_timeout_ms))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                (
                    None,
                    format!("no answer within {} ms", app.config().webhook_timeout_ms),
                )
            } else {
                (
                    None,
                    format!(
                        "cannot reach {}: {}",
                        crate::webhooks::guard::redact(url),
                        e.without_url()
                    ),
                )
            }
        })?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        Ok(status)
    } else {
        Err((
            Some(status),
            format!(
                "{} answered HTTP {status}",
                crate::webhooks::guard::redact(url)
            ),
        ))
    }
}
