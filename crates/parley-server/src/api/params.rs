//! Path parameters and the service scope a request acts in.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::error::{Error, Result};

/// The path's named segments (`ConversationSid`, `Sid`, ...), percent-decoded.
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    pub fn get(&self, name: &str) -> Result<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Error::not_found(&format!("(missing path segment {name})")))
    }

    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::not_found(parts.uri.path()))?;
        let mut map = HashMap::new();
        for (k, v) in raw.iter() {
            let decoded = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            map.insert(k.to_string(), decoded);
        }
        Ok(PathParams(map))
    }
}

/// Where a service-scoped resource was addressed: `/v1/…` (the default service) or
/// `/v1/Services/{IS}/…`. URLs in responses keep the same form.
#[derive(Debug, Clone)]
pub struct Scope {
    pub service: Option<String>,
}

impl Scope {
    pub fn from_params(p: &PathParams) -> Scope {
        Scope {
            service: p.opt("ChatServiceSid").map(str::to_string),
        }
    }

    /// The URL prefix of resources in this scope.
    pub fn base(&self, service_sid: &str) -> String {
        match &self.service {
            Some(_) => format!("/v1/Services/{service_sid}"),
            None => "/v1".to_string(),
        }
    }
}
