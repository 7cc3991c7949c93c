//! The jobs queue: scheduling, claiming (also concurrently and with SKIP LOCKED), retries.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_scheduled_claimed_retried_and_finished() {
    for db in backends() {
        let name = db.name;
        db.store
            .write(|tx| -> R<()> {
                tx.schedule_job(&job("a", 100), 1)?;
                tx.schedule_job(&job("b", 200), 1)?;
                tx.schedule_job(&job("c", 5_000), 1)?;
                // Rescheduling replaces.
                tx.schedule_job(&job("b", 150), 1)?;
                Ok(())
            })
            .await
            .unwrap();
        let claimed = db
            .store
            .write(|tx| -> R<_> { tx.claim_due_jobs(1_000, 61_000, 10) })
            .await
            .unwrap();
        let keys: Vec<&str> = claimed.iter().map(|j| j.job_key.as_str()).collect();
        assert_eq!(keys, ["a", "b"], "{name}");
        assert!(
            claimed
                .iter()
                .all(|j| j.attempts == 1 && j.locked_until == 61_000)
        );
        // Leased: nobody else gets them until the lease runs out.
        let again = db
            .store
            .write(|tx| -> R<_> { tx.claim_due_jobs(1_001, 61_001, 10) })
            .await
            .unwrap();
        assert!(again.is_empty(), "{name}");
        let (a, b) = (claimed[0].clone(), claimed[1].clone());
        db.store
            .write(move |tx| -> R<()> {
                tx.finish_job(&a.job_key, a.run_at)?;
                tx.retry_job(&b.job_key, b.run_at, 2_000, "try later")
            })
            .await
            .unwrap();
        let (pending, next) = db
            .store
            .read(|tx| -> R<_> { Ok((tx.pending_jobs()?, tx.next_job_due()?)) })
            .await
            .unwrap();
        assert_eq!((pending, next), (2, Some(2_000)), "{name}");
        let cancelled = db
            .store
            .write(|tx| -> R<bool> { tx.cancel_job("c") })
            .await
            .unwrap();
        assert!(cancelled, "{name}");
    }
}

/// Many claimers at once (several nodes' workers): every due job goes to exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_hand_each_job_out_once() {
    for db in backends() {
        db.store
            .write(|tx| -> R<()> {
                for i in 0..60 {
                    tx.schedule_job(&job(&format!("j{i:02}"), i), 0)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .write(|tx| -> R<_> { tx.claim_due_jobs(1_000, 61_000, 3) })
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|j| j.job_key));
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!((all.len(), distinct.len()), (60, 60), "{}", db.name);
    }
}

/// `FOR UPDATE SKIP LOCKED`: while one node's claim is still open, another's claim takes
/// the other due jobs instead of waiting or taking the same ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_claim_is_skipped_not_waited_for() {
    for db in backends() {
        if db.name != "postgres" {
            continue; // One writer: claims cannot overlap on SQLite.
        }
        db.store
            .write(|tx| -> R<()> {
                for i in 0..10 {
                    tx.schedule_job(&job(&format!("j{i}"), i), 0)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let (claimed_tx, claimed_rx) = std::sync::mpsc::channel::<Vec<String>>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let store = db.store.clone();
        let first = tokio::spawn(async move {
            store
                .write(move |tx| -> R<()> {
                    let got = tx.claim_due_jobs(1_000, 61_000, 5)?;
                    claimed_tx
                        .send(got.into_iter().map(|j| j.job_key).collect())
                        .unwrap();
                    // Hold the transaction (and its row locks) open.
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .await
        });
        let first_keys = tokio::task::spawn_blocking(move || claimed_rx.recv().unwrap())
            .await
            .unwrap();
        let second = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            db.store
                .write(|tx| -> R<_> { tx.claim_due_jobs(1_000, 61_000, 10) }),
        )
        .await
        .expect("the second claim did not wait for the first")
        .unwrap();
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        let second_keys: HashSet<String> = second.into_iter().map(|j| j.job_key).collect();
        assert_eq!(first_keys.len(), 5);
        assert_eq!(second_keys.len(), 5);
        assert!(first_keys.iter().all(|k| !second_keys.contains(k)));
    }
}
