//! Every documented limit (SECURITY.md), each tested with an input just over it: the
//! caller gets a clear Twilio-style 4xx (or, inside a flow, the failure path), never a 500.

use axum::http::StatusCode;
use parley_server::testkit::{Receiver, TestApp};

fn code(r: &parley_server::testkit::Response) -> i64 {
    r.body["code"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn request_body_over_the_limit_is_413() {
    let t = TestApp::new().await;
    let big = "x".repeat(2 * 1024 * 1024 + 1);
    let r = t.post("/v1/Conversations", &[("FriendlyName", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(code(&r), 20413);
}

#[tokio::test]
async fn text_limits_of_conversations_participants_and_messages() {
    let t = TestApp::new().await;
    let name = "n".repeat(257);
    let r = t
        .post("/v1/Conversations", &[("FriendlyName", &name)])
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 20001));
    let ok = t
        .post("/v1/Conversations", &[("FriendlyName", &name[..256])])
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);

    let attrs = |n: usize| format!("{{\"a\":\"{}\"}}", "x".repeat(n - 8));
    let r = t
        .post(
            "/v1/Conversations",
            &[("Attributes", &attrs(16 * 1024 + 1))],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50303));
    let ch = t
        .post("/v1/Conversations", &[("Attributes", &attrs(16 * 1024))])
        .await
        .sid();

    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[("Identity", "a"), ("Attributes", &attrs(4 * 1024 + 1))],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50303));

    let body = "b".repeat(32 * 1024 + 1);
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Body", &body)],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50504));
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Body", &body[1..])],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Body", "x"), ("Attributes", &attrs(4 * 1024 + 1))],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50303));
    // The simulator takes what a carrier would deliver: the same 32 KB.
    let r = t.text("+15550000001", "+12345678901", &body).await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50504));
}

#[tokio::test]
async fn participant_and_webhook_counts() {
    let t = TestApp::new().await;
    let ch = t.post("/v1/Conversations", &[]).await.sid();
    for i in 0..50 {
        let a = format!("+1555000{i:04}");
        let r = t
            .post(
                &format!("/v1/Conversations/{ch}/Participants"),
                &[
                    ("MessagingBinding.Address", &a),
                    ("MessagingBinding.ProxyAddress", "+12345678901"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[
                ("MessagingBinding.Address", "+15559999999"),
                ("MessagingBinding.ProxyAddress", "+12345678901"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, 50422),
        "the 51st non-chat participant"
    );
    for i in 50..1000 {
        let r = t
            .post(
                &format!("/v1/Conversations/{ch}/Participants"),
                &[("Identity", &format!("user{i}"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[("Identity", "one-too-many")],
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, 50417),
        "the 1,001st participant"
    );

    for _ in 0..5 {
        let r = t
            .post(
                &format!("/v1/Conversations/{ch}/Webhooks"),
                &[
                    ("Target", "studio"),
                    (
                        "Configuration.FlowSid",
                        "FW00000000000000000000000000000000",
                    ),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = t
        .post(
            &format!("/v1/Conversations/{ch}/Webhooks"),
            &[
                ("Target", "studio"),
                (
                    "Configuration.FlowSid",
                    "FW00000000000000000000000000000000",
                ),
            ],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50361));

    let ch2 = t.post("/v1/Conversations", &[]).await.sid();
    let long_url = format!("https://example.com/{}", "p".repeat(500));
    let r = t
        .post(
            &format!("/v1/Conversations/{ch2}/Webhooks"),
            &[
                ("Target", "webhook"),
                ("Configuration.Url", &long_url),
                ("Configuration.Filters", "onMessageAdded"),
            ],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50372));
    let six: Vec<(&str, &str)> = std::iter::once(("Target", "trigger"))
        .chain(std::iter::once((
            "Configuration.Url",
            "https://example.com/k",
        )))
        .chain((0..6).map(|_| ("Configuration.Triggers", "kw")))
        .collect();
    let r = t
        .post(&format!("/v1/Conversations/{ch2}/Webhooks"), &six)
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50362));
    let kw = "k".repeat(249);
    let r = t
        .post(
            &format!("/v1/Conversations/{ch2}/Webhooks"),
            &[
                ("Target", "trigger"),
                ("Configuration.Url", "https://example.com/k"),
                ("Configuration.Triggers", &kw),
            ],
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50366));

    let eleven: Vec<(&str, String)> = (0..11)
        .map(|i| ("Participant", format!("{{\"identity\":\"p{i}\"}}")))
        .collect();
    let eleven: Vec<(&str, &str)> = eleven.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = t.post("/v1/ConversationWithParticipants", &eleven).await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, 50426));
}

#[tokio::test]
async fn flow_definition_size_and_widget_count() {
    let t = TestApp::new().await;
    let widget = |i: usize| {
        format!(
            r#"{{"name":"w{i}","type":"set-variables","transitions":[{{"event":"next"}}],"properties":{{"variables":[]}}}}"#
        )
    };
    let flow = |n: usize| {
        let states: Vec<String> = std::iter::once(r#"{"name":"Trigger","type":"trigger","transitions":[{"event":"incomingRequest","next":"w0"}],"properties":{}}"#.to_string())
            .chain((0..n).map(widget))
            .collect();
        format!(
            r#"{{"description":"big","initial_state":"Trigger","states":[{}]}}"#,
            states.join(",")
        )
    };
    let ok = t
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", &flow(999)),
            ],
        )
        .await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "1,000 widgets are allowed: {}",
        ok.body
    );
    let r = t
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", &flow(1000)),
            ],
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, 81022),
        "1,001 widgets"
    );
    let padded = format!(
        r#"{{"description":"{}","initial_state":"Trigger","states":[{{"name":"Trigger","type":"trigger","transitions":[],"properties":{{}}}}]}}"#,
        "d".repeat(1024 * 1024)
    );
    let r = t
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", &padded),
            ],
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, 81022),
        "a definition over 1 MiB"
    );
}

