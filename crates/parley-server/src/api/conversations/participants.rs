//! `…/Conversations/{ConversationSid}/Participants`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use parley_store::{Param, ParticipantRow};

use super::conversations::conversation_of;
use super::views;
use crate::api::lists::render;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::participants::{self as parts, ParticipantInput};
use crate::domain::{self, Actor, services};
use crate::error::Result;
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, WebhookEnabled, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/Conversations/{ConversationSid}/Participants",
            post(create).get(list),
        )
        .route(
            "/Conversations/{ConversationSid}/Participants/{Sid}",
            get(fetch).post(update).delete(remove),
        )
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
    let conv_id = pp.get("ConversationSid")?.to_string();
    let input = ParticipantInput::parse(&p)?;
    let s2 = scope.clone();
    let (base, participant) = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, s2.service.as_deref())?;
        let mut conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        let participant = parts::create(op, &service, &mut conv, input.clone())?;
        Ok((s2.base(&service.sid), participant))
    })
    .await?;
    Ok(json::created(&views::participant(
        &origin,
        &base,
        &participant,
    )))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("Sid")?.to_string();
    let s2 = scope.clone();
    let p = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        parts::get(tx, &conv.sid, &id)
    })
    .await?;
    Ok(json::ok(&views::participant(
        &origin,
        &scope.base(&p.service_sid),
        &p,
    )))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    WebhookEnabled(wh): WebhookEnabled,
    Form(p): Form,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("Sid")?.to_string();
    let input = ParticipantInput::parse(&p)?;
    let s2 = scope.clone();
    let participant = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, s2.service.as_deref())?;
        let conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        let existing = parts::get(op.tx, &conv.sid, &id)?;
        parts::update(op, &service, &conv, existing, input.clone())
    })
    .await?;
    Ok(json::ok(&views::participant(
        &origin,
        &scope.base(&participant.service_sid),
        &participant,
    )))
}

async fn remove(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    WebhookEnabled(wh): WebhookEnabled,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("Sid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &scope, &conv_id)?;
        let existing = parts::get(op.tx, &conv.sid, &id)?;
        parts::delete(op, &conv, existing)
    })
    .await?;
    Ok(json::no_content())
}

async fn list(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let page = PageQuery::from_params(&q, 100)?;
    let req = page.request(false);
    let s2 = scope.clone();
    let (conv, rows) = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let rows =
            tx.page::<ParticipantRow>("conversation_sid = ?1", &[Param::Text(&conv.sid)], &req)?;
        Ok((conv, rows))
    })
    .await?;
    let base = scope.base(&conv.service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Conversations/{}/Participants", conv.sid),
        key: "participants",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |p| {
        views::participant(&origin, &base, p)
    }))
}
