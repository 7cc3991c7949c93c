//! Parley addresses: Twilio's IncomingPhoneNumbers resource (the number's incoming-message
//! URL, e.g. a flow's webhook) and Parley's `/parley/v1/Senders` (which carrier carries the
//! address: the simulator by default, Twilio, or an HTTP relay). Both live on one row.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{Param, PhoneNumberRow, Tx};
use serde_json::{Value, json};

use crate::api::params::PathParams;
use crate::app::App;
use crate::channels::carriers::CarrierConfig;
use crate::domain::{self, Actor};
use crate::error::{Error, Result};
use crate::wire::dates::rfc2822;
use crate::wire::{Account, Form, Origin, PageQuery, Params, Query, json as wire_json};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json",
            get(list_numbers).post(create_number),
        )
        .route(
            "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}",
            get(fetch_number).post(update_number).delete(delete_number),
        )
        .route("/parley/v1/Senders", get(list_senders).post(upsert_sender))
        .route(
            "/parley/v1/Senders/{Address}",
            get(fetch_sender).delete(delete_sender),
        )
}

/// The 2010 API names a resource `…/{Sid}.json`.
fn strip_json(s: &str) -> &str {
    s.strip_suffix(".json").unwrap_or(s)
}

fn own_account(acct: &Account, pp: &PathParams) -> Result<()> {
    let path_sid = pp.get("AccountSid")?;
    if path_sid != acct.sid {
        return Err(Error::not_found(&format!("/Accounts/{path_sid}")));
    }
    Ok(())
}

fn number_view(n: &PhoneNumberRow) -> Value {
    json!({
        "account_sid": n.account_sid,
        "address_sid": null,
        "address_requirements": "none",
        "api_version": "2010-04-01",
        "beta": false,
        "capabilities": {"voice": true, "sms": true, "mms": true, "fax": false},
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "friendly_name": n.friendly_name.clone().unwrap_or_else(|| n.phone_number.clone()),
        "identity_sid": null,
        "phone_number": n.phone_number,
        "origin": "hosted",
        "sid": n.sid,
        "sms_application_sid": null,
        "sms_fallback_method": "POST",
        "sms_fallback_url": null,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": null,
        "status_callback_method": "POST",
        "trunk_sid": null,
        "uri": format!("/2010-04-01/Accounts/{}/IncomingPhoneNumbers/{}.json", n.account_sid, n.sid),
        "voice_receive_mode": "voice",
        "voice_application_sid": null,
        "voice_caller_id_lookup": false,
        "voice_fallback_method": "POST",
        "voice_fallback_url": null,
        "voice_method": "POST",
        "voice_url": n.voice_url,
        "emergency_status": "Inactive",
        "emergency_address_sid": null,
        "emergency_address_status": "unregistered",
        "bundle_sid": null,
        "status": "in-use",
    })
}

fn apply_number_fields(n: &mut PhoneNumberRow, p: &Params) -> Result<()> {
    if let Some(f) = p.owned("FriendlyName") {
        n.friendly_name = Some(f);
    }
    if let Some(u) = p.str("SmsUrl") {
        if u.is_empty() {
            n.sms_url = None;
        } else {
            crate::domain::webhooks::check_url(u)?;
            n.sms_url = Some(u.to_string());
        }
    }
    if let Some(m) = p.one_of("SmsMethod", &["GET", "POST"])? {
        n.sms_method = m.to_string();
    }
    if let Some(u) = p.str("VoiceUrl") {
        n.voice_url = (!u.is_empty()).then(|| u.to_string());
    }
    Ok(())
}

