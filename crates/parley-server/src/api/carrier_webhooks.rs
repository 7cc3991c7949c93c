//! Carrier ingress: where real carriers deliver inbound messages and delivery statuses.
//! - `/webhooks/twilio/{AccountSid}` takes a real Twilio number's inbound-SMS webhook
//!   (Twilio's form fields), checked with `X-Twilio-Signature` and the sender's Twilio
//!   Auth Token; `…/status` takes its status callbacks.
//! - `/webhooks/relay/{AccountSid}` takes the generic relay's JSON
//!   (`{"from","to","body","media_urls"}`), signed with the relay secret (JSON variant:
//!   `bodySHA256` in the URL) or sent with the account's Basic credentials; `…/status`
//!   takes `{"sid","status","error_code"}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parley_store::{Param, PhoneNumberRow};
use serde::Deserialize;

use crate::api::params::PathParams;
use crate::api::studio::flow_webhook::{EMPTY_TWIML, authorize_webhook, twiml};
use crate::app::App;
use crate::channels::carriers::{self, CarrierConfig};
use crate::error::{Error, Result, codes};
use crate::runtime::ingress::{self, Inbound};
use crate::webhooks::signature;
use crate::wire::{Origin, Params};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/webhooks/twilio/{AccountSid}", post(twilio_inbound))
        .route("/webhooks/twilio/{AccountSid}/status", post(twilio_status))
        .route("/webhooks/relay/{AccountSid}", post(relay_inbound))
        .route("/webhooks/relay/{AccountSid}/status", post(relay_status))
}

async fn sender(
    app: &App,
    account_sid: &str,
    address: &str,
    carrier: &'static str,
) -> Result<CarrierConfig> {
    let (a, addr) = (account_sid.to_string(), address.to_string());
    let row = app
        .store()
        .read(move |tx| -> Result<Option<PhoneNumberRow>> {
            Ok(tx.find::<PhoneNumberRow>(
                "account_sid = ?1 AND phone_number = ?2",
                &[Param::Text(&a), Param::Text(&addr)],
            )?)
        })
        .await?;
    match row {
        Some(r) if r.carrier == carrier => Ok(CarrierConfig::parse(&r.carrier_config)),
        _ => Err(Error::api(
            codes::AUTHENTICATION_FAILED,
            format!("{address} is not a {carrier} sender of this account"),
        )),
    }
}

/// Twilio signs with the Auth Token of its own account (the one the sender is set up with).
async fn check_twilio_signature(
    app: &App,
    account_sid: &str,
    sender_address: &str,
    headers: &HeaderMap,
    url: &str,
    p: &Params,
) -> Result<()> {
    let cfg = sender(app, account_sid, sender_address, "twilio").await?;
    let token = cfg.twilio_auth_token.unwrap_or_default();
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token.is_empty() || !signature::validate_form(&token, url, p.pairs(), sig) {
        return Err(Error::api(
            codes::AUTHENTICATION_FAILED,
            "Invalid or missing X-Twilio-Signature",
        ));
    }
    Ok(())
}

fn media_urls(p: &Params) -> Vec<String> {
    let n = p.int("NumMedia").ok().flatten().unwrap_or(0).clamp(0, 10);
    (0..n)
        .filter_map(|i| p.owned(&format!("MediaUrl{i}")))
        .collect()
}

async fn twilio_inbound(
    State(app): State<App>,
    pp: PathParams,
    origin: Origin,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let account_sid = pp.get("AccountSid")?.to_string();
    let p = Params::parse(&body);
    let from = p.required("From")?.to_string();
    let to = p.required("To")?.to_string();
    check_twilio_signature(
        &app,
        &account_sid,
        &to,
        &headers,
        &origin.url(&uri.to_string()),
        &p,
    )
    .await?;
    let sid = p
        .owned("MessageSid")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| app.sid("SM"));
    let inbound = Inbound::new(sid, from, to, p.owned("Body"), media_urls(&p));
    let routed = ingress::receive(&app, &account_sid, inbound).await?;
    tracing::debug!(?routed, "twilio inbound");
    Ok(twiml(EMPTY_TWIML))
}

