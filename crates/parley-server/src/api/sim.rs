//! `/sim/v1/Messages`: the phone simulator. A virtual handset sends a message to a Parley
//! address exactly as a carrier would deliver it, and reads everything it sent and received.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{Param, SimMessageRow};
use serde_json::Value;

use crate::api::lists::render;
use crate::app::App;
use crate::channels::simulator::{self, view};
use crate::domain::{self, Actor};
use crate::error::{Error, Result};
use crate::runtime::ingress::{self, Inbound};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new().route("/sim/v1/Messages", get(list).post(send))
}

async fn send(State(app): State<App>, acct: Account, Form(p): Form) -> Result<Response> {
    let from = p.required("From")?.trim().to_string();
    let to = p.required("To")?.trim().to_string();
    let body = p.owned("Body");
    let media_urls: Vec<String> = p
        .all("MediaUrl")
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if body.as_deref().is_none_or(str::is_empty) && media_urls.is_empty() {
        return Err(Error::missing("Body"));
    }
    if let Some(b) = &body
        && b.len() > crate::domain::messages::MAX_BODY
    {
        return Err(Error::api(
            crate::error::codes::MESSAGE_BODY_TOO_LONG,
            "Body is longer than 32 KB",
        ));
    }
    if from == to {
        return Err(Error::invalid("From and To must differ"));
    }
    let source = if from.starts_with("whatsapp:") {
        crate::domain::Source::Whatsapp
    } else {
        crate::domain::Source::Sms
    };
    let actor = Actor {
        source,
        fire_webhooks: true,
    };
    let mut inbound = Inbound::new(app.sid("SM"), from, to, body, media_urls);
    let rejected = ingress::ask_pre_hooks(&app, &acct.sid, &mut inbound).await?;
    let (row, routed) = domain::run(&app, &acct.sid, actor, move |op| {
        let media = (!inbound.media_urls.is_empty())
            .then(|| crate::channels::media_json(&inbound.media_urls));
        let mut row = simulator::record_inbound(
            op,
            &inbound.sid,
            &inbound.from,
            &inbound.to,
            inbound.body.as_deref(),
            media,
        )?;
        let routed = match rejected.clone() {
            Some(why) => ingress::refuse(op, &inbound, why)?,
            None => ingress::route(op, &inbound)?,
        };
        let recorded = row.clone();
        if let Some(c) = routed.conversation_sid() {
            row.conversation_sid = Some(c.to_string());
        }
        if matches!(routed, ingress::Routed::Refused { .. }) {
            row.status = "refused".into();
        }
        op.tx.update_changed(&recorded, &row)?;
        Ok((row, routed))
    })
    .await?;
    let mut out = view(&row);
    if let (Value::Object(o), Ok(Value::Object(r))) = (&mut out, serde_json::to_value(&routed)) {
        for (k, v) in r {
            o.entry(k).or_insert(v);
        }
    }
    Ok(json::created(&out))
}

async fn list(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let address = q.required("Address")?.trim().to_string();
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let a2 = address.clone();
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<SimMessageRow>(
            "account_sid = ?1 AND handset = ?2",
            &[Param::Text(&acct.sid), Param::Text(&a2)],
            &req,
        )?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/sim/v1/Messages".into(),
        key: "messages",
        filters: vec![("Address", address)],
        query: &page,
    };
    Ok(render(&listing, &rows, view))
}
