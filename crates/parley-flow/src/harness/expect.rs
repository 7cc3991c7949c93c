//! The `expect_*` lines of a script: each compares what the flow did (messages, requests,
//! hand-offs consumed in order; the end; the context) with what the case says, and reports
//! expected vs actual in words.

use regex::Regex;
use serde_json::Value;

use super::case::{
    EndExpectation, HandoffExpectation, HttpExpectation, MessageExpectation, ScriptStep,
};
use super::runner::Driver;
use crate::engine::{Effect, EndReason};

type Check = Result<(), (String, String)>;

pub(super) fn check(d: &mut Driver, step: &ScriptStep) -> Check {
    match step {
        ScriptStep::ExpectMessage(exp) => message(d, exp),
        ScriptStep::ExpectNoMessage => match d.messages.front() {
            None => Ok(()),
            Some(m) => Err(("no further message".into(), describe_message(m))),
        },
        ScriptStep::ExpectHttp(exp) => http(d, exp),
        ScriptStep::ExpectEnd(exp) => end(d, exp),
        ScriptStep::ExpectWaiting(widget) => {
            let actual = d.session.as_ref().and_then(|s| {
                if s.is_active() {
                    s.waiting_for_reply().map(str::to_owned)
                } else {
                    None
                }
            });
            if actual.as_deref() == Some(widget.as_str()) {
                Ok(())
            } else {
                Err((
                    format!("waiting for a reply in {widget}"),
                    actual.map_or_else(
                        || "not waiting for a reply".into(),
                        |w| format!("waiting in {w}"),
                    ),
                ))
            }
        }
        ScriptStep::ExpectSteps(expected) => steps(d, expected),
        ScriptStep::ExpectVariable { name, value } => {
            context_value(d, &format!("flow.variables.{name}"), value)
        }
        ScriptStep::ExpectWidget { path, value } => {
            context_value(d, &format!("widgets.{path}"), value)
        }
        ScriptStep::ExpectContext { path, value } => context_value(d, path, value),
        ScriptStep::ExpectWarning(text) => {
            if d.warnings.iter().any(|w| w.contains(text.as_str())) {
                Ok(())
            } else {
                Err((
                    format!("a warning containing {text:?}"),
                    format!("warnings: {:?}", d.warnings),
                ))
            }
        }
        ScriptStep::ExpectHandoff(exp) => handoff(d, exp),
        other => Err((
            "an expectation".into(),
            format!("{} is not an expectation", other.label()),
        )),
    }
}

/// Collects mismatches of `field: expected vs actual`.
#[derive(Default)]
struct Mismatches(Vec<(String, String)>);

impl Mismatches {
    fn eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        field: &str,
        expected: Option<&T>,
        actual: &T,
    ) {
        if let Some(e) = expected
            && e != actual
        {
            self.0
                .push((format!("{field} {e:?}"), format!("{field} {actual:?}")));
        }
    }

    fn into_check(self, whole: impl FnOnce() -> String) -> Check {
        if self.0.is_empty() {
            return Ok(());
        }
        let expected: Vec<String> = self.0.iter().map(|(e, _)| e.clone()).collect();
        Err((expected.join(", "), whole()))
    }
}

fn message(d: &mut Driver, exp: &MessageExpectation) -> Check {
    let Some(effect) = d.messages.pop_front() else {
        return Err((
            describe_expectation(exp),
            "no (further) message was sent".into(),
        ));
    };
    let Effect::SendMessage {
        widget,
        from,
        to,
        body,
        media_urls,
        attributes,
        channel_sid,
        ..
    } = &effect
    else {
        return Err(("a message".into(), format!("{effect:?}")));
    };
    let mut m = Mismatches::default();
    m.eq("body", exp.body.as_ref(), body);
    if let Some(part) = &exp.contains
        && !body.contains(part.as_str())
    {
        m.0.push((
            format!("body containing {part:?}"),
            format!("body {body:?}"),
        ));
    }
    if let Some(pattern) = &exp.regex {
        match Regex::new(pattern) {
            Ok(re) if re.is_match(body) => {}
            Ok(_) => m.0.push((
                format!("body matching /{pattern}/"),
                format!("body {body:?}"),
            )),
            Err(e) => m.0.push(("a valid regex".into(), e.to_string())),
        }
    }
    m.eq("to", exp.to.as_ref(), to);
    m.eq("from", exp.from.as_ref(), from);
    m.eq("widget", exp.widget.as_ref(), widget);
    m.eq("media_urls", exp.media_urls.as_ref(), media_urls);
    m.eq(
        "channel_sid",
        exp.channel_sid.as_ref().map(|c| Some(c.clone())).as_ref(),
        channel_sid,
    );
    m.eq(
        "attributes",
        exp.attributes.as_ref().map(|a| Some(a.clone())).as_ref(),
        attributes,
    );
    m.into_check(|| describe_message(&effect))
}

fn describe_expectation(exp: &MessageExpectation) -> String {
    let mut parts = vec!["a message".to_owned()];
    if let Some(b) = &exp.body {
        parts.push(format!("body {b:?}"));
    }
    if let Some(c) = &exp.contains {
        parts.push(format!("containing {c:?}"));
    }
    if let Some(r) = &exp.regex {
        parts.push(format!("matching /{r}/"));
    }
    parts.join(" ")
}

