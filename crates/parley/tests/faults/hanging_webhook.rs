//! Faults: a webhook receiver that hangs.

use super::*;

/// A TCP server that accepts connections and never answers (nor closes them).
fn hanging_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

/// How long the server waits for a webhook receiver here. Twilio's (and the default) is
/// 5 s; 1 s keeps the test short while a text answered "at once" stays clearly apart
/// from one that waited for the receiver, even on a busy CI machine.
const HOOK_TIMEOUT_MS: u64 = 1_000;

/// A text, timed.
async fn timed_text(http: &Http, server: &Server, body: &str) -> (Reply, Duration) {
    let t0 = Instant::now();
    let r = http
        .post(
            &server.url("/sim/v1/Messages"),
            &[("From", HANDSET), ("To", NUMBER), ("Body", body)],
        )
        .await
        .expect("text");
    (r, t0.elapsed())
}

/// A conversation webhook whose receiver accepts the connection and never answers: the
/// texts are answered at once all the same (the delivery is a job after the commit), each
/// delivery is tried three times (the clock skips the 1 s and 2 s backoff) and then shows
/// as `failed` with the reason, and the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_receiver_that_hangs_blocks_nothing() {
    let started = Instant::now();
    let (addr, accepted) = hanging_server();
    let dir = TempDir::new();
    let db = format!("sqlite://{}", dir.path("parley.db").display());
    let log = dir.path("server.log");
    let timeout = HOOK_TIMEOUT_MS.to_string();
    let server = Server::start(
        &db,
        &log,
        &["--webhook-timeout-ms", &timeout, "--dev-clock"],
    );
    let http = Http::new();

    let ch = conversation_with_handset(&http, &server).await;
    let w = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch}/Webhooks")),
            &[
                ("Target", "webhook"),
                ("Configuration.Url", &format!("http://{addr}/hook")),
                ("Configuration.Method", "POST"),
                ("Configuration.Filters", "onMessageAdded"),
            ],
        )
        .await
        .expect("webhook");
    assert_eq!(w.status, 201, "{}", w.body);

    let (r, took) = timed_text(&http, &server, "first").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        took < Duration::from_millis(HOOK_TIMEOUT_MS),
        "first text took {took:?}"
    );
    // Once the receiver holds a connection open, the conversation is still served at once.
    let until = Instant::now() + Duration::from_secs(10);
    while accepted.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < until, "the webhook was never called");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (r, took) = timed_text(&http, &server, "second").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        took < Duration::from_millis(HOOK_TIMEOUT_MS),
        "a text while the receiver hangs took {took:?}"
    );
    let t0 = Instant::now();
    let listed = http
        .get(&server.url(&format!("/v1/Conversations/{ch}/Messages")))
        .await
        .expect("list");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["messages"].as_array().map(Vec::len), Some(2));
    assert!(t0.elapsed() < Duration::from_millis(HOOK_TIMEOUT_MS));

    // Each delivery: three attempts, each cut off after the timeout, then `failed`.
    let deliveries_url = server.url(&format!(
        "/parley/v1/WebhookDeliveries?ConversationSid={ch}"
    ));
    let mut deliveries = Vec::new();
    for _ in 0..12 {
        let r = http.get(&deliveries_url).await.expect("deliveries");
        assert_eq!(r.status, 200, "{}", r.body);
        deliveries = r.body["webhook_deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if deliveries.len() == 2 && deliveries.iter().all(|d| d["status"] == "failed") {
            break;
        }
        // Waits for the attempt in flight, skips the backoff, runs what is due.
        advance_clock(&http, &server, 5).await;
    }
    assert_eq!(deliveries.len(), 2, "{deliveries:#?}");
    for d in &deliveries {
        assert_eq!(d["status"], "failed", "{d:#}");
        assert_eq!(d["event_type"], "onMessageAdded", "{d:#}");
        assert_eq!(d["attempts"], 3, "{d:#}");
        let error = d["last_error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!("no answer within {HOOK_TIMEOUT_MS} ms")),
            "{d:#}"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        6,
        "two deliveries, three attempts each"
    );

    // Still serving: a text, a read, the health check.
    let (r, took) = timed_text(&http, &server, "third").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(took < Duration::from_millis(HOOK_TIMEOUT_MS), "{took:?}");
    let health = http.get(&server.url("/healthz")).await.expect("healthz");
    assert_eq!(health.status, 200);
    assert_no_panics(&log);
    eprintln!("hanging webhook test took {:?}", started.elapsed());
}