async fn twilio_status(
    State(app): State<App>,
    pp: PathParams,
    origin: Origin,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let account_sid = pp.get("AccountSid")?.to_string();
    let p = Params::parse(&body);
    let q = Params::parse(uri.query().unwrap_or("").as_bytes());
    let from = p.required("From")?.to_string();
    check_twilio_signature(
        &app,
        &account_sid,
        &from,
        &headers,
        &origin.url(&uri.to_string()),
        &p,
    )
    .await?;
    let message_sid = q
        .owned("ParleySid")
        .or_else(|| p.owned("MessageSid"))
        .unwrap_or_default();
    let status = p
        .owned("MessageStatus")
        .or_else(|| p.owned("SmsStatus"))
        .unwrap_or_default();
    let code = p.int("ErrorCode").ok().flatten().unwrap_or(0);
    carriers::record_status(
        &app,
        &account_sid,
        &message_sid,
        q.text("ExecutionSid"),
        &status,
        code,
        |_| Ok(()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct RelayInbound {
    from: String,
    to: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    media_urls: Vec<String>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct RelayStatus {
    #[serde(default)]
    sid: Option<String>,
    status: String,
    #[serde(default)]
    error_code: Option<i64>,
}

/// The relay signs JSON like Twilio does (`bodySHA256=<hex>` in the URL, signature over the
/// URL) with its shared secret; a relay without a secret uses the account's credentials.
async fn check_relay(
    app: &App,
    account_sid: &str,
    sender_address: &str,
    headers: &HeaderMap,
    url: &str,
    body: &[u8],
) -> Result<()> {
    let cfg = sender(app, account_sid, sender_address, "relay").await?;
    if let (Some(secret), Some(sig)) = (
        cfg.relay_secret,
        headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok()),
    ) {
        let unsigned = strip_body_hash(url);
        let (expected_url, expected) = signature::sign_json(&secret, &unsigned, body);
        if url == expected_url && expected == sig {
            return Ok(());
        }
        return Err(Error::api(
            codes::AUTHENTICATION_FAILED,
            "Invalid X-Twilio-Signature for this relay",
        ));
    }
    authorize_webhook(app, account_sid, headers, url, &[]).await
}

fn strip_body_hash(url: &str) -> String {
    match url.find("bodySHA256=") {
        Some(i) => url[..i].trim_end_matches(['?', '&']).to_string(),
        None => url.to_string(),
    }
}

async fn relay_inbound(
    State(app): State<App>,
    pp: PathParams,
    origin: Origin,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let account_sid = pp.get("AccountSid")?.to_string();
    let msg: RelayInbound = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid(format!("body is not the relay's JSON message: {e}")))?;
    check_relay(
        &app,
        &account_sid,
        &msg.to,
        &headers,
        &origin.url(&uri.to_string()),
        &body,
    )
    .await?;
    let sid = msg
        .id
        .clone()
        .filter(|s| crate::core::sid::is_sid(s, "SM"))
        .unwrap_or_else(|| app.sid("SM"));
    let routed = ingress::receive(
        &app,
        &account_sid,
        Inbound::new(sid.clone(), msg.from, msg.to, msg.body, msg.media_urls),
    )
    .await?;
    let mut out = serde_json::json!({ "sid": sid });
    if let (serde_json::Value::Object(o), Ok(serde_json::Value::Object(r))) =
        (&mut out, serde_json::to_value(&routed))
    {
        o.extend(r);
    }
    Ok(crate::wire::json::ok(&out))
}

async fn relay_status(
    State(app): State<App>,
    pp: PathParams,
    origin: Origin,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let account_sid = pp.get("AccountSid")?.to_string();
    let st: RelayStatus = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid(format!("body is not a relay status: {e}")))?;
    let q = Params::parse(uri.query().unwrap_or("").as_bytes());
    let message_sid = q.owned("ParleySid").or(st.sid).unwrap_or_default();
    // The callback URL names the sender the message went out from.
    let sender_address = q.owned("From").unwrap_or_default();
    check_relay(
        &app,
        &account_sid,
        &sender_address,
        &headers,
        &origin.url(&uri.to_string()),
        &body,
    )
    .await?;
    carriers::record_status(
        &app,
        &account_sid,
        &message_sid,
        q.text("ExecutionSid"),
        &st.status,
        st.error_code.unwrap_or(0),
        |_| Ok(()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
