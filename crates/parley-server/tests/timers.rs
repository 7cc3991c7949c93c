//! Timers are durable jobs: a flow's reply timeout and a conversation's state timers fire
//! when the (manual) clock passes them, also after a restart.

use axum::http::StatusCode;
use parley_server::testkit::TestApp;

const HANDSET: &str = "+15558675310";
const NUMBER: &str = "+12345678901";

/// Asks, waits 60 s for a reply, says "Too slow" on timeout, echoes otherwise.
const ASK_WITH_TIMEOUT: &str = r#"{
  "description": "ask with a timeout",
  "initial_state": "Trigger",
  "states": [
    {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
     "transitions": [{"event": "incomingConversationMessage", "next": "ask"}, {"event": "incomingMessage", "next": "ask"}]},
    {"name": "ask", "type": "send-and-wait-for-reply",
     "properties": {"from": "{{flow.channel.address}}", "body": "Still there?", "timeout": "60"},
     "transitions": [{"event": "incomingMessage", "next": "echo"}, {"event": "timeout", "next": "too_slow"}, {"event": "deliveryFailure"}]},
    {"name": "echo", "type": "send-message",
     "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "You said {{widgets.ask.inbound.Body}}"},
     "transitions": [{"event": "sent"}, {"event": "failed"}]},
    {"name": "too_slow", "type": "send-message",
     "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "Too slow"},
     "transitions": [{"event": "sent"}, {"event": "failed"}]}
  ]
}"#;

async fn setup() -> (TestApp, String) {
    let t = TestApp::new().await;
    let flow = t.publish_flow(ASK_WITH_TIMEOUT).await;
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
    (t, flow)
}

#[tokio::test]
async fn a_waiting_flow_takes_its_timeout_branch() {
    let (t, flow) = setup().await;
    t.text(HANDSET, NUMBER, "hi").await;
    assert_eq!(t.received(HANDSET).await, vec!["Still there?"]);
    t.advance_secs(59).await;
    assert_eq!(
        t.received(HANDSET).await,
        vec!["Still there?"],
        "not yet due"
    );
    t.advance_secs(2).await;
    assert_eq!(t.received(HANDSET).await, vec!["Still there?", "Too slow"]);
    let execs = t.get(&format!("/v2/Flows/{flow}/Executions")).await;
    assert_eq!(execs.body["executions"][0]["status"], "ended");
}

#[tokio::test]
async fn a_reply_cancels_the_timeout() {
    let (t, _) = setup().await;
    t.text(HANDSET, NUMBER, "hi").await;
    t.advance_secs(30).await;
    t.text(HANDSET, NUMBER, "here").await;
    t.advance_secs(3600).await;
    assert_eq!(
        t.received(HANDSET).await,
        vec!["Still there?", "You said here"]
    );
}

#[tokio::test]
async fn the_timeout_survives_a_restart() {
    let (t, _) = setup().await;
    t.text(HANDSET, NUMBER, "hi").await;
    let t = t.restart().await;
    t.advance_secs(61).await;
    assert_eq!(t.received(HANDSET).await, vec!["Still there?", "Too slow"]);
}

#[tokio::test]
async fn conversation_state_timers_fire() {
    let t = TestApp::new().await;
    let c = t
        .post(
            "/v1/Conversations",
            &[("Timers.Inactive", "PT1M"), ("Timers.Closed", "PT10M")],
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["timers"]["date_inactive"], "2024-01-01T00:01:00Z");
    assert_eq!(c.body["timers"]["date_closed"], "2024-01-01T00:10:00Z");
    let ch = c.sid();
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", HANDSET),
            ("MessagingBinding.ProxyAddress", NUMBER),
        ],
    )
    .await;

    t.advance_secs(61).await;
    assert_eq!(
        t.get(&format!("/v1/Conversations/{ch}")).await.body["state"],
        "inactive"
    );

    // A message wakes it and restarts both timers.
    let r = t.text(HANDSET, NUMBER, "back").await;
    assert_eq!(r.body["conversation_sid"], ch.as_str());
    let now = t.get(&format!("/v1/Conversations/{ch}")).await;
    assert_eq!(now.body["state"], "active");

    t.advance_secs(601).await;
    let closed = t.get(&format!("/v1/Conversations/{ch}")).await;
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["timers"], serde_json::json!({}));

    // Closed is final, and the pair is free for a new conversation.
    let upd = t
        .post(&format!("/v1/Conversations/{ch}"), &[("State", "active")])
        .await;
    assert_eq!(upd.status, StatusCode::BAD_REQUEST);
    assert_eq!(upd.body["code"], 50377);
    let again = t.post("/v1/Conversations", &[]).await.sid();
    let p = t
        .post(
            &format!("/v1/Conversations/{again}/Participants"),
            &[
                ("MessagingBinding.Address", HANDSET),
                ("MessagingBinding.ProxyAddress", NUMBER),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
}
