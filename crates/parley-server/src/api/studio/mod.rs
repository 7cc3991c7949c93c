//! Studio v2, one module per resource, plus a flow's incoming-message webhook.

pub mod executions;
pub mod flow_webhook;
pub mod flows;
pub mod views;

use axum::Router;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(flows::routes())
        .merge(executions::routes())
        .merge(flow_webhook::routes())
}
