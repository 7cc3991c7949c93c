//! Studio v2 over HTTP: flows and revisions, validation errors (81022), REST executions
//! with Parameters, steps and context, ending an execution, one execution per contact,
//! and a make-http-request widget calling a real local HTTP server.

use axum::http::StatusCode;
use parley_server::testkit::{Receiver, TestApp};

const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");

/// REST-triggered: greets with a parameter, calls an HTTP endpoint, branches on its answer,
/// then waits for a reply.
fn rest_flow(url: &str) -> String {
    format!(
        r#"{{
  "description": "rest flow",
  "initial_state": "Trigger",
  "states": [
    {{"name": "Trigger", "type": "trigger", "properties": {{"offset": {{"x": 0, "y": 0}}}},
      "transitions": [{{"event": "incomingRequest", "next": "lookup"}}]}},
    {{"name": "lookup", "type": "make-http-request",
      "properties": {{"method": "POST", "url": "{url}", "content_type": "application/x-www-form-urlencoded;charset=utf-8",
                      "parameters": [{{"key": "name", "value": "{{{{flow.data.name}}}}"}}]}},
      "transitions": [{{"event": "success", "next": "greet"}}, {{"event": "failed", "next": "sorry"}}]}},
    {{"name": "greet", "type": "send-and-wait-for-reply",
      "properties": {{"from": "{{{{flow.channel.address}}}}", "body": "Hello {{{{flow.data.name}}}}, status {{{{widgets.lookup.status_code}}}}"}},
      "transitions": [{{"event": "incomingMessage"}}, {{"event": "timeout"}}, {{"event": "deliveryFailure"}}]}},
    {{"name": "sorry", "type": "send-message",
      "properties": {{"from": "{{{{flow.channel.address}}}}", "to": "{{{{contact.channel.address}}}}", "body": "lookup failed"}},
      "transitions": [{{"event": "sent"}}, {{"event": "failed"}}]}}
  ]
}}"#
    )
}

