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
    let (token, targets) = app
        .store()
        .read(move |tx| -> Result<(String, Vec<PreTarget>)> {
            let token = tx
                .get::<parley_store::AccountRow>(&acct)?
                .map(|a| a.auth_token)
                .unwrap_or_default();
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
            Ok((token, t))
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
        match ask(app, &token, &url, &method, &all).await {
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
    token: &str,
    url: &str,
    method: &str,
    fields: &[(String, String)],
) -> Asked {
    if let Err(reason) = crate::webhooks::guard::check_url(app, url).await {
        tracing::warn!(url = %crate::webhooks::guard::redact(url), %reason, "pre-event webhook not called");
        return Asked::Unchanged;
    }
    let req = if method.eq_ignore_ascii_case("GET") {
        let Ok(mut u) = url::Url::parse(url) else {
            return Asked::Unchanged;
        };
        u.query_pairs_mut().extend_pairs(fields.iter());
        let full = u.to_string();
        let sig = signature::sign_form(token, &full, &[]);
        app.http().get(full).header("X-Twilio-Signature", sig)
    } else {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter())
            .finish();
        let sig = signature::sign_form(token, url, fields);
        app.http()
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", sig)
            .body(body)
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
