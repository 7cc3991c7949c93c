//! Flow definitions, as `POST /v2/Flows` and `/v2/Flows/Validate` receive them, through the
//! validator, the compiler and then the engine.
//!
//! Two ways in, one input each:
//! - bytes that parse as JSON are taken as the definition itself (the seeds are the example
//!   and golden flows, so mutations explore the JSON the canvas exports);
//! - any other bytes are read with `arbitrary` as a *structured* flow — widget types, events,
//!   property keys and templates drawn from Studio's vocabulary, names that refer to each
//!   other — which gets past the JSON parser and the schema check into the rules, the
//!   compiler and execution.
//!
//! Checks: no panic; `CompiledFlow::compile` succeeds exactly when `validate` finds no hard
//! error; a compiled flow runs (start, then a script of events) within the engine's limits,
//! and its session survives the JSON round trip the server puts it through between events.

#![no_main]

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use parley_flow::fuzzing::condition_types;
use parley_flow::harness::TestEnv;
use parley_flow::{
    CompiledFlow, Effect, Env, Event, HttpResult, Limits, Outcome, Session, StartParams, Trigger,
    resume, start, validate,
};
use serde_json::{Map, Value, json};

const FLOW_SID: &str = "FW00000000000000000000000000000001";

const NAMES: &[&str] = &[
    "Trigger", "send", "wait", "split", "vars", "http", "function", "subflow", "flex", "say", "",
];

const WIDGET_TYPES: &[&str] = &[
    "trigger",
    "send-message",
    "send-and-wait-for-reply",
    "split-based-on",
    "set-variables",
    "make-http-request",
    "run-function",
    "run-subflow",
    "send-to-flex",
    "add-twiml-redirect",
    "say-play",
    "gather-input-on-call",
    "connect-call-to",
    "make-outgoing-call-v2",
    "record-voicemail",
    "enqueue-call",
    "capture-payments",
    "fork-stream",
    "connect-virtual-agent-v2",
    "send-to-auto-pilot",
];

const EVENTS: &[&str] = &[
    "incomingMessage",
    "incomingCall",
    "incomingConversationMessage",
    "incomingRequest",
    "incomingParent",
    "sent",
    "failed",
    "timeout",
    "deliveryFailure",
    "match",
    "noMatch",
    "next",
    "success",
    "fail",
    "completed",
    "callComplete",
    "failedToEnqueue",
    "callFailure",
    "audioComplete",
];

const PROPERTY_KEYS: &[&str] = &[
    "from",
    "to",
    "body",
    "input",
    "url",
    "method",
    "content_type",
    "parameters",
    "variables",
    "timeout",
    "flow_sid",
    "flow_revision",
    "workflow",
    "channel",
    "attributes",
    "priority",
    "media_url",
    "message_type",
    "content_sid",
    "content_variables",
    "service",
    "offset",
    "parse_as_json",
];

/// Strings and templates widgets are typically given.
const TEXTS: &[&str] = &[
    "{{trigger.message.Body}}",
    "{{flow.data.x}}",
    "{{flow.variables.count | plus: 1}}",
    "{{contact.channel.address}}",
    "{{flow.channel.address}}",
    "{{widgets.http.parsed.items[0]}}",
    "{{widgets.http.body}}",
    "{{widgets.wait.inbound.Body}}",
    "{{widgets.subflow.x}}",
    "{% for i in (1..20) %}{{i}}{% endfor %}",
    "{% for i in (1..3) %}{% for j in (1..3) %}{{i}}{{j}}{% endfor %}{% endfor %}",
    "{% assign s = 'xxxxxxxx' %}{% for i in (1..15) %}{% assign s = s | append: s %}{% endfor %}{{s}}",
    "{{ 'now' | date: '%Y-%m-%d %H:%M' }}",
    "{{ flow.data | to_json }}",
    "{{",
    "{% if %}",
    "{% endfor %}",
    "https://example.com/api",
    "http://127.0.0.1:1/x",
    "GET",
    "POST",
    "application/json",
    "application/x-www-form-urlencoded",
    "+15017122661",
    "+15558675310",
    FLOW_SID,
    "LatestPublished",
    "LatestRevision",
    "1",
    "60",
    "-1",
    "yes",
    "^(a+)+$",
    "(?:yes|y)",
    "a, b,,c",
    "09:30",
    "2024-02-29",
    "{\"a\": 1}",
    "WW00000000000000000000000000000001",
    "content_template",
    "HX00000000000000000000000000000001",
    "",
];

