//! `set-variables` (studio.md §2.2): every value is rendered against the context as it was
//! before the widget ran — Studio commits variables at the end of the step — then all are
//! written to `flow.variables` at once.

use serde_json::{Map, Value};

use super::{WidgetCtx, WidgetOutcome};
use crate::engine::context::{self, variables_mut};

pub(super) fn run(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    let items = match w.state.properties.get("variables") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let mut set = Map::new();
    for (i, item) in items.iter().enumerate() {
        // Keys are literal and case-sensitive; an item without one sets nothing.
        let Some(key) = item
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
        else {
            continue;
        };
        let value = match item.get("value") {
            Some(Value::String(text)) => {
                match w.render_text(&format!("variables[{i}].value"), text) {
                    Ok(rendered) => typed(item, rendered),
                    Err(message) => return WidgetOutcome::Failure(message),
                }
            }
            None | Some(Value::Null) => Value::String(String::new()),
            Some(other) => other.clone(),
        };
        set.insert(key.to_owned(), value);
    }
    let variables = variables_mut(&mut w.frame.context);
    for (k, v) in &set {
        variables.insert(k.clone(), v.clone());
    }
    WidgetOutcome::Next {
        event: "next".into(),
        transition: None,
        delta: context::object([("flow", context::object([("variables", Value::Object(set))]))]),
    }
}

/// The "Parse as JSON object" option: a variable whose `type` is `json`/`object` (or that sets
/// `parse_as_json: true`) is parsed so its members are addressable; text that is not JSON
/// stays a string.
fn typed(item: &Value, rendered: String) -> Value {
    let as_json = item
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("json") || t.eq_ignore_ascii_case("object"))
        || item.get("parse_as_json").and_then(Value::as_bool) == Some(true);
    if as_json && let Ok(parsed) = serde_json::from_str::<Value>(&rendered) {
        return parsed;
    }
    Value::String(rendered)
}
