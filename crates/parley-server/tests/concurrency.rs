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
