//! Rules between widgets and per widget type: names (studio.md §1.4), references, events a
//! type does not have, required properties (§1.3), the shapes of the properties the engine
//! reads, and reachability.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;

use super::{ValidationReport, widget_label};
use crate::catalogue::{self, Runner};
use crate::definition::{FlowDefinition, State};

pub(super) fn check(def: &FlowDefinition, report: &mut ValidationReport) {
    check_names(def, report);
    check_initial_state(def, report);
    for (i, state) in def.states().iter().enumerate() {
        check_widget(def, i, state, report);
    }
    check_reachability(def, report);
}

fn check_names(def: &FlowDefinition, report: &mut ValidationReport) {
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for (i, state) in def.states().iter().enumerate() {
        let path = format!("#/states/{i}/name");
        if let Some(first) = first_use.get(state.name.as_str()) {
            report.error(
                path.clone(),
                format!(
                    "Widget '{}': duplicate widget name (already used by #/states/{first})",
                    state.name
                ),
            );
        } else {
            first_use.insert(&state.name, i);
        }
        if let Some(problem) = name_problem(&state.name) {
            report.error(path, format!("Widget '{}': the name {problem}", state.name));
        }
    }
}

/// Studio's naming rules: a letter first, no spaces, no periods (a period would break the
/// `widgets.NAME.field` paths of Liquid).
fn name_problem(name: &str) -> Option<&'static str> {
    let first = name.chars().next()?;
    if !first.is_alphabetic() {
        Some("must begin with a letter")
    } else if name.chars().any(char::is_whitespace) {
        Some("must not contain spaces")
    } else if name.contains('.') {
        Some("must not contain periods")
    } else {
        None
    }
}

fn check_initial_state(def: &FlowDefinition, report: &mut ValidationReport) {
    match def.state(def.initial_state()) {
        None => report.error(
            "#/initial_state",
            format!(
                "initial_state '{}' names no widget of this flow",
                def.initial_state()
            ),
        ),
        Some(s) if s.kind != "trigger" => report.warning(
            "#/initial_state",
            format!(
                "initial_state '{}' is a {} widget, not the trigger",
                s.name, s.kind
            ),
        ),
        Some(_) => {}
    }
    let triggers: Vec<usize> = (def.states().iter().enumerate())
        .filter(|(_, s)| s.kind == "trigger")
        .map(|(i, _)| i)
        .collect();
    if triggers.len() > 1 {
        for &i in triggers.iter().skip(1) {
            report.warning(
                format!("#/states/{i}"),
                "A flow has one trigger; this extra trigger widget is never started",
            );
        }
    }
}

fn check_widget(def: &FlowDefinition, i: usize, state: &State, report: &mut ValidationReport) {
    let who = widget_label(&state.name, i);
    let spec = catalogue::widget(&state.kind);
    if spec.is_none() {
        report.error(
            format!("#/states/{i}/type"),
            format!("{who}: unknown widget type '{}'", state.kind),
        );
    }
    let mut seen_events = HashSet::new();
    for (j, t) in state.transitions.iter().enumerate() {
        let tpath = format!("#/states/{i}/transitions/{j}");
        if let Some(events) = spec.and_then(|s| s.events)
            && !events.contains(&t.event.as_str())
        {
            report.error(
                format!("{tpath}/event"),
                format!(
                    "{who}: '{}' is not an event of {} (its events are: {})",
                    t.event,
                    state.kind,
                    events.join(", ")
                ),
            );
        }
        if t.event != "match" && !seen_events.insert(t.event.as_str()) {
            report.warning(
                format!("{tpath}/event"),
                format!(
                    "{who}: event '{}' is listed twice; only the first is used",
                    t.event
                ),
            );
        }
        if let Some(next) = &t.next {
            match def.state(next) {
                None => report.error(
                    format!("{tpath}/next"),
                    format!(
                        "{who}: transition '{}' points to unknown widget '{next}'",
                        t.event
                    ),
                ),
                Some(target) if target.kind == "trigger" => report.warning(
                    format!("{tpath}/next"),
                    format!(
                        "{who}: transition '{}' points to the trigger '{next}', which cannot be re-entered",
                        t.event
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    let Some(spec) = spec else { return };
    // The schema's `required` is about presence; an empty value is allowed by the schema
    // (the Console would not save it), so it is only worth a warning.
    for key in spec.required {
        let path = format!("#/states/{i}/properties/{key}");
        match state.properties.get(*key) {
            None | Some(Value::Null) => {
                report.error(path, format!("{who}: required property '{key}' is missing"))
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                report.warning(path, format!("{who}: required property '{key}' is empty"))
            }
            Some(_) => {}
        }
    }
    match spec.runner {
        Runner::SetVariables => check_pairs(&who, i, state, "variables", report),
        Runner::HttpRequest | Runner::RunFunction => {
            check_pairs(&who, i, state, "parameters", report)
        }
        Runner::RunSubflow => {
            check_pairs(&who, i, state, "parameters", report);
            check_revision(&who, i, state, report);
        }
        _ => {}
    }
}

/// `variables` / `parameters`: arrays of `{key, value}` objects with a string key.
fn check_pairs(who: &str, i: usize, state: &State, prop: &str, report: &mut ValidationReport) {
    let path = format!("#/states/{i}/properties/{prop}");
    let items = match state.properties.get(prop) {
        None | Some(Value::Null) => return,
        Some(Value::Array(items)) => items,
        Some(_) => {
            report.error(
                path,
                format!("{who}: '{prop}' must be an array of {{key, value}} objects"),
            );
            return;
        }
    };
    for (k, item) in items.iter().enumerate() {
        match item.get("key") {
            Some(Value::String(_)) => {}
            _ => report.error(
                format!("{path}/{k}/key"),
                format!("{who}: '{prop}' item {k} needs a string 'key'"),
            ),
        }
    }
}

fn check_revision(who: &str, i: usize, state: &State, report: &mut ValidationReport) {
    let ok = match state.properties.get("flow_revision") {
        None | Some(Value::Null) => return, // already reported as missing
        Some(Value::String(s)) => {
            let s = s.trim();
            s.is_empty()
                || s == "LatestPublished"
                || s == "LatestRevision"
                || s.parse::<i64>().is_ok()
        }
        Some(Value::Number(n)) => n.is_i64(),
        Some(_) => false,
    };
    if !ok {
        report.error(
            format!("#/states/{i}/properties/flow_revision"),
            format!("{who}: 'flow_revision' must be LatestPublished, LatestRevision or a revision number"),
        );
    }
}

fn check_reachability(def: &FlowDefinition, report: &mut ValidationReport) {
    let mut reached = vec![false; def.states().len()];
    let mut queue = VecDeque::new();
    if let Some(start) = def.index_of(def.initial_state()) {
        queue.push_back(start);
    }
    while let Some(i) = queue.pop_front() {
        if reached.get(i).copied().unwrap_or(true) {
            continue;
        }
        reached[i] = true;
        if let Some(state) = def.states().get(i) {
            for t in &state.transitions {
                if let Some(j) = t.next.as_deref().and_then(|n| def.index_of(n)) {
                    queue.push_back(j);
                }
            }
        }
    }
    for (i, state) in def.states().iter().enumerate() {
        // Extra triggers were already reported; do not report them twice.
        if !reached[i] && state.kind != "trigger" {
            report.warning(
                format!("#/states/{i}"),
                format!(
                    "{}: unreachable, no transition leads to it",
                    widget_label(&state.name, i)
                ),
            );
        }
    }
}
