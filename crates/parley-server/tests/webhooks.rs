//! Webhooks: signed like Twilio's, the right events in order, filtered, and a dead
//! receiver retried then given up on — visibly — without blocking the conversation.

use axum::http::StatusCode;
use parley_server::testkit::{AUTH_TOKEN, Receiver, TestApp};
use parley_server::webhooks::signature;
use parley_store::WebhookDeliveryRow;

const HANDSET: &str = "+15558675310";
const NUMBER: &str = "+12345678901";

async fn deliveries(t: &TestApp) -> Vec<WebhookDeliveryRow> {
    t.app
        .store()
        .read(
            |tx| -> parley_server::error::Result<Vec<WebhookDeliveryRow>> {
                Ok(tx.find_all::<WebhookDeliveryRow>("1 = 1", &[])?)
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn scoped_webhook_gets_signed_events_in_order() {
    let t = TestApp::new().await;
    let rx = Receiver::start().await;
    let url = rx.url("/hook?x=1");
    let ch = t.post("/v1/Conversations", &[]).await.sid();
    let w = t
        .post(
            &format!("/v1/Conversations/{ch}/Webhooks"),
            &[
                ("Target", "webhook"),
                ("Configuration.Url", &url),
                ("Configuration.Method", "POST"),
                ("Configuration.Filters", "onMessageAdded"),
                ("Configuration.Filters", "onParticipantAdded"),
            ],
        )
        .await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.body);
    // A REST action without X-Twilio-Webhook-Enabled is silent...
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", HANDSET),
            ("MessagingBinding.ProxyAddress", NUMBER),
        ],
    )
    .await;
    // ...while a text from the SMS participant is not.
    t.text(HANDSET, NUMBER, "one").await;
    t.text(HANDSET, NUMBER, "two").await;
    t.drain().await;
    let got = rx.received();
    let events: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.field("EventType").unwrap_or("").to_string(),
                r.field("Body").unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("onMessageAdded".into(), "one".into()),
            ("onMessageAdded".into(), "two".into())
        ]
    );
    for r in &got {
        assert_eq!(r.method, "POST");
        assert_eq!(r.field("Author"), Some(HANDSET));
        assert_eq!(r.field("ConversationSid"), Some(ch.as_str()));
        assert_eq!(r.field("Source"), Some("SMS"));
        let sig = r.signature.clone().expect("signed");
        assert!(
            signature::validate_form(AUTH_TOKEN, &url, &r.form, &sig),
            "signature of {:?}",
            r.form
        );
    }
    assert!(deliveries(&t).await.iter().all(|d| d.status == "delivered"));
}

#[tokio::test]
async fn rest_actions_fire_with_the_header() {
    let t = TestApp::new().await;
    let rx = Receiver::start().await;
    t.post(
        "/v1/Configuration/Webhooks",
        &[
            ("PostWebhookUrl", &rx.url("/global")),
            ("Filters", "onConversationAdded"),
            ("Filters", "onMessageAdded"),
            ("Method", "POST"),
        ],
    )
    .await;
    let silent = t
        .post("/v1/Conversations", &[("FriendlyName", "silent")])
        .await;
    assert_eq!(silent.status, StatusCode::CREATED);
    let r = t
        .router_post_with_header("/v1/Conversations", &[("FriendlyName", "with header")])
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    t.drain().await;
    let got = rx.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].field("EventType"), Some("onConversationAdded"));
    assert_eq!(got[0].field("FriendlyName"), Some("with header"));
}

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            parley_server::testkit::ACCOUNT_SID,
            AUTH_TOKEN
        ))
    )
}