#[derive(Debug, Arbitrary)]
enum Pick {
    Known(u8),
    Raw(String),
}

fn pick(p: &Pick, pool: &[&str]) -> String {
    match p {
        Pick::Known(i) => pool[usize::from(*i) % pool.len()].to_owned(),
        Pick::Raw(s) => s.clone(),
    }
}

#[derive(Debug, Arbitrary)]
enum Text {
    Known(u8),
    Raw(String),
    Join(Vec<Text>),
}

impl Text {
    fn build(&self) -> String {
        match self {
            Text::Known(i) => TEXTS[usize::from(*i) % TEXTS.len()].to_owned(),
            Text::Raw(s) => s.clone(),
            Text::Join(parts) => parts.iter().map(Text::build).collect(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Prop {
    Text(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// `[{key, value}]`, as HTTP parameters, subflow parameters and set-variables use.
    Pairs(Vec<(Pick, Text)>),
    Object(Vec<(Pick, Prop)>),
    Array(Vec<Prop>),
}

impl Prop {
    fn build(&self) -> Value {
        match self {
            Prop::Text(t) => Value::String(t.build()),
            Prop::Int(i) => json!(i),
            Prop::Float(f) => json!(f),
            Prop::Bool(b) => json!(b),
            Prop::Null => Value::Null,
            Prop::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| json!({"key": pick(k, NAMES), "value": v.build()}))
                .collect(),
            Prop::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (pick(k, PROPERTY_KEYS), v.build()))
                    .collect(),
            ),
            Prop::Array(items) => items.iter().map(Prop::build).collect(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct ArbCondition {
    kind: Pick,
    value: Text,
    arguments: Vec<Text>,
    friendly_name: String,
}

#[derive(Debug, Arbitrary)]
struct ArbTransition {
    event: Pick,
    next: Option<Pick>,
    conditions: Vec<ArbCondition>,
}

#[derive(Debug, Arbitrary)]
struct ArbState {
    name: Pick,
    kind: Pick,
    transitions: Vec<ArbTransition>,
    properties: Vec<(Pick, Prop)>,
}

#[derive(Debug, Arbitrary)]
enum ArbTrigger {
    Message(Text),
    Request(Vec<(Pick, Prop)>),
    Conversation(Text),
    Call,
}

/// What happens to the execution after it starts; ids refer to what its effects asked for.
#[derive(Debug, Arbitrary)]
enum ArbEvent {
    Reply(Text),
    Timer(u8),
    Http {
        request: u8,
        status: u16,
        json: bool,
        body: Text,
        truncated: bool,
    },
    HttpError(u8),
    DeliveryFailed(u8, Option<i64>),
    Stop,
}

#[derive(Debug, Arbitrary)]
struct ArbFlow {
    description: Option<Text>,
    initial: Pick,
    states: Vec<ArbState>,
    trigger: ArbTrigger,
    events: Vec<ArbEvent>,
}

impl ArbFlow {
    fn definition(&self) -> Value {
        let states: Vec<Value> = self
            .states
            .iter()
            .take(16)
            .map(|s| {
                let transitions: Vec<Value> = s
                    .transitions
                    .iter()
                    .map(|t| {
                        let mut o = Map::new();
                        o.insert("event".into(), pick(&t.event, EVENTS).into());
                        if let Some(n) = &t.next {
                            o.insert("next".into(), pick(n, NAMES).into());
                        }
                        if !t.conditions.is_empty() {
                            let conditions: Vec<Value> = t
                                .conditions
                                .iter()
                                .map(|c| {
                                    json!({
                                        "friendly_name": c.friendly_name,
                                        "arguments": c.arguments.iter().map(Text::build).collect::<Vec<_>>(),
                                        "type": pick(&c.kind, condition_types()),
                                        "value": c.value.build(),
                                    })
                                })
                                .collect();
                            o.insert("conditions".into(), conditions.into());
                        }
                        Value::Object(o)
                    })
                    .collect();
                let properties: Map<String, Value> = s
                    .properties
                    .iter()
                    .map(|(k, v)| (pick(k, PROPERTY_KEYS), v.build()))
                    .collect();
                json!({
                    "name": pick(&s.name, NAMES),
                    "type": pick(&s.kind, WIDGET_TYPES),
                    "transitions": transitions,
                    "properties": properties,
                })
            })
            .collect();
        let mut top = Map::new();
        if let Some(d) = &self.description {
            top.insert("description".into(), d.build().into());
        }
        top.insert("states".into(), states.into());
        top.insert("initial_state".into(), pick(&self.initial, NAMES).into());
        top.insert("flags".into(), json!({"allow_concurrent_calls": true}));
        Value::Object(top)
    }

    fn trigger(&self) -> Trigger {
        match &self.trigger {
            ArbTrigger::Message(body) => message_trigger(&body.build()),
            ArbTrigger::Request(params) => Trigger::IncomingRequest {
                to: "+15558675310".into(),
                from: "+15017122661".into(),
                parameters: Value::Object(
                    params
                        .iter()
                        .map(|(k, v)| (pick(k, NAMES), v.build()))
                        .collect(),
                ),
            },
            ArbTrigger::Conversation(body) => Trigger::IncomingConversationMessage {
                conversation: message_fields(&body.build()),
            },
            ArbTrigger::Call => Trigger::IncomingCall {
                call: message_fields(""),
            },
        }
    }
}

fn message_fields(body: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Body".into(), body.into());
    m.insert("From".into(), "+15558675310".into());
    m.insert("To".into(), "+15017122661".into());
    m.insert(
        "MessageSid".into(),
        "SM00000000000000000000000000000001".into(),
    );
    m
}

fn message_trigger(body: &str) -> Trigger {
    Trigger::IncomingMessage {
        message: message_fields(body),
    }
}

/// The ids an execution's effects handed out, for events to refer to.
#[derive(Default)]
struct Ids {
    timers: Vec<String>,
    requests: Vec<String>,
    messages: Vec<String>,
}

impl Ids {
    fn note(&mut self, outcome: &Outcome) {
        for e in &outcome.effects {
            match e {
                Effect::ScheduleTimer { timer_id, .. } => self.timers.push(timer_id.clone()),
                Effect::HttpRequest { request_id, .. } => self.requests.push(request_id.clone()),
                Effect::SendMessage { message_sid, .. } => self.messages.push(message_sid.clone()),
                _ => {}
            }
        }
    }
}

fn nth(ids: &[String], i: u8) -> String {
    if ids.is_empty() {
        "unknown".to_owned()
    } else {
        ids[usize::from(i) % ids.len()].clone()
    }
}

impl ArbEvent {
    fn event(&self, ids: &Ids) -> Event {
        match self {
            ArbEvent::Reply(body) => Event::InboundMessage {
                message: message_fields(&body.build()),
            },
            ArbEvent::Timer(i) => Event::TimerFired {
                timer_id: nth(&ids.timers, *i),
            },
            ArbEvent::Http {
                request,
                status,
                json,
                body,
                truncated,
            } => Event::HttpResponse {
                request_id: nth(&ids.requests, *request),
                result: HttpResult::Response {
                    status: *status,
                    content_type: Some(
                        if *json {
                            "application/json"
                        } else {
                            "text/plain"
                        }
                        .into(),
                    ),
                    headers: vec![("X-Test".into(), "1".into())],
                    body: body.build(),
                    truncated: *truncated,
                },
            },
            ArbEvent::HttpError(i) => Event::HttpResponse {
                request_id: nth(&ids.requests, *i),
                result: HttpResult::Error {
                    message: "connection refused".into(),
                },
            },
            ArbEvent::DeliveryFailed(i, code) => Event::DeliveryFailed {
                message_sid: nth(&ids.messages, *i),
                error_code: *code,
                error_message: Some("undelivered".into()),
            },
            ArbEvent::Stop => Event::Stop {
                reason: "stopped by the fuzzer".into(),
            },
        }
    }
}

/// The events a JSON-mode input gets: a reply, a successful JSON response, a timer.
fn default_events() -> Vec<ArbEvent> {
    vec![
        ArbEvent::Http {
            request: 0,
            status: 200,
            json: true,
            body: Text::Raw("{\"items\": [1, 2], \"status\": \"shipped\"}".into()),
            truncated: false,
        },
        ArbEvent::Reply(Text::Raw("yes".into())),
        ArbEvent::Timer(0),
        ArbEvent::Reply(Text::Raw("no".into())),
    ]
}

/// The server stores the session as JSON between events; it must read back unchanged.
fn round_trip(session: Session) -> Session {
    let stored = serde_json::to_string(&session).expect("a session serialises");
    let back: Session = serde_json::from_str(&stored).expect("a stored session reads back");
    assert_eq!(back, session, "the session changed through JSON");
    back
}

fn run(flow: &Arc<CompiledFlow>, trigger: Trigger, events: &[ArbEvent]) {
    let mut env = TestEnv::default();
    // A flow may run itself as a subflow (`flow_sid` is one of the texts).
    env.add_flow(flow.clone());
    let limits = Limits::default();
    let params = StartParams {
        execution_sid: "FN00000000000000000000000000000001".into(),
        trigger,
        contact_address: "+15558675310".into(),
        flow_address: "+15017122661".into(),
        channel_sid: None,
    };
    let mut outcome = start(flow, params, &mut env, &limits);
    let mut ids = Ids::default();
    for event in events.iter().take(12) {
        ids.note(&outcome);
        if outcome.ended.is_some() {
            break;
        }
        let session = round_trip(outcome.session);
        env.set_now_ms(env.now_ms() + 1_000);
        outcome = resume(flow, session, event.event(&ids), &mut env, &limits);
    }
}

/// Validates and compiles `definition` once, then runs each start and its events on it.
fn check(definition: &Value, runs: &[(Trigger, &[ArbEvent])]) {
    let report = validate(definition);
    match CompiledFlow::compile(FLOW_SID, 1, definition) {
        Ok(flow) => {
            assert!(
                report.is_valid(),
                "compiled a flow validate rejects: {report}"
            );
            assert_eq!(flow.warnings(), report.warnings.as_slice());
            let flow = Arc::new(flow);
            for (trigger, events) in runs {
                run(&flow, trigger.clone(), events);
            }
        }
        Err(errors) => {
            assert!(
                !report.is_valid(),
                "validate accepts a flow compile rejects"
            );
            assert_eq!(errors, report);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(definition) = serde_json::from_slice::<Value>(data) {
        let trigger = Trigger::IncomingRequest {
            to: "+15558675310".into(),
            from: "+15017122661".into(),
            parameters: json!({"mode": "loop", "x": "1"}),
        };
        let events = default_events();
        check(
            &definition,
            &[(trigger, &events), (message_trigger("hi"), &events)],
        );
        return;
    }
    let Ok(flow) = ArbFlow::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check(&flow.definition(), &[(flow.trigger(), &flow.events)]);
});
