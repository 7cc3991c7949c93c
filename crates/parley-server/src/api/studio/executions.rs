//! `/v2/Flows/{FlowSid}/Executions`, their Context, Steps and step Contexts.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parley_flow::{StartParams, Trigger};
use parley_store::{ExecutionRow, Param, StepRow, Tx};

use super::views;
use crate::api::lists::{Arg, Filter, params, render};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::{self, Actor, flows};
use crate::error::{Error, Result};
use crate::runtime::studio::{self, NewExecution};
use crate::wire::{Account, Form, Listing, Origin, PageQuery, Query, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v2/Flows/{FlowSid}/Executions", get(list).post(create))
        .route(
            "/v2/Flows/{FlowSid}/Executions/{ExecutionSid}",
            get(fetch).post(update).delete(remove),
        )
        .route(
            "/v2/Flows/{FlowSid}/Executions/{ExecutionSid}/Context",
            get(fetch_context),
        )
        .route(
            "/v2/Flows/{FlowSid}/Executions/{ExecutionSid}/Steps",
            get(list_steps),
        )
        .route(
            "/v2/Flows/{FlowSid}/Executions/{ExecutionSid}/Steps/{Sid}",
            get(fetch_step),
        )
        .route(
            "/v2/Flows/{FlowSid}/Executions/{ExecutionSid}/Steps/{Sid}/Context",
            get(fetch_step_context),
        )
}

fn get_execution(
    tx: &mut Tx<'_>,
    account: &str,
    flow_sid: &str,
    sid: &str,
) -> Result<ExecutionRow> {
    tx.find::<ExecutionRow>(
        "sid = ?1 AND flow_sid = ?2 AND account_sid = ?3",
        &[
            Param::Text(sid),
            Param::Text(flow_sid),
            Param::Text(account),
        ],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Flows/{flow_sid}/Executions/{sid}")))
}

async fn create(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let to = p.required("To")?.to_string();
    let from = p.required("From")?.to_string();
    let parameters = match p.json_text("Parameters")? {
        Some(t) => serde_json::from_str::<serde_json::Value>(&t).unwrap_or_default(),
        None => serde_json::json!({}),
    };
    if !parameters.is_object() {
        return Err(Error::api(
            crate::error::codes::EXECUTION_BAD_PARAMETERS,
            "Parameters must be a JSON object",
        ));
    }
    let exec = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let flow = flows::shared(op.tx, op.account_sid, &flow_sid)?;
        let revision = studio::revision_for(&flow, &to)?;
        let execution_sid = op.sid("FN");
        let initiated_by = op.sid("RQ");
        let params = StartParams {
            execution_sid,
            trigger: Trigger::IncomingRequest {
                to: to.clone(),
                from: from.clone(),
                parameters: parameters.clone(),
            },
            contact_address: to.clone(),
            flow_address: from.clone(),
            channel_sid: None,
        };
        studio::start(
            op,
            NewExecution {
                flow,
                revision,
                params,
                contact_key: studio::contact_key_for_pair(&to, &from),
                conversation_sid: None,
                initiated_by,
            },
        )
    })
    .await?;
    Ok(json::created(&views::execution(&origin, &exec)))
}

async fn fetch(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    let e = domain::read(&app, move |tx| get_execution(tx, &acct.sid, &flow_sid, &id)).await?;
    Ok(json::ok(&views::execution(&origin, &e)))
}

async fn update(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Form(p): Form,
) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    p.required("Status")?;
    p.one_of("Status", &["ended"])?;
    let e = domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let e = get_execution(op.tx, op.account_sid, &flow_sid, &id)?;
        studio::resume(
            op,
            e,
            parley_flow::Event::Stop {
                reason: "ended through the API (Status=ended)".into(),
            },
        )
    })
    .await?;
    Ok(json::ok(&views::execution(&origin, &e)))
}

