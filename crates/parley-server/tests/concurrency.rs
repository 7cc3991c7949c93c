//! Two texts from the same handset at once never start two conversations or executions.

use parley_server::testkit::TestApp;
use parley_store::{ConversationRow, ExecutionRow};

const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_texts_from_one_handset_start_one_execution() {
    let t = TestApp::new().await;
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
    for round in 0..5 {
        let handset = format!("+1555000{round:04}");
        let (a, b) = tokio::join!(
            t.text(&handset, "+12345678901", "first"),
            t.text(&handset, "+12345678901", "second")
        );
        assert_eq!(
            a.body["conversation_sid"], b.body["conversation_sid"],
            "one conversation"
        );
        let conv = a.body["conversation_sid"].as_str().unwrap().to_string();
        let c2 = conv.clone();
        let (convs, execs) = t
            .app
            .store()
            .read(move |tx| -> parley_server::error::Result<(i64, i64)> {
                let h = parley_store::Param::Text(&handset);
                let convs = tx.count::<ConversationRow>(
                    "sid IN (SELECT conversation_sid FROM participants WHERE address = ?1)",
                    &[h],
                )?;
                let execs = tx.count::<ExecutionRow>(
                    "conversation_sid = ?1",
                    &[parley_store::Param::Text(&c2)],
                )?;
                Ok((convs, execs))
            })
            .await
            .unwrap();
        assert_eq!((convs, execs), (1, 1), "round {round}: conversation {conv}");
    }
}

/// Messages created at once in one conversation get consecutive indexes, none twice; the
/// index of a deleted last message is not given again, not even after a restart (SQLite
/// numbers from the last message, with a floor that deletes raise: `domain::messages`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_indexes_are_consecutive_and_never_reused() {
    let t = TestApp::new().await;
    let conv = t.post("/v1/Conversations", &[]).await;
    let conv = conv.body["sid"].as_str().unwrap().to_string();
    let path = format!("/v1/Conversations/{conv}/Messages");
    let sends = (0..20).map(|i| {
        let (t, path) = (&t, &path);
        async move { t.post(path, &[("Body", &format!("m{i}"))]).await }
    });
    let made = futures_util::future::join_all(sends).await;
    let mut indexes: Vec<i64> = made
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["index"].as_i64().unwrap()
        })
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..20).collect::<Vec<_>>());

    // Delete the two last messages: the next one is 20, not 18.
    for r in &made {
        let idx = r.body["index"].as_i64().unwrap();
        if idx >= 18 {
            let sid = r.body["sid"].as_str().unwrap();
            assert_eq!(t.delete(&format!("{path}/{sid}")).await.status, 204);
        }
    }
    let t = t.restart().await;
    let next = t.post(&path, &[("Body", "after")]).await;
    assert_eq!(next.status, 201, "{}", next.body);
    assert_eq!(next.body["index"], 20);
}
