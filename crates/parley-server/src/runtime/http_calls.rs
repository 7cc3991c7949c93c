//! Outbound HTTP for flows (`make-http-request`, `run-function`): one call with a deadline
//! and a response size cap. A failure is an answer the flow takes (`failed`), not a crash.

use std::time::Duration;

use parley_flow::HttpResult;

use crate::app::App;

pub struct HttpCall<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a str>,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
}

pub async fn perform(app: &App, call: HttpCall<'_>) -> HttpResult {
    let method = match reqwest::Method::from_bytes(call.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            return HttpResult::Error {
                message: format!("'{}' is not an HTTP method", call.method),
            };
        }
    };
    if let Err(reason) = crate::webhooks::guard::check_url(app, call.url).await {
        return HttpResult::Error { message: reason };
    }
    let mut req = app
        .http()
        .request(method, call.url)
        .timeout(Duration::from_millis(call.timeout_ms));
    for (k, v) in call.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = call.body {
        req = req.body(b.to_string());
    }
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return HttpResult::Error {
                message: format!("no response within {} ms", call.timeout_ms),
            };
        }
        Err(e) => {
            return HttpResult::Error {
                message: format!("request failed: {}", error_chain(&e)),
            };
        }
    };
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > call.max_response_bytes {
                    let room = call.max_response_bytes - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return HttpResult::Error {
                    message: format!("response not complete within {} ms", call.timeout_ms),
                };
            }
            Err(e) => {
                return HttpResult::Error {
                    message: format!("reading the response failed: {}", error_chain(&e)),
                };
            }
        }
    }
    HttpResult::Response {
        status,
        content_type,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        truncated,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
