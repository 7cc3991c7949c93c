//! The JSON-schema shape of a flow definition (studio.md §1.1–1.2): top-level keys and their
//! types, the state object, transitions and conditions. Everything here is a hard error
//! except unknown keys, which are kept and reported as warnings (see the module docs of
//! `validate` for why schemas are left open).

use serde_json::{Map, Value};

use super::{ValidationReport, widget_label};

/// The schema id a definition may declare in `$schema`.
pub(crate) const SCHEMA_ID: &str =
    "https://schemas.twilio.com/studio/draft/2019-09/flow-definition";

/// The published schema's `states.maxItems`.
pub(crate) const MAX_STATES: usize = 1000;

const TOP_KEYS: &[&str] = &["description", "states", "initial_state", "flags", "$schema"];
const STATE_KEYS: &[&str] = &["name", "type", "transitions", "properties"];
const TRANSITION_KEYS: &[&str] = &["event", "next", "conditions"];
const CONDITION_KEYS: &[&str] = &["friendly_name", "arguments", "type", "value"];

pub(crate) fn check(def: &Value, report: &mut ValidationReport) {
    let Some(top) = def.as_object() else {
        report.error("#", "The flow definition must be a JSON object");
        return;
    };
    for key in top.keys().filter(|k| !TOP_KEYS.contains(&k.as_str())) {
        report.warning(
            format!("#/{key}"),
            format!("Unknown top-level key '{key}' is kept but ignored"),
        );
    }
    if let Some(d) = top.get("description")
        && !d.is_string()
    {
        report.error("#/description", "'description' must be a string");
    }
    if let Some(s) = top.get("$schema")
        && s.as_str() != Some(SCHEMA_ID)
    {
        report.error("#/$schema", format!("'$schema' must be \"{SCHEMA_ID}\""));
    }
    match top.get("initial_state") {
        None => report.error("#/initial_state", "Required key 'initial_state' is missing"),
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => report.error(
            "#/initial_state",
            "'initial_state' must be a non-empty string naming a widget",
        ),
    }
    check_flags(top, report);
    match top.get("states") {
        None => report.error("#/states", "Required key 'states' is missing"),
        Some(Value::Array(states)) => {
            if states.is_empty() {
                report.error("#/states", "'states' must hold at least one widget");
            }
            if states.len() > MAX_STATES {
                report.error(
                    "#/states",
                    format!(
                        "'states' holds {} widgets; a flow may have at most {MAX_STATES}",
                        states.len()
                    ),
                );
            }
            for (i, state) in states.iter().enumerate() {
                check_state(i, state, report);
            }
        }
        Some(_) => report.error("#/states", "'states' must be an array of widgets"),
    }
}

fn check_flags(top: &Map<String, Value>, report: &mut ValidationReport) {
    let Some(flags) = top.get("flags") else {
        return;
    };
    let Some(flags) = flags.as_object() else {
        report.error("#/flags", "'flags' must be an object");
        return;
    };
    match flags.get("allow_concurrent_calls") {
        Some(Value::Bool(_)) => {}
        Some(_) => report.error(
            "#/flags/allow_concurrent_calls",
            "'flags.allow_concurrent_calls' must be a boolean",
        ),
        None => report.error(
            "#/flags/allow_concurrent_calls",
            "'flags' is present, so 'flags.allow_concurrent_calls' is required",
        ),
    }
    for key in flags.keys().filter(|k| *k != "allow_concurrent_calls") {
        report.warning(
            format!("#/flags/{key}"),
            format!("Unknown flag '{key}' is kept but ignored"),
        );
    }
}

