//! The tutorial, both ways (fixtures/README.md): a handset texts the number, the seed flow
//! asks "Hi, do you like bots?" and answers 🤖 / 👽 / 👻; then an agent takes over.

use axum::http::StatusCode;
use parley_server::testkit::TestApp;
use serde_json::Value;

const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");
const HANDSET: &str = "+15558675310";
const NUMBER: &str = "+12345678901";

async fn with_auto_creation() -> (TestApp, String) {
    let t = TestApp::new().await;
    let flow = t.publish_flow(SEED).await;
    let r = t
        .post(
            "/v1/Configuration/Addresses",
            &[
                ("Type", "sms"),
                ("Address", NUMBER),
                ("AutoCreation.Enabled", "true"),
                ("AutoCreation.Type", "studio"),
                ("AutoCreation.StudioFlowSid", &flow),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (t, flow)
}

#[tokio::test]
async fn auto_creation_runs_the_seed_flow_for_each_answer() {
    for (answer, expected) in [
        ("yes", "🤖"),
        ("Yes", "🤖"),
        (" YES ", "🤖"),
        ("no", "👽"),
        ("No", "👽"),
        ("maybe", "👻"),
    ] {
        let (t, _) = with_auto_creation().await;
        let first = t.text(HANDSET, NUMBER, "hello").await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(first.body["routed"], "auto_created");
        assert_eq!(t.received(HANDSET).await, vec!["Hi, do you like bots?"]);
        let second = t.text(HANDSET, NUMBER, answer).await;
        assert_eq!(second.body["routed"], "conversation");
        assert_eq!(
            second.body["conversation_sid"],
            first.body["conversation_sid"]
        );
        assert_eq!(
            t.received(HANDSET).await,
            vec!["Hi, do you like bots?", expected],
            "answer {answer:?}"
        );
    }
}

#[tokio::test]
async fn existing_conversation_with_studio_webhook_then_an_agent_takes_over() {
    let t = TestApp::new().await;
    let flow = t.publish_flow(SEED).await;
    let conv = t
        .post("/v1/Conversations", &[("FriendlyName", "studio_test")])
        .await;
    assert_eq!(conv.status, StatusCode::CREATED);
    let ch = conv.sid();
    let p = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[
                ("MessagingBinding.Address", HANDSET),
                ("MessagingBinding.ProxyAddress", NUMBER),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let w = t
        .post(
            &format!("/v1/Conversations/{ch}/Webhooks"),
            &[("Target", "studio"), ("Configuration.FlowSid", &flow)],
        )
        .await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.body);
    assert_eq!(w.body["configuration"]["flow_sid"], flow.as_str());

    t.text(HANDSET, NUMBER, "hi").await;
    t.text(HANDSET, NUMBER, "no").await;
    assert_eq!(
        t.received(HANDSET).await,
        vec!["Hi, do you like bots?", "👽"]
    );

    // The conversation holds all four messages in order, the flow's authored by system.
    let msgs = t.get(&format!("/v1/Conversations/{ch}/Messages")).await;
    let rows = msgs.body["messages"].as_array().unwrap().clone();
    let seen: Vec<(i64, String, String)> = rows
        .iter()
        .map(|m| {
            (
                m["index"].as_i64().unwrap(),
                m["author"].as_str().unwrap().to_string(),
                m["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (0, HANDSET.to_string(), "hi".to_string()),
            (1, "system".to_string(), "Hi, do you like bots?".to_string()),
            (2, HANDSET.to_string(), "no".to_string()),
            (3, "system".to_string(), "👽".to_string()),
        ]
    );
    // Each flow message was delivered to the handset: its receipt says so.
    assert_eq!(rows[1]["delivery"]["delivered"], "all");
    // The handset's texts are its participant's (found through the binding), the flow's
    // nobody's.
    let authors: Vec<&Value> = rows.iter().map(|m| &m["participant_sid"]).collect();
    assert_eq!(
        authors,
        vec![&p.body["sid"], &Value::Null, &p.body["sid"], &Value::Null]
    );

    // The execution ended; its steps tell the path taken.
    let execs = t.get(&format!("/v2/Flows/{flow}/Executions")).await;
    let exec = &execs.body["executions"][0];
    assert_eq!(exec["status"], "ended");
    let steps = t
        .get(&format!(
            "/v2/Flows/{flow}/Executions/{}/Steps",
            exec["sid"].as_str().unwrap()
        ))
        .await;
    let path: Vec<(String, String, String)> = steps.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["transitioned_from"].as_str().unwrap().into(),
                s["name"].as_str().unwrap().into(),
                s["transitioned_to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        path,
        vec![
            (
                "Trigger".into(),
                "incomingConversationMessage".into(),
                "send_and_reply_1".into()
            ),
            (
                "send_and_reply_1".into(),
                "incomingMessage".into(),
                "split_1".into()
            ),
            ("split_1".into(), "match".into(), "send_message_3".into()),
            ("send_message_3".into(), "sent".into(), "Ended".into()),
        ]
    );

    // An agent joins as a chat participant and writes; the handset gets it.
    let agent = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[("Identity", "agent_alice")],
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.body);
    let m = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[
                ("Author", "agent_alice"),
                ("Body", "Hi, I'm Alice. How can I help?"),
            ],
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    assert_eq!(m.body["participant_sid"], agent.body["sid"]);
    assert_eq!(
        t.received(HANDSET).await.last().map(String::as_str),
        Some("Hi, I'm Alice. How can I help?")
    );
}

#[tokio::test]
async fn the_studio_webhook_stays_after_the_flow_ends() {
    let (t, _) = with_auto_creation().await;
    t.text(HANDSET, NUMBER, "hi").await;
    t.text(HANDSET, NUMBER, "yes").await;
    // The next text starts a new execution in the same conversation.
    let again = t.text(HANDSET, NUMBER, "hello again").await;
    assert_eq!(again.body["routed"], "conversation");
    assert_eq!(
        t.received(HANDSET).await,
        vec!["Hi, do you like bots?", "🤖", "Hi, do you like bots?"]
    );
}

#[tokio::test]
async fn deleting_the_address_configuration_turns_auto_creation_off() {
    let (t, _) = with_auto_creation().await;
    let del = t
        .delete(&format!(
            "/v1/Configuration/Addresses/{}",
            urlencode(NUMBER)
        ))
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let r = t.text(HANDSET, NUMBER, "hi").await;
    assert_eq!(r.body["routed"], "refused");
    assert_eq!(r.body["status"], "refused");
    assert!(t.received(HANDSET).await.is_empty());
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const HANDOFF_FLOW: &str = r#"{
  "description": "bot then human",
  "initial_state": "Trigger",
  "states": [
    {"name": "Trigger", "type": "trigger", "properties": {},
     "transitions": [{"event": "incomingConversationMessage", "next": "ask"}]},
    {"name": "ask", "type": "send-and-wait-for-reply",
     "properties": {"from": "{{flow.channel.address}}", "body": "Type agent to talk to a person"},
     "transitions": [{"event": "incomingMessage", "next": "route"}, {"event": "timeout"}, {"event": "deliveryFailure"}]},
    {"name": "route", "type": "split-based-on", "properties": {"input": "{{widgets.ask.inbound.Body}}"},
     "transitions": [{"event": "noMatch"},
                     {"event": "match", "next": "to_agent", "conditions": [{"friendly_name": "agent", "arguments": ["{{widgets.ask.inbound.Body}}"], "type": "equal_to", "value": "agent"}]}]},
    {"name": "to_agent", "type": "send-to-flex",
     "properties": {"workflow": "WW00000000000000000000000000000000", "channel": "TC00000000000000000000000000000000",
                    "attributes": "{\"from\": \"{{trigger.conversation.Author}}\"}"},
     "transitions": [{"event": "callComplete"}, {"event": "failedToEnqueue"}, {"event": "callFailure"}]}
  ]
}"#;

#[tokio::test]
async fn send_to_flex_hands_the_conversation_to_a_person() {
    let t = TestApp::new().await;
    let desk = parley_server::testkit::Receiver::start().await;
    let cfg = t
        .post(
            "/v1/Configuration/Webhooks",
            &[
                ("PostWebhookUrl", &desk.url("/desk")),
                ("Filters", "onFlowHandoff"),
            ],
        )
        .await;
    assert_eq!(cfg.status, StatusCode::OK, "{}", cfg.body);
    let flow = t.publish_flow(HANDOFF_FLOW).await;
    t.post(
        "/v1/Configuration/Addresses",
        &[
            ("Type", "sms"),
            ("Address", NUMBER),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "studio"),
            ("AutoCreation.StudioFlowSid", &flow),
        ],
    )
    .await;
    let first = t.text(HANDSET, NUMBER, "hi").await;
    let ch = first.body["conversation_sid"].as_str().unwrap().to_string();
    t.text(HANDSET, NUMBER, "agent").await;
    t.drain().await;

    // The flow detached itself: no studio webhook is left on the conversation.
    let hooks = t.get(&format!("/v1/Conversations/{ch}/Webhooks")).await;
    assert_eq!(hooks.body["webhooks"], serde_json::json!([]));
    // The hand-off is recorded and announced to the agent desk.
    let handoffs = t.get("/parley/v1/Handoffs").await;
    assert_eq!(
        handoffs.body["handoffs"][0]["conversation_sid"],
        ch.as_str()
    );
    assert_eq!(
        handoffs.body["handoffs"][0]["attributes"],
        format!("{{\"from\": \"{HANDSET}\"}}")
    );
    let got = desk.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].field("EventType"), Some("onFlowHandoff"));
    assert_eq!(got[0].field("ConversationSid"), Some(ch.as_str()));

    // The next text reaches the people, not the bot.
    t.text(HANDSET, NUMBER, "hello?").await;
    assert_eq!(
        t.received(HANDSET).await,
        vec!["Type agent to talk to a person"]
    );
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[("Identity", "bob")],
    )
    .await;
    t.post(
        &format!("/v1/Conversations/{ch}/Messages"),
        &[("Author", "bob"), ("Body", "Bob here")],
    )
    .await;
    assert_eq!(
        t.received(HANDSET).await.last().map(String::as_str),
        Some("Bob here")
    );
}
