//! Form-encoded parameters: dotted names (`MessagingBinding.Address`) are plain keys, lists
//! are repeated keys (`Configuration.Filters=a&Configuration.Filters=b`), booleans are
//! `true`/`false`, JSON-valued fields are strings that must parse. Unknown parameters are
//! ignored, as Twilio does.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;

use crate::error::{Error, Result};

#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(bytes: &[u8]) -> Params {
        Params {
            pairs: form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of `name`, if present (even if empty).
    pub fn str(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated key, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// A present, non-empty value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.str(name).filter(|v| !v.is_empty())
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_string)
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        self.text(name).ok_or_else(|| Error::missing(name))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.str(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Error::invalid(format!(
                "Invalid value '{v}' for parameter {name}: expected true or false"
            ))),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                Error::invalid(format!(
                    "Invalid value '{v}' for parameter {name}: expected an integer"
                ))
            }),
        }
    }

    /// A JSON-valued field: checked to parse, then kept verbatim.
    pub fn json_text(&self, name: &str) -> Result<Option<String>> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => match serde_json::from_str::<serde_json::Value>(v) {
                Ok(_) => Ok(Some(v.to_string())),
                Err(e) => Err(Error::invalid(format!(
                    "Parameter {name} is not valid JSON: {e}"
                ))),
            },
        }
    }

    pub fn date(&self, name: &str) -> Result<Option<i64>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => crate::wire::dates::parse(v).map(Some).ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid value '{v}' for parameter {name}: expected an ISO 8601 date-time such as 2024-01-31T12:00:00Z"
                ))
            }),
        }
    }

    /// A value limited to one of `allowed` (compared case-insensitively, returned as listed).
    pub fn one_of(&self, name: &str, allowed: &[&'static str]) -> Result<Option<&'static str>> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(v))
                .map(|a| Some(*a))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Invalid value '{v}' for parameter {name}: expected one of {}",
                        allowed.join(", ")
                    ))
                }),
        }
    }
}

/// The POST body as parameters.
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::api(
                    crate::error::codes::PAYLOAD_TOO_LARGE,
                    "Request body is too large",
                )
            } else {
                Error::invalid(format!("Cannot read the request body: {e}"))
            }
        })?;
        Ok(Form(Params::parse(&bytes)))
    }
}

/// The query string as parameters (list filters, paging).
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(Query(Params::parse(
            parts.uri.query().unwrap_or("").as_bytes(),
        )))
    }
}

/// `X-Twilio-Webhook-Enabled: true`: a REST action that should fire webhooks.
pub struct WebhookEnabled(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for WebhookEnabled {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        let v = parts
            .headers
            .get("x-twilio-webhook-enabled")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(false);
        Ok(WebhookEnabled(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_and_repeated_keys() {
        let p = Params::parse(
            b"MessagingBinding.Address=%2B15558675310&Configuration.Filters=a&Configuration.Filters=b&X=true&N=3&J=%7B%22a%22%3A1%7D",
        );
        assert_eq!(p.str("MessagingBinding.Address"), Some("+15558675310"));
        assert_eq!(p.all("Configuration.Filters"), vec!["a", "b"]);
        assert_eq!(p.bool("X").unwrap(), Some(true));
        assert_eq!(p.int("N").unwrap(), Some(3));
        assert_eq!(p.json_text("J").unwrap().as_deref(), Some("{\"a\":1}"));
        assert!(Params::parse(b"J=%7Bnope").json_text("J").is_err());
        assert!(Params::parse(b"X=yes").bool("X").is_err());
        assert!(p.required("Missing").is_err());
    }
}
