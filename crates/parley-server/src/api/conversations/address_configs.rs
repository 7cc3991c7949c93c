//! `/v1/Configuration/Addresses` (account-level address configurations).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::AddressConfigRow;

use super::views;
use crate::api::lists::{Arg, Filter, params, render};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::address_configs::{self as addrs, AddressConfigInput, TYPES};
use crate::domain::{self, Actor};
use crate::error::Result;
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/Configuration/Addresses", get(list).post(create))
        .route(
            "/v1/Configuration/Addresses/{Sid}",
            get(fetch).post(update).delete(remove),
        )
}

async fn create(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let input = AddressConfigInput::parse(&p, true)?;
    let row = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        addrs::create(op, input.clone())
    })
    .await?;
    Ok(json::created(&views::address_config(&origin, &row)))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    let row = domain::read(&app, move |tx| addrs::get(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::address_config(&origin, &row)))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    let input = AddressConfigInput::parse(&p, false)?;
    let row = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let existing = addrs::get(op.tx, op.account_sid, &id)?;
        addrs::update(op, existing, input.clone())
    })
    .await?;
    Ok(json::ok(&views::address_config(&origin, &row)))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let existing = addrs::get(op.tx, op.account_sid, &id)?;
        op.tx.delete::<AddressConfigRow>(&existing.sid)?;
        Ok(())
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
    let page = PageQuery::from_params(&q, 50)?;
    let kind = q.one_of("Type", TYPES)?;
    let req = page.request(false);
    let rows = domain::read(&app, move |tx| {
        let mut f = Filter::default();
        f.and("account_sid", "=", Arg::Text(acct.sid.clone()));
        if let Some(k) = kind {
            f.and("address_type", "=", Arg::Text(k.to_string()));
        }
        Ok(tx.page::<AddressConfigRow>(&f.sql, &params(&f.args), &req)?)
    })
    .await?;
    let filters = kind
        .map(|k| vec![("Type", k.to_string())])
        .unwrap_or_default();
    let listing = Listing {
        origin: &origin,
        path: "/v1/Configuration/Addresses".into(),
        key: "address_configurations",
        filters,
        query: &page,
    };
    Ok(render(&listing, &rows, |a| {
        views::address_config(&origin, a)
    }))
}
