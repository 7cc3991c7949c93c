//! Cluster: two nodes serving the same handsets, and timers racing replies across nodes.

use super::*;

/// Two nodes, one database: handsets run the tutorial with their messages spread over both
/// nodes, some texting both nodes at once for the same conversation. Every handset gets
/// exactly its replies, each conversation runs one execution, and a live-event subscriber
/// on one node sees what happened on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres() {
    let Some(base_url) = pg_base() else { return };
    let schema = PgSchema::create(&base_url).expect("test schema");
    let db = pg_node_url(&schema);
    // Started together: they migrate the new schema at the same time.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Node::start(&db));
        let b = s.spawn(|| Node::start(&db));
        (a.join().unwrap(), b.join().unwrap())
    });
    let api = Api::new();
    let flow: Value = serde_json::from_str(SEED).unwrap();
    let flow_sid = api.set_up(&a.base, &flow).await;
    let nodes = [a.base.clone(), b.base.clone()];

    // Live events cross nodes: watch a handset on B while it texts A.
    let watcher = "+15550009999";
    let stream = api
        .http
        .get(format!(
            "{}/parley/v1/Events?Address=%2B15550009999",
            b.base
        ))
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .send()
        .await
        .expect("event stream");
    let watch = tokio::spawn(read_events(stream, 2));

    const HANDSETS: usize = 100;
    let answers = ["yes", "no", "maybe"];
    let mut tasks = Vec::new();
    for i in 0..HANDSETS {
        let api = api.clone();
        let nodes = nodes.clone();
        tasks.push(tokio::spawn(async move {
            let handset = format!("+1555100{i:04}");
            if i.is_multiple_of(4) {
                // Both nodes at once, same conversation: one starts the flow, the other's
                // "hi" is its reply (no match: 👻), whichever commits first.
                let (x, y) = tokio::join!(
                    api.text(&nodes[0], &handset, "hi"),
                    api.text(&nodes[1], &handset, "hi")
                );
                assert!(x && y, "{handset}: a text was not acknowledged");
                (handset, vec![QUESTION.to_string(), "👻".to_string()])
            } else {
                let answer = answers[i % 3];
                assert!(
                    api.text(&nodes[i % 2], &handset, "hi").await,
                    "{handset}: hi"
                );
                assert!(
                    api.text(&nodes[(i + 1) % 2], &handset, answer).await,
                    "{handset}: {answer}"
                );
                (
                    handset,
                    vec![QUESTION.to_string(), emoji(answer).to_string()],
                )
            }
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        match t.await {
            Ok(e) => expected.push(e),
            Err(e) => panic!("{e}\n{}", logs(&[&a, &b])),
        }
    }
    assert!(api.text(&a.base, watcher, "hi").await);

    for (handset, want) in &expected {
        let got = api.received(&nodes[handset.len() % 2], handset).await;
        assert_eq!(&got, want, "{handset}\n{}", logs(&[&a, &b]));
    }
    let per_contact = api.executions(&b.base, &flow_sid).await;
    for (handset, _) in &expected {
        assert_eq!(
            per_contact.get(handset),
            Some(&1),
            "{handset}: one execution"
        );
    }
    assert_eq!(per_contact.values().sum::<usize>(), HANDSETS + 1);

    let seen = tokio::time::timeout(Duration::from_secs(10), watch)
        .await
        .expect("node B streamed the events of node A")
        .unwrap();
    assert!(
        seen.iter().any(|e| e["body"] == "hi") && seen.iter().any(|e| e["body"] == QUESTION),
        "{seen:?}"
    );
}

/// Reads `onSimMessage` events from a server-sent event stream until `count` arrived.
async fn read_events(mut stream: reqwest::Response, count: usize) -> Vec<Value> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < count {
        let Ok(Some(chunk)) = stream.chunk().await else {
            return out;
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l == "event: onSimMessage") {
                continue;
            }
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                {
                    out.push(v["data"].clone());
                }
            }
        }
    }
    out
}

/// Replies that arrive on one node just as their timeout fires on the other: each
/// conversation takes one of the two (the timer fires once, or not at all), nothing waits
/// on anything else (the locks are taken in one order), and every reply is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_racing_their_timeouts_on_two_nodes() {
    let Some(base_url) = pg_base() else { return };
    let schema = PgSchema::create(&base_url).expect("test schema");
    let db = pg_node_url(&schema);
    let a = Node::start(&db);
    let b = Node::start(&db);
    let api = Api::new();
    let flow_sid = api.set_up(&a.base, &flow_with_timeout(1)).await;
    let nodes = [a.base.clone(), b.base.clone()];

    const HANDSETS: usize = 30;
    let mut tasks = Vec::new();
    for i in 0..HANDSETS {
        let (api, nodes) = (api.clone(), nodes.clone());
        tasks.push(tokio::spawn(async move {
            let handset = format!("+1555300{i:04}");
            assert!(
                api.text(&nodes[i % 2], &handset, "hi").await,
                "{handset}: hi"
            );
            // Around the moment the timer is due (1 s after the hi).
            tokio::time::sleep(Duration::from_millis(700 + 20 * i as u64)).await;
            assert!(
                api.text(&nodes[(i + 1) % 2], &handset, "yes").await,
                "{handset}: yes"
            );
            handset
        }));
    }
    let mut handsets = Vec::new();
    for t in tasks {
        match t.await {
            Ok(h) => handsets.push(h),
            Err(e) => panic!("{e}\n{}", logs(&[&a, &b])),
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let q = QUESTION.to_string();
    let (mut replied, mut timed_out) = (0, 0);
    for h in &handsets {
        let got = api.received(&b.base, h).await;
        if got == [q.clone(), "🤖".to_string()] {
            replied += 1;
        } else if got.len() >= 2 && got[..2] == [q.clone(), TOO_SLOW.to_string()] {
            // The timeout won; the late "yes" then starts the flow again, once (which
            // times out in turn).
            let again = &got[2..];
            assert!(
                again.is_empty()
                    || again == [q.clone()]
                    || again == [q.clone(), TOO_SLOW.to_string()],
                "{h}: {got:?}"
            );
            timed_out += 1;
        } else {
            panic!("{h}: {got:?}\n{}", logs(&[&a, &b]));
        }
    }
    eprintln!("{replied} replies won, {timed_out} timeouts won");
    let per_contact = api.executions(&a.base, &flow_sid).await;
    assert_eq!(per_contact.len(), HANDSETS);
    assert!(
        per_contact.values().all(|n| (1..=2).contains(n)),
        "{per_contact:?}"
    );
    assert_eq!(per_contact.values().filter(|n| **n == 1).count(), replied);
}