#[tokio::test]
async fn flow_lifecycle_and_revisions() {
    let t = TestApp::new().await;
    let created = t
        .post(
            "/v2/Flows",
            &[
                ("FriendlyName", "seed"),
                ("Status", "draft"),
                ("Definition", SEED),
                ("CommitMessage", "first"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let fw = created.sid();
    assert_eq!(created.body["revision"], 1);
    assert_eq!(created.body["valid"], true);
    // The definition comes back as sent: same object, offsets included.
    let sent: serde_json::Value = serde_json::from_str(SEED).unwrap();
    assert_eq!(created.body["definition"], sent);
    assert!(
        created.body["webhook_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Flows/{fw}"))
    );

    let published = t
        .post(
            &format!("/v2/Flows/{fw}"),
            &[("Status", "published"), ("CommitMessage", "go")],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(published.body["revision"], 2);
    assert_eq!(published.body["status"], "published");

    let revs = t.get(&format!("/v2/Flows/{fw}/Revisions")).await;
    let numbers: Vec<i64> = revs.body["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1]);
    assert_eq!(
        t.get(&format!("/v2/Flows/{fw}/Revisions/LatestPublished"))
            .await
            .body["revision"],
        2
    );
    assert_eq!(
        t.get(&format!("/v2/Flows/{fw}/Revisions/1")).await.body["commit_message"],
        "first"
    );
    assert_eq!(
        t.get(&format!("/v2/Flows/{fw}/Revisions/9")).await.status,
        StatusCode::NOT_FOUND
    );

    let list = t.get("/v2/Flows").await;
    assert_eq!(
        list.body["flows"][0]["definition"],
        serde_json::Value::Null,
        "lists omit definitions"
    );
    assert_eq!(list.body["meta"]["key"], "flows");

    let tu = t
        .post(
            &format!("/v2/Flows/{fw}/TestUsers"),
            &[("TestUsers", "+15550001111"), ("TestUsers", "alice")],
        )
        .await;
    assert_eq!(
        tu.body["test_users"],
        serde_json::json!(["+15550001111", "alice"])
    );

    assert_eq!(
        t.delete(&format!("/v2/Flows/{fw}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/v2/Flows/{fw}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_81022_details() {
    let t = TestApp::new().await;
    let mut broken: serde_json::Value = serde_json::from_str(SEED).unwrap();
    broken["states"][5]["transitions"][0]["next"] = "nowhere".into();
    broken["states"][2]["name"] = "send_and_reply_1".into();
    let v = t
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", &broken.to_string()),
            ],
        )
        .await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST);
    assert_eq!(v.body["code"], 81022);
    let errors = v.body["details"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["property_path"] == "#/states/5/transitions/0/next"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("send_and_reply_1")),
        "{errors:?}"
    );
    let ok = t
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", SEED),
            ],
        )
        .await;
    assert_eq!(
        (ok.status, ok.body.clone()),
        (StatusCode::OK, serde_json::json!({"valid": true}))
    );
    let create = t
        .post(
            "/v2/Flows",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", "{not json"),
            ],
        )
        .await;
    assert_eq!(create.body["code"], 81022);
}

#[tokio::test]
async fn rest_execution_with_parameters_http_call_steps_context_and_end() {
    let t = TestApp::new().await;
    let api = Receiver::start().await;
    let fw = t.publish_flow(&rest_flow(&api.url("/lookup"))).await;
    let path = format!("/v2/Flows/{fw}/Executions");
    let e = t
        .post(
            &path,
            &[
                ("To", "+15558675310"),
                ("From", "+12345678901"),
                ("Parameters", r#"{"name": "Zeke"}"#),
            ],
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    assert_eq!(e.body["status"], "active");
    let fn_sid = e.sid();

    // The HTTP call runs as a job after the commit, against the real local server.
    t.drain().await;
    let calls = api.received();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].field("name"), Some("Zeke"));
    assert_eq!(
        t.received("+15558675310").await,
        vec!["Hello Zeke, status 200"]
    );

    // A second execution for the same contact is refused while this one is active.
    let dup = t
        .post(&path, &[("To", "+15558675310"), ("From", "+12345678901")])
        .await;
    assert_eq!(
        (dup.status, dup.body["code"].clone()),
        (StatusCode::CONFLICT, 20409.into())
    );

    let ctx = t.get(&format!("{path}/{fn_sid}/Context")).await;
    assert_eq!(ctx.body["context"]["flow"]["data"]["name"], "Zeke");
    assert_eq!(ctx.body["context"]["widgets"]["lookup"]["status_code"], 200);
    let steps = t.get(&format!("{path}/{fn_sid}/Steps")).await;
    let names: Vec<&str> = steps.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["incomingRequest", "success"]);
    let step_sid = steps.body["steps"][1]["sid"].as_str().unwrap().to_string();
    let sctx = t
        .get(&format!("{path}/{fn_sid}/Steps/{step_sid}/Context"))
        .await;
    assert_eq!(sctx.status, StatusCode::OK);
    assert_eq!(sctx.body["step_sid"], step_sid.as_str());

    let ended = t
        .post(&format!("{path}/{fn_sid}"), &[("Status", "ended")])
        .await;
    assert_eq!(ended.body["status"], "ended");
    // Now a new one may start.
    let again = t
        .post(&path, &[("To", "+15558675310"), ("From", "+12345678901")])
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
}

