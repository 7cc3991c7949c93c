//! `/v1/Services`: Conversation Services (create, fetch, list, delete; no update), and
//! their push Bindings, which stay empty: Parley registers no push devices.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{Param, ServiceRow};

use super::views;
use crate::api::lists::render;
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::{self, Actor, services};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/Services", get(list).post(create))
        .route("/v1/Services/{ChatServiceSid}", get(fetch).delete(remove))
        .route("/v1/Services/{ChatServiceSid}/Bindings", get(list_bindings))
        .route(
            "/v1/Services/{ChatServiceSid}/Bindings/{Sid}",
            get(binding_not_found).delete(binding_not_found),
        )
}

async fn create(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let name = p.required("FriendlyName")?.to_string();
    if name.chars().count() > 256 {
        return Err(Error::invalid("FriendlyName is longer than 256 characters"));
    }
    let s = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        services::create_service(op.tx, op.app.sids().as_ref(), op.now, op.account_sid, &name)
    })
    .await?;
    Ok(json::created(&views::service(&origin, &s)))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::read(&app, move |tx| services::get_service(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::service(&origin, &s)))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        services::delete_service(op.tx, op.account_sid, &id)
    })
    .await?;
    Ok(json::no_content())
}

async fn list(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let page = PageQuery::from_params(&q, 100)?;
    let req = page.request(false);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<ServiceRow>("account_sid = ?1", &[Param::Text(&acct.sid)], &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/v1/Services".into(),
        key: "services",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |s| views::service(&origin, s)))
}

async fn list_bindings(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let page = PageQuery::from_params(&q, 100)?;
    let sid = id.clone();
    domain::read(&app, move |tx| services::get_service(tx, &acct.sid, &sid)).await?;
    let listing = Listing {
        origin: &origin,
        path: format!("/v1/Services/{id}/Bindings"),
        key: "bindings",
        filters: vec![],
        query: &page,
    };
    Ok(json::ok(&listing.render::<serde_json::Value>(
        &[],
        None,
        None,
        false,
    )))
}

async fn binding_not_found(pp: PathParams) -> Result<Response> {
    Err(Error::not_found(&format!(
        "/Services/{}/Bindings/{}",
        pp.get("ChatServiceSid")?,
        pp.get("Sid")?
    )))
}
