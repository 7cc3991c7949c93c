//! `POST …/ConversationWithParticipants`: a conversation and up to ten participants in one
//! request. Twilio adds the participants asynchronously from an `initializing` state;
//! Parley adds them in the same transaction and answers with the conversation `active`
//! (a documented, client-compatible choice), so a failure leaves nothing behind.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::Value;

use super::views;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::conversations::{self as convs, ConversationInput};
use crate::domain::participants::{self as parts, ParticipantInput};
use crate::domain::{self, Actor, services};
use crate::error::{Error, Result, codes};
use crate::wire::{Account, Form, Origin, WebhookEnabled, json};

const MAX_PARTICIPANTS: usize = 10;

pub fn routes() -> Router<App> {
    Router::new().route("/ConversationWithParticipants", post(create))
}

fn participant_input(raw: &str) -> Result<ParticipantInput> {
    let bad = |why: &str| {
        Error::api(
            codes::CWP_BAD_PARTICIPANT,
            format!("Participant '{raw}' is invalid: {why}"),
        )
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| bad(&e.to_string()))?;
    let obj = v.as_object().ok_or_else(|| bad("expected a JSON object"))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let binding = obj.get("messaging_binding").and_then(Value::as_object);
    let input = ParticipantInput {
        identity: text(obj.get("identity")),
        address: binding.and_then(|b| text(b.get("address"))),
        proxy_address: binding.and_then(|b| text(b.get("proxy_address"))).map(Some),
        projected_address: binding
            .and_then(|b| text(b.get("projected_address")))
            .map(Some),
        attributes: match obj.get("attributes") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
            None => None,
        },
        role_sid: text(obj.get("role_sid")),
        ..Default::default()
    };
    if input.identity.is_none() && input.address.is_none() && input.projected_address.is_none() {
        return Err(bad("give identity or messaging_binding"));
    }
    Ok(input)
}

async fn create(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    WebhookEnabled(wh): WebhookEnabled,
    Form(p): Form,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let input = ConversationInput::parse(&p)?;
    let raw = p.all("Participant");
    if raw.len() > MAX_PARTICIPANTS {
        return Err(Error::api(
            codes::CWP_TOO_MANY,
            format!("At most {MAX_PARTICIPANTS} participants can be given"),
        ));
    }
    let participants = raw
        .into_iter()
        .map(participant_input)
        .collect::<Result<Vec<_>>>()?;
    let svc = scope.service.clone();
    let conv = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        let mut conv = convs::create(op, &service, input.clone())?;
        for pi in participants.clone() {
            parts::create(op, &service, &mut conv, pi).map_err(|e| match e {
                Error::Api { code, message, .. } if code == codes::BINDING_EXISTS => {
                    Error::api(codes::CWP_BINDING_EXISTS, message)
                }
                other => other,
            })?;
        }
        Ok(conv)
    })
    .await?;
    Ok(json::created(&views::conversation(
        &origin,
        &scope.base(&conv.service_sid),
        &conv,
    )))
}