fn find_number(tx: &mut Tx<'_>, account: &str, sid: &str) -> Result<PhoneNumberRow> {
    tx.find::<PhoneNumberRow>(
        "sid = ?1 AND account_sid = ?2",
        &[Param::Text(sid), Param::Text(account)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/IncomingPhoneNumbers/{sid}")))
}

fn new_row(op: &mut domain::Op<'_, '_>, number: &str) -> PhoneNumberRow {
    PhoneNumberRow {
        seq: 0,
        sid: op.sid("PN"),
        account_sid: op.account_sid.to_string(),
        phone_number: number.to_string(),
        friendly_name: None,
        sms_url: None,
        sms_method: "POST".into(),
        voice_url: None,
        carrier: "simulator".into(),
        carrier_config: "{}".into(),
        date_created: op.now,
        date_updated: op.now,
    }
}

async fn create_number(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Form(p): Form,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let number = p.required("PhoneNumber")?.trim().to_string();
    let n = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        if op
            .tx
            .find::<PhoneNumberRow>(
                "account_sid = ?1 AND phone_number = ?2",
                &[Param::Text(op.account_sid), Param::Text(&number)],
            )?
            .is_some()
        {
            return Err(Error::api(
                21422,
                format!("{number} is already one of this account's numbers"),
            ));
        }
        let mut n = new_row(op, &number);
        apply_number_fields(&mut n, &p)?;
        n.seq = op.tx.insert(&n)?;
        Ok(n)
    })
    .await?;
    Ok(wire_json::created(&number_view(&n)))
}

async fn fetch_number(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    let n = domain::read(&app, move |tx| find_number(tx, &acct.sid, &sid)).await?;
    Ok(wire_json::ok(&number_view(&n)))
}

async fn update_number(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Form(p): Form,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    let n = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let mut n = find_number(op.tx, op.account_sid, &sid)?;
        apply_number_fields(&mut n, &p)?;
        n.date_updated = op.now;
        op.tx.update(&n)?;
        Ok(n)
    })
    .await?;
    Ok(wire_json::ok(&number_view(&n)))
}

async fn delete_number(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    own_account(&acct, &pp)?;
    let sid = strip_json(pp.get("Sid")?).to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let n = find_number(op.tx, op.account_sid, &sid)?;
        op.tx.delete::<PhoneNumberRow>(&n.sid)?;
        Ok(())
    })
    .await?;
    Ok(wire_json::no_content())
}

/// The 2010 API's page envelope (relative `…_uri`s, `start`/`end`).
async fn list_numbers(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    Query(q): Query,
) -> Result<Response> {
    own_account(&acct, &pp)?;
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let filter_number = q.owned("PhoneNumber").filter(|s| !s.is_empty());
    let a2 = acct.sid.clone();
    let rows = domain::read(&app, move |tx| {
        Ok(match &filter_number {
            Some(n) => tx.page::<PhoneNumberRow>(
                "account_sid = ?1 AND phone_number = ?2",
                &[Param::Text(&a2), Param::Text(n)],
                &req,
            )?,
            None => tx.page::<PhoneNumberRow>("account_sid = ?1", &[Param::Text(&a2)], &req)?,
        })
    })
    .await?;
    let base = format!(
        "/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json",
        acct.sid
    );
    Ok(wire_json::ok(&crate::wire::v2010::page(
        &base,
        "incoming_phone_numbers",
        &page,
        &rows,
        number_view,
    )))
}

fn sender_view(origin: &Origin, n: &PhoneNumberRow) -> Value {
    let cfg = CarrierConfig::parse(&n.carrier_config);
    let inbound = match n.carrier.as_str() {
        "twilio" => Some(origin.url(&format!("/webhooks/twilio/{}", n.account_sid))),
        "relay" => Some(origin.url(&format!("/webhooks/relay/{}", n.account_sid))),
        _ => None,
    };
    json!({
        "address": n.phone_number,
        "sid": n.sid,
        "carrier": n.carrier,
        "twilio_account_sid": cfg.twilio_account_sid,
        // Secrets are never returned, only whether they are set.
        "twilio_auth_token_set": cfg.twilio_auth_token.is_some(),
        "twilio_api_base": cfg.twilio_api_base,
        "relay_url": cfg.relay_url,
        "relay_secret_set": cfg.relay_secret.is_some(),
        "inbound_webhook_url": inbound,
        "url": origin.url(&format!("/parley/v1/Senders/{}", form_urlencoded::byte_serialize(n.phone_number.as_bytes()).collect::<String>())),
    })
}

