//! Row and key locks, and notifications that only a commit sends.

use parley_store::Tx;

use super::*;

/// 16 units at once each take CH1 with `take` (which must leave it locked), pause, and add
/// one to its counter. Returns the counter at the end: 16 if no increment was lost.
async fn sixteen_increments(db: &TestDb, take: fn(&mut Tx<'_>) -> R<ConversationRow>) -> i64 {
    db.store
        .write(|tx| -> R<i64> { tx.insert(&conversation("CH1", None)) })
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| -> R<bool> {
                    let mut c = take(tx)?;
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    c.next_index += 1;
                    tx.update(&c)
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    db.store
        .read(|tx| -> R<_> { tx.get::<ConversationRow>("CH1") })
        .await
        .unwrap()
        .unwrap()
        .next_index
}

/// A read-modify-write under `get_for_update` loses nothing, however many run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_locks_serialise_read_modify_write() {
    for db in backends() {
        let n = sixteen_increments(&db, |tx| {
            Ok(tx.get_for_update::<ConversationRow>("CH1")?.expect("CH1"))
        })
        .await;
        assert_eq!(n, 16, "{}", db.name);
    }
}

/// The same with a plain read first and `lock_read` after it (as the hot path does): on
/// PostgreSQL the row is read again under the lock, on SQLite the one writer makes the
/// first read current. Either way no increment is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_read_after_a_plain_read_loses_nothing() {
    for db in backends() {
        let n = sixteen_increments(&db, |tx| {
            let mut c = tx.get::<ConversationRow>("CH1")?.expect("CH1");
            std::thread::sleep(std::time::Duration::from_millis(2));
            assert!(tx.lock_read(&mut c)?, "CH1 is there");
            Ok(c)
        })
        .await;
        assert_eq!(n, 16, "{}", db.name);
        // On PostgreSQL a row deleted since the plain read is reported gone. (On SQLite
        // nothing else can delete it in between: the one writer holds the database.)
        if db.store.is_shared() {
            let gone = db
                .store
                .write(|tx| -> R<bool> {
                    let mut c = tx.get::<ConversationRow>("CH1")?.expect("CH1");
                    tx.delete::<ConversationRow>("CH1")?;
                    tx.lock_read(&mut c)
                })
                .await
                .unwrap();
            assert!(!gone, "{}", db.name);
        }
    }
}

/// `lock_key` serialises units that touch different rows for one logical key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_locks_serialise_check_then_insert() {
    for db in backends() {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(move |tx| -> R<bool> {
                        tx.lock_key("pair:AC1:+15550001:+12345678901")?;
                        let n = tx.count::<ConversationRow>(
                            "friendly_name = ?1",
                            &[Param::Text("pair")],
                        )?;
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        if n == 0 {
                            let mut c = conversation(&format!("CH{i}"), None);
                            c.friendly_name = Some("pair".into());
                            tx.insert(&c)?;
                            return Ok(true);
                        }
                        Ok(false)
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        for t in tasks {
            created += t.await.unwrap() as i32;
        }
        assert_eq!(created, 1, "{}", db.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_arrive_on_commit_only() {
    for db in backends() {
        if !db.store.is_shared() {
            // One process: nothing to announce, and the listener never yields.
            let mut l = db.store.listen(&["parley_test"]);
            let got = tokio::time::timeout(std::time::Duration::from_millis(50), l.recv()).await;
            assert!(got.is_err());
            continue;
        }
        let mut listener = db.store.listen(&["parley_test"]);
        // LISTEN starts on its own connection: keep announcing until it hears.
        let mut heard = None;
        for _ in 0..50 {
            db.store
                .write(|tx| -> R<()> {
                    tx.notify("parley_test", "warm-up".into());
                    Ok(())
                })
                .await
                .unwrap();
            if let Ok(n) =
                tokio::time::timeout(std::time::Duration::from_millis(100), listener.recv()).await
            {
                heard = n;
                break;
            }
        }
        assert_eq!(heard.map(|n| n.payload).as_deref(), Some("warm-up"));
        while tokio::time::timeout(std::time::Duration::from_millis(200), listener.recv())
            .await
            .is_ok()
        {}
        let _ = db
            .store
            .write(|tx| -> R<()> {
                tx.notify("parley_test", "rolled back".into());
                Err(StoreError::Corrupt("no".into()))
            })
            .await;
        db.store
            .write(|tx| -> R<()> {
                tx.notify("parley_test", "it's committed".into());
                tx.notify("parley_other", "not listened to".into());
                Ok(())
            })
            .await
            .unwrap();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("a notification")
            .expect("listener alive");
        assert_eq!(
            (n.channel.as_str(), n.payload.as_str()),
            ("parley_test", "it's committed")
        );
    }
}
