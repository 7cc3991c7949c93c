//! `/v1/Accounts/{AccountSid}/Flows/{FlowSid}`: a flow's incoming-message webhook, what a
//! phone number's SMS URL points at. It takes Twilio's inbound-SMS form fields and answers
//! with empty TwiML (the flow replies through its own send widgets). Authenticated like a
//! Twilio webhook (a valid `X-Twilio-Signature` made with the account's Auth Token) or with
//! the account's Basic credentials.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parley_store::AccountRow;
use serde_json::{Map, Value};

use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::{self, Actor, flows};
use crate::error::{Error, Result};
use crate::runtime::studio_sms;
use crate::webhooks::signature;
use crate::wire::{Form, Origin};

pub fn routes() -> Router<App> {
    Router::new().route("/v1/Accounts/{AccountSid}/Flows/{FlowSid}", post(incoming))
}

pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

pub fn twiml(body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    r
}

/// Accepts a Twilio signature over `url` + form, or Basic credentials of `account_sid`.
pub async fn authorize_webhook(
    app: &App,
    account_sid: &str,
    headers: &HeaderMap,
    url: &str,
    pairs: &[(String, String)],
) -> Result<()> {
    if let Some(sig) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    {
        let sid = account_sid.to_string();
        let acct = domain::read(app, move |tx| Ok(tx.get::<AccountRow>(&sid)?)).await?;
        if let Some(a) = acct.filter(|a| a.status == "active")
            && signature::validate_form(&a.auth_token, url, pairs, sig)
        {
            return Ok(());
        }
        return Err(Error::api(
            crate::error::codes::AUTHENTICATION_FAILED,
            "Invalid X-Twilio-Signature",
        ));
    }
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.headers = headers.clone();
    let acct = <crate::wire::Account as axum::extract::FromRequestParts<App>>::from_request_parts(
        &mut parts, app,
    )
    .await?;
    if acct.sid != account_sid {
        return Err(Error::not_found("/Accounts"));
    }
    Ok(())
}

async fn incoming(
    State(app): State<App>,
    pp: PathParams,
    origin: Origin,
    uri: Uri,
    headers: HeaderMap,
    Form(p): Form,
) -> Result<Response> {
    let account_sid = pp.get("AccountSid")?.to_string();
    let flow_sid = pp.get("FlowSid")?.to_string();
    let url = origin.url(&uri.to_string());
    authorize_webhook(&app, &account_sid, &headers, &url, p.pairs()).await?;
    let from = p.required("From")?.to_string();
    p.required("To")?;
    let mut message: Map<String, Value> = Map::new();
    for (k, v) in p.pairs() {
        message
            .entry(k.clone())
            .or_insert_with(|| Value::String(v.clone()));
    }
    message
        .entry("AccountSid".to_string())
        .or_insert_with(|| Value::String(account_sid.clone()));
    message
        .entry("Body".to_string())
        .or_insert_with(|| Value::String(String::new()));
    let actor = Actor {
        source: crate::domain::Source::Sms,
        fire_webhooks: true,
    };
    domain::run(&app, &account_sid, actor, move |op| {
        let mut message = message.clone();
        if !message.contains_key("MessageSid") {
            message.insert("MessageSid".into(), Value::String(op.sid("SM")));
        }
        let flow = flows::shared(op.tx, op.account_sid, &flow_sid)?;
        let _ = &from;
        studio_sms::inbound_to_flow(op, flow, message)
    })
    .await?;
    Ok(twiml(EMPTY_TWIML))
}
