//! Building and writing the execution context (studio.md §5.1, §3): the namespaces a new
//! execution starts with, the `trigger.*` object of each way to start, the subflow's context,
//! and the few writes widgets make (`widgets.NAME`, `flow.variables`).

use serde_json::{Map, Value};

use super::types::{StartParams, Trigger};

/// A JSON object from pairs. Built by hand rather than with `json!`, which would serialise
/// (deep-copy) every interpolated `Value` — this is on the hot path of every step.
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// The context of a new execution, and the step delta the trigger "wrote".
pub(crate) fn initial(flow_sid: &str, params: StartParams) -> (Value, Value) {
    let is_request = matches!(params.trigger, Trigger::IncomingRequest { .. });
    let (trigger, data) = trigger_object(params.trigger);
    let mut channel = Map::new();
    channel.insert("address".into(), Value::String(params.flow_address));
    if let Some(sid) = params.channel_sid {
        channel.insert("sid".into(), Value::String(sid));
    }
    let mut delta = object([("trigger", trigger.clone())]);
    if is_request && let Value::Object(d) = &mut delta {
        d.insert("flow".into(), object([("data", data.clone())]));
    }
    let context = object([
        (
            "flow",
            object([
                ("flow_sid", Value::String(flow_sid.to_owned())),
                ("sid", Value::String(params.execution_sid)),
                ("channel", Value::Object(channel)),
                ("data", data),
                ("variables", empty()),
            ]),
        ),
        (
            "contact",
            object([(
                "channel",
                object([("address", Value::String(params.contact_address))]),
            )]),
        ),
        ("trigger", trigger),
        ("widgets", empty()),
    ]);
    (context, delta)
}

/// `trigger.*` and `flow.data` for each way to start.
fn trigger_object(trigger: Trigger) -> (Value, Value) {
    match trigger {
        Trigger::IncomingMessage { message } => (
            object([(
                "message",
                Value::Object(with_parsed_channel_attributes(message)),
            )]),
            empty(),
        ),
        // `trigger.message…` resolves to this payload at render time (liquid::runtime).
        Trigger::IncomingConversationMessage { conversation } => (
            object([(
                "conversation",
                Value::Object(with_parsed_channel_attributes(conversation)),
            )]),
            empty(),
        ),
        Trigger::IncomingRequest {
            to,
            from,
            parameters,
        } => {
            // Parameters are a JSON object; anything else still shows in trigger.request but
            // gives no flow.data keys.
            let data = if parameters.is_object() {
                parameters.clone()
            } else {
                empty()
            };
            let request = object([
                ("To", Value::String(to)),
                ("From", Value::String(from)),
                ("parameters", parameters),
            ]);
            (object([("request", request)]), data)
        }
        Trigger::IncomingCall { call } => (object([("call", Value::Object(call))]), empty()),
    }
}

/// `ChannelAttributes` (conversation/channel attributes) are exposed parsed (studio.md §5.4);
/// accept them as JSON text too. Message `Attributes` stay strings.
fn with_parsed_channel_attributes(mut fields: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::String(text)) = fields.get("ChannelAttributes")
        && let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(text)
    {
        fields.insert("ChannelAttributes".into(), parsed);
    }
    fields
}

/// The context of a subflow run by `run-subflow` (studio.md §6.8): its own widgets and
/// variables, the parent's trigger copied with `trigger.parent.parameters` added, the same
/// execution, channel and contact.
pub(crate) fn subflow(parent: &Value, flow_sid: &str, parameters: Map<String, Value>) -> Value {
    let mut trigger = match parent.get("trigger") {
        Some(Value::Object(t)) => t.clone(),
        _ => Map::new(),
    };
    trigger.insert(
        "parent".into(),
        object([("parameters", Value::Object(parameters))]),
    );
    let parent_flow = |key: &str| {
        parent
            .get("flow")
            .and_then(|f| f.get(key))
            .cloned()
            .unwrap_or_else(empty)
    };
    object([
        (
            "flow",
            object([
                ("flow_sid", Value::String(flow_sid.to_owned())),
                ("sid", parent_flow("sid")),
                ("channel", parent_flow("channel")),
                // [INF] flow.data is the execution's REST parameters; the subflow runs in the
                // same execution, so it sees them too.
                ("data", parent_flow("data")),
                ("variables", empty()),
            ]),
        ),
        (
            "contact",
            parent.get("contact").cloned().unwrap_or_else(empty),
        ),
        ("trigger", Value::Object(trigger)),
        ("widgets", empty()),
    ])
}