#[tokio::test]
async fn http_widget_response_over_64_kb_takes_the_failed_branch() {
    let t = TestApp::new().await;
    let api = Receiver::start().await;
    api.respond_body(&format!("{{\"pad\":\"{}\"}}", "x".repeat(64 * 1024)));
    let def = format!(
        r#"{{"description":"big response","initial_state":"Trigger","states":[
        {{"name":"Trigger","type":"trigger","transitions":[{{"event":"incomingRequest","next":"call"}}],"properties":{{}}}},
        {{"name":"call","type":"make-http-request","transitions":[{{"event":"success","next":"ok"}},{{"event":"failed","next":"ko"}}],"properties":{{"method":"GET","url":"{}"}}}},
        {{"name":"ok","type":"send-message","transitions":[{{"event":"sent"}},{{"event":"failed"}}],"properties":{{"from":"{{{{flow.channel.address}}}}","to":"{{{{contact.channel.address}}}}","body":"ok"}}}},
        {{"name":"ko","type":"send-message","transitions":[{{"event":"sent"}},{{"event":"failed"}}],"properties":{{"from":"{{{{flow.channel.address}}}}","to":"{{{{contact.channel.address}}}}","body":"too big"}}}}]}}"#,
        api.url("/big")
    );
    let fw = t.publish_flow(&def).await;
    t.post(
        &format!("/v2/Flows/{fw}/Executions"),
        &[("To", "+15550000009"), ("From", "+12345678901")],
    )
    .await;
    t.drain().await;
    assert_eq!(t.received("+15550000009").await, vec!["too big"]);
}

#[tokio::test]
async fn a_flow_that_loops_forever_stops_at_1000_steps() {
    let t = TestApp::new().await;
    let def = r#"{"description":"loop","initial_state":"Trigger","states":[
        {"name":"Trigger","type":"trigger","transitions":[{"event":"incomingRequest","next":"a"}],"properties":{}},
        {"name":"a","type":"set-variables","transitions":[{"event":"next","next":"b"}],"properties":{"variables":[{"key":"n","value":"{{flow.variables.n | plus: 1}}"}]}},
        {"name":"b","type":"set-variables","transitions":[{"event":"next","next":"a"}],"properties":{"variables":[]}}]}"#;
    let fw = t.publish_flow(def).await;
    let e = t
        .post(
            &format!("/v2/Flows/{fw}/Executions"),
            &[("To", "+15550000010"), ("From", "+12345678901")],
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    assert_eq!(e.body["status"], "ended");
    let steps = t
        .get(&format!(
            "/v2/Flows/{fw}/Executions/{}/Steps?PageSize=1000",
            e.sid()
        ))
        .await;
    let n = steps.body["steps"].as_array().unwrap().len();
    assert!((999..=1001).contains(&n), "{n} steps");
    let ctx = t
        .get(&format!("/v2/Flows/{fw}/Executions/{}/Context", e.sid()))
        .await;
    // set-variables stores strings (Studio), so the counter reads back as text.
    assert_eq!(ctx.body["context"]["flow"]["variables"]["n"], "500");
}
