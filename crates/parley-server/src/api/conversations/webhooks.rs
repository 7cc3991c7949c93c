//! `…/Conversations/{ConversationSid}/Webhooks` (conversation-scoped webhooks).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{ConversationWebhookRow, Param};

use super::conversations::conversation_of;
use super::views;
use crate::api::lists::render;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::webhooks::{self as hooks, WebhookInput};
use crate::domain::{self, Actor};
use crate::error::Result;
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, WebhookEnabled, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/Conversations/{ConversationSid}/Webhooks",
            get(list).post(create),
        )
        .route(
            "/Conversations/{ConversationSid}/Webhooks/{Sid}",
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
    let input = WebhookInput::parse(&p, true)?;
    let s2 = scope.clone();
    let w = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        hooks::create(op, &conv, input.clone())
    })
    .await?;
    Ok(json::created(&views::webhook(
        &origin,
        &scope.base(&w.service_sid),
        &w,
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
    let w = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        hooks::get(tx, &conv.sid, &id)
    })
    .await?;
    Ok(json::ok(&views::webhook(
        &origin,
        &scope.base(&w.service_sid),
        &w,
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
    let input = WebhookInput::parse(&p, false)?;
    let s2 = scope.clone();
    let w = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        let existing = hooks::get(op.tx, &conv.sid, &id)?;
        hooks::update(op, existing, input.clone())
    })
    .await?;
    Ok(json::ok(&views::webhook(
        &origin,
        &scope.base(&w.service_sid),
        &w,
    )))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("Sid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &scope, &conv_id)?;
        let existing = hooks::get(op.tx, &conv.sid, &id)?;
        op.tx.delete::<ConversationWebhookRow>(&existing.sid)?;
        Ok(())
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
    let page = PageQuery::from_params(&q, 5)?;
    let req = page.request(false);
    let s2 = scope.clone();
    let (conv, rows) = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let rows = tx.page::<ConversationWebhookRow>(
            "conversation_sid = ?1",
            &[Param::Text(&conv.sid)],
            &req,
        )?;
        Ok((conv, rows))
    })
    .await?;
    let base = scope.base(&conv.service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Conversations/{}/Webhooks", conv.sid),
        key: "webhooks",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |w| {
        views::webhook(&origin, &base, w)
    }))
}
