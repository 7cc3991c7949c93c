//! `send-message` and `send-and-wait-for-reply` (studio.md §2.2): render, check the message
//! can be sent at all, emit it, and for send-and-wait park on the reply with a timer.
//! Neither waits for delivery; a later delivery failure only matters to a widget still
//! waiting for the reply (`deliveryFailure`).

use serde_json::{Map, Value, json};

use super::{WidgetCtx, WidgetOutcome};
use crate::engine::context::{self, set_widget, str_at, widget_delta};
use crate::engine::session::{Frame, Wait};
use crate::engine::types::Effect;

/// SMS body limit, in characters (Programmable Messaging's 1,600).
const SMS_MAX_CHARS: usize = 1600;
/// Conversation message body limit, in bytes (32 KB).
const CONVERSATION_MAX_BYTES: usize = 32 * 1024;

/// A rendered message, checked to be sendable.
struct Draft {
    from: String,
    to: String,
    body: String,
    media_urls: Vec<String>,
    attributes: Option<String>,
    channel_sid: Option<String>,
    content_sid: Option<String>,
    content_variables: Option<String>,
}

pub(super) fn send_message(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    let draft = match compose(w, true) {
        Ok(d) => d,
        Err(message) => return WidgetOutcome::Failure(message),
    };
    let outbound = emit(w, draft);
    set_widget(
        &mut w.frame.context,
        w.state.name.as_str(),
        context::object([("outbound", outbound)]),
    );
    WidgetOutcome::Next {
        event: "sent".into(),
        transition: None,
        delta: widget_delta(&w.frame.context, w.name()),
    }
}

pub(super) fn send_and_wait(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    // Studio's send-and-wait has no `to`: it always answers the contact.
    let draft = match compose(w, false) {
        Ok(d) => d,
        Err(message) => return WidgetOutcome::Failure(message),
    };
    let timeout_s = reply_timeout_s(w);
    let outbound = emit(w, draft);
    let message_sid = outbound["Sid"].as_str().unwrap_or_default().to_owned();
    set_widget(
        &mut w.frame.context,
        w.state.name.as_str(),
        context::object([("outbound", outbound)]),
    );
    let timer_id = w.env.new_sid("TM");
    let fire_at_ms = w
        .env
        .now_ms()
        .saturating_add(i64::try_from(timeout_s.saturating_mul(1000)).unwrap_or(i64::MAX));
    w.effects.push(Effect::ScheduleTimer {
        timer_id: timer_id.clone(),
        fire_at_ms,
    });
    WidgetOutcome::Wait(Wait::Reply {
        widget: w.name().to_owned(),
        timer_id,
        message_sid,
    })
}

