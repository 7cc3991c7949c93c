//! `split-based-on` (studio.md §4.2): render the input, then try the `match` transitions in
//! array order; the first whose conditions all hold wins, otherwise `noMatch`.

use serde_json::json;

use super::{WidgetCtx, WidgetOutcome};
use crate::conditions;

pub(super) fn run(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    match choose(w) {
        Ok(Some(index)) => WidgetOutcome::Next {
            event: "match".into(),
            transition: Some(index),
            delta: json!({}),
        },
        Ok(None) => WidgetOutcome::Next {
            event: "noMatch".into(),
            transition: None,
            delta: json!({}),
        },
        Err(message) => WidgetOutcome::Failure(message),
    }
}

/// The index of the winning `match` transition, if any.
fn choose(w: &WidgetCtx<'_>) -> Result<Option<usize>, String> {
    // `input` is the subject; Console JSON repeats it as each condition's arguments[0], which
    // is the fallback when `input` is missing.
    let input = match w.state.property_str("input") {
        Some(text) => Some(w.render_text("input", text)?),
        None => None,
    };
    for (i, t) in w.state.transitions.iter().enumerate() {
        // A `match` with nothing to test never matches (validation warns about it).
        if t.event != "match" || t.conditions.is_empty() {
            continue;
        }
        let mut all_hold = true;
        for (k, c) in t.conditions.iter().enumerate() {
            let subject = match (&input, c.arguments.first()) {
                (Some(s), _) => s.clone(),
                (None, Some(arg)) => w.render_text(
                    &format!("transitions[{i}].conditions[{k}].arguments[0]"),
                    arg,
                )?,
                (None, None) => String::new(),
            };
            let value =
                w.render_text(&format!("transitions[{i}].conditions[{k}].value"), &c.value)?;
            if !conditions::holds(&c.kind, &subject, &value, w.flow.regexes()) {
                all_hold = false;
                break;
            }
        }
        if all_hold {
            return Ok(Some(i));
        }
    }
    Ok(None)
}
