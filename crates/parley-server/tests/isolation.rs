//! One account never sees another's: account B, with its own valid credentials, walks
//! every route with account A's SIDs and gets 404 (or 401) everywhere; nothing of A leaks
//! into B's lists, and nothing of A changes.

use axum::http::StatusCode;
use base64::Engine;
use parley_server::testkit::{ACCOUNT_SID, TestApp};

const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn account_b_cannot_reach_account_a() {
    let t = TestApp::new().await;
    // Account A's resources.
    let svc = t
        .post("/v1/Services", &[("FriendlyName", "A's service")])
        .await
        .sid();
    let ch = t
        .post("/v1/Conversations", &[("UniqueName", "a-secret")])
        .await
        .sid();
    let mb = t
        .post(
            &format!("/v1/Conversations/{ch}/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .sid();
    let im = t
        .post(
            &format!("/v1/Conversations/{ch}/Messages"),
            &[("Author", "alice"), ("Body", "A's secret")],
        )
        .await
        .sid();
    let wh = t
        .post(
            &format!("/v1/Conversations/{ch}/Webhooks"),
            &[
                ("Target", "webhook"),
                ("Configuration.Url", "http://127.0.0.1:9/x"),
                ("Configuration.Filters", "onMessageAdded"),
            ],
        )
        .await
        .sid();
    let ig = t
        .post(
            "/v1/Configuration/Addresses",
            &[("Type", "sms"), ("Address", "+12345678901")],
        )
        .await
        .sid();
    let us = t.get("/v1/Users/alice").await.sid();
    let rl = t
        .post(
            "/v1/Roles",
            &[
                ("FriendlyName", "r"),
                ("Type", "conversation"),
                ("Permission", "sendMessage"),
            ],
        )
        .await
        .sid();
    let cr = t
        .post("/v1/Credentials", &[("Type", "fcm"), ("FriendlyName", "c")])
        .await
        .sid();
    let fw = t.publish_flow(SEED).await;
    let fn_ = t
        .post(
            &format!("/v2/Flows/{fw}/Executions"),
            &[("To", "+15550001111"), ("From", "+12345678901")],
        )
        .await
        .sid();
    let steps = t
        .get(&format!("/v2/Flows/{fw}/Executions/{fn_}/Steps"))
        .await;
    let ft = steps.body["steps"][0]["sid"].as_str().unwrap().to_string();
    let pn = t
        .post(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"),
            &[("PhoneNumber", "+12345678901")],
        )
        .await
        .sid();
    let sk = t
        .post(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Keys.json"),
            &[("FriendlyName", "k")],
        )
        .await
        .sid();
    let all_a = [
        &svc, &ch, &mb, &im, &wh, &ig, &us, &rl, &cr, &fw, &fn_, &ft, &pn, &sk,
    ];
    assert!(all_a.iter().all(|s| s.len() == 34), "{all_a:?}");

    // Account B, created by A, with its own credentials.
    let b = t
        .post("/2010-04-01/Accounts.json", &[("FriendlyName", "B")])
        .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let b_auth = basic(
        b.body["sid"].as_str().unwrap(),
        b.body["auth_token"].as_str().unwrap(),
    );
    let b_sid = b.sid();

    let a = ACCOUNT_SID;
    let paths = vec![
        format!("/v1/Services/{svc}"),
        format!("/v1/Services/{svc}/Configuration"),
        format!("/v1/Services/{svc}/Configuration/Webhooks"),
        format!("/v1/Services/{svc}/Configuration/Notifications"),
        format!("/v1/Services/{svc}/Conversations"),
        format!("/v1/Services/{svc}/Users"),
        format!("/v1/Services/{svc}/Roles"),
        format!("/v1/Services/{svc}/Bindings"),
        format!("/v1/Conversations/{ch}"),
        "/v1/Conversations/a-secret".to_string(),
        format!("/v1/Conversations/{ch}/Participants"),
        format!("/v1/Conversations/{ch}/Participants/{mb}"),
        format!("/v1/Conversations/{ch}/Messages"),
        format!("/v1/Conversations/{ch}/Messages/{im}"),
        format!("/v1/Conversations/{ch}/Messages/{im}/Receipts"),
        format!("/v1/Conversations/{ch}/Webhooks"),
        format!("/v1/Conversations/{ch}/Webhooks/{wh}"),
        format!("/v1/Configuration/Addresses/{ig}"),
        "/v1/Configuration/Addresses/%2B12345678901".to_string(),
        format!("/v1/Users/{us}"),
        "/v1/Users/alice".to_string(),
        format!("/v1/Users/{us}/Conversations"),
        format!("/v1/Users/{us}/Conversations/{ch}"),
        format!("/v1/Roles/{rl}"),
        format!("/v1/Credentials/{cr}"),
        format!("/v2/Flows/{fw}"),
        format!("/v2/Flows/{fw}/Revisions"),
        format!("/v2/Flows/{fw}/Revisions/1"),
        format!("/v2/Flows/{fw}/TestUsers"),
        format!("/v2/Flows/{fw}/Executions"),
        format!("/v2/Flows/{fw}/Executions/{fn_}"),
        format!("/v2/Flows/{fw}/Executions/{fn_}/Context"),
        format!("/v2/Flows/{fw}/Executions/{fn_}/Steps"),
        format!("/v2/Flows/{fw}/Executions/{fn_}/Steps/{ft}"),
        format!("/v2/Flows/{fw}/Executions/{fn_}/Steps/{ft}/Context"),
        format!("/2010-04-01/Accounts/{a}.json"),
        format!("/2010-04-01/Accounts/{a}/IncomingPhoneNumbers.json"),
        format!("/2010-04-01/Accounts/{a}/IncomingPhoneNumbers/{pn}.json"),
        format!("/2010-04-01/Accounts/{a}/Keys.json"),
        format!("/2010-04-01/Accounts/{a}/Keys/{sk}.json"),
    ];
    let secrets = [ch.as_str(), im.as_str(), "A's secret", "a-secret", "alice"];
    for path in &paths {
        for method in ["GET", "POST", "DELETE"] {
            // Valid parameters, so that nothing but the ownership check can refuse.
            let status = if path.contains("/Executions/") {
                "ended"
            } else if path.starts_with("/v2/Flows") {
                "draft"
            } else {
                "active"
            };
            let form = [
                ("FriendlyName", "pwned"),
                ("Status", status),
                ("Body", "x"),
                ("Identity", "mallory"),
                ("Type", "conversation"),
                ("Permission", "sendMessage"),
                ("TestUsers", "x"),
                ("Target", "studio"),
                (
                    "Configuration.FlowSid",
                    "FW00000000000000000000000000000000",
                ),
                ("PhoneNumber", "+15550009999"),
                ("To", "+15550008888"),
                ("From", "+15550007777"),
                ("Definition", SEED),
            ];
            let r = t.request(method, path, &form, Some(&b_auth)).await;
            assert!(
                matches!(
                    r.status,
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{method} {path} as B answered {}: {}",
                r.status,
                r.body
            );
            let text = r.body.to_string();
            // The 404 may echo the path B asked for, but nothing else of A's.
            let echo_free = text.replace(path.as_str(), "");
            for s in secrets {
                if !path.contains(s) {
                    assert!(!echo_free.contains(s), "{method} {path} leaked {s}: {text}");
                }
            }
        }
    }
    // B's own lists hold nothing of A's.
    for list in [
        "/v1/Conversations",
        "/v1/Services",
        "/v1/Users",
        "/v1/Roles",
        "/v1/Credentials",
        "/v1/Configuration/Addresses",
        "/v2/Flows",
        "/parley/v1/WebhookDeliveries",
        "/parley/v1/Handoffs",
    ] {
        let r = t.request("GET", list, &[], Some(&b_auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{list}");
        let text = r.body.to_string();
        for s in all_a {
            assert!(!text.contains(s.as_str()), "B's {list} shows A's {s}");
        }
    }
    let pc = t
        .request(
            "GET",
            "/v1/ParticipantConversations?Identity=alice",
            &[],
            Some(&b_auth),
        )
        .await;
    assert_eq!(pc.body["conversations"], serde_json::json!([]));
    let sim = t
        .request(
            "GET",
            "/sim/v1/Messages?Address=%2B15550001111",
            &[],
            Some(&b_auth),
        )
        .await;
    assert_eq!(sim.body["messages"], serde_json::json!([]));
    // B's keys path for its own account works; A's does not.
    let own = t
        .request(
            "GET",
            &format!("/2010-04-01/Accounts/{b_sid}/Keys.json"),
            &[],
            Some(&b_auth),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    // A's resources are untouched.
    assert_eq!(
        t.get(&format!("/v1/Conversations/{ch}")).await.body["unique_name"],
        "a-secret"
    );
    assert_eq!(
        t.get(&format!("/v1/Conversations/{ch}/Messages/{im}"))
            .await
            .body["body"],
        "A's secret"
    );
    assert_eq!(
        t.get(&format!("/v2/Flows/{fw}")).await.body["friendly_name"],
        "test flow"
    );

    // Wrong or missing credentials are 401 everywhere.
    for path in [
        "/v1/Conversations",
        "/v2/Flows",
        "/sim/v1/Messages?Address=x",
        "/parley/v1/Handoffs",
    ] {
        let r = t.request("GET", path, &[], Some(&basic(a, "wrong"))).await;
        assert_eq!(
            (r.status, r.body["code"].clone()),
            (StatusCode::UNAUTHORIZED, 20003.into()),
            "{path}"
        );
        let r = t.request("GET", path, &[], None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn api_keys_authenticate_until_revoked() {
    let t = TestApp::new().await;
    let k = t
        .post(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Keys.json"),
            &[("FriendlyName", "ci")],
        )
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.body);
    let secret = k.body["secret"].as_str().unwrap().to_string();
    let key_auth = basic(&k.sid(), &secret);
    let r = t
        .request(
            "POST",
            "/v1/Conversations",
            &[("FriendlyName", "by key")],
            Some(&key_auth),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["account_sid"], ACCOUNT_SID);
    // The secret is never shown again.
    let fetched = t
        .get(&format!(
            "/2010-04-01/Accounts/{ACCOUNT_SID}/Keys/{}.json",
            k.sid()
        ))
        .await;
    assert!(fetched.body.get("secret").is_none());
    assert_eq!(
        t.delete(&format!(
            "/2010-04-01/Accounts/{ACCOUNT_SID}/Keys/{}.json",
            k.sid()
        ))
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let r = t
        .request("GET", "/v1/Conversations", &[], Some(&key_auth))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
