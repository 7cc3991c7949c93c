//! Faults: a carrier that fails.

use super::*;

async fn receipt(http: &Http, server: &Server, ch: &str, im: &str) -> Value {
    let r = http
        .get(&server.url(&format!("/v1/Conversations/{ch}/Messages/{im}/Receipts")))
        .await
        .expect("receipts");
    assert_eq!(r.status, 200, "{}", r.body);
    let receipts = r.body["delivery_receipts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(receipts.len(), 1, "{}", r.body);
    receipts[0].clone()
}

/// Requests the relay got for one outbound message (the relay's JSON carries its SID).
fn relay_calls(rx: &parley_server::testkit::Receiver, channel_sid: &Value) -> usize {
    rx.received()
        .iter()
        .filter(|r| {
            serde_json::from_str::<Value>(&r.body)
                .map(|b| b["sid"] == *channel_sid)
                .unwrap_or(false)
        })
        .count()
}

/// An HTTP relay carrier answering 503: the message to the SMS participant is retried
/// (five attempts, the clock skipping the backoff) and its receipt ends `failed` (30008).
/// Answering 400 with a code: `failed` at once, with that code, and never retried. The
/// server stays healthy throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_carrier_fails_the_receipt_and_nothing_else() {
    let started = Instant::now();
    let rx = parley_server::testkit::Receiver::start().await;
    rx.respond_with(503);
    let dir = TempDir::new();
    let db = format!("sqlite://{}", dir.path("parley.db").display());
    let log = dir.path("server.log");
    let server = Server::start(&db, &log, &["--dev-clock"]);
    let http = Http::new();
    let s = http
        .post(
            &server.url("/parley/v1/Senders"),
            &[
                ("Address", NUMBER),
                ("Carrier", "relay"),
                ("RelayUrl", &rx.url("/out")),
                ("RelaySecret", "x"),
            ],
        )
        .await
        .expect("sender");
    assert_eq!(s.status, 200, "{}", s.body);
    let ch = conversation_with_handset(&http, &server).await;

    // 503: retried with backoff, then failed.
    let m = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch}/Messages")),
            &[("Author", "alice"), ("Body", "to a carrier that is down")],
        )
        .await
        .expect("message");
    assert_eq!(m.status, 201, "{}", m.body);
    let im = m.sid();
    let channel_sid = receipt(&http, &server, &ch, &im).await["channel_message_sid"].clone();
    let until = Instant::now() + Duration::from_secs(10);
    while relay_calls(&rx, &channel_sid) == 0 {
        assert!(Instant::now() < until, "the relay was never called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut r = receipt(&http, &server, &ch, &im).await;
    for _ in 0..10 {
        if r["status"] == "failed" {
            break;
        }
        advance_clock(&http, &server, 20).await;
        r = receipt(&http, &server, &ch, &im).await;
    }
    assert_eq!(r["status"], "failed", "{r:#}");
    assert_eq!(r["error_code"], 30008, "{r:#}");
    assert_eq!(relay_calls(&rx, &channel_sid), 5, "five attempts");

    // 400: final at once, with the carrier's code.
    rx.respond_with(400);
    rx.respond_body(r#"{"code": 30007, "message": "filtered"}"#);
    let m2 = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch}/Messages")),
            &[
                ("Author", "alice"),
                ("Body", "to a carrier that refuses it"),
            ],
        )
        .await
        .expect("message");
    assert_eq!(m2.status, 201, "{}", m2.body);
    let im2 = m2.sid();
    let until = Instant::now() + Duration::from_secs(10);
    let r2 = loop {
        let r = receipt(&http, &server, &ch, &im2).await;
        if r["status"] == "failed" {
            break r;
        }
        assert!(Instant::now() < until, "never failed: {r:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(r2["error_code"], 30007, "{r2:#}");
    // No retry, however long one waits.
    advance_clock(&http, &server, 600).await;
    assert_eq!(relay_calls(&rx, &r2["channel_message_sid"]), 1);
    assert_eq!(relay_calls(&rx, &channel_sid), 5);
    assert_eq!(receipt(&http, &server, &ch, &im).await["status"], "failed");

    // Healthy: answers, and the conversation goes on.
    let health = http.get(&server.url("/healthz")).await.expect("healthz");
    assert_eq!(health.status, 200);
    let m3 = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch}/Messages")),
            &[("Author", "alice"), ("Body", "still here")],
        )
        .await
        .expect("message");
    assert_eq!(m3.status, 201, "{}", m3.body);
    assert_no_panics(&log);
    eprintln!("failing carrier test took {:?}", started.elapsed());
}
