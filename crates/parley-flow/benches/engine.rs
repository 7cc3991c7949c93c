//! Engine throughput in steps per second (criterion "elements"):
//! (a) the seed flow — trigger → question → reply → split → answer (4 steps over two calls),
//!     with and without storing the session as JSON between the calls as the server does;
//! (b) a generated 50-widget flow with Liquid in every body, splits and set-variables,
//!     run start to end in one call.
//!
//! `cargo bench -p parley-flow` — figures in BENCH.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parley_flow::harness::TestEnv;
use parley_flow::{
    CompiledFlow, EndReason, Event, Limits, Session, StartParams, Trigger, resume, start,
};
use serde_json::{Map, Value, json};

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn conversation_start() -> StartParams {
    StartParams {
        execution_sid: "FN00000000000000000000000000000001".into(),
        trigger: Trigger::IncomingConversationMessage {
            conversation: object(json!({
                "ConversationSid": "CH00000000000000000000000000000001",
                "ChatServiceSid": "IS00000000000000000000000000000001",
                "MessageSid": "IM00000000000000000000000000000001",
                "Author": "+15558675310", "Body": "hi", "Index": "0", "Source": "SMS",
            })),
        },
        contact_address: "+15558675310".into(),
        flow_address: "+15005550006".into(),
        channel_sid: Some("CH00000000000000000000000000000001".into()),
    }
}

fn reply() -> Event {
    Event::InboundMessage {
        message: object(json!({
            "ConversationSid": "CH00000000000000000000000000000001",
            "MessageSid": "IM00000000000000000000000000000002",
            "Author": "+15558675310", "Body": " Yes ", "Index": "1", "Source": "SMS",
        })),
    }
}

fn seed_flow(c: &mut Criterion) {
    let doc: Value = serde_json::from_str(include_str!("../tests/golden/seed_flow/seed-flow.json"))
        .expect("seed flow is JSON");
    let flow = CompiledFlow::compile("FW00000000000000000000000000000001", 1, &doc)
        .expect("seed flow compiles");
    let limits = Limits::default();
    let mut group = c.benchmark_group("seed_flow");
    group.throughput(Throughput::Elements(4));
    group.bench_function("question_reply_answer", |b| {
        b.iter(|| {
            let mut env = TestEnv::default();
            let out = start(&flow, conversation_start(), &mut env, &limits);
            let out = resume(&flow, out.session, reply(), &mut env, &limits);
            assert_eq!(out.ended, Some(EndReason::Completed));
            black_box(out)
        })
    });
    group.bench_function("question_reply_answer_session_as_json", |b| {
        b.iter(|| {
            let mut env = TestEnv::default();
            let out = start(&flow, conversation_start(), &mut env, &limits);
            let stored = serde_json::to_string(&out.session).expect("serialises");
            let session: Session = serde_json::from_str(&stored).expect("deserialises");
            let out = resume(&flow, session, reply(), &mut env, &limits);
            assert_eq!(out.ended, Some(EndReason::Completed));
            black_box(serde_json::to_string(&out.session).expect("serialises"))
        })
    });
    group.finish();
}

/// 1 trigger + 50 widgets in a chain: every third a set-variables (a counter and a
/// rendered string), a send-message with Liquid (a filter, an `if`, a lookup of an earlier
/// widget), or a split with three condition types.
fn generated_flow() -> Value {
    let mut states = vec![json!({
        "name": "Trigger", "type": "trigger", "properties": {},
        "transitions": [{"event": "incomingRequest", "next": "w0"}]
    })];
    for i in 0..50 {
        let name = format!("w{i}");
        let next = if i < 49 {
            json!(format!("w{}", i + 1))
        } else {
            Value::Null
        };
        let state = match i % 3 {
            0 => json!({"name": name, "type": "set-variables",
                "properties": {"variables": [
                    {"key": "count", "value": "{% if flow.variables.count %}{{flow.variables.count | plus: 1}}{% else %}1{% endif %}"},
                    {"key": format!("label{i}"), "value": "{{flow.data.name | upcase}}-{{flow.variables.count}}"}]},
                "transitions": [{"event": "next", "next": next}]}),
            1 => json!({"name": name, "type": "send-message",
                "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}",
                    "body": "Hello {{flow.data.name}}, step {{flow.variables.count}}{% if flow.variables.count > 3 %} (long run){% endif %}; last sent: {{widgets.w1.outbound.Sid}}"},
                "transitions": [{"event": "sent", "next": next}, {"event": "failed"}]}),
            _ => json!({"name": name, "type": "split-based-on",
                "properties": {"input": "{{flow.variables.count}}"},
                "transitions": [
                    {"event": "noMatch", "next": next},
                    {"event": "match", "next": next, "conditions": [
                        {"friendly_name": "a", "arguments": ["{{flow.variables.count}}"], "type": "matches_any_of", "value": "100,200,300"}]},
                    {"event": "match", "next": next, "conditions": [
                        {"friendly_name": "b", "arguments": ["{{flow.variables.count}}"], "type": "greater_than", "value": "{{flow.data.threshold}}"},
                        {"friendly_name": "c", "arguments": ["{{flow.variables.count}}"], "type": "regex", "value": "\\d+"}]}]}),
        };
        states.push(state);
    }
    json!({"description": "generated", "states": states, "initial_state": "Trigger"})
}

fn generated(c: &mut Criterion) {
    let flow = CompiledFlow::compile("FW00000000000000000000000000000002", 1, &generated_flow())
        .expect("generated flow compiles");
    let limits = Limits::default();
    let params = || StartParams {
        execution_sid: "FN00000000000000000000000000000002".into(),
        trigger: Trigger::IncomingRequest {
            to: "+15558675310".into(),
            from: "+15005550006".into(),
            parameters: json!({"name": "Zeke", "threshold": 5}),
        },
        contact_address: "+15558675310".into(),
        flow_address: "+15005550006".into(),
        channel_sid: None,
    };
    let probe = start(&flow, params(), &mut TestEnv::default(), &limits);
    assert_eq!(probe.ended, Some(EndReason::Completed));
    let steps = probe.steps.len() as u64;
    let mut group = c.benchmark_group("generated_50_widgets");
    group.throughput(Throughput::Elements(steps));
    group.bench_function("start_to_end", |b| {
        b.iter(|| {
            let mut env = TestEnv::default();
            black_box(start(&flow, params(), &mut env, &limits))
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // The machine is small and shared: short, steady runs.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = seed_flow, generated
}
criterion_main!(benches);