/// A start whose flow would end on its first steps is still refused while another
/// execution of the flow is active for the contact (the rule is checked on active rows).
#[tokio::test]
async fn a_start_that_would_end_at_once_is_refused_while_one_is_active() {
    let t = TestApp::new().await;
    let fw = t
        .publish_flow(
            r#"{
  "description": "waits or ends",
  "initial_state": "Trigger",
  "states": [
    {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
      "transitions": [{"event": "incomingRequest", "next": "choose"}]},
    {"name": "choose", "type": "split-based-on", "properties": {"input": "{{flow.data.wait}}"},
      "transitions": [{"event": "noMatch", "next": "bye"},
        {"event": "match", "next": "ask", "conditions": [{"friendly_name": "wait", "arguments": ["{{flow.data.wait}}"], "type": "equal_to", "value": "yes"}]}]},
    {"name": "ask", "type": "send-and-wait-for-reply",
      "properties": {"from": "{{flow.channel.address}}", "body": "still there?"},
      "transitions": [{"event": "incomingMessage"}, {"event": "timeout"}, {"event": "deliveryFailure"}]},
    {"name": "bye", "type": "send-message",
      "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "bye"},
      "transitions": [{"event": "sent"}, {"event": "failed"}]}
  ]
}"#,
        )
        .await;
    let path = format!("/v2/Flows/{fw}/Executions");
    let start = |params: &'static str| {
        let t = &t;
        let path = path.clone();
        async move {
            t.post(
                &path,
                &[
                    ("To", "+15558675310"),
                    ("From", "+12345678901"),
                    ("Parameters", params),
                ],
            )
            .await
        }
    };
    let waiting = start(r#"{"wait": "yes"}"#).await;
    assert_eq!(waiting.status, StatusCode::CREATED, "{}", waiting.body);
    assert_eq!(waiting.body["status"], "active");

    let refused = start("{}").await;
    assert_eq!(
        (refused.status, refused.body["code"].clone()),
        (StatusCode::CONFLICT, 20409.into()),
        "{}",
        refused.body
    );
    assert_eq!(t.received("+15558675310").await, vec!["still there?"]);

    // Once the first one is ended, the same start runs and ends at once.
    let ended = t
        .post(&format!("{path}/{}", waiting.sid()), &[("Status", "ended")])
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let quick = start("{}").await;
    assert_eq!(quick.status, StatusCode::CREATED, "{}", quick.body);
    assert_eq!(quick.body["status"], "ended");
    assert_eq!(
        t.received("+15558675310").await,
        vec!["still there?", "bye"]
    );
}

#[tokio::test]
async fn a_failing_http_call_takes_the_failed_branch() {
    let t = TestApp::new().await;
    let api = Receiver::start().await;
    api.respond_with(500);
    let fw = t.publish_flow(&rest_flow(&api.url("/lookup"))).await;
    t.post(
        &format!("/v2/Flows/{fw}/Executions"),
        &[("To", "+15550000001"), ("From", "+12345678901")],
    )
    .await;
    t.drain().await;
    assert_eq!(t.received("+15550000001").await, vec!["lookup failed"]);
    // Nobody listening at all is a failure too, not a crash.
    let fw2 = t
        .publish_flow(&rest_flow("http://127.0.0.1:9/closed"))
        .await;
    t.post(
        &format!("/v2/Flows/{fw2}/Executions"),
        &[("To", "+15550000002"), ("From", "+12345678901")],
    )
    .await;
    t.drain().await;
    assert_eq!(t.received("+15550000002").await, vec!["lookup failed"]);
}

#[tokio::test]
async fn an_unpublished_flow_cannot_run() {
    let t = TestApp::new().await;
    let fw = t
        .post(
            "/v2/Flows",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", SEED),
            ],
        )
        .await
        .sid();
    let e = t
        .post(
            &format!("/v2/Flows/{fw}/Executions"),
            &[("To", "+1555"), ("From", "+1234")],
        )
        .await;
    assert_eq!(e.status, StatusCode::BAD_REQUEST, "{}", e.body);
    let missing = t
        .post(&format!("/v2/Flows/{fw}/Executions"), &[("From", "+1234")])
        .await;
    assert_eq!(
        (missing.status, missing.body["code"].clone()),
        (StatusCode::BAD_REQUEST, 20001.into())
    );
}
