//! Real carriers and number routing: a sender on Twilio's Messaging API or an HTTP relay,
//! signed inbound webhooks and status callbacks, a number whose SMS URL is a flow, and a
//! flow outside Conversations waiting for a reply.

use axum::http::StatusCode;
use parley_server::testkit::{Receiver, TestApp};
use parley_server::webhooks::signature;

const HANDSET: &str = "+15558675310";
const NUMBER: &str = "+12345678901";
const TW_SID: &str = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TW_TOKEN: &str = "twilio-side-token";

async fn conversation_with_handset(t: &TestApp) -> String {
    let ch = t.post("/v1/Conversations", &[]).await.sid();
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
    ch
}

fn pairs(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn twilio_carrier_sends_receives_and_reports_status() {
    let t = TestApp::new().await;
    let twilio = Receiver::start().await;
    twilio.respond_with(201);
    twilio.respond_body(r#"{"sid": "SMffffffffffffffffffffffffffffffff", "status": "queued"}"#);
    let s = t
        .post(
            "/parley/v1/Senders",
            &[
                ("Address", NUMBER),
                ("Carrier", "twilio"),
                ("TwilioAccountSid", TW_SID),
                ("TwilioAuthToken", TW_TOKEN),
                ("TwilioApiBase", &twilio.url("")),
            ],
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(s.body["twilio_auth_token_set"], true);
    assert!(
        s.body.get("twilio_auth_token").is_none(),
        "secrets are never returned"
    );

    let ch = conversation_with_handset(&t).await;
    let m = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Body", "from the agent")],
        )
        .await;
    t.drain().await;
    let sent = twilio.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].path_and_query,
        format!("/2010-04-01/Accounts/{TW_SID}/Messages.json")
    );
    assert_eq!(sent[0].field("From"), Some(NUMBER));
    assert_eq!(sent[0].field("To"), Some(HANDSET));
    assert_eq!(sent[0].field("Body"), Some("from the agent"));
    let callback = sent[0].field("StatusCallback").unwrap().to_string();
    assert!(t.received(HANDSET).await.is_empty(), "not on the simulator");

    let receipts_path = format!("/v1/Conversations/{ch}/Messages/{}/Receipts", m.sid());
    let status = t.get(&receipts_path).await.body["delivery_receipts"][0]["status"].clone();
    assert_eq!(status, "sent");

    // Twilio's status callback, signed with Twilio's token, moves the receipt on.
    let form = [
        ("MessageSid", "SMffffffffffffffffffffffffffffffff"),
        ("MessageStatus", "delivered"),
        ("From", NUMBER),
        ("To", HANDSET),
    ];
    let sig = signature::sign_form(TW_TOKEN, &callback, &pairs(&form));
    let path = callback.strip_prefix("http://parley.test").unwrap();
    let unsigned = t.request("POST", path, &form, None).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let r = signed_post(&t, path, &form, &sig).await;
    assert_eq!(r, StatusCode::NO_CONTENT);
    let status = t.get(&receipts_path).await.body["delivery_receipts"][0]["status"].clone();
    assert_eq!(status, "delivered");

    // Inbound from the real number, as Twilio posts it.
    let url = format!(
        "http://parley.test/webhooks/twilio/{}",
        parley_server::testkit::ACCOUNT_SID
    );
    let form = [
        ("MessageSid", "SMeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"),
        ("From", HANDSET),
        ("To", NUMBER),
        ("Body", "hello from a real phone"),
        ("NumMedia", "0"),
    ];
    let sig = signature::sign_form(TW_TOKEN, &url, &pairs(&form));
    assert_eq!(
        signed_post(
            &t,
            url.strip_prefix("http://parley.test").unwrap(),
            &form,
            "bad"
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        signed_post(
            &t,
            url.strip_prefix("http://parley.test").unwrap(),
            &form,
            &sig
        )
        .await,
        StatusCode::OK
    );
    let msgs = t.get(&format!("/v1/Conversations/{ch}/Messages")).await;
    assert_eq!(msgs.body["messages"][1]["body"], "hello from a real phone");
    assert_eq!(msgs.body["messages"][1]["author"], HANDSET);
}

async fn signed_post(t: &TestApp, path: &str, form: &[(&str, &str)], sig: &str) -> StatusCode {
    use tower::ServiceExt;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(axum::body::Body::from(body))
        .unwrap();
    t.router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn a_carrier_refusal_fails_the_receipt() {
    let t = TestApp::new().await;
    let twilio = Receiver::start().await;
    twilio.respond_with(400);
    twilio.respond_body(r#"{"code": 21211, "message": "Invalid 'To' Phone Number"}"#);
    t.post(
        "/parley/v1/Senders",
        &[
            ("Address", NUMBER),
            ("Carrier", "twilio"),
            ("TwilioAccountSid", TW_SID),
            ("TwilioAuthToken", TW_TOKEN),
            ("TwilioApiBase", &twilio.url("")),
        ],
    )
    .await;
    let ch = conversation_with_handset(&t).await;
    let m = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Body", "hi")],
        )
        .await;
    t.drain().await;
    let r = t
        .get(&format!(
            "/v1/Conversations/{ch}/Messages/{}/Receipts",
            m.sid()
        ))
        .await;
    assert_eq!(r.body["delivery_receipts"][0]["status"], "failed");
    assert_eq!(r.body["delivery_receipts"][0]["error_code"], 21211);
    assert_eq!(twilio.received().len(), 1, "a 4xx is final: no retry");
}

#[tokio::test]
async fn relay_carrier_round_trip() {
    let t = TestApp::new().await;
    let relay = Receiver::start().await;
    t.post(
        "/parley/v1/Senders",
        &[
            ("Address", NUMBER),
            ("Carrier", "relay"),
            ("RelayUrl", &relay.url("/out")),
            ("RelaySecret", "s3cret"),
        ],
    )
    .await;
    let ch = conversation_with_handset(&t).await;
    t.post(
        &format!("/v1/Conversations/{ch}/Messages"),
        &[("Body", "via relay")],
    )
    .await;
    t.drain().await;
    let out = relay.received();
    assert_eq!(out.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&out[0].body).unwrap();
    assert_eq!(
        (
            json["from"].as_str(),
            json["to"].as_str(),
            json["body"].as_str()
        ),
        (Some(NUMBER), Some(HANDSET), Some("via relay"))
    );
    // Signed like Twilio's JSON webhooks: bodySHA256 in the URL, signature over the URL.
    let signed_url = format!("http://{}{}", relay.addr, out[0].path_and_query);
    assert_eq!(
        out[0].signature.as_deref(),
        Some(signature::sign_sha1("s3cret", &signed_url).as_str())
    );

    // Inbound through the relay.
    let body =
        serde_json::json!({"from": HANDSET, "to": NUMBER, "body": "reply via relay"}).to_string();
    let (url, sig) = signature::sign_json(
        "s3cret",
        &format!(
            "http://parley.test/webhooks/relay/{}",
            parley_server::testkit::ACCOUNT_SID
        ),
        body.as_bytes(),
    );
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(url.strip_prefix("http://parley.test").unwrap())
        .header("content-type", "application/json")
        .header("x-twilio-signature", sig)
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let msgs = t.get(&format!("/v1/Conversations/{ch}/Messages")).await;
    assert_eq!(msgs.body["messages"][1]["body"], "reply via relay");
}

const ECHO_FLOW: &str = r#"{
  "description": "sms echo",
  "initial_state": "Trigger",
  "states": [
    {"name": "Trigger", "type": "trigger", "properties": {},
     "transitions": [{"event": "incomingMessage", "next": "ask"}, {"event": "incomingRequest", "next": "ask"}]},
    {"name": "ask", "type": "send-and-wait-for-reply",
     "properties": {"from": "{{flow.channel.address}}", "body": "What is your name?"},
     "transitions": [{"event": "incomingMessage", "next": "hello"}, {"event": "timeout"}, {"event": "deliveryFailure"}]},
    {"name": "hello", "type": "send-message",
     "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "Hello {{widgets.ask.inbound.Body}}"},
     "transitions": [{"event": "sent"}, {"event": "failed"}]}
  ]
}"#;

#[tokio::test]
async fn a_number_whose_sms_url_is_a_flow_runs_it_without_conversations() {
    let t = TestApp::new().await;
    let fw = t.publish_flow(ECHO_FLOW).await;
    let acct = parley_server::testkit::ACCOUNT_SID;
    let n = t
        .post(
            &format!("/2010-04-01/Accounts/{acct}/IncomingPhoneNumbers.json"),
            &[
                ("PhoneNumber", NUMBER),
                (
                    "SmsUrl",
                    &format!("https://webhooks.twilio.com/v1/Accounts/{acct}/Flows/{fw}"),
                ),
            ],
        )
        .await;
    assert_eq!(n.status, StatusCode::CREATED, "{}", n.body);
    assert!(
        n.body["date_created"].as_str().unwrap().ends_with("+0000"),
        "2010 API dates are RFC 2822"
    );
    let r = t.text(HANDSET, NUMBER, "hi").await;
    assert_eq!(r.body["routed"], "flow");
    let r = t.text(HANDSET, NUMBER, "Ada").await;
    assert_eq!(
        r.body["routed"], "execution",
        "the waiting execution takes the reply"
    );
    assert_eq!(
        t.received(HANDSET).await,
        vec!["What is your name?", "Hello Ada"]
    );
    let list = t
        .get(&format!(
            "/2010-04-01/Accounts/{acct}/IncomingPhoneNumbers.json"
        ))
        .await;
    assert_eq!(
        list.body["incoming_phone_numbers"][0]["phone_number"],
        NUMBER
    );
}

#[tokio::test]
async fn a_number_with_an_external_sms_url_gets_twilios_webhook() {
    let t = TestApp::new().await;
    let app = Receiver::start().await;
    let acct = parley_server::testkit::ACCOUNT_SID;
    t.post(
        &format!("/2010-04-01/Accounts/{acct}/IncomingPhoneNumbers.json"),
        &[("PhoneNumber", NUMBER), ("SmsUrl", &app.url("/sms"))],
    )
    .await;
    let r = t.text(HANDSET, NUMBER, "ping").await;
    assert_eq!(r.body["routed"], "webhook");
    t.drain().await;
    let got = app.received();
    assert_eq!(
        (
            got[0].field("From"),
            got[0].field("To"),
            got[0].field("Body")
        ),
        (Some(HANDSET), Some(NUMBER), Some("ping"))
    );
    assert!(signature::validate_form(
        parley_server::testkit::AUTH_TOKEN,
        &app.url("/sms"),
        &got[0].form,
        got[0].signature.as_deref().unwrap()
    ));
}

#[tokio::test]
async fn a_rest_execution_waiting_for_a_reply_gets_the_handsets_text() {
    let t = TestApp::new().await;
    let fw = t.publish_flow(ECHO_FLOW).await;
    let e = t
        .post(
            &format!("/v2/Flows/{fw}/Executions"),
            &[("To", HANDSET), ("From", NUMBER)],
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED);
    assert_eq!(t.received(HANDSET).await, vec!["What is your name?"]);
    let r = t.text(HANDSET, NUMBER, "Grace").await;
    assert_eq!(r.body["routed"], "execution");
    assert_eq!(
        t.received(HANDSET).await,
        vec!["What is your name?", "Hello Grace"]
    );
}