async fn remove(State(app): State<App>, acct: Account, pp: PathParams) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    domain::run(&app, &acct.sid, Actor::api(false), move |op| {
        let e = get_execution(op.tx, op.account_sid, &flow_sid, &id)?;
        // Stop it first so that its pending timer is cancelled.
        let e = studio::resume(
            op,
            e,
            parley_flow::Event::Stop {
                reason: "deleted".into(),
            },
        )?;
        op.tx.execute(
            "DELETE FROM steps WHERE execution_sid = ?1",
            &[Param::Text(&e.sid)],
        )?;
        op.tx.delete::<ExecutionRow>(&e.sid)?;
        Ok(())
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
    let flow_sid = pp.get("FlowSid")?.to_string();
    let page = PageQuery::from_params(&q, 1000)?;
    let from = q.date("DateCreatedFrom")?;
    let to = q.date("DateCreatedTo")?;
    let status = match q.text("Status").or(q.text("status")) {
        Some(s) if s == "active" || s == "ended" => Some(s.to_string()),
        Some(s) => {
            return Err(Error::invalid(format!(
                "Invalid value '{s}' for parameter Status: expected active or ended"
            )));
        }
        None => None,
    };
    let mut keep = Vec::new();
    for k in ["DateCreatedFrom", "DateCreatedTo", "Status"] {
        if let Some(v) = q.text(k) {
            keep.push((k, v.to_string()));
        }
    }
    let req = page.request(false);
    let fs = flow_sid.clone();
    let rows = domain::read(&app, move |tx| {
        let flow = flows::get(tx, &acct.sid, &fs)?;
        let mut f = Filter::default();
        f.and("flow_sid", "=", Arg::Text(flow.sid));
        // Clients see `date_created` in whole seconds, so the bounds compare at that
        // precision: an execution shown as created at T is inside [T, T] even when it was
        // stored at T + 0.5 s (a plain `<= T` left it out).
        if let Some(s) = from {
            f.and("date_created", ">=", Arg::Int(s.div_euclid(1000) * 1000));
        }
        if let Some(s) = to {
            f.and(
                "date_created",
                "<",
                Arg::Int((s.div_euclid(1000) + 1) * 1000),
            );
        }
        if let Some(s) = status {
            f.and("status", "=", Arg::Text(s));
        }
        Ok(tx.page::<ExecutionRow>(&f.sql, &params(&f.args), &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: format!("/v2/Flows/{flow_sid}/Executions"),
        key: "executions",
        filters: keep,
        query: &page,
    };
    Ok(render(&listing, &rows, |e| views::execution(&origin, e)))
}

async fn fetch_context(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    let e = domain::read(&app, move |tx| get_execution(tx, &acct.sid, &flow_sid, &id)).await?;
    Ok(json::ok(&views::execution_context(&origin, &e)))
}

async fn list_steps(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
    Query(q): Query,
) -> Result<Response> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    let page = PageQuery::from_params(&q, 1000)?;
    let req = page.request(false);
    let (fs, ids) = (flow_sid.clone(), id.clone());
    let rows = domain::read(&app, move |tx| {
        let e = get_execution(tx, &acct.sid, &fs, &ids)?;
        Ok(tx.page::<StepRow>("execution_sid = ?1", &[Param::Text(&e.sid)], &req)?)
    })
    .await?;
    let listing = Listing {
        origin: &origin,
        path: format!("/v2/Flows/{flow_sid}/Executions/{id}/Steps"),
        key: "steps",
        filters: vec![],
        query: &page,
    };
    Ok(render(&listing, &rows, |s| views::step(&origin, s)))
}

async fn step_of(app: &App, acct: Account, pp: &PathParams) -> Result<StepRow> {
    let flow_sid = pp.get("FlowSid")?.to_string();
    let id = pp.get("ExecutionSid")?.to_string();
    let step = pp.get("Sid")?.to_string();
    domain::read(app, move |tx| {
        let e = get_execution(tx, &acct.sid, &flow_sid, &id)?;
        tx.find::<StepRow>(
            "sid = ?1 AND execution_sid = ?2",
            &[Param::Text(&step), Param::Text(&e.sid)],
        )?
        .ok_or_else(|| Error::not_found(&format!("/Flows/{flow_sid}/Executions/{id}/Steps/{step}")))
    })
    .await
}

async fn fetch_step(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let s = step_of(&app, acct, &pp).await?;
    Ok(json::ok(&views::step(&origin, &s)))
}

async fn fetch_step_context(
    State(app): State<App>,
    acct: Account,
    pp: PathParams,
    origin: Origin,
) -> Result<Response> {
    let s = step_of(&app, acct, &pp).await?;
    Ok(json::ok(&views::step_context(&origin, &s)))
}