fn describe_message(effect: &Effect) -> String {
    match effect {
        Effect::SendMessage {
            widget,
            from,
            to,
            body,
            media_urls,
            ..
        } => {
            let media = if media_urls.is_empty() {
                String::new()
            } else {
                format!(" media {media_urls:?}")
            };
            format!("body {body:?} from {from} to {to}{media} (widget {widget})")
        }
        other => format!("{other:?}"),
    }
}

fn http(d: &mut Driver, exp: &HttpExpectation) -> Check {
    let Some(effect) = d.requests.pop_front() else {
        return Err((
            "an HTTP request".into(),
            "no (further) request was made".into(),
        ));
    };
    let Effect::HttpRequest {
        widget,
        kind,
        method,
        url,
        body,
        ..
    } = &effect
    else {
        return Err(("an HTTP request".into(), format!("{effect:?}")));
    };
    let kind = match kind {
        crate::engine::HttpKind::Http => "http".to_owned(),
        crate::engine::HttpKind::Function => "function".to_owned(),
    };
    let mut m = Mismatches::default();
    m.eq("method", exp.method.as_ref(), method);
    m.eq("url", exp.url.as_ref(), url);
    m.eq(
        "body",
        exp.body.as_ref().map(|b| Some(b.clone())).as_ref(),
        body,
    );
    m.eq("widget", exp.widget.as_ref(), widget);
    m.eq("kind", exp.kind.as_ref(), &kind);
    m.into_check(|| format!("{method} {url} body {body:?} (widget {widget})"))
}

fn end(d: &mut Driver, exp: &EndExpectation) -> Check {
    let Some(reason) = d.ended.clone() else {
        let waiting = d
            .session
            .as_ref()
            .and_then(|s| s.current_widget())
            .unwrap_or("nowhere");
        return Err((
            "the execution to have ended".into(),
            format!("still active, in {waiting}"),
        ));
    };
    let (status, code, message) = match &reason {
        EndReason::Completed => ("completed", None, String::new()),
        EndReason::Failed { code, message } => ("failed", Some(*code), message.clone()),
        EndReason::Stopped { reason } => ("stopped", None, reason.clone()),
    };
    let widget = d
        .session
        .as_ref()
        .and_then(|s| s.current_widget())
        .unwrap_or_default()
        .to_owned();
    let mut m = Mismatches::default();
    m.eq("status", exp.status.as_ref(), &status.to_owned());
    m.eq("code", exp.code.map(Some).as_ref(), &code);
    m.eq("widget", exp.widget.as_ref(), &widget);
    if let Some(part) = &exp.message
        && !message.contains(part.as_str())
    {
        m.0.push((
            format!("message containing {part:?}"),
            format!("message {message:?}"),
        ));
    }
    m.into_check(|| format!("{status} in {widget}: {message}"))
}

fn handoff(d: &mut Driver, exp: &HandoffExpectation) -> Check {
    let Some(effect) = d.handoffs.pop_front() else {
        return Err(("a hand-off to Flex".into(), "none was made".into()));
    };
    let Effect::Handoff {
        widget,
        workflow,
        channel,
        attributes,
        priority,
        timeout_s,
        ..
    } = &effect
    else {
        return Err(("a hand-off".into(), format!("{effect:?}")));
    };
    let mut m = Mismatches::default();
    m.eq("widget", exp.widget.as_ref(), widget);
    m.eq("workflow", exp.workflow.as_ref(), workflow);
    m.eq("channel", exp.channel.as_ref(), channel);
    m.eq("priority", exp.priority.as_ref(), priority);
    m.eq("timeout_s", exp.timeout_s.as_ref(), timeout_s);
    let parsed: Value = serde_json::from_str(attributes).unwrap_or(Value::Null);
    m.eq("attributes", exp.attributes.as_ref(), &parsed);
    m.into_check(|| format!("{effect:?}"))
}

fn context_value(d: &Driver, path: &str, expected: &Value) -> Check {
    let context = d
        .session
        .as_ref()
        .map(|s| s.context())
        .unwrap_or(Value::Null);
    let actual = lookup(&context, path);
    let undefined_ok = expected.is_null() && actual.is_none_or(Value::is_null);
    if undefined_ok || actual == Some(expected) {
        Ok(())
    } else {
        Err((
            format!("{path} = {expected}"),
            match actual {
                Some(v) => format!("{path} = {v}"),
                None => format!("{path} is undefined"),
            },
        ))
    }
}

/// A dotted path into JSON; numeric segments index arrays.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}

/// Each expected `"widget event [next]"` must appear in the trail after the previous one.
fn steps(d: &Driver, expected: &[String]) -> Check {
    let mut trail = d.trail.iter();
    for entry in expected {
        let parts: Vec<&str> = entry.split_whitespace().collect();
        let (widget, event, to) = match parts.as_slice() {
            [w, e] => (*w, *e, None),
            [w, e, t] => (*w, *e, Some(*t)),
            _ => {
                return Err((
                    "entries like \"widget event\" or \"widget event next\"".into(),
                    format!("{entry:?}"),
                ));
            }
        };
        let found =
            trail.any(|t| t.widget == widget && t.event == event && to.is_none_or(|to| t.to == to));
        if !found {
            let actual: Vec<String> = d
                .trail
                .iter()
                .map(|t| format!("{} {} {}", t.widget, t.event, t.to))
                .collect();
            return Err((
                format!("step {entry:?} (in order)"),
                format!("trail: {}", actual.join(" | ")),
            ));
        }
    }
    Ok(())
}
