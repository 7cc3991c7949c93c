//! `/v2/Flows`, their Revisions and TestUsers, and `/v2/Flows/Validate`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use parley_store::{FlowRevisionRow, FlowRow, Param};

use super::views;
use crate::api::lists::render;
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::flows::{self, FlowInput};
use crate::domain::{self, Actor};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v2/Flows", get(list).post(create))
        .route("/v2/Flows/Validate", post(validate))
        .route(
            "/v2/Flows/{FlowSid}",
            get(fetch).post(update).delete(remove),
        )
        .route("/v2/Flows/{FlowSid}/Revisions", get(list_revisions))
        .route(
            "/v2/Flows/{FlowSid}/Revisions/{Revision}",
            get(fetch_revision),
        )
        .route(
            "/v2/Flows/{FlowSid}/TestUsers",
            get(fetch_test_users).post(update_test_users),
        )
}

async fn create(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let (input, report) = FlowInput::parse(&p, true)?;
    let f = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        flows::create(op, input.clone(), report.clone())
    })
    .await?;
    Ok(json::created(&views::flow(&origin, &f, true)))
}

async fn validate(_acct: Account, Form(p): Form) -> Result<Response> {
    p.required("FriendlyName")?;
    p.required("Status")?;
    p.one_of("Status", &["draft", "published"])?;
    let raw = p
        .str("Definition")
        .ok_or_else(|| Error::missing("Definition"))?;
    flows::checked_definition(raw)?;
    Ok(json::ok(&serde_json::json!({ "valid": true })))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    let f = domain::read(&app, move |tx| flows::get(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::flow(&origin, &f, true)))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    let (input, report) = FlowInput::parse(&p, false)?;
    let f = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let existing = flows::get(op.tx, op.account_sid, &id)?;
        flows::update(op, existing, input.clone(), report.clone())
    })
    .await?;
    Ok(json::ok(&views::flow(&origin, &f, true)))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let existing = flows::get(op.tx, op.account_sid, &id)?;
        flows::delete(op, existing)
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
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<FlowRow>("account_sid = ?1", &[Param::Text(&acct.sid)], &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/v2/Flows".into(),
        key: "flows",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |f| views::flow(&origin, f, false)))
}

async fn list_revisions(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    let page = PageQuery::from_params(&q, 1000)?;
    // Newest revision first, as the Studio console lists them.
    let req = page.request(true);
    let id2 = id.clone();
    let rows = domain::read(&app, move |tx| {
        let f = flows::get(tx, &acct.sid, &id2)?;
        Ok(tx.page::<FlowRevisionRow>("flow_sid = ?1", &[Param::Text(&f.sid)], &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: format!("/v2/Flows/{id}/Revisions"),
        key: "revisions",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |r| {
        views::revision(&origin, r, false)
    }))
}

async fn fetch_revision(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    let spec = pp.get("Revision")?.to_string();
    let r = domain::read(&app, move |tx| {
        let f = flows::get(tx, &acct.sid, &id)?;
        let n = flows::resolve_revision(&f, &spec)
            .ok_or_else(|| Error::not_found(&format!("/Flows/{id}/Revisions/{spec}")))?;
        flows::revision(tx, &f.sid, n)?
            .ok_or_else(|| Error::not_found(&format!("/Flows/{id}/Revisions/{spec}")))
    })
    .await?;
    Ok(json::ok(&views::revision(&origin, &r, true)))
}

async fn fetch_test_users(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    let f = domain::read(&app, move |tx| flows::get(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::test_users(&origin, &f)))
}

async fn update_test_users(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("FlowSid")?.to_string();
    if !p.has("TestUsers") {
        return Err(Error::missing("TestUsers"));
    }
    let users: Vec<String> = p
        .all("TestUsers")
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let f = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let mut f = flows::get(op.tx, op.account_sid, &id)?;
        f.test_users = serde_json::to_string(&users).unwrap_or_else(|_| "[]".into());
        f.date_updated = op.now;
        op.tx.update(&f)?;
        Ok(f)
    })
    .await?;
    Ok(json::ok(&views::test_users(&origin, &f)))
}
