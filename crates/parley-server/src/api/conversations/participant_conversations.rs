//! `…/ParticipantConversations?Identity=…|Address=…`: every conversation an identity or a
//! phone address is in (the documented way to find "the conversation of this number").

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_store::{ConversationRow, Param, ParticipantRow};
use serde_json::Value;

use super::views;
use crate::api::params::{PathParams, Scope};
use crate::app::App;
use crate::domain::{self, services};
use crate::error::{Error, Result};
use crate::wire::{Account, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new().route("/ParticipantConversations", get(list))
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
    let (column, key, value) = match (q.text("Identity"), q.text("Address")) {
        (Some(i), None) => ("identity", "Identity", i.to_string()),
        (None, Some(a)) => ("address", "Address", a.to_string()),
        _ => {
            return Err(Error::invalid(
                "Give exactly one of the parameters Identity or Address",
            ));
        }
    };
    let req = page.request(false);
    let svc = scope.service.clone();
    let v2 = value.clone();
    let (service_sid, rows, convs) = domain::read(&app, move |tx| {
        let service = services::resolve_service(tx, &acct.sid, svc.as_deref())?;
        let filter = format!("service_sid = ?1 AND {column} = ?2");
        let rows = tx.page::<ParticipantRow>(
            &filter,
            &[Param::Text(&service.sid), Param::Text(&v2)],
            &req,
        )?;
        let mut convs = Vec::with_capacity(rows.items.len());
        for p in &rows.items {
            convs.push(tx.get::<ConversationRow>(&p.conversation_sid)?);
        }
        Ok((service.sid, rows, convs))
    })
    .await?;
    let base = scope.base(&service_sid);
    let listing = Listing {
        origin: &origin,
        path: format!("{base}/ParticipantConversations"),
        key: "conversations",
        filters: vec![(key, value)],
        query: &page,
    };
    let items: Vec<Value> = rows
        .items
        .iter()
        .zip(convs.iter())
        .filter_map(|(p, c)| {
            c.as_ref()
                .map(|c| views::participant_conversation(&origin, &base, p, c))
        })
        .collect();
    Ok(json::ok(&listing.render(
        &items,
        rows.items.first().map(|p| p.seq),
        rows.items.last().map(|p| p.seq),
        rows.has_next,
    )))
}
