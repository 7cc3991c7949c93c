use serde_json::{Value, json};

use super::*;

fn flow(states: Value) -> Value {
    json!({"description": "t", "states": states, "initial_state": "Trigger",
           "flags": {"allow_concurrent_calls": true}})
}

fn trigger(next: &str) -> Value {
    json!({"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
           "transitions": [{"event": "incomingMessage", "next": next}]})
}

fn paths(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.property_path.as_str()).collect()
}

#[test]
fn the_seed_flow_is_valid_without_warnings() {
    let seed: Value =
        serde_json::from_str(include_str!("../../tests/golden/seed_flow/seed-flow.json"))
            .expect("seed flow parses");
    let report = validate(&seed);
    assert!(report.is_valid(), "{report}");
    assert!(report.warnings.is_empty(), "{report}");
}

#[test]
fn unknown_next_names_the_widget() {
    let report = validate(&flow(json!([
        trigger("split_1"),
        {"name": "split_1", "type": "split-based-on", "properties": {"input": "x"},
         "transitions": [{"event": "noMatch"}, {"event": "match", "next": "nope",
            "conditions": [{"friendly_name": "f", "arguments": ["x"], "type": "equal_to", "value": "1"}]}]}
    ])));
    assert_eq!(paths(&report.errors), ["#/states/1/transitions/1/next"]);
    assert_eq!(
        report.errors[0].message,
        "Widget 'split_1': transition 'match' points to unknown widget 'nope'"
    );
}

#[test]
fn shape_errors() {
    let report = validate(
        &json!({"states": [], "initial_state": "", "flags": {"allow_concurrent_calls": "yes"}}),
    );
    assert_eq!(
        paths(&report.errors),
        [
            "#/initial_state",
            "#/flags/allow_concurrent_calls",
            "#/states"
        ]
    );
    let report = validate(&json!([1]));
    assert_eq!(paths(&report.errors), ["#"]);
    let report = validate(&flow(json!([{"name": "Trigger", "type": "trigger",
        "transitions": [{"event": ""}, {"event": "incomingMessage", "conditions": [{"type": "x"}]}]}])));
    assert_eq!(
        paths(&report.errors),
        [
            "#/states/0/properties",
            "#/states/0/transitions/0/event",
            "#/states/0/transitions/1/conditions/0/friendly_name",
            "#/states/0/transitions/1/conditions/0/value",
            "#/states/0/transitions/1/conditions/0/arguments",
        ]
    );
}

#[test]
fn too_many_states() {
    let states: Vec<Value> = (0..1001)
        .map(|i| json!({"name": format!("w{i}"), "type": "set-variables", "transitions": [], "properties": {}}))
        .collect();
    let report = validate(&flow(Value::Array(states)));
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.message.contains("at most 1000"))
    );
}

#[test]
fn names_types_events_and_required_properties() {
    let report = validate(&flow(json!([
        trigger("send_1"),
        {"name": "send_1", "type": "send-message", "properties": {"body": "x"},
         "transitions": [{"event": "sent", "next": "fn_1"}]},
        {"name": "fn_1", "type": "run-function", "properties": {"url": "https://x"},
         "transitions": [{"event": "failed"}, {"event": "success", "next": "send_1"}]},
        {"name": "send_1", "type": "set-variables", "properties": {}, "transitions": []},
        {"name": "1bad", "type": "set-variables", "properties": {}, "transitions": []},
        {"name": "has space", "type": "set-variables", "properties": {}, "transitions": []},
        {"name": "dot.ted", "type": "nope-widget", "properties": {}, "transitions": []}
    ])));
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Widget 'send_1': duplicate widget name (already used by #/states/1)",
            "Widget '1bad': the name must begin with a letter",
            "Widget 'has space': the name must not contain spaces",
            "Widget 'dot.ted': the name must not contain periods",
            "Widget 'send_1': required property 'from' is missing",
            "Widget 'fn_1': 'failed' is not an event of run-function (its events are: success, fail)",
            "Widget 'dot.ted': unknown widget type 'nope-widget'",
        ]
    );
}

#[test]
fn initial_state_must_exist() {
    let mut def = flow(json!([trigger("")]));
    def["initial_state"] = json!("Start");
    let report = validate(&def);
    assert_eq!(paths(&report.errors), ["#/initial_state"]);
}

#[test]
fn voice_widgets_are_valid_types() {
    let report = validate(&flow(json!([
        trigger("say_1"),
        {"name": "say_1", "type": "say-play", "properties": {"say": "hi"},
         "transitions": [{"event": "audioComplete", "next": "gather_1"}]},
        {"name": "gather_1", "type": "gather-input-on-call", "properties": {},
         "transitions": [{"event": "keypress"}, {"event": "speech"}, {"event": "timeout", "next": "call_1"}]},
        {"name": "call_1", "type": "connect-call-to", "properties": {"noun": "number", "to": "+1"},
         "transitions": [{"event": "callCompleted", "next": "redirect_1"}, {"event": "hangup"}]},
        {"name": "redirect_1", "type": "add-twiml-redirect", "properties": {"url": "https://x"},
         "transitions": [{"event": "return", "next": "pay_1"}]},
        {"name": "pay_1", "type": "capture-payments", "properties": {},
         "transitions": [{"event": "success", "next": "agent_1"}]},
        {"name": "agent_1", "type": "connect-virtual-agent", "properties": {"connector": "c"},
         "transitions": [{"event": "return"}]}
    ])));
    assert!(report.is_valid(), "{report}");
}

#[test]
fn soft_findings_are_warnings() {
    let report = validate(&flow(json!([
        trigger("split_1"),
        {"name": "split_1", "type": "split-based-on", "properties": {"input": "{{ trigger.message.Body "},
         "transitions": [{"event": "noMatch"},
            {"event": "match", "next": "orphan_target", "conditions": [
                {"friendly_name": "r", "arguments": [""], "type": "regex", "value": "(unclosed"},
                {"friendly_name": "m", "arguments": [""], "type": "matches_any_of", "value": "yes,,no"}]}]},
        {"name": "orphan_target", "type": "send-message",
         "properties": {"from": "x", "body": "{% for %}", "extra_key": 1}, "transitions": []},
        {"name": "orphan", "type": "set-variables", "properties": {}, "transitions": []}
    ])));
    assert!(report.is_valid(), "{report}");
    assert_eq!(
        paths(&report.warnings),
        [
            "#/states/3",
            "#/states/1/properties/input",
            "#/states/1/transitions/1/conditions/0/value",
            "#/states/1/transitions/1/conditions/1/value",
            "#/states/2/properties/body",
        ]
    );
}

#[test]
fn property_shapes_the_engine_reads() {
    let report = validate(&flow(json!([
        trigger("vars"),
        {"name": "vars", "type": "set-variables", "properties": {"variables": [{"value": "x"}]},
         "transitions": [{"event": "next", "next": "sub"}]},
        {"name": "sub", "type": "run-subflow",
         "properties": {"flow_sid": "FW1", "flow_revision": "Newest", "parameters": "no"},
         "transitions": []}
    ])));
    assert_eq!(
        paths(&report.errors),
        [
            "#/states/1/properties/variables/0/key",
            "#/states/2/properties/parameters",
            "#/states/2/properties/flow_revision",
        ]
    );
}
