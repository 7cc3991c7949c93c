//! The origin (scheme + host) a request was made on, so that every `url`, `links` and paging
//! URL is absolute on the server's own address: clients follow them verbatim.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::app::App;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Origin(pub String);

impl Origin {
    pub fn url(&self, path: &str) -> String {
        let mut s = String::with_capacity(self.0.len() + path.len());
        s.push_str(&self.0);
        s.push_str(path);
        s
    }
}

impl FromRequestParts<App> for Origin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self> {
        if let Some(public) = &app.config().public_url {
            return Ok(Origin(public.trim_end_matches('/').to_string()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| app.config().bound_addr_string());
        let scheme = if app.config().trust_forwarded_proto {
            parts
                .headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| *p == "https" || *p == "http")
                .unwrap_or("http")
        } else {
            "http"
        };
        Ok(Origin(format!("{scheme}://{host}")))
    }
}
