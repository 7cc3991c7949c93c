//! `…/Conversations/{ConversationSid}/Messages` and their delivery receipts.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{MessageRow, Param, ReceiptRow, Tx};

use super::conversations::conversation_of;
use super::views;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::messages::{self as msgs, MessageInput};
use crate::domain::{self, Actor};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, WebhookEnabled, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/Conversations/{ConversationSid}/Messages",
            get(list).post(create),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages/{MessageSid}",
            get(fetch).post(update).delete(remove),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages/{MessageSid}/Receipts",
            get(list_receipts),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages/{MessageSid}/Receipts/{Sid}",
            get(fetch_receipt),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages/{MessageSid}/ChannelMetadata",
            get(channel_metadata),
        )
}

fn receipts_of(tx: &mut Tx<'_>, message_sid: &str) -> Result<Vec<ReceiptRow>> {
    Ok(tx.find_all::<ReceiptRow>("message_sid = ?1", &[Param::Text(message_sid)])?)
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
    let conv_id = pp.get("ConversationSid")?.to_string();
    let input = MessageInput::parse(&p, true)?;
    let s2 = scope.clone();
    let (m, receipts) = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let mut conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        let m = msgs::create(op, &mut conv, input.clone(), None)?;
        // Receipts are written by the fan-out in dispatch, after this closure; the view
        // reads them on the next fetch. A new message has none yet from the caller's view.
        Ok((m, Vec::new()))
    })
    .await?;
    Ok(json::created(&views::message(
        &origin,
        &scope.base(&m.service_sid),
        &m,
        &receipts,
    )))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("MessageSid")?.to_string();
    let s2 = scope.clone();
    let (m, receipts) = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let m = msgs::get(tx, &conv.sid, &id)?;
        let r = receipts_of(tx, &m.sid)?;
        Ok((m, r))
    })
    .await?;
    Ok(json::ok(&views::message(
        &origin,
        &scope.base(&m.service_sid),
        &m,
        &receipts,
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
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("MessageSid")?.to_string();
    let input = MessageInput::parse(&p, false)?;
    let s2 = scope.clone();
    let (m, receipts) = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &s2, &conv_id)?;
        let existing = msgs::get(op.tx, &conv.sid, &id)?;
        let m = msgs::update(op, &conv, existing, input.clone())?;
        let r = receipts_of(op.tx, &m.sid)?;
        Ok((m, r))
    })
    .await?;
    Ok(json::ok(&views::message(
        &origin,
        &scope.base(&m.service_sid),
        &m,
        &receipts,
    )))
}

async fn remove(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    WebhookEnabled(wh): WebhookEnabled,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let id = pp.get("MessageSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let conv = conversation_of(op.tx, op.account_sid, &scope, &conv_id)?;
        let existing = msgs::get(op.tx, &conv.sid, &id)?;
        msgs::delete(op, &conv, existing)
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
    let conv_id = pp.get("ConversationSid")?.to_string();
    let page = PageQuery::from_params(&q, 100)?;
    let order = q.one_of("Order", &["asc", "desc"])?;
    let req = page.request(order == Some("desc"));
    let s2 = scope.clone();
    let (conv, rows, receipts) = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let rows =
            tx.page::<MessageRow>("conversation_sid = ?1", &[Param::Text(&conv.sid)], &req)?;
        let mut receipts = Vec::with_capacity(rows.items.len());
        for m in &rows.items {
            receipts.push(receipts_of(tx, &m.sid)?);
        }
        Ok((conv, rows, receipts))
    })
    .await?;
    let base = scope.base(&conv.service_sid);
    let mut filters = vec![];
    if let Some(o) = order {
        filters.push(("Order", o.to_string()));
    }
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Conversations/{}/Messages", conv.sid),
        key: "messages",
        filters,
        query: &page,
    };
    let items: Vec<_> = rows
        .items
        .iter()
        .zip(receipts.iter())
        .map(|(m, r)| views::message(&origin, &base, m, r))
        .collect();
    let first = rows.items.first().map(|m| m.seq);
    let last = rows.items.last().map(|m| m.seq);
    Ok(json::ok(&listing.render(
        &items,
        first,
        last,
        rows.has_next,
    )))
}

async fn list_receipts(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let msg_id = pp.get("MessageSid")?.to_string();
    let page = PageQuery::from_params(&q, 50)?;
    let req = page.request(false);
    let s2 = scope.clone();
    let (m, rows) = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let m = msgs::get(tx, &conv.sid, &msg_id)?;
        let rows = tx.page::<ReceiptRow>("message_sid = ?1", &[Param::Text(&m.sid)], &req)?;
        Ok((m, rows))
    })
    .await?;
    let base = scope.base(&m.service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!(
            "{base}/Conversations/{}/Messages/{}/Receipts",
            m.conversation_sid, m.sid
        ),
        key: "delivery_receipts",
        filters: vec![],
        query: &page,
    };
    Ok(crate::api::lists::render(&listing, &rows, |r| {
        views::receipt(&origin, &base, r)
    }))
}

async fn fetch_receipt(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let conv_id = pp.get("ConversationSid")?.to_string();
    let msg_id = pp.get("MessageSid")?.to_string();
    let id = pp.get("Sid")?.to_string();
    let s2 = scope.clone();
    let r = domain::read(&app, move |tx| {
        let conv = conversation_of(tx, &acct.sid, &s2, &conv_id)?;
        let m = msgs::get(tx, &conv.sid, &msg_id)?;
        tx.find::<ReceiptRow>(
            "sid = ?1 AND message_sid = ?2",
            &[Param::Text(&id), Param::Text(&m.sid)],
        )?
        .ok_or_else(|| {
            Error::not_found(&format!(
                "/Conversations/{conv_id}/Messages/{msg_id}/Receipts/{id}"
            ))
        })
    })
    .await?;
    Ok(json::ok(&views::receipt(
        &origin,
        &scope.base(&r.service_sid),
        &r,
    )))
}

/// Twilio links a `channel_metadata` sub-resource that its spec does not define; Parley
/// has no channel metadata to give, so it answers 404 like any missing resource.
async fn channel_metadata(pp: PathParams) -> Result<Response> {
    Err(Error::not_found(&format!(
        "/Conversations/{}/Messages/{}/ChannelMetadata",
        pp.get("ConversationSid")?,
        pp.get("MessageSid")?
    )))
}
