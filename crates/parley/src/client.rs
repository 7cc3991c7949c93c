//! A small HTTP client for a running Parley server: the base URL and the account's
//! credentials (flags, then `PARLEY_*`, then `TWILIO_*` variables), JSON out of every answer,
//! and Twilio's error bodies turned into messages that say what went wrong.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::cli::ServerArgs;

/// An environment variable, when set and not empty.
pub fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Longest wait for one ordinary request (not the event stream).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: String,
}

/// A Twilio-shaped error answer (`{code, message, status, details}`).
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: Option<i64>,
    pub message: String,
    /// `details.errors[]` of an invalid flow (81022): `(property_path, message)`.
    pub findings: Vec<(String, String)>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server answered {}: {}", self.status, self.message)?;
        if let Some(code) = self.code {
            write!(f, " (error {code})")?;
        }
        if self.status == 401 {
            write!(
                f,
                "; check --account-sid/--auth-token or PARLEY_ACCOUNT_SID/PARLEY_AUTH_TOKEN"
            )?;
        }
        for (path, message) in &self.findings {
            write!(f, "\n  {path}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl Client {
    pub fn new(args: &ServerArgs) -> Result<Client> {
        let pick = |flag: &Option<String>, names: [&str; 2]| {
            flag.clone()
                .filter(|v| !v.is_empty())
                .or_else(|| names.iter().find_map(|n| env_opt(n)))
        };
        let account_sid = pick(
            &args.account_sid,
            ["PARLEY_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"],
        )
        .ok_or_else(|| {
            anyhow!("no Account SID: pass --account-sid or set PARLEY_ACCOUNT_SID (or TWILIO_ACCOUNT_SID)")
        })?;
        let auth_token = pick(&args.auth_token, ["PARLEY_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"])
            .ok_or_else(|| {
                anyhow!(
                    "no Auth Token: pass --auth-token or set PARLEY_AUTH_TOKEN (or TWILIO_AUTH_TOKEN)"
                )
            })?;
        let parsed = url::Url::parse(&args.url)
            .with_context(|| format!("--url {:?} is not a URL", args.url))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--url {:?} must be an http:// or https:// URL", args.url);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("parley-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client {
            http,
            base: args.url.trim_end_matches('/').to_owned(),
            account_sid,
            auth_token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of an API path with a query string.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            let q = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            url.push('?');
            url.push_str(&q);
        }
        url
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        self.get_url(&self.url(path, query)).await
    }

    async fn get_url(&self, url: &str) -> Result<Value> {
        let request = self
            .http
            .get(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .timeout(REQUEST_TIMEOUT);
        self.send(request, url).await
    }

    /// POSTs form fields (repeat a name for a list), as Twilio's API takes them.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Result<Value> {
        let url = self.url(path, &[]);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .http
            .post(&url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .timeout(REQUEST_TIMEOUT);
        self.send(request, &url).await
    }

    /// Every item of a list resource, following `meta.next_page_url`.
    pub async fn list(&self, path: &str, query: &[(&str, &str)], key: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut query = query.to_vec();
        query.push(("PageSize", "1000"));
        let mut next = Some(self.url(path, &query));
        while let Some(url) = next.take() {
            let mut page = self.get_url(&url).await?;
            if let Some(Value::Array(list)) = page.get_mut(key).map(Value::take) {
                items.extend(list);
            }
            next = page
                .pointer("/meta/next_page_url")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
                .map(str::to_owned);
        }
        Ok(items)
    }

    /// Opens a long-lived GET (server-sent events): no overall timeout.
    pub async fn open_stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response> {
        let url = self.url(path, query);
        let response = self
            .http
            .get(&url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.transport_error(&e, &url))?;
        if !response.status().is_success() {
            return Err(api_error(response).await.into());
        }
        Ok(response)
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Value> {
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&e, url))?;
        if !response.status().is_success() {
            return Err(api_error(response).await.into());
        }
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer of {url}"))?;
        serde_json::from_str(&text).with_context(|| format!("the answer of {url} is not JSON"))
    }

    fn transport_error(&self, e: &reqwest::Error, url: &str) -> anyhow::Error {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        if e.is_connect() {
            anyhow!(
                "cannot reach the Parley server at {}: {reason}\n(is `parley serve` running? point --url or PARLEY_URL at it)",
                self.base
            )
        } else if e.is_timeout() {
            anyhow!("{url}: no answer within {}s", REQUEST_TIMEOUT.as_secs())
        } else {
            anyhow!("{url}: {reason}")
        }
    }
}

async fn api_error(response: reqwest::Response) -> ApiError {
    let status = response.status();
    let body: Value = response
        .text()
        .await
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let findings = body
        .pointer("/details/errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (field("property_path"), field("message"))
                })
                .collect()
        })
        .unwrap_or_default();
    ApiError {
        status: status.as_u16(),
        code: body.get("code").and_then(Value::as_i64),
        message: body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
        findings,
    }
}

/// Studio lookups shared by deploy and diff.
impl Client {
    /// The flow with this SID, or the one named so; `Ok(None)` when no flow has the name.
    pub async fn find_flow(&self, sid: Option<&str>, name: &str) -> Result<Option<Value>> {
        if let Some(sid) = sid {
            return self.get(&format!("/v2/Flows/{sid}"), &[]).await.map(Some);
        }
        let flows = self.list("/v2/Flows", &[], "flows").await?;
        let mut named: Vec<Value> = flows
            .into_iter()
            .filter(|f| f.get("friendly_name").and_then(Value::as_str) == Some(name))
            .collect();
        match named.len() {
            0 => Ok(None),
            1 => Ok(named.pop()),
            n => {
                let sids: Vec<&str> = named
                    .iter()
                    .filter_map(|f| f.get("sid").and_then(Value::as_str))
                    .collect();
                bail!(
                    "{n} flows are named {name:?} ({}); choose one with --sid",
                    sids.join(", ")
                )
            }
        }
    }
}
