//! `/v1/Configuration`, `/v1/Configuration/Webhooks`, and a service's `Configuration`,
//! `Configuration/Notifications` and `Configuration/Webhooks`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::views;
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::{self, Actor, configuration as config, services};
use crate::error::Result;
use crate::wire::{Account, Form, Origin, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/Configuration", get(fetch_account).post(update_account))
        .route(
            "/v1/Configuration/Webhooks",
            get(fetch_global_webhooks).post(update_global_webhooks),
        )
        .route(
            "/v1/Services/{ChatServiceSid}/Configuration",
            get(fetch_service).post(update_service),
        )
        .route(
            "/v1/Services/{ChatServiceSid}/Configuration/Notifications",
            get(fetch_notifications).post(update_notifications),
        )
        .route(
            "/v1/Services/{ChatServiceSid}/Configuration/Webhooks",
            get(fetch_service_webhooks).post(update_service_webhooks),
        )
}

async fn fetch_account(State(app): State<App>, acct: Account, origin: Origin) -> Result<Response> {
    let c = domain::read(&app, move |tx| services::account_config(tx, &acct.sid)).await?;
    Ok(json::ok(&views::configuration(&origin, &c)))
}

async fn update_account(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let c = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        config::update_account(op, &p)
    })
    .await?;
    Ok(json::ok(&views::configuration(&origin, &c)))
}

async fn fetch_global_webhooks(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
) -> Result<Response> {
    let c = domain::read(&app, move |tx| services::account_config(tx, &acct.sid)).await?;
    Ok(json::ok(&views::global_webhooks(&origin, &c)))
}

async fn update_global_webhooks(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let c = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        config::update_global_webhooks(op, &p)
    })
    .await?;
    Ok(json::ok(&views::global_webhooks(&origin, &c)))
}

async fn fetch_service(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::read(&app, move |tx| services::get_service(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::service_configuration(&origin, &s)))
}

async fn update_service(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let s = services::get_service(op.tx, op.account_sid, &id)?;
        config::update_service_config(op, s, &p)
    })
    .await?;
    Ok(json::ok(&views::service_configuration(&origin, &s)))
}

async fn fetch_notifications(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::read(&app, move |tx| services::get_service(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::notifications(&origin, &s)))
}

async fn update_notifications(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let s = services::get_service(op.tx, op.account_sid, &id)?;
        config::update_notifications(op, s, &p)
    })
    .await?;
    Ok(json::ok(&views::notifications(&origin, &s)))
}

async fn fetch_service_webhooks(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::read(&app, move |tx| services::get_service(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::service_webhooks(&origin, &s)))
}

async fn update_service_webhooks(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("ChatServiceSid")?.to_string();
    let s = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let s = services::get_service(op.tx, op.account_sid, &id)?;
        config::update_service_webhooks(op, s, &p)
    })
    .await?;
    Ok(json::ok(&views::service_webhooks(&origin, &s)))
}