fn check_state(i: usize, state: &Value, report: &mut ValidationReport) {
    let path = format!("#/states/{i}");
    let Some(obj) = state.as_object() else {
        report.error(path, format!("Widget #{i} must be an object"));
        return;
    };
    let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
    let who = widget_label(name, i);
    match obj.get("name") {
        None => report.error(format!("{path}/name"), format!("{who}: 'name' is required")),
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => report.error(
            format!("{path}/name"),
            format!("{who}: 'name' must be a non-empty string"),
        ),
    }
    match obj.get("type") {
        None => report.error(format!("{path}/type"), format!("{who}: 'type' is required")),
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => report.error(
            format!("{path}/type"),
            format!("{who}: 'type' must be a non-empty string"),
        ),
    }
    match obj.get("properties") {
        None => report.error(
            format!("{path}/properties"),
            format!("{who}: 'properties' is required"),
        ),
        Some(Value::Object(_)) => {}
        Some(_) => report.error(
            format!("{path}/properties"),
            format!("{who}: 'properties' must be an object"),
        ),
    }
    match obj.get("transitions") {
        None => report.error(
            format!("{path}/transitions"),
            format!("{who}: 'transitions' is required"),
        ),
        Some(Value::Array(ts)) => {
            for (j, t) in ts.iter().enumerate() {
                check_transition(&who, &format!("{path}/transitions/{j}"), t, report);
            }
        }
        Some(_) => report.error(
            format!("{path}/transitions"),
            format!("{who}: 'transitions' must be an array"),
        ),
    }
    for key in obj.keys().filter(|k| !STATE_KEYS.contains(&k.as_str())) {
        report.warning(
            format!("{path}/{key}"),
            format!("{who}: unknown key '{key}' is kept but ignored"),
        );
    }
}

fn check_transition(who: &str, path: &str, t: &Value, report: &mut ValidationReport) {
    let Some(obj) = t.as_object() else {
        report.error(path, format!("{who}: a transition must be an object"));
        return;
    };
    match obj.get("event") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => report.error(
            format!("{path}/event"),
            format!("{who}: a transition's 'event' must be a non-empty string"),
        ),
        None => report.error(
            format!("{path}/event"),
            format!("{who}: a transition needs an 'event'"),
        ),
    }
    match obj.get("next") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => report.error(
            format!("{path}/next"),
            format!("{who}: a transition's 'next' must be a widget name or null"),
        ),
    }
    match obj.get("conditions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cs)) => {
            for (k, c) in cs.iter().enumerate() {
                check_condition(who, &format!("{path}/conditions/{k}"), c, report);
            }
        }
        Some(_) => report.error(
            format!("{path}/conditions"),
            format!("{who}: 'conditions' must be an array"),
        ),
    }
    for key in obj
        .keys()
        .filter(|k| !TRANSITION_KEYS.contains(&k.as_str()))
    {
        report.warning(
            format!("{path}/{key}"),
            format!("{who}: unknown transition key '{key}' is kept but ignored"),
        );
    }
}

fn check_condition(who: &str, path: &str, c: &Value, report: &mut ValidationReport) {
    let Some(obj) = c.as_object() else {
        report.error(path, format!("{who}: a condition must be an object"));
        return;
    };
    for key in ["friendly_name", "type", "value"] {
        match obj.get(key) {
            Some(Value::String(_)) => {}
            Some(_) => report.error(
                format!("{path}/{key}"),
                format!("{who}: condition '{key}' must be a string"),
            ),
            None => report.error(
                format!("{path}/{key}"),
                format!("{who}: a condition needs '{key}'"),
            ),
        }
    }
    match obj.get("arguments") {
        Some(Value::Array(args)) if args.iter().all(Value::is_string) => {}
        Some(_) => report.error(
            format!("{path}/arguments"),
            format!("{who}: condition 'arguments' must be an array of strings"),
        ),
        None => report.error(
            format!("{path}/arguments"),
            format!("{who}: a condition needs 'arguments'"),
        ),
    }
    for key in obj.keys().filter(|k| !CONDITION_KEYS.contains(&k.as_str())) {
        report.warning(
            format!("{path}/{key}"),
            format!("{who}: unknown condition key '{key}' is kept but ignored"),
        );
    }
}
