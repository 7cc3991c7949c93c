//! `/v1/Credentials`: push credentials. Stored so that clients which manage them work;
//! Parley sends no push notifications, and secrets are never returned.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{CredentialRow, Param};

use super::views;
use crate::api::lists::render;
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::{self, Actor};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/Credentials", get(list).post(create))
        .route(
            "/v1/Credentials/{Sid}",
            get(fetch).post(update).delete(remove),
        )
}

fn friendly_name(p: &crate::wire::Params) -> Result<Option<String>> {
    let f = p.owned("FriendlyName");
    if f.as_ref().is_some_and(|f| f.chars().count() > 64) {
        return Err(Error::invalid("FriendlyName is longer than 64 characters"));
    }
    Ok(f)
}

fn get_cred(tx: &mut parley_store::Tx<'_>, account: &str, sid: &str) -> Result<CredentialRow> {
    tx.find::<CredentialRow>(
        "sid = ?1 AND account_sid = ?2",
        &[Param::Text(sid), Param::Text(account)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Credentials/{sid}")))
}

async fn create(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    p.required("Type")?;
    let kind = p.one_of("Type", &["apn", "gcm", "fcm"])?.unwrap_or("fcm");
    let name = friendly_name(&p)?;
    let sandbox = p.bool("Sandbox")?.unwrap_or(false);
    let c = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let mut c = CredentialRow {
            seq: 0,
            sid: op.sid("CR"),
            account_sid: op.account_sid.to_string(),
            credential_type: kind.to_string(),
            friendly_name: name.clone(),
            sandbox,
            date_created: op.now,
            date_updated: op.now,
        };
        c.seq = op.tx.insert(&c)?;
        Ok(c)
    })
    .await?;
    Ok(json::created(&views::credential(&origin, &c)))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    let c = domain::read(&app, move |tx| get_cred(tx, &acct.sid, &id)).await?;
    Ok(json::ok(&views::credential(&origin, &c)))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    let name = friendly_name(&p)?;
    let sandbox = p.bool("Sandbox")?;
    let c = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let mut c = get_cred(op.tx, op.account_sid, &id)?;
        if let Some(n) = name.clone() {
            c.friendly_name = Some(n);
        }
        if let Some(s) = sandbox {
            c.sandbox = s;
        }
        c.date_updated = op.now;
        op.tx.update(&c)?;
        Ok(c)
    })
    .await?;
    Ok(json::ok(&views::credential(&origin, &c)))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let id = pp.get("Sid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let c = get_cred(op.tx, op.account_sid, &id)?;
        op.tx.delete::<CredentialRow>(&c.sid)?;
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
    let page = PageQuery::from_params(&q, 100)?;
    let req = page.request(false);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<CredentialRow>("account_sid = ?1", &[Param::Text(&acct.sid)], &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/v1/Credentials".into(),
        key: "credentials",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |c| views::credential(&origin, c)))
}
