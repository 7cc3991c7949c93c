//! `…/Roles`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{Param, RoleRow};

use super::views;
use crate::api::lists::render;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::roles::{self, RoleInput};
use crate::domain::{self, Actor, services};
use crate::error::Result;
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/Roles", get(list).post(create))
        .route("/Roles/{Sid}", get(fetch).post(update).delete(remove))
}

async fn create(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let input = RoleInput::parse(&p, true)?;
    let svc = scope.service.clone();
    let r = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        roles::create(op, &service, input.clone())
    })
    .await?;
    Ok(json::created(&views::role(
        &origin,
        &scope.base(&r.service_sid),
        &r,
    )))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("Sid")?.to_string();
    let svc = scope.service.clone();
    let r = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        roles::get(tx, &service.sid, &id)
    })
    .await?;
    Ok(json::ok(&views::role(
        &origin,
        &scope.base(&r.service_sid),
        &r,
    )))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("Sid")?.to_string();
    let input = RoleInput::parse(&p, false)?;
    let svc = scope.service.clone();
    let r = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        let existing = roles::get(op.tx, &service.sid, &id)?;
        roles::update(op, existing, input.clone())
    })
    .await?;
    Ok(json::ok(&views::role(
        &origin,
        &scope.base(&r.service_sid),
        &r,
    )))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("Sid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, scope.service.as_deref())?;
        let existing = roles::get(op.tx, &service.sid, &id)?;
        op.tx.delete::<RoleRow>(&existing.sid)?;
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
    let page = PageQuery::from_params(&q, 50)?;
    let req = page.request(false);
    let svc = scope.service.clone();
    let (service_sid, rows) = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        let rows = tx.page::<RoleRow>("service_sid = ?1", &[Param::Text(&service.sid)], &req)?;
        Ok((service.sid, rows))
    })
    .await?;
    let base = scope.base(&service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Roles"),
        key: "roles",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |r| views::role(&origin, &base, r)))
}
