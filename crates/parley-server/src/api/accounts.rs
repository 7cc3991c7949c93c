//! Accounts and API keys, as Twilio's 2010 API makes them. An authenticated account can
//! create accounts (they are owned by it, like Twilio subaccounts, but see nothing of it),
//! and API keys whose secret authenticates like the Auth Token; deleting a key revokes it.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{AccountRow, ApiKeyRow, Param, Tx};
use serde_json::{Value, json};

use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::accounts::{self, NewAccount};
use crate::error::{Error, Result};
use crate::wire::dates::rfc2822;
use crate::wire::{Account, Form, PageQuery, Query, json as wire_json};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/2010-04-01/Accounts.json",
            get(list_accounts).post(create_account),
        )
        .route(
            "/2010-04-01/Accounts/{AccountSid}",
            get(fetch_account).post(update_account),
        )
        .route(
            "/2010-04-01/Accounts/{AccountSid}/Keys.json",
            get(list_keys).post(create_key),
        )
        .route(
            "/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}",
            get(fetch_key).post(update_key).delete(delete_key),
        )
}

fn strip_json(s: &str) -> &str {
    s.strip_suffix(".json").unwrap_or(s)
}

fn account_view(a: &AccountRow) -> Value {
    let uri = format!("/2010-04-01/Accounts/{}", a.sid);
    json!({
        "auth_token": a.auth_token,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "owner_account_sid": a.owner_account_sid.clone().unwrap_or_else(|| a.sid.clone()),
        "sid": a.sid,
        "status": a.status,
        "subresource_uris": {
            "incoming_phone_numbers": format!("{uri}/IncomingPhoneNumbers.json"),
            "keys": format!("{uri}/Keys.json"),
        },
        "type": "Full",
        "uri": format!("{uri}.json"),
    })
}

fn key_view(k: &ApiKeyRow) -> Value {
    json!({
        "sid": k.sid,
        "friendly_name": k.friendly_name,
        "date_created": rfc2822(k.date_created),
        "date_updated": rfc2822(k.date_updated),
    })
}

/// An account the caller may see: itself, or one it created.
fn visible_account(tx: &mut Tx<'_>, caller: &str, sid: &str) -> Result<AccountRow> {
    tx.get::<AccountRow>(sid)?
        .filter(|a| a.sid == caller || a.owner_account_sid.as_deref() == Some(caller))
        .ok_or_else(|| Error::not_found(&format!("/Accounts/{sid}.json")))
}

fn friendly_name(p: &crate::wire::Params, default: &str) -> Result<String> {
    let name = p
        .owned("FriendlyName")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string());
    if name.chars().count() > 64 {
        return Err(Error::invalid("FriendlyName is longer than 64 characters"));
    }
    Ok(name)
}

async fn create_account(State(app): State<App>, acct: Account, Form(p): Form) -> Result<Response> {
    let name = friendly_name(&p, "SubAccount")?;
    let a2 = app.clone();
    let created = app
        .store()
        .write(move |tx| {
            accounts::create_account(
                tx,
                a2.sids().as_ref(),
                a2.now_ms(),
                NewAccount {
                    sid: None,
                    auth_token: None,
                    friendly_name: name.clone(),
                    owner_account_sid: Some(acct.sid.clone()),
                },
            )
        })
        .await?;
    Ok(wire_json::created(&account_view(&created)))
}

async fn fetch_account(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let sid = strip_json(pp.get("AccountSid")?).to_string();
    let a = app
        .store()
        .read(move |tx| visible_account(tx, &acct.sid, &sid))
        .await?;
    Ok(wire_json::ok(&account_view(&a)))
}

async fn update_account(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Form(p): Form,
) -> Result<Response> {
    let sid = strip_json(pp.get("AccountSid")?).to_string();
    let status = p.one_of("Status", &["active", "suspended", "closed"])?;
    let name = p.owned("FriendlyName").filter(|s| !s.is_empty());
    let now = app.now_ms();
    let a = app
        .store()
        .write(move |tx| -> Result<AccountRow> {
            let mut a = visible_account(tx, &acct.sid, &sid)?;
            if let Some(n) = name.clone() {
                a.friendly_name = n;
            }
            if let Some(s) = status {
                if a.status == "closed" && s != "closed" {
                    return Err(Error::invalid("A closed account cannot be reopened"));
                }
                a.status = s.to_string();
            }
            a.date_updated = now;
            tx.update(&a)?;
            Ok(a)
        })
        .await?;
    // A suspended or closed account stops authenticating at once on this node.
    app.auth_cache().forget(&a.sid);
    Ok(wire_json::ok(&account_view(&a)))
}

/// The caller and the accounts it created, with the 2010 API's page envelope.
async fn list_accounts(State(app): State<App>, acct: Account, Query(q): Query) -> Result<Response> {
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let rows = app
        .store()
        .read(move |tx| -> Result<_> {
            Ok(tx.page::<AccountRow>(
                "sid = ?1 OR owner_account_sid = ?1",
                &[Param::Text(&acct.sid)],
                &req,
            )?)
        })
        .await?;
    Ok(wire_json::ok(&crate::wire::v2010::page(
        "/2010-04-01/Accounts.json",
        "accounts",
        &page,
        &rows,
        account_view,
    )))
}

fn own_account(acct: &Account, pp: &PathParams) -> Result<()> {
    let path_sid = strip_json(pp.get("AccountSid")?);
    if path_sid != acct.sid {
        return Err(Error::not_found(&format!("/Accounts/{path_sid}")));
    }
    Ok(())
}

async fn create_key(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Form(p): Form,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let name = friendly_name(&p, "")?;
    let a2 = app.clone();
    let (key, secret) = app
        .store()
        .write(move |tx| {
            accounts::create_key(tx, a2.sids().as_ref(), a2.now_ms(), &acct.sid, &name)
        })
        .await?;
    let mut v = key_view(&key);
    // The secret is shown here, once; only its hash is kept.
    v["secret"] = Value::String(secret);
    Ok(wire_json::created(&v))
}

async fn fetch_key(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    let k = app
        .store()
        .read(move |tx| accounts::account_key(tx, &acct.sid, &sid))
        .await?;
    Ok(wire_json::ok(&key_view(&k)))
}

async fn update_key(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Form(p): Form,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    let name = friendly_name(&p, "")?;
    let now = app.now_ms();
    let k = app
        .store()
        .write(move |tx| -> Result<ApiKeyRow> {
            let mut k = accounts::account_key(tx, &acct.sid, &sid)?;
            k.friendly_name = name.clone();
            k.date_updated = now;
            tx.update(&k)?;
            Ok(k)
        })
        .await?;
    Ok(wire_json::ok(&key_view(&k)))
}

async fn delete_key(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    let s2 = sid.clone();
    app.store()
        .write(move |tx| -> Result<()> {
            let k = accounts::account_key(tx, &acct.sid, &s2)?;
            tx.delete::<ApiKeyRow>(&k.sid)?;
            Ok(())
        })
        .await?;
    app.auth_cache().forget(&sid);
    Ok(wire_json::no_content())
}

async fn list_keys(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Query(q): Query,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let a2 = acct.sid.clone();
    let rows = app
        .store()
        .read(move |tx| -> Result<_> {
            Ok(tx.page::<ApiKeyRow>("account_sid = ?1", &[Param::Text(&a2)], &req)?)
        })
        .await?;
    let base = format!("/2010-04-01/Accounts/{}/Keys.json", acct.sid);
    Ok(wire_json::ok(&crate::wire::v2010::page(
        &base, "keys", &page, &rows, key_view,
    )))
}
