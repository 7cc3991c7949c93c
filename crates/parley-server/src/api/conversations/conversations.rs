//! `/v1/Conversations` and `/v1/Services/{IS}/Conversations`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use parley_store::{ConversationRow, PageOf};

use super::views;
use crate::api::lists::{Arg, Filter, params, render};
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::conversations::{self as convs, ConversationInput};
use crate::domain::{self, Actor, services};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, WebhookEnabled, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/Conversations", post(create).get(list))
        .route(
            "/Conversations/{ConversationSid}",
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
    let input = ConversationInput::parse(&p)?;
    let svc = scope.service.clone();
    let conv = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        convs::create(op, &service, input.clone())
    })
    .await?;
    Ok(json::created(&views::conversation(
        &origin,
        &scope.base(&conv.service_sid),
        &conv,
    )))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("ConversationSid")?.to_string();
    let svc = scope.service.clone();
    let conv = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        convs::get(tx, &service.sid, &id)
    })
    .await?;
    Ok(json::ok(&views::conversation(
        &origin,
        &scope.base(&conv.service_sid),
        &conv,
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
    let id = pp.get("ConversationSid")?.to_string();
    let input = ConversationInput::parse(&p)?;
    let svc = scope.service.clone();
    let conv = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        let conv = convs::get(op.tx, &service.sid, &id)?;
        convs::update(op, conv, input.clone())
    })
    .await?;
    Ok(json::ok(&views::conversation(
        &origin,
        &scope.base(&conv.service_sid),
        &conv,
    )))
}

async fn remove(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    WebhookEnabled(wh): WebhookEnabled,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("ConversationSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, scope.service.as_deref())?;
        let conv = convs::get(op.tx, &service.sid, &id)?;
        convs::delete(op, conv)
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
    let page = PageQuery::from_params(&q, 100)?;
    let start = q.date("StartDate")?;
    let end = q.date("EndDate")?;
    let state = q.one_of("State", &["active", "inactive", "closed", "initializing"])?;
    let mut keep: Vec<(&'static str, String)> = Vec::new();
    for k in ["StartDate", "EndDate", "State"] {
        if let Some(v) = q.text(k) {
            keep.push((k, v.to_string()));
        }
    }
    // With a date range, Twilio lists newest first.
    let descending = start.is_some() || end.is_some();
    let req = page.request(descending);
    let svc = scope.service.clone();
    let (service_sid, rows) = domain::read(
        &app,
        move |tx| -> Result<(String, PageOf<ConversationRow>)> {
            let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
            let mut f = Filter::new("", vec![]);
            f.and("service_sid", "=", Arg::Text(service.sid.clone()));
            if let Some(s) = state {
                f.and("state", "=", Arg::Text(s.to_string()));
            }
            if let Some(s) = start {
                f.and("date_created", ">=", Arg::Int(s));
            }
            if let Some(e) = end {
                f.and("date_created", "<=", Arg::Int(e));
            }
            let rows = tx.page::<ConversationRow>(&f.sql, &params(&f.args), &req)?;
            Ok((service.sid, rows))
        },
    )
    .await?;
    let base = scope.base(&service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Conversations"),
        key: "conversations",
        filters: keep,
        query: &page,
    };
    Ok(render(&listing, &rows, |c| {
        views::conversation(&origin, &base, c)
    }))
}

/// Resolves the conversation of a nested route (`…/Conversations/{ConversationSid}/…`).
pub fn conversation_of(
    tx: &mut parley_store::Tx<'_>,
    account_sid: &str,
    scope: &Scope,
    id: &str,
) -> Result<ConversationRow> {
    // The short paths (no service in the URL) find the conversation in the account's
    // default service with one statement; the two-step lookup runs when that finds
    // nothing, to say precisely what is missing (the service or the conversation).
    let found = match scope.service {
        None => convs::find_in_default_service(tx, account_sid, id)?,
        Some(_) => None,
    };
    let mut conv = match found {
        Some(conv) => conv,
        None => {
            let service = services::resolve_service(tx, account_sid, scope.service.as_deref())?;
            convs::get(tx, &service.sid, id)
                .map_err(|_| Error::not_found(&format!("/Conversations/{id}")))?
        }
    };
    if tx.is_read_only() {
        return Ok(conv);
    }
    // A write to anything in a conversation holds the conversation until it commits.
    if tx.lock_read(&mut conv)? {
        Ok(conv)
    } else {
        Err(Error::not_found(&format!("/Conversations/{id}")))
    }
}
