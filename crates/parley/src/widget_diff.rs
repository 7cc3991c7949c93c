//! Compares two flow definitions widget by widget (widgets matched by name): which were
//! added or removed, and for the others the property paths and transitions that changed.
//! Canvas positions (`properties.offset`) only count when asked for: moving a widget does
//! not change what the flow does.

use std::collections::HashMap;

use serde_json::Value;

use crate::style::Style;

/// One value that changed; `None` means absent on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransitionChange {
    Added {
        key: String,
        next: Option<String>,
    },
    Removed {
        key: String,
        next: Option<String>,
    },
    Next {
        key: String,
        old: Option<String>,
        new: Option<String>,
    },
    Conditions {
        key: String,
        changes: Vec<Change>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum WidgetDiff {
    Added {
        name: String,
        kind: String,
    },
    Removed {
        name: String,
        kind: String,
    },
    Changed {
        name: String,
        kind: String,
        properties: Vec<Change>,
        transitions: Vec<TransitionChange>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowDiff {
    /// Keys outside `states`: `initial_state`, `flags`, `description`…
    pub flow: Vec<Change>,
    pub widgets: Vec<WidgetDiff>,
}

impl FlowDiff {
    pub fn is_empty(&self) -> bool {
        self.flow.is_empty() && self.widgets.is_empty()
    }

    /// The report: one line per widget (`+`, `-`, `~`), the changes indented under it.
    pub fn render(&self, style: Style) -> String {
        let mut out = String::new();
        if !self.flow.is_empty() {
            out.push_str(&format!("{} flow\n", style.yellow("~")));
            for c in &self.flow {
                out.push_str(&format!("    {}\n", change_line(c, style)));
            }
        }
        let (mut added, mut removed, mut changed) = (0, 0, 0);
        for w in &self.widgets {
            match w {
                WidgetDiff::Added { name, kind } => {
                    added += 1;
                    out.push_str(&format!("{} {name} ({kind})\n", style.green("+")));
                }
                WidgetDiff::Removed { name, kind } => {
                    removed += 1;
                    out.push_str(&format!("{} {name} ({kind})\n", style.red("-")));
                }
                WidgetDiff::Changed {
                    name,
                    kind,
                    properties,
                    transitions,
                } => {
                    changed += 1;
                    out.push_str(&format!("{} {name} ({kind})\n", style.yellow("~")));
                    for c in properties {
                        out.push_str(&format!("    {}\n", change_line(c, style)));
                    }
                    for t in transitions {
                        out.push_str(&transition_lines(t, style));
                    }
                }
            }
        }
        let mut counts = Vec::new();
        for (n, what) in [(added, "added"), (removed, "removed"), (changed, "changed")] {
            if n > 0 {
                counts.push(format!(
                    "{n} widget{} {what}",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        if !self.flow.is_empty() {
            counts.push("flow settings changed".into());
        }
        if !counts.is_empty() {
            out.push_str(&format!("\n{}\n", counts.join(", ")));
        }
        out
    }
}

fn shown(v: Option<&Value>) -> String {
    v.map_or_else(|| "(none)".to_owned(), Value::to_string)
}

fn change_line(c: &Change, style: Style) -> String {
    format!(
        "{}: {} → {}",
        c.path,
        style.red(&shown(c.old.as_ref())),
        style.green(&shown(c.new.as_ref()))
    )
}

fn next_shown(next: Option<&String>) -> String {
    next.map_or_else(|| "(end)".to_owned(), Clone::clone)
}

fn transition_lines(t: &TransitionChange, style: Style) -> String {
    match t {
        TransitionChange::Added { key, next } => format!(
            "    {} transition {key} → {}\n",
            style.green("+"),
            next_shown(next.as_ref())
        ),
        TransitionChange::Removed { key, next } => format!(
            "    {} transition {key} → {}\n",
            style.red("-"),
            next_shown(next.as_ref())
        ),
        TransitionChange::Next { key, old, new } => format!(
            "    transition {key}: {} → {}\n",
            style.red(&next_shown(old.as_ref())),
            style.green(&next_shown(new.as_ref()))
        ),
        TransitionChange::Conditions { key, changes } => changes
            .iter()
            .map(|c| format!("    transition {key} {}\n", change_line(c, style)))
            .collect(),
    }
}

/// Compares `old` with `new`; with `layout`, offsets count too.
pub fn diff(old: &Value, new: &Value, layout: bool) -> FlowDiff {
    let mut flow = Vec::new();
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("states");
        }
        v
    };
    compare("", &strip(old), &strip(new), &mut flow);
    let old_states = states(old);
    let new_states = states(new);
    let mut widgets = Vec::new();
    for (name, widget) in &new_states {
        match old_states.iter().find(|(n, _)| n == name) {
            None => widgets.push(WidgetDiff::Added {
                name: name.clone(),
                kind: kind(widget),
            }),
            Some((_, before)) => {
                if let Some(d) = widget_diff(name, before, widget, layout) {
                    widgets.push(d);
                }
            }
        }
    }
    for (name, widget) in &old_states {
        if !new_states.iter().any(|(n, _)| n == name) {
            widgets.push(WidgetDiff::Removed {
                name: name.clone(),
                kind: kind(widget),
            });
        }
    }
    FlowDiff { flow, widgets }
}

/// Widgets by name, in definition order (the first of duplicate names wins).
fn states(flow: &Value) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = Vec::new();
    for (i, state) in flow
        .get("states")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = state
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_owned);
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, state));
        }
    }
    out
}