trait WithHeader {
    async fn router_post_with_header(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> parley_server::testkit::Response;
}

impl WithHeader for TestApp {
    async fn router_post_with_header(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> parley_server::testkit::Response {
        use tower::ServiceExt;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic())
            .header("X-Twilio-Webhook-Enabled", "true")
            .body(axum::body::Body::from(body))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        parley_server::testkit::Response {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or_default(),
        }
    }
}

#[tokio::test]
async fn a_down_receiver_is_retried_then_given_up_visibly() {
    let t = TestApp::new().await;
    let rx = Receiver::start().await;
    rx.respond_with(503);
    let ch = t.post("/v1/Conversations", &[]).await.sid();
    t.post(
        &format!("/v1/Conversations/{ch}/Webhooks"),
        &[
            ("Target", "webhook"),
            ("Configuration.Url", &rx.url("/down")),
            ("Configuration.Filters", "onMessageAdded"),
        ],
    )
    .await;
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", HANDSET),
            ("MessagingBinding.ProxyAddress", NUMBER),
        ],
    )
    .await;
    let r = t.text(HANDSET, NUMBER, "anyone?").await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "the conversation is not blocked"
    );
    t.drain().await;
    assert_eq!(rx.received().len(), 1);
    assert_eq!(deliveries(&t).await[0].status, "retrying");
    // Backoff: 1 s, then 2 s.
    t.advance_secs(1).await;
    assert_eq!(rx.received().len(), 2);
    t.advance_secs(2).await;
    assert_eq!(rx.received().len(), 3);
    let d = &deliveries(&t).await[0];
    assert_eq!(
        (d.status.as_str(), d.attempts, d.response_status),
        ("failed", 3, Some(503))
    );
    assert!(d.last_error.as_deref().unwrap_or("").contains("503"));
    // Retries carry their count.
    let counts: Vec<_> = rx
        .received()
        .iter()
        .map(|r| r.field("RetryCount").unwrap_or("").to_string())
        .collect();
    assert_eq!(counts, vec!["0", "1", "2"]);
    t.advance_secs(3600).await;
    assert_eq!(rx.received().len(), 3, "given up: no more attempts");
}

#[tokio::test]
async fn trigger_webhook_fires_on_a_keyword() {
    let t = TestApp::new().await;
    let rx = Receiver::start().await;
    let ch = t.post("/v1/Conversations", &[]).await.sid();
    let w = t
        .post(
            &format!("/v1/Conversations/{ch}/Webhooks"),
            &[
                ("Target", "trigger"),
                ("Configuration.Url", &rx.url("/kw")),
                ("Configuration.Triggers", "help"),
                ("Configuration.Triggers", "agent"),
            ],
        )
        .await;
    assert_eq!(
        w.body["configuration"]["filters"],
        serde_json::json!(["help", "agent"])
    );
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", HANDSET),
            ("MessagingBinding.ProxyAddress", NUMBER),
        ],
    )
    .await;
    t.text(HANDSET, NUMBER, "hello").await;
    t.text(HANDSET, NUMBER, " Agent ").await;
    t.drain().await;
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].field("Body"), Some(" Agent "));
}

#[tokio::test]
async fn pre_event_webhooks_reject_or_change_inbound_messages() {
    let t = TestApp::new().await;
    let rx = Receiver::start().await;
    let service = t.get("/v1/Configuration").await.body["default_chat_service_sid"]
        .as_str()
        .unwrap()
        .to_string();
    let cfg = t
        .post(
            &format!("/v1/Services/{service}/Configuration/Webhooks"),
            &[
                ("PreWebhookUrl", &rx.url("/pre")),
                ("Filters", "onMessageAdd"),
                ("Method", "POST"),
            ],
        )
        .await;
    assert_eq!(cfg.status, StatusCode::OK, "{}", cfg.body);
    let ch = t.post("/v1/Conversations", &[]).await.sid();
    t.post(
        &format!("/v1/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", HANDSET),
            ("MessagingBinding.ProxyAddress", NUMBER),
        ],
    )
    .await;

    rx.respond_with(403);
    let r = t.text(HANDSET, NUMBER, "spam").await;
    assert_eq!(r.body["routed"], "refused");
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .contains("pre-event webhook")
    );
    assert_eq!(rx.received()[0].field("EventType"), Some("onMessageAdd"));
    assert_eq!(rx.received()[0].field("Body"), Some("spam"));

    rx.respond_with(200);
    rx.respond_body(r#"{"body": "[redacted]"}"#);
    let r = t.text(HANDSET, NUMBER, "my card is 4111").await;
    assert_eq!(r.body["routed"], "conversation");
    let msgs = t.get(&format!("/v1/Conversations/{ch}/Messages")).await;
    let bodies: Vec<&str> = msgs.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["[redacted]"]);
}
