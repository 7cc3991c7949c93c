//! The flow definition model: a typed view of the JSON the Studio canvas exports, built next to
//! (never instead of) the original document, so that a definition fetched back through the API
//! is byte-for-byte what was stored — canvas offsets, key order and keys we do not know included.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::validate::{ValidationReport, schema};

/// A parsed flow definition.
#[derive(Debug, Clone)]
pub struct FlowDefinition {
    json: Value,
    description: Option<String>,
    states: Vec<State>,
    initial_state: String,
    by_name: HashMap<String, usize>,
}

/// One widget ("state" in the JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub name: String,
    /// The widget type (`"type"` in the JSON), e.g. `send-message`.
    pub kind: String,
    pub transitions: Vec<Transition>,
    /// Widget-specific properties, untouched (including `offset`).
    pub properties: Map<String, Value>,
}

/// One outgoing edge of a widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub event: String,
    /// The widget to enter next; `None` (absent, `null` or `""`) ends the execution.
    pub next: Option<String>,
    /// Only meaningful on `split-based-on` `match` transitions; all must hold.
    pub conditions: Vec<Condition>,
}

/// One condition of a split's `match` transition (studio.md §4).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub friendly_name: String,
    pub arguments: Vec<String>,
    /// The condition type (`"type"` in the JSON), e.g. `matches_any_of`.
    pub kind: String,
    pub value: String,
}

impl FlowDefinition {
    /// Structural parse: checks the schema shape (studio.md §1.1–1.2) and builds the typed
    /// view. It does not check references between widgets or widget-specific rules; that is
    /// [`crate::validate()`]'s job, which reports everything at once.
    pub fn parse(value: &Value) -> Result<FlowDefinition, ValidationReport> {
        let mut report = ValidationReport::default();
        schema::check(value, &mut report);
        if !report.is_valid() {
            return Err(report);
        }
        Ok(Self::from_checked(value))
    }

    /// Builds the view of a document whose shape was already checked. Written defensively all
    /// the same (defaults instead of panics), since it only reads.
    pub(crate) fn from_checked(value: &Value) -> FlowDefinition {
        let states: Vec<State> = value
            .get("states")
            .and_then(Value::as_array)
            .map(|states| states.iter().map(state_from_json).collect())
            .unwrap_or_default();
        let mut by_name = HashMap::with_capacity(states.len());
        for (i, s) in states.iter().enumerate() {
            // The first of two same-named widgets wins; validation reports the duplicate.
            by_name.entry(s.name.clone()).or_insert(i);
        }
        FlowDefinition {
            json: value.clone(),
            description: str_field(value, "description"),
            initial_state: str_field(value, "initial_state").unwrap_or_default(),
            states,
            by_name,
        }
    }

    /// The definition exactly as it was given.
    pub fn as_json(&self) -> &Value {
        &self.json
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn states(&self) -> &[State] {
        &self.states
    }

    pub fn initial_state(&self) -> &str {
        &self.initial_state
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.by_name.get(name).and_then(|&i| self.states.get(i))
    }

    /// Position of a widget in `states`, for JSON-pointer paths in findings.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

impl State {
    /// A string property, if present and a string.
    pub fn property_str(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The first transition for `event` (Studio exports list each event once).
    pub fn transition(&self, event: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.event == event)
    }
}

impl State {
    /// Every string of this widget that may hold Liquid, with its JSON-pointer path below
    /// `#/states/N/`: all property strings at any depth except the canvas `offset`, and the
    /// values and arguments of split conditions.
    pub(crate) fn template_strings(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (key, value) in &self.properties {
            if key != "offset" {
                collect_strings(
                    value,
                    format!("properties/{}", pointer_escape(key)),
                    &mut out,
                );
            }
        }
        for (j, t) in self.transitions.iter().enumerate() {
            for (k, c) in t.conditions.iter().enumerate() {
                let base = format!("transitions/{j}/conditions/{k}");
                out.push((format!("{base}/value"), c.value.as_str()));
                for (a, arg) in c.arguments.iter().enumerate() {
                    out.push((format!("{base}/arguments/{a}"), arg.as_str()));
                }
            }
        }
        out
    }
}

fn collect_strings<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((path, s.as_str())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, format!("{path}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_strings(v, format!("{path}/{}", pointer_escape(k)), out);
            }
        }
        _ => {}
    }
}

/// JSON-pointer escaping of one path segment (RFC 6901).
fn pointer_escape(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn state_from_json(value: &Value) -> State {
    State {
        name: str_field(value, "name").unwrap_or_default(),
        kind: str_field(value, "type").unwrap_or_default(),
        transitions: value
            .get("transitions")
            .and_then(Value::as_array)
            .map(|ts| ts.iter().map(transition_from_json).collect())
            .unwrap_or_default(),
        properties: value
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    }
}

fn transition_from_json(value: &Value) -> Transition {
    Transition {
        event: str_field(value, "event").unwrap_or_default(),
        next: str_field(value, "next").filter(|n| !n.is_empty()),
        conditions: value
            .get("conditions")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().map(condition_from_json).collect())
            .unwrap_or_default(),
    }
}

fn condition_from_json(value: &Value) -> Condition {
    Condition {
        friendly_name: str_field(value, "friendly_name").unwrap_or_default(),
        arguments: value
            .get("arguments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        kind: str_field(value, "type").unwrap_or_default(),
        value: str_field(value, "value").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_document_and_reads_states() {
        let doc = json!({
            "description": "d",
            "states": [{"name": "Trigger", "type": "trigger", "transitions": [
                {"event": "incomingMessage", "next": "a"}, {"event": "incomingCall", "next": ""}],
                "properties": {"offset": {"x": 1, "y": 2}}, "extra": true},
                {"name": "a", "type": "send-message", "transitions": [],
                 "properties": {"from": "x", "body": "hi"}}],
            "initial_state": "Trigger",
            "unknown": [1, 2]
        });
        let def = FlowDefinition::parse(&doc).expect("valid shape");
        assert_eq!(def.as_json(), &doc);
        assert_eq!(def.initial_state(), "Trigger");
        let trigger = def.state("Trigger").expect("trigger");
        assert_eq!(trigger.transitions[0].next.as_deref(), Some("a"));
        assert_eq!(
            trigger.transitions[1].next, None,
            "empty next ends the execution"
        );
        assert_eq!(
            def.state("a").and_then(|s| s.property_str("body")),
            Some("hi")
        );
    }

    #[test]
    fn rejects_a_broken_shape() {
        let err = FlowDefinition::parse(&json!({"states": []})).expect_err("invalid");
        assert!(!err.errors.is_empty());
    }
}
