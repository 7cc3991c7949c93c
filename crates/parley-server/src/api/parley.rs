//! Parley's own API under `/parley/v1`: what Twilio has no resource for but an operator or
//! an agent app needs — the live event stream, webhook deliveries, refused inbound
//! messages, hand-offs, how outbound webhooks are signed, and (in dev-clock mode) moving
//! the clock.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use parley_store::{HandoffRow, RefusedMessageRow, WebhookDeliveryRow};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::api::lists::{Arg, Filter, params, render};
use crate::app::App;
use crate::domain;
use crate::error::{Error, Result};
use crate::runtime::live::LiveEvent;
use crate::wire::dates::iso;
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json as wire_json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/parley/v1/Events", get(events))
        .route("/parley/v1/WebhookDeliveries", get(webhook_deliveries))
        .route("/parley/v1/RefusedMessages", get(refused_messages))
        .route("/parley/v1/Handoffs", get(handoffs))
        .route("/parley/v1/Clock", get(clock).post(advance_clock))
        .route(
            "/parley/v1/WebhookSigning",
            get(webhook_signing).post(set_webhook_signing),
        )
}

/// Server-sent events for the caller's account. Filters: `ConversationSid`, `Address`
/// (a handset, for simulator events), `EventType` (repeated).
async fn events(
    State(app): State<App>,
    acct: Account,
    Query(q): Query,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let conversation = q.owned("ConversationSid").filter(|s| !s.is_empty());
    let address = q.owned("Address").filter(|s| !s.is_empty());
    let types: Vec<String> = q
        .all("EventType")
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let rx = app.live().subscribe();
    let wanted = move |e: &LiveEvent| {
        e.account_sid == acct.sid
            && conversation
                .as_deref()
                .is_none_or(|c| e.conversation_sid.as_deref() == Some(c))
            && address
                .as_deref()
                .is_none_or(|a| e.data["from"] == a || e.data["to"] == a)
            && (types.is_empty() || types.contains(&e.event))
    };
    let hello = Event::default().event("ready").data("{}");
    let s = stream::unfold((rx, Some(hello)), move |(mut rx, first)| {
        let wanted = wanted.clone();
        async move {
            if let Some(e) = first {
                return Some((Ok(e), (rx, None)));
            }
            loop {
                match rx.recv().await {
                    Ok(ev) if wanted(&ev) => {
                        let data = serde_json::to_string(&ev).unwrap_or_else(|_| "{}".into());
                        let e = Event::default()
                            .id(ev.id.to_string())
                            .event(ev.event.clone())
                            .data(data);
                        return Some((Ok(e), (rx, None)));
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => {
                        let e = Event::default()
                            .event("overflow")
                            .data(json!({ "missed": n }).to_string());
                        return Some((Ok(e), (rx, None)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn delivery_view(d: &WebhookDeliveryRow) -> serde_json::Value {
    json!({
        "sid": d.sid, "account_sid": d.account_sid, "conversation_sid": d.conversation_sid,
        "webhook_sid": d.webhook_sid, "event_type": d.event_type, "url": d.url, "method": d.method,
        "status": d.status, "attempts": d.attempts, "response_status": d.response_status,
        "last_error": d.last_error, "date_created": iso(d.date_created), "date_updated": iso(d.date_updated),
    })
}

async fn webhook_deliveries(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(true);
    let mut f = Filter::default();
    f.and("account_sid", "=", Arg::Text(acct.sid.clone()));
    let mut keep = Vec::new();
    for (param, column) in [
        ("ConversationSid", "conversation_sid"),
        ("Status", "status"),
    ] {
        if let Some(v) = q.text(param) {
            f.and(column, "=", Arg::Text(v.to_string()));
            keep.push((param, v.to_string()));
        }
    }
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<WebhookDeliveryRow>(&f.sql, &params(&f.args), &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/parley/v1/WebhookDeliveries".into(),
        key: "webhook_deliveries",
        filters: keep,
        query: &page,
    };
    Ok(render(&listing, &rows, delivery_view))
}

async fn refused_messages(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(true);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<RefusedMessageRow>(
            "account_sid = ?1",
            &[parley_store::Param::Text(&acct.sid)],
            &req,
        )?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/parley/v1/RefusedMessages".into(),
        key: "refused_messages",
        filters: vec![],
        query: &page,
    };
    Ok(render(
        &listing,
        &rows,
        |r| json!({"sid": r.sid, "from": r.from_address, "to": r.to_address, "body": r.body, "reason": r.reason, "date_created": iso(r.date_created)}),
    ))
}

async fn handoffs(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(true);
    let rows = domain::read(&app, move |tx| {
        Ok(tx.page::<HandoffRow>(
            "account_sid = ?1",
            &[parley_store::Param::Text(&acct.sid)],
            &req,
        )?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: "/parley/v1/Handoffs".into(),
        key: "handoffs",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |h| {
        json!({
            "task_sid": h.sid, "flow_sid": h.flow_sid, "execution_sid": h.execution_sid, "conversation_sid": h.conversation_sid,
            "workflow": h.workflow, "channel": h.channel, "attributes": h.attributes, "priority": h.priority,
            "timeout": h.timeout, "date_created": iso(h.date_created),
        })
    }))
}

async fn clock(State(app): State<App>, _acct: Account) -> Response {
    wire_json::ok(
        &json!({ "now": iso(app.now_ms()), "now_ms": app.now_ms(), "manual": app.manual_clock().is_some() }),
    )
}

/// Moves a manual clock (`parley serve --dev-clock`) and runs what became due before
/// answering, so a test sees the effects of the time it skipped.
async fn advance_clock(State(app): State<App>, _acct: Account, Form(p): Form) -> Result<Response> {
    let Some(clock) = app.manual_clock() else {
        return Err(Error::api(
            crate::error::codes::METHOD_NOT_ALLOWED,
            "The clock only moves when the server runs with --dev-clock",
        ));
    };
    let secs = p
        .int("AdvanceSeconds")?
        .ok_or_else(|| Error::missing("AdvanceSeconds"))?;
    if !(0..=366 * 86_400).contains(&secs) {
        return Err(Error::invalid(
            "AdvanceSeconds must be between 0 and one year",
        ));
    }
    // Jobs a worker is running hold leases measured on this clock: let them finish before
    // time jumps, or their leases would look expired and they would run twice.
    crate::runtime::jobs::wait_in_flight(&app).await?;
    clock.advance_ms(secs * 1000);
    let ran = crate::runtime::jobs::drain_and_settle(&app).await?;
    Ok(
        wire_json::ok(
            &json!({ "now": iso(app.now_ms()), "now_ms": app.now_ms(), "jobs_run": ran }),
        )
        .into_response(),
    )
}

fn signing_view(origin: &Origin, c: &parley_store::AccountConfigRow) -> serde_json::Value {
    json!({
        "account_sid": c.account_sid,
        "algorithm": c.webhook_signing_algorithm,
        "key_id": c.webhook_signing_key_id,
        "date_updated": iso(c.date_updated),
        "url": origin.url("/parley/v1/WebhookSigning"),
    })
}

/// How the account's outbound webhooks are signed (never the secret itself).
async fn webhook_signing(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
) -> Result<Response> {
    let cfg = domain::read(&app, move |tx| {
        domain::services::account_config(tx, &acct.sid)
    })
    .await?;
    Ok(wire_json::ok(&signing_view(&origin, &cfg)))
}

/// `Algorithm=HMAC_SHA256` signs webhooks with a new shared key, announced to receivers in
/// `X-Twilio-Webhooks-Signature-Settings`; its secret is in this answer and nowhere else.
/// `Algorithm=HMAC_SHA1` goes back to the Auth Token.
async fn set_webhook_signing(
    State(app): State<App>,
    acct: Account,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let algorithm = p
        .one_of("Algorithm", &["HMAC_SHA1", "HMAC_SHA256"])?
        .ok_or_else(|| Error::missing("Algorithm"))?;
    let cfg = domain::run(&app, &acct.sid, domain::Actor::api(false), move |op| {
        domain::configuration::set_webhook_signing(op, algorithm)
    })
    .await?;
    let mut view = signing_view(&origin, &cfg);
    if let Some(secret) = &cfg.webhook_signing_secret {
        view["secret"] = json!(secret);
    }
    Ok(wire_json::ok(&view))
}