fn kind(widget: &Value) -> String {
    widget
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

fn widget_diff(name: &str, old: &Value, new: &Value, layout: bool) -> Option<WidgetDiff> {
    let without_transitions = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("transitions");
            o.remove("name");
            if !layout && let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove("offset");
            }
        }
        v
    };
    let mut properties = Vec::new();
    compare(
        "",
        &without_transitions(old),
        &without_transitions(new),
        &mut properties,
    );
    let transitions = transition_changes(old, new);
    if properties.is_empty() && transitions.is_empty() {
        return None;
    }
    Some(WidgetDiff::Changed {
        name: name.to_owned(),
        kind: kind(new),
        properties,
        transitions,
    })
}

/// A widget's transitions keyed by event; a repeated event (the `match`es of a split) is
/// numbered in order: `match#1`, `match#2`.
fn keyed_transitions(widget: &Value) -> Vec<(String, &Value)> {
    let list: Vec<&Value> = widget
        .get("transitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let event = |t: &Value| {
        t.get("event")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    list.iter()
        .map(|t| {
            let e = event(t);
            let total = list.iter().filter(|o| event(o) == e).count();
            let n = seen.entry(e.clone()).or_default();
            *n += 1;
            let n = *n;
            let key = if total > 1 { format!("{e}#{n}") } else { e };
            (key, *t)
        })
        .collect()
}

fn next_of(t: &Value) -> Option<String> {
    t.get("next")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn transition_changes(old: &Value, new: &Value) -> Vec<TransitionChange> {
    let before = keyed_transitions(old);
    let after = keyed_transitions(new);
    let mut out = Vec::new();
    for (key, t) in &after {
        let Some((_, o)) = before.iter().find(|(k, _)| k == key) else {
            out.push(TransitionChange::Added {
                key: key.clone(),
                next: next_of(t),
            });
            continue;
        };
        let (old_next, new_next) = (next_of(o), next_of(t));
        if old_next != new_next {
            out.push(TransitionChange::Next {
                key: key.clone(),
                old: old_next,
                new: new_next,
            });
        }
        let rest = |v: &Value| -> Value {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("next");
                o.remove("event");
            }
            v
        };
        let mut changes = Vec::new();
        compare("", &rest(o), &rest(t), &mut changes);
        if !changes.is_empty() {
            out.push(TransitionChange::Conditions {
                key: key.clone(),
                changes,
            });
        }
    }
    for (key, t) in &before {
        if !after.iter().any(|(k, _)| k == key) {
            out.push(TransitionChange::Removed {
                key: key.clone(),
                next: next_of(t),
            });
        }
    }
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Leaf-by-leaf comparison: objects by key, arrays by index; anything else as a whole.
fn compare(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => compare(&join(path, k), va, vb, out),
                    None => out.push(Change {
                        path: join(path, k),
                        old: Some(va.clone()),
                        new: None,
                    }),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(Change {
                        path: join(path, k),
                        old: None,
                        new: Some(vb.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => compare(&p, x, y, out),
                    (x, y) => out.push(Change {
                        path: p,
                        old: x.cloned(),
                        new: y.cloned(),
                    }),
                }
            }
        }
        (a, b) if a != b => out.push(Change {
            path: if path.is_empty() {
                "(root)".into()
            } else {
                path.to_owned()
            },
            old: Some(a.clone()),
            new: Some(b.clone()),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(states: Value) -> Value {
        json!({"initial_state": "Trigger", "flags": {"allow_concurrent_calls": true}, "states": states})
    }

    fn send(name: &str, body: &str, x: i64) -> Value {
        json!({"name": name, "type": "send-message",
               "transitions": [{"event": "sent"}, {"event": "failed"}],
               "properties": {"body": body, "offset": {"x": x, "y": 0}}})
    }

    #[test]
    fn identical_flows_have_no_diff() {
        let f = flow(json!([send("a", "hi", 0)]));
        assert!(diff(&f, &f, false).is_empty());
    }

    #[test]
    fn offsets_count_only_with_layout() {
        let a = flow(json!([send("a", "hi", 0)]));
        let b = flow(json!([send("a", "hi", 50)]));
        assert!(diff(&a, &b, false).is_empty());
        let d = diff(&a, &b, true);
        assert_eq!(
            d.widgets,
            vec![WidgetDiff::Changed {
                name: "a".into(),
                kind: "send-message".into(),
                properties: vec![Change {
                    path: "properties.offset.x".into(),
                    old: Some(json!(0)),
                    new: Some(json!(50))
                }],
                transitions: vec![],
            }]
        );
    }

    #[test]
    fn reports_added_removed_and_changed_widgets() {
        let mut split = json!({"name": "s", "type": "split-based-on", "properties": {"input": "x"},
            "transitions": [{"event": "noMatch", "next": "a"},
                            {"event": "match", "next": "a", "conditions": [{"value": "yes"}]},
                            {"event": "match", "next": "b", "conditions": [{"value": "no"}]}]});
        let a = flow(json!([
            split.clone(),
            send("a", "hi", 0),
            send("b", "bye", 0)
        ]));
        split["transitions"][2]["next"] = json!("c");
        split["transitions"][1]["conditions"][0]["value"] = json!("yes,Y");
        let b = flow(json!([split, send("a", "hello", 0), send("c", "new", 0)]));
        let d = diff(&a, &b, false);
        let text = d.render(Style::plain());
        assert!(text.contains("~ s (split-based-on)"), "{text}");
        assert!(text.contains("transition match#2: b → c"), "{text}");
        assert!(
            text.contains(r#"transition match#1 conditions[0].value: "yes" → "yes,Y""#),
            "{text}"
        );
        assert!(
            text.contains(r#"properties.body: "hi" → "hello""#),
            "{text}"
        );
        assert!(text.contains("+ c (send-message)"), "{text}");
        assert!(text.contains("- b (send-message)"), "{text}");
        assert!(
            text.contains("1 widget added, 1 widget removed, 2 widgets changed"),
            "{text}"
        );
    }
}
