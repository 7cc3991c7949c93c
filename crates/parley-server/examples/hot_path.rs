//! The tutorial's hot path in-process (no HTTP, no fsync): how many SQL statements and how
//! much time one inbound text costs the server. Used to profile (perf record on this
//! binary) and to check that the cost stays flat as data grows.
//!
//! cargo run --release -p parley-server --example hot_path -- [HANDSETS] [ROUNDS] [CONCURRENCY]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::atomic::Ordering;
use std::time::Instant;

use parley_server::testkit::TestApp;
use parley_store::tx::STATEMENTS;

const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let handsets = args.first().copied().unwrap_or(2000);
    let rounds = args.get(1).copied().unwrap_or(3);
    let concurrency = args.get(2).copied().unwrap_or(1).max(1);
    let t = std::sync::Arc::new(TestApp::new().await);
    let flow = t.publish_flow(SEED).await;
    t.post(
        "/v1/Configuration/Addresses",
        &[
            ("Type", "sms"),
            ("Address", "+12345678901"),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "studio"),
            ("AutoCreation.StudioFlowSid", &flow),
        ],
    )
    .await;
    for round in 0..rounds {
        for (label, body) in [
            ("first text (auto-create + flow start)", "hi"),
            ("answer (resume + reply)", "yes"),
        ] {
            let s0 = STATEMENTS.load(Ordering::Relaxed);
            let start = Instant::now();
            // `concurrency` texts in flight, as many connections would have: the store's
            // writer then commits them in batches.
            let mut tasks = Vec::new();
            for w in 0..concurrency {
                let t = t.clone();
                tasks.push(tokio::spawn(async move {
                    for h in (w..handsets).step_by(concurrency) {
                        let r = t.text(&format!("+1555{h:07}"), "+12345678901", body).await;
                        assert_eq!(r.status, 201, "{}", r.body);
                    }
                }));
            }
            for task in tasks {
                task.await.expect("texts");
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / handsets as f64;
            let stmts = (STATEMENTS.load(Ordering::Relaxed) - s0) as f64 / handsets as f64;
            println!("round {round} {label:<40} {us:>8.1} µs/text {stmts:>6.1} statements/text");
        }
    }
    rest_statements(&t).await;
}

/// The REST benchmark's two creates, one at a time: statements per request.
async fn rest_statements(t: &TestApp) {
    const N: usize = 1000;
    let s0 = STATEMENTS.load(Ordering::Relaxed);
    let mut sid = String::new();
    for _ in 0..N {
        let r = t
            .post("/v1/Conversations", &[("FriendlyName", "bench")])
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        sid = r.body["sid"].as_str().expect("sid").to_string();
    }
    let s1 = STATEMENTS.load(Ordering::Relaxed);
    let path = format!("/v1/Conversations/{sid}/Messages");
    for _ in 0..N {
        let r = t
            .post(&path, &[("Author", "bench"), ("Body", "hello")])
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let s2 = STATEMENTS.load(Ordering::Relaxed);
    let per = |a: u64, b: u64| (b - a) as f64 / N as f64;
    println!(
        "REST conversation create {:>6.1} statements/request",
        per(s0, s1)
    );
    println!(
        "REST message create      {:>6.1} statements/request",
        per(s1, s2)
    );
}
