//! Unit tests of the state machine's contract; behaviour per widget is covered by the golden
//! tests in `tests/golden/`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::*;
use crate::env::RevisionSpec;

struct TestEnv {
    now: i64,
    n: u64,
}

impl Env for TestEnv {
    fn now_ms(&self) -> i64 {
        self.now
    }
    fn new_sid(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{:032x}", self.n)
    }
    fn load_flow(&mut self, sid: &str, _: RevisionSpec) -> Result<Arc<CompiledFlow>, String> {
        Err(format!("no flow {sid}"))
    }
}

fn seed() -> CompiledFlow {
    let doc: Value =
        serde_json::from_str(include_str!("../../tests/golden/seed_flow/seed-flow.json"))
            .expect("seed flow parses");
    CompiledFlow::compile("FW1", 1, &doc).expect("seed flow compiles")
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn conversation_start(body: &str) -> StartParams {
    StartParams {
        execution_sid: "FN1".into(),
        trigger: Trigger::IncomingConversationMessage {
            conversation: map(json!({"ConversationSid": "CH1", "Body": body, "Author": "+1555"})),
        },
        contact_address: "+1555".into(),
        flow_address: "+1500".into(),
        channel_sid: Some("CH1".into()),
    }
}

#[test]
fn seed_flow_asks_then_answers_the_reply() {
    let flow = seed();
    let mut env = TestEnv { now: 1000, n: 0 };
    let limits = Limits::default();
    let out = start(&flow, conversation_start("hi"), &mut env, &limits);
    assert!(out.session.is_active());
    assert_eq!(out.session.waiting_for_reply(), Some("send_and_reply_1"));
    let Some(Effect::SendMessage {
        body,
        channel_sid,
        message_sid,
        ..
    }) = out.effects.first()
    else {
        panic!("expected a message first: {:?}", out.effects);
    };
    assert_eq!(body, "Hi, do you like bots?");
    assert_eq!(channel_sid.as_deref(), Some("CH1"));
    assert!(message_sid.starts_with("IM"));
    assert!(matches!(
        out.effects.get(1),
        Some(Effect::ScheduleTimer {
            fire_at_ms: 3_601_000,
            ..
        })
    ));

    let reply = Event::InboundMessage {
        message: map(json!({"Body": " YES ", "Author": "+1555"})),
    };
    let out = resume(&flow, out.session, reply, &mut env, &limits);
    assert_eq!(out.ended, Some(EndReason::Completed));
    let bodies: Vec<&str> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::SendMessage { body, .. } => Some(body.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ["🤖"]);
    let trail: Vec<(&str, &str, &str)> = out
        .steps
        .iter()
        .map(|s| {
            (
                s.transitioned_from.as_str(),
                s.name.as_str(),
                s.transitioned_to.as_str(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            ("send_and_reply_1", "incomingMessage", "split_1"),
            ("split_1", "match", "send_message_2"),
            ("send_message_2", "sent", "Ended"),
        ]
    );
}

#[test]
fn a_trigger_without_next_ends_at_once() {
    let flow = seed();
    let mut env = TestEnv { now: 0, n: 0 };
    let params = StartParams {
        execution_sid: "FN2".into(),
        trigger: Trigger::IncomingRequest {
            to: "+1555".into(),
            from: "+1500".into(),
            parameters: json!({"a": 1}),
        },
        contact_address: "+1555".into(),
        flow_address: "+1500".into(),
        channel_sid: None,
    };
    let out = start(&flow, params, &mut env, &Limits::default());
    assert_eq!(out.ended, Some(EndReason::Completed));
    assert_eq!(out.steps.len(), 1);
    assert_eq!(out.steps[0].transitioned_to, "Ended");
    assert_eq!(out.steps[0].name, "incomingRequest");
    assert_eq!(out.session.context()["flow"]["data"]["a"], 1);
}

#[test]
fn resume_with_another_revision_changes_nothing() {
    let flow = seed();
    let mut env = TestEnv { now: 0, n: 0 };
    let out = start(
        &flow,
        conversation_start("hi"),
        &mut env,
        &Limits::default(),
    );
    let other = CompiledFlow::compile("FW1", 2, flow.definition().as_json()).expect("compiles");
    let before = out.session.clone();
    let again = resume(
        &other,
        out.session,
        Event::Stop { reason: "x".into() },
        &mut env,
        &Limits::default(),
    );
    assert_eq!(again.session, before);
    assert_eq!(again.warnings.len(), 1);
}

#[test]
fn stop_cancels_the_reply_timer() {
    let flow = seed();
    let mut env = TestEnv { now: 0, n: 0 };
    let out = start(
        &flow,
        conversation_start("hi"),
        &mut env,
        &Limits::default(),
    );
    let timer = out.session.pending_timer_id().map(str::to_owned);
    let out = resume(
        &flow,
        out.session,
        Event::Stop {
            reason: "api".into(),
        },
        &mut env,
        &Limits::default(),
    );
    assert_eq!(
        out.ended,
        Some(EndReason::Stopped {
            reason: "api".into()
        })
    );
    assert_eq!(
        out.effects,
        [Effect::CancelTimer {
            timer_id: timer.unwrap_or_default()
        }]
    );
    assert!(!out.session.is_active());
}

#[test]
fn sessions_round_trip_through_json() {
    let flow = seed();
    let mut env = TestEnv { now: 0, n: 0 };
    let out = start(
        &flow,
        conversation_start("hi"),
        &mut env,
        &Limits::default(),
    );
    let text = serde_json::to_string(&out.session).expect("serialises");
    let back: Session = serde_json::from_str(&text).expect("deserialises");
    assert_eq!(back, out.session);
    assert_eq!(back.flow_revisions(), [("FW1".to_owned(), 1)]);
}

fn http_flow() -> CompiledFlow {
    let doc = json!({
        "description": "one request",
        "states": [
            {"name": "Trigger", "type": "trigger", "properties": {},
             "transitions": [{"event": "incomingRequest", "next": "http_1"}]},
            {"name": "http_1", "type": "make-http-request",
             "properties": {"method": "GET", "url": "https://x.test/a"},
             "transitions": [{"event": "success"}, {"event": "failed"}]}
        ],
        "initial_state": "Trigger"
    });
    CompiledFlow::compile("FW2", 1, &doc).expect("compiles")
}

fn rest_start() -> StartParams {
    StartParams {
        execution_sid: "FN3".into(),
        trigger: Trigger::IncomingRequest {
            to: "+1555".into(),
            from: "+1500".into(),
            parameters: json!({}),
        },
        contact_address: "+1555".into(),
        flow_address: "+1500".into(),
        channel_sid: None,
    }
}

#[test]
fn events_that_do_not_fit_leave_the_session_unchanged() {
    let flow = http_flow();
    let mut env = TestEnv { now: 0, n: 0 };
    let limits = Limits::default();
    let out = start(&flow, rest_start(), &mut env, &limits);
    let waiting = out.session.clone();
    assert!(waiting.pending_http_request_id().is_some());
    let stale = [
        Event::HttpResponse {
            request_id: "RQ-other".into(),
            result: HttpResult::Error {
                message: "x".into(),
            },
        },
        Event::TimerFired {
            timer_id: "TM-other".into(),
        },
        Event::DeliveryFailed {
            message_sid: "SM-other".into(),
            error_code: None,
            error_message: None,
        },
        Event::InboundMessage {
            message: Map::new(),
        },
    ];
    let expected = [
        "stale HTTP response",
        "stale timer",
        "delivery failure of SM-other",
        "81002",
    ];
    for (event, warning) in stale.into_iter().zip(expected) {
        let out = resume(&flow, waiting.clone(), event, &mut env, &limits);
        assert_eq!(out.session, waiting);
        assert!(out.steps.is_empty() && out.effects.is_empty());
        assert!(out.warnings[0].contains(warning), "{:?}", out.warnings);
    }
}

#[test]
fn an_ended_execution_ignores_events() {
    let flow = http_flow();
    let mut env = TestEnv { now: 0, n: 0 };
    let limits = Limits::default();
    let out = start(&flow, rest_start(), &mut env, &limits);
    let id = out
        .session
        .pending_http_request_id()
        .unwrap_or_default()
        .to_owned();
    let response = Event::HttpResponse {
        request_id: id,
        result: HttpResult::Response {
            status: 200,
            content_type: None,
            headers: vec![],
            body: "{\"a\":1}".into(),
            truncated: false,
        },
    };
    let out = resume(&flow, out.session, response, &mut env, &limits);
    assert_eq!(out.ended, Some(EndReason::Completed));
    assert_eq!(out.session.context()["widgets"]["http_1"]["parsed"]["a"], 1);
    let ended = out.session.clone();
    let out = resume(
        &flow,
        out.session,
        Event::Stop { reason: "x".into() },
        &mut env,
        &limits,
    );
    assert_eq!(out.session, ended);
    assert_eq!(out.ended, None);
    assert!(out.warnings[0].contains("has ended"));
}
