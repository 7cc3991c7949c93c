//! Pre-event webhooks (`onMessageAdd`, `onConversationAdd`, …) on the service and the
//! account: Parley asks before acting. Any non-2xx answer rejects the action; a 2xx with a
//! JSON object changes the fields it names; no answer within 5 s lets the action go ahead
//! unchanged (Twilio's documented behaviour). They run before the transaction, so a slow
//! hook never holds the store.

use std::time::Duration;

use parley_store::{AccountConfigRow, ServiceRow};
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::Result;
use crate::webhooks::signature;

#[derive(Debug, Clone, PartialEq)]
pub enum PreOutcome {
    /// Go ahead, with these fields replaced (empty: unchanged).
    Proceed(Map<String, Value>),
    Reject(String),
}

/// A pre-event webhook: its URL, method and Filters (JSON array text).
type PreTarget = (String, String, String);

fn wants(filters: &str, event: &str) -> bool {
    serde_json::from_str::<Vec<String>>(filters)
        .unwrap_or_default()
        .iter()
        .any(|f| f == event)
}

/// Asks the service's and then the account's pre-event webhook (those whose Filters name
/// `event`). The first rejection wins; changes accumulate.
pub async fn check(
    app: &App,
    account_sid: &str,
    service_sid: Option<&str>,
    event: &str,
    fields: Vec<(String, String)>,
) -> Result<PreOutcome> {
    let (acct, svc) = (account_sid.to_string(), service_sid.map(str::to_string));
    let (signer, targets) = app
        .store()
        .read(move |tx| -> Result<(signature::Signer, Vec<PreTarget>)> {
            let signer = signature::Signer::load(tx, &acct)?;
            let mut t = Vec::new();
            if let Some(s) = svc
                && let Some(s) = tx.get::<ServiceRow>(&s)?
                && let Some(url) = s.webhook_pre_url.clone()
            {
                t.push((url, s.webhook_method.clone(), s.webhook_filters.clone()));
            }
            if let Some(c) = tx.get::<AccountConfigRow>(&acct)?
                && let Some(url) = c.webhook_pre_url.clone()
            {
                t.push((url, c.webhook_method.clone(), c.webhook_filters.clone()));
            }
            Ok((signer, t))
        })
        .await?;
    let mut changes = Map::new();
    for (url, method, filters) in targets {
        if !wants(&filters, event) {
            continue;
        }
        let mut all = vec![
            ("AccountSid".to_string(), account_sid.to_string()),
            ("EventType".to_string(), event.to_string()),
        ];
        all.extend(fields.iter().cloned());
        match ask(app, &signer, &url, &method, &all).await {
            Asked::Rejected(why) => return Ok(PreOutcome::Reject(why)),
            Asked::Changed(m) => changes.extend(m),
            Asked::Unchanged => {}
        }
    }
    Ok(PreOutcome::Proceed(changes))
}

enum Asked {
    Unchanged,
    Changed(Map<String, Value>),
    Rejected(String),
}

async fn ask(
    app: &App,
    signer: &signature::Signer,
    url: &str,
    method: &str,
    fields: &[(String, String)],
) -> Asked {
    if let Err(reason) = crate::webhooks::guard::check_url(app, url).await {
        tracing::warn!(url = %crate::webhooks::guard::redact(url), %reason, "pre-event webhook not called");
        return Asked::Unchanged;
    }
    let Ok(req) = signer.request(app.http(), url, method, fields) else {
        return Asked::Unchanged;
    };
    match req
        .timeout(Duration::from_millis(app.config().webhook_timeout_ms))
        .send()
        .await
    {
        Err(e) => {
            // Twilio goes ahead when the hook does not answer in time.
            tracing::warn!(url = %crate::webhooks::guard::redact(url), error = %e, "pre-event webhook did not answer; going ahead unchanged");
            Asked::Unchanged
        }
        Ok(resp) if !resp.status().is_success() => Asked::Rejected(format!(
            "rejected by the pre-event webhook {url} (HTTP {})",
            resp.status().as_u16()
        )),
        Ok(resp) => {
            let text = resp.text().await.unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) if !m.is_empty() => Asked::Changed(m),
                _ => Asked::Unchanged,
            }
        }
    }
}