/// `value` as an object, made one if it is not (the context is ours, but it round-trips
/// through storage, so it is never indexed blindly).
pub(crate) fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}

/// The child object `key` of `value`, created (or replaced) if missing or not an object.
pub(crate) fn object_mut<'v>(value: &'v mut Value, key: &str) -> &'v mut Map<String, Value> {
    ensure_object(ensure_object(value).entry(key).or_insert(Value::Null))
}

/// `widgets.NAME` (last run of each widget).
pub(crate) fn widget<'c>(context: &'c Value, name: &str) -> Option<&'c Value> {
    context.get("widgets").and_then(|w| w.get(name))
}

pub(crate) fn set_widget(context: &mut Value, name: &str, value: Value) {
    object_mut(context, "widgets").insert(name.to_owned(), value);
}

/// `{"widgets": {NAME: <what the widget holds now>}}`, the usual step delta.
pub(crate) fn widget_delta(context: &Value, name: &str) -> Value {
    let mut widgets = Map::new();
    widgets.insert(
        name.to_owned(),
        widget(context, name).cloned().unwrap_or_else(empty),
    );
    object([("widgets", Value::Object(widgets))])
}

/// `flow.variables`.
pub(crate) fn variables(context: &Value) -> Map<String, Value> {
    match context.get("flow").and_then(|f| f.get("variables")) {
        Some(Value::Object(v)) => v.clone(),
        _ => Map::new(),
    }
}

pub(crate) fn variables_mut(context: &mut Value) -> &mut Map<String, Value> {
    ensure_object(
        object_mut(context, "flow")
            .entry("variables")
            .or_insert(Value::Null),
    )
}

/// A string at a path of the context, or "" (like Liquid's undefined).
pub(crate) fn str_at<'c>(context: &'c Value, path: &[&str]) -> &'c str {
    let mut v = context;
    for key in path {
        match v.get(key) {
            Some(child) => v = child,
            None => return "",
        }
    }
    v.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversation_trigger_context_keeps_one_copy_of_the_payload() {
        let mut conv = Map::new();
        conv.insert("ConversationSid".into(), json!("CH1"));
        conv.insert("ChatServiceSid".into(), json!("IS1"));
        conv.insert("Author".into(), json!("+1555"));
        conv.insert("ChannelAttributes".into(), json!("{\"a\":1}"));
        let params = StartParams {
            execution_sid: "FN1".into(),
            trigger: Trigger::IncomingConversationMessage { conversation: conv },
            contact_address: "+1555".into(),
            flow_address: "+1500".into(),
            channel_sid: Some("CH1".into()),
        };
        let (ctx, _) = initial("FW1", params);
        // The `trigger.message` alias is resolved when rendering (liquid tests), not stored.
        assert!(ctx["trigger"].get("message").is_none());
        assert_eq!(ctx["trigger"]["conversation"]["ChannelAttributes"]["a"], 1);
        assert_eq!(ctx["flow"]["channel"]["sid"], "CH1");
    }

    #[test]
    fn writes_survive_a_malformed_context() {
        let mut ctx = json!({"flow": 3, "widgets": "x"});
        variables_mut(&mut ctx).insert("a".into(), json!(1));
        set_widget(&mut ctx, "w", json!({}));
        assert_eq!(ctx["flow"]["variables"]["a"], 1);
        assert!(ctx["widgets"]["w"].is_object());
    }
}
