//! `make-http-request` and `run-function` (studio.md §2.2): build the request, hand it to the
//! caller as an effect, wait, and turn the response into `widgets.NAME.*` and
//! `success`/`failed` (`fail` for Functions).
//!
//! `add_twilio_auth` is not acted on: the request carries no Twilio credentials (the server
//! may add its own when it recognises its own API).

use serde_json::{Map, Value, json};

use super::{WidgetCtx, WidgetOutcome};
use crate::engine::context::{self, set_widget, widget_delta};
use crate::engine::session::{Frame, Wait};
use crate::engine::types::{Effect, HttpKind, HttpResult};

const FORM: &str = "application/x-www-form-urlencoded;charset=utf-8";

pub(crate) fn start(w: &mut WidgetCtx<'_>, kind: HttpKind) -> WidgetOutcome {
    let request = match build(w, kind) {
        Ok(r) => r,
        Err(message) => return WidgetOutcome::Failure(message),
    };
    let request_id = w.env.new_sid("RQ");
    w.effects.push(Effect::HttpRequest {
        request_id: request_id.clone(),
        widget: w.name().to_owned(),
        kind,
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body,
        timeout_ms: w.limits.http_timeout_ms,
        max_response_bytes: w.limits.http_max_response_bytes,
    });
    WidgetOutcome::Wait(Wait::Http {
        widget: w.name().to_owned(),
        request_id,
        http_kind: kind,
    })
}

struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

fn build(w: &WidgetCtx<'_>, kind: HttpKind) -> Result<Request, String> {
    let url = w.render_prop("url")?.unwrap_or_default().trim().to_owned();
    if !is_http_url(&url) {
        return Err(format!(
            "{}: 81014 the URL '{url}' is not a valid http(s) URL",
            w.who()
        ));
    }
    let params = w.render_pairs("parameters")?;
    if kind == HttpKind::Function {
        // A Function receives its parameters as the form fields of a POST (its `event`).
        return Ok(Request {
            method: "POST".into(),
            url,
            headers: vec![("Content-Type".into(), FORM.into())],
            body: Some(encode(&params)),
        });
    }
    let method = w
        .state
        .property_str("method")
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "GET".into());
    let content_type = w
        .state
        .property_str("content_type")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(FORM)
        .to_owned();
    if matches!(method.as_str(), "GET" | "HEAD" | "DELETE") {
        let url = if params.is_empty() {
            url
        } else {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}{}", encode(&params))
        };
        return Ok(Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
        });
    }
    let is_form = content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded");
    let body = if is_form && !params.is_empty() {
        Some(encode(&params))
    } else {
        w.render_prop("body")?
    };
    let headers = match &body {
        Some(_) => vec![("Content-Type".into(), content_type)],
        None => Vec::new(),
    };
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

/// `http://` or `https://` with something after it; what a rendered URL must at least be.
fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// What a response does to the waiting widget: its event, the step delta, and a warning when
/// the widget failed without a status to show for it.
pub(crate) fn on_response(
    frame: &mut Frame,
    widget: &str,
    kind: HttpKind,
    result: HttpResult,
    max_response_bytes: usize,
) -> (&'static str, Value, Option<String>) {
    let failed = match kind {
        HttpKind::Http => "failed",
        HttpKind::Function => "fail",
    };
    let previous_parsed = match context::widget(&frame.context, widget) {
        Some(v) if kind == HttpKind::Function => v.get("parsed").cloned(),
        _ => None,
    };
    let (event, mut value, warning) = match result {
        HttpResult::Error { message } => (
            failed,
            json!({ "error": message }),
            Some(format!("widget '{widget}': request failed: {message}")),
        ),
        HttpResult::Response {
            status,
            content_type,
            headers,
            body,
            truncated,
        } => {
            let mut out = Map::new();
            out.insert("status_code".into(), json!(status));
            out.insert(
                "content_type".into(),
                json!(content_type.unwrap_or_default()),
            );
            let mut warning = None;
            if truncated {
                warning = Some(format!(
                    "widget '{widget}': the response body exceeds {max_response_bytes} bytes and was not processed"
                ));
            } else {
                if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(&body) {
                    out.insert("parsed".into(), parsed);
                }
                out.insert("body".into(), Value::String(body));
            }
            if kind == HttpKind::Function {
                let headers: Map<String, Value> = headers
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v)))
                    .collect();
                out.insert("headers".into(), Value::Object(headers));
            }
            let ok = (200..300).contains(&status) && !truncated;
            (
                if ok { "success" } else { failed },
                Value::Object(out),
                warning,
            )
        }
    };
    if let Some(previous) = previous_parsed {
        merge_parsed(&mut value, previous);
    }
    set_widget(&mut frame.context, widget, value);
    (event, widget_delta(&frame.context, widget), warning)
}

/// run-function keeps earlier `parsed` keys: the new object is merged over the previous one,
/// and a response that is not a JSON object leaves the previous one untouched.
fn merge_parsed(value: &mut Value, previous: Value) {
    let Value::Object(mut merged) = previous else {
        return;
    };
    let out = context::ensure_object(value);
    if let Some(Value::Object(new)) = out.remove("parsed") {
        for (k, v) in new {
            merged.insert(k, v);
        }
    }
    out.insert("parsed".into(), Value::Object(merged));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_http_url("https://example.com/x"));
        assert!(is_http_url("HTTP://user:pw@host"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:// spaced"));
        assert!(!is_http_url(""));
    }

    #[test]
    fn form_encoding() {
        let p = vec![
            ("a b".to_owned(), "x&y=z".to_owned()),
            ("é".to_owned(), String::new()),
        ];
        assert_eq!(encode(&p), "a+b=x%26y%3Dz&%C3%A9=");
    }
}
