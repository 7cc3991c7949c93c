//! `send-to-flex` (studio.md §2.2): hand the contact to an agent. The caller creates the
//! task (or Interaction, for conversations) from the `Handoff` effect; the flow goes on with
//! `callComplete` ("Task created") at once.

use serde_json::{Value, json};

use super::{WidgetCtx, WidgetOutcome};
use crate::engine::context::{set_widget, widget_delta};
use crate::engine::types::Effect;

/// Flex task attributes are capped at 1,024 characters.
const MAX_ATTRIBUTES_CHARS: usize = 1024;
const DEFAULT_TIMEOUT_S: i64 = 3600;
const MAX_TIMEOUT_S: i64 = 1_209_600;

pub(super) fn run(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    match prepare(w) {
        Ok((workflow, channel, attributes, priority, timeout_s)) => {
            let task_sid = w.env.new_sid("WT");
            w.effects.push(Effect::Handoff {
                widget: w.name().to_owned(),
                task_sid: task_sid.clone(),
                workflow,
                channel,
                attributes: attributes.clone(),
                priority,
                timeout_s,
            });
            set_widget(
                &mut w.frame.context,
                w.state.name.as_str(),
                json!({"TaskSid": task_sid, "Attributes": attributes, "Age": 0}),
            );
            WidgetOutcome::Next {
                event: "callComplete".into(),
                transition: None,
                delta: widget_delta(&w.frame.context, w.name()),
            }
        }
        Err(message) => WidgetOutcome::Failure(message),
    }
}

fn prepare(w: &WidgetCtx<'_>) -> Result<(String, String, String, i64, i64), String> {
    let workflow = w
        .render_prop("workflow")?
        .unwrap_or_default()
        .trim()
        .to_owned();
    let channel = w
        .render_prop("channel")?
        .unwrap_or_default()
        .trim()
        .to_owned();
    let attributes = w
        .render_prop("attributes")?
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "{}".into());
    if attributes.chars().count() > MAX_ATTRIBUTES_CHARS {
        return Err(format!(
            "{}: task attributes exceed {MAX_ATTRIBUTES_CHARS} characters",
            w.who()
        ));
    }
    if !matches!(
        serde_json::from_str::<Value>(&attributes),
        Ok(Value::Object(_))
    ) {
        return Err(format!(
            "{}: task attributes must be a JSON object (use | to_json for values)",
            w.who()
        ));
    }
    let number = |key: &str, default: i64| -> Result<i64, String> {
        Ok(w.render_prop(key)?
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default))
    };
    let priority = number("priority", 0)?;
    let timeout_s = number("timeout", DEFAULT_TIMEOUT_S)?.clamp(1, MAX_TIMEOUT_S);
    Ok((workflow, channel, attributes, priority, timeout_s))
}
