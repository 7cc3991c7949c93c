//! The HTTP API: the route table. Each Twilio resource has its own module holding its
//! routes, handlers and JSON shapes.

pub mod accounts;
pub mod carrier_webhooks;
pub mod conversations;
pub mod lists;
pub mod numbers;
pub mod params;
pub mod parley;
pub mod sim;
pub mod studio;

use axum::Router;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;
use crate::error::{Error, codes};

pub fn router(app: App) -> Router {
    let max_body = app.config().max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .merge(conversations::routes())
        .merge(studio::routes())
        .merge(sim::routes())
        .merge(parley::routes())
        .merge(crate::console::routes())
        .merge(numbers::routes())
        .merge(accounts::routes())
        .merge(carrier_webhooks::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found(uri: Uri) -> Response {
    Error::not_found(uri.path()).into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    Error::api(
        codes::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {}", uri.path()),
    )
    .into_response()
}