/// `timeout` is a string of seconds (a number is accepted too); missing, invalid or
/// non-positive falls back to the default (3,600 s).
fn reply_timeout_s(w: &WidgetCtx<'_>) -> u64 {
    w.render_prop("timeout")
        .ok()
        .flatten()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(w.limits.default_reply_timeout_s)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn compose(w: &WidgetCtx<'_>, use_to: bool) -> Result<Draft, String> {
    let ctx = &w.frame.context;
    let body = w.render_prop("body")?.unwrap_or_default();
    // [INF] an empty rendered `from`/`to` falls back to the Console defaults
    // ({{flow.channel.address}} / {{contact.channel.address}}).
    let from = non_empty(w.render_prop("from")?)
        .unwrap_or_else(|| str_at(ctx, &["flow", "channel", "address"]).to_owned());
    let to = match use_to {
        true => non_empty(w.render_prop("to")?),
        false => None,
    }
    .unwrap_or_else(|| str_at(ctx, &["contact", "channel", "address"]).to_owned());
    let media_urls: Vec<String> = non_empty(w.render_prop("media_url")?).into_iter().collect();
    let attributes = non_empty(w.render_prop("attributes")?);
    if let Some(a) = &attributes
        && serde_json::from_str::<Value>(a).is_err()
    {
        return Err(format!("{}: attributes are not valid JSON", w.who()));
    }
    // A conversation-bound execution posts into its conversation whatever `channel` says
    // (studio.md §7.3); otherwise a rendered `channel` (legacy Chat) is honoured.
    let bound = str_at(ctx, &["flow", "channel", "sid"]);
    let channel_sid = if bound.is_empty() {
        non_empty(w.render_prop("channel")?)
    } else {
        Some(bound.to_owned())
    };
    let (content_sid, content_variables) = content_template(w)?;
    if body.trim().is_empty() && media_urls.is_empty() && content_sid.is_none() {
        return Err(format!(
            "{}: the message has no body and no media; nothing was sent",
            w.who()
        ));
    }
    match &channel_sid {
        Some(_) if body.len() > CONVERSATION_MAX_BYTES => {
            return Err(format!(
                "{}: the body is {} bytes; a conversation message may have at most {CONVERSATION_MAX_BYTES}",
                w.who(),
                body.len()
            ));
        }
        None if body.chars().count() > SMS_MAX_CHARS => {
            return Err(format!(
                "{}: the body is {} characters; a message may have at most {SMS_MAX_CHARS}",
                w.who(),
                body.chars().count()
            ));
        }
        _ => {}
    }
    Ok(Draft {
        from,
        to,
        body,
        media_urls,
        attributes,
        channel_sid,
        content_sid,
        content_variables,
    })
}

/// A Content API template is sent only when `message_type` says so *and* `content_sid` is set;
/// otherwise the widget is a plain body send (studio.md §2.2).
fn content_template(w: &WidgetCtx<'_>) -> Result<(Option<String>, Option<String>), String> {
    if w.state.property_str("message_type") != Some("content_template") {
        return Ok((None, None));
    }
    let Some(sid) = non_empty(w.render_prop("content_sid")?) else {
        return Ok((None, None));
    };
    let pairs = w.render_pairs("content_variables")?;
    let variables = (!pairs.is_empty()).then(|| {
        let map: Map<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Value::Object(map).to_string()
    });
    Ok((Some(sid), variables))
}

/// Emits the message and returns what `widgets.NAME.outbound` holds.
fn emit(w: &mut WidgetCtx<'_>, d: Draft) -> Value {
    let sid = w
        .env
        .new_sid(if d.channel_sid.is_some() { "IM" } else { "SM" });
    let mut outbound = Map::new();
    let text = |s: &str| Value::String(s.to_owned());
    outbound.insert("Sid".into(), text(&sid));
    outbound.insert("Body".into(), text(&d.body));
    outbound.insert("From".into(), text(&d.from));
    outbound.insert("To".into(), text(&d.to));
    outbound.insert("Status".into(), text("queued"));
    outbound.insert(
        "NumMedia".into(),
        Value::String(d.media_urls.len().to_string()),
    );
    for (i, url) in d.media_urls.iter().enumerate() {
        outbound.insert(format!("MediaUrl{i}"), text(url));
    }
    if let Some(a) = &d.attributes {
        outbound.insert("Attributes".into(), text(a));
    }
    w.effects.push(Effect::SendMessage {
        message_sid: sid,
        widget: w.name().to_owned(),
        from: d.from,
        to: d.to,
        body: d.body,
        media_urls: d.media_urls,
        attributes: d.attributes,
        channel_sid: d.channel_sid,
        content_sid: d.content_sid,
        content_variables: d.content_variables,
    });
    Value::Object(outbound)
}

/// The contact replied: `widgets.NAME.inbound` is the message as delivered.
pub(crate) fn on_reply(frame: &mut Frame, widget: &str, message: Map<String, Value>) -> Value {
    let mut value = context::widget(&frame.context, widget)
        .cloned()
        .unwrap_or_else(|| json!({}));
    context::ensure_object(&mut value).insert("inbound".into(), Value::Object(message));
    set_widget(&mut frame.context, widget, value);
    widget_delta(&frame.context, widget)
}

/// The awaited outbound message failed: record it on `outbound` for the flow to inspect.
pub(crate) fn on_delivery_failure(
    frame: &mut Frame,
    widget: &str,
    error_code: Option<i64>,
    error_message: Option<String>,
) -> Value {
    let mut value = context::widget(&frame.context, widget)
        .cloned()
        .unwrap_or_else(|| json!({}));
    let outbound = context::object_mut(&mut value, "outbound");
    outbound.insert("Status".into(), json!("failed"));
    if let Some(code) = error_code {
        outbound.insert("ErrorCode".into(), json!(code));
    }
    if let Some(message) = error_message {
        outbound.insert("ErrorMessage".into(), json!(message));
    }
    set_widget(&mut frame.context, widget, value);
    widget_delta(&frame.context, widget)
}