async fn upsert_sender(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let address = p.required("Address")?.trim().to_string();
    let carrier = p
        .one_of("Carrier", &["simulator", "twilio", "relay"])?
        .unwrap_or("simulator");
    let cfg = CarrierConfig {
        twilio_account_sid: p.owned("TwilioAccountSid").filter(|s| !s.is_empty()),
        twilio_auth_token: p.owned("TwilioAuthToken").filter(|s| !s.is_empty()),
        twilio_api_base: p.owned("TwilioApiBase").filter(|s| !s.is_empty()),
        relay_url: p.owned("RelayUrl").filter(|s| !s.is_empty()),
        relay_secret: p.owned("RelaySecret").filter(|s| !s.is_empty()),
    };
    for u in [&cfg.twilio_api_base, &cfg.relay_url].into_iter().flatten() {
        crate::domain::webhooks::check_url(u)?;
    }
    if carrier == "twilio" && (cfg.twilio_account_sid.is_none() || cfg.twilio_auth_token.is_none())
    {
        return Err(Error::invalid(
            "Carrier twilio needs TwilioAccountSid and TwilioAuthToken",
        ));
    }
    if carrier == "relay" && cfg.relay_url.is_none() {
        return Err(Error::missing("RelayUrl"));
    }
    let n = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        crate::runtime::account_flags::changed(op);
        let existing = op.tx.find::<PhoneNumberRow>(
            "account_sid = ?1 AND phone_number = ?2",
            &[Param::Text(op.account_sid), Param::Text(&address)],
        )?;
        let mut n = match existing {
            Some(n) => n,
            None => new_row(op, &address),
        };
        // Keep secrets already set when an update leaves them out.
        let old = CarrierConfig::parse(&n.carrier_config);
        let mut cfg = cfg.clone();
        cfg.twilio_auth_token = cfg.twilio_auth_token.or(old.twilio_auth_token);
        cfg.relay_secret = cfg.relay_secret.or(old.relay_secret);
        n.carrier = carrier.to_string();
        n.carrier_config = serde_json::to_string(&cfg).unwrap_or_else(|_| "{}".into());
        n.date_updated = op.now;
        if n.seq == 0 {
            n.seq = op.tx.insert(&n)?;
        } else {
            op.tx.update(&n)?;
        }
        Ok(n)
    })
    .await?;
    Ok(wire_json::ok(&sender_view(&origin, &n)))
}

async fn fetch_sender(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    pp: PathParams,
) -> Result<Response> {
    let address = pp.get("Address")?.to_string();
    let n = domain::read(&app, move |tx| {
        tx.find::<PhoneNumberRow>(
            "account_sid = ?1 AND phone_number = ?2",
            &[Param::Text(&acct.sid), Param::Text(&address)],
        )?
        .ok_or_else(|| Error::not_found(&format!("/parley/v1/Senders/{address}")))
    })
    .await?;
    Ok(wire_json::ok(&sender_view(&origin, &n)))
}

/// The address goes back to the simulator (its incoming-message URL, if any, stays).
async fn delete_sender(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let address = pp.get("Address")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        crate::runtime::account_flags::changed(op);
        let mut n = op
            .tx
            .find::<PhoneNumberRow>(
                "account_sid = ?1 AND phone_number = ?2",
                &[Param::Text(op.account_sid), Param::Text(&address)],
            )?
            .ok_or_else(|| Error::not_found(&format!("/parley/v1/Senders/{address}")))?;
        n.carrier = "simulator".into();
        n.carrier_config = "{}".into();
        n.date_updated = op.now;
        op.tx.update(&n)?;
        Ok(())
    })
    .await?;
    Ok(wire_json::no_content())
}

async fn list_senders(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<PhoneNumberRow>("account_sid = ?1", &[Param::Text(&acct.sid)], &req)?)
    })
    .await?;
    let listing = crate::wire::Listing {
        origin: &origin,
        path: "/parley/v1/Senders".into(),
        key: "senders",
        filters: vec![],
        query: &page,
    };
    Ok(crate::api::lists::render(&listing, &rows, |n| {
        sender_view(&origin, n)
    }))
}
