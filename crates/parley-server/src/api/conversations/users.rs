//! `…/Users` and `…/Users/{UserSid}/Conversations` (the conversations a user is in).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{ConversationRow, Param, ParticipantRow, Tx, UserRow};
use serde_json::Value;

use super::views;
use crate::api::lists::render;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::users::{self, UserInput};
use crate::domain::{self, Actor, conversations, messages, services};
use crate::error::{Error, Result};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, WebhookEnabled, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/Users", get(list).post(create))
        .route("/Users/{UserSid}", get(fetch).post(update).delete(remove))
        .route("/Users/{UserSid}/Conversations", get(list_conversations))
        .route(
            "/Users/{UserSid}/Conversations/{ConversationSid}",
            get(fetch_conversation)
                .post(update_conversation)
                .delete(leave_conversation),
        )
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
    let input = UserInput::parse(&p, true)?;
    let svc = scope.service.clone();
    let u = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        users::create(op, &service, input.clone())
    })
    .await?;
    Ok(json::created(&views::user(
        &origin,
        &scope.base(&u.service_sid),
        &u,
    )))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("UserSid")?.to_string();
    let svc = scope.service.clone();
    let u = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        users::get(tx, &service.sid, &id)
    })
    .await?;
    Ok(json::ok(&views::user(
        &origin,
        &scope.base(&u.service_sid),
        &u,
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
    let id = pp.get("UserSid")?.to_string();
    let input = UserInput::parse(&p, false)?;
    let svc = scope.service.clone();
    let u = domain::run(&app, &acct.sid, Actor::api(wh), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, svc.as_deref())?;
        let existing = users::get(op.tx, &service.sid, &id)?;
        users::update(op, existing, input.clone())
    })
    .await?;
    Ok(json::ok(&views::user(
        &origin,
        &scope.base(&u.service_sid),
        &u,
    )))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let id = pp.get("UserSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let service = services::resolve_service(op.tx, op.account_sid, scope.service.as_deref())?;
        let existing = users::get(op.tx, &service.sid, &id)?;
        users::delete(op, existing)
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
        let rows = tx.page::<UserRow>("service_sid = ?1", &[Param::Text(&service.sid)], &req)?;
        Ok((service.sid, rows))
    })
    .await?;
    let base = scope.base(&service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Users"),
        key: "users",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |u| views::user(&origin, &base, u)))
}

/// The user, and their participant row in the conversation named in the path.
fn membership(
    tx: &mut Tx<'_>,
    account: &str,
    scope: &Scope,
    user_id: &str,
    conv_id: &str,
) -> Result<(UserRow, ParticipantRow, ConversationRow)> {
    let service = services::resolve_service(tx, account, scope.service.as_deref())?;
    let user = users::get(tx, &service.sid, user_id)?;
    let mut conv = conversations::get(tx, &service.sid, conv_id)?;
    conv.next_index = messages::next_index(tx, &conv)?;
    let p = tx
        .find::<ParticipantRow>(
            "conversation_sid = ?1 AND identity = ?2",
            &[Param::Text(&conv.sid), Param::Text(&user.identity)],
        )?
        .ok_or_else(|| Error::not_found(&format!("/Users/{user_id}/Conversations/{conv_id}")))?;
    Ok((user, p, conv))
}

async fn fetch_conversation(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let user_id = pp.get("UserSid")?.to_string();
    let conv_id = pp.get("ConversationSid")?.to_string();
    let s2 = scope.clone();
    let (u, p, c) = domain::read(&app, move |tx| {
        membership(tx, &acct.sid, &s2, &user_id, &conv_id)
    })
    .await?;
    Ok(json::ok(&views::user_conversation(
        &origin,
        &scope.base(&u.service_sid),
        &u,
        &p,
        &c,
    )))
}

async fn update_conversation(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(form): Form,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let user_id = pp.get("UserSid")?.to_string();
    let conv_id = pp.get("ConversationSid")?.to_string();
    let level = form.one_of("NotificationLevel", &["default", "muted"])?;
    let last_index = form.int("LastReadMessageIndex")?;
    let last_ts = form.owned("LastReadTimestamp").filter(|s| !s.is_empty());
    let s2 = scope.clone();
    let (u, p, c) = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let (u, mut p, c) = membership(op.tx, op.account_sid, &s2, &user_id, &conv_id)?;
        if let Some(l) = level {
            p.notification_level = Some(l.to_string());
        }
        if let Some(i) = last_index {
            p.last_read_message_index = Some(i);
        }
        if let Some(t) = last_ts.clone() {
            p.last_read_timestamp = Some(t);
        }
        p.date_updated = op.now;
        op.tx.update(&p)?;
        Ok((u, p, c))
    })
    .await?;
    Ok(json::ok(&views::user_conversation(
        &origin,
        &scope.base(&u.service_sid),
        &u,
        &p,
        &c,
    )))
}

async fn leave_conversation(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let user_id = pp.get("UserSid")?.to_string();
    let conv_id = pp.get("ConversationSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let (_, p, c) = membership(op.tx, op.account_sid, &scope, &user_id, &conv_id)?;
        domain::participants::delete(op, &c, p)
    })
    .await?;
    Ok(json::no_content())
}

async fn list_conversations(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let scope = Scope::from_params(&pp);
    let user_id = pp.get("UserSid")?.to_string();
    let page = PageQuery::from_params(&q, 50)?;
    let req = page.request(false);
    let svc = scope.service.clone();
    let (user, rows, convs) = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        let user = users::get(tx, &service.sid, &user_id)?;
        let rows = tx.page::<ParticipantRow>(
            "service_sid = ?1 AND identity = ?2",
            &[Param::Text(&service.sid), Param::Text(&user.identity)],
            &req,
        )?;
        let mut convs = Vec::with_capacity(rows.items.len());
        for p in &rows.items {
            let mut conv = tx.get::<ConversationRow>(&p.conversation_sid)?;
            if let Some(c) = &mut conv {
                c.next_index = messages::next_index(tx, c)?;
            }
            convs.push(conv);
        }
        Ok((user, rows, convs))
    })
    .await?;
    let base = scope.base(&user.service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/Users/{}/Conversations", user.sid),
        key: "conversations",
        filters: vec![],
        query: &page,
    };
    let items: Vec<Value> = rows
        .items
        .iter()
        .zip(convs.iter())
        .filter_map(|(p, c)| {
            c.as_ref()
                .map(|c| views::user_conversation(&origin, &base, &user, p, c))
        })
        .collect();
    Ok(json::ok(&listing.render(
        &items,
        rows.items.first().map(|p| p.seq),
        rows.items.last().map(|p| p.seq),
        rows.has_next,
    )))
}
