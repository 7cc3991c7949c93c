//! A full SQLite file inside a group commit. SQLite answers some SQLITE_FULL errors (an
//! UPDATE that needs a new page, an upsert) by rolling back the whole transaction, not just
//! the statement: the units of the batch before the failing one are lost with it. They
//! must be told so (503, nothing written), and the units after it must still run inside a
//! transaction. (Found by `crates/parley/tests/faults.rs`; before the fix the earlier
//! units were answered 500 and the later ones were committed one by one, then answered
//! 500 as well.)

use std::time::Duration;

use parley_store::{ConversationRow, DbUrl, Durability, Store, StoreError};

type R<T> = Result<T, StoreError>;

fn conversation(sid: &str) -> ConversationRow {
    ConversationRow {
        friendly_name: Some("before".into()),
        ..parley_store::testing::conversation(sid)
    }
}

/// Renames a conversation, or (with `grow`) gives it attributes far bigger than a page.
async fn update(store: &Store, sid: &'static str, name: &'static str, grow: bool) -> R<()> {
    store
        .write(move |tx| -> R<()> {
            let mut c: ConversationRow = tx.get(sid)?.expect("row");
            c.friendly_name = Some(name.into());
            if grow {
                c.attributes = format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024));
            }
            tx.update(&c)?;
            Ok(())
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unit_that_fills_the_file_fails_its_batch_cleanly() {
    let path = std::env::temp_dir().join(format!("parley-full-disk-{}.db", std::process::id()));
    let store = Store::open(&DbUrl::Sqlite(path.clone()), Durability::Normal).expect("open");
    store
        .write(|tx| -> R<()> {
            for sid in ["CH1", "CH2", "CH3"] {
                tx.insert(&conversation(sid))?;
            }
            // The file may not grow any more (the writer's connection is the one writing).
            let pages = tx.query_i64("PRAGMA page_count", &[])?.unwrap_or(1);
            tx.query_i64(&format!("PRAGMA max_page_count = {pages}"), &[])?;
            Ok(())
        })
        .await
        .expect("set up");

    // Hold the writer so that the next three units arrive together and form one batch:
    // a rename that fits, one that does not fit (SQLite rolls the batch back), a rename
    // that fits.
    let s = store.clone();
    let hold = tokio::spawn(async move {
        s.write(|_tx| -> R<()> {
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = store.clone();
    let before = tokio::spawn(async move { update(&s, "CH1", "renamed", false).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let s = store.clone();
    let full = tokio::spawn(async move { update(&s, "CH2", "renamed", true).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let s = store.clone();
    let after = tokio::spawn(async move { update(&s, "CH3", "renamed", false).await });

    hold.await.unwrap().expect("the unit holding the writer");
    let (before, full, after) = (
        before.await.unwrap(),
        full.await.unwrap(),
        after.await.unwrap(),
    );
    assert!(matches!(full, Err(StoreError::Unavailable(_))), "{full:?}");
    assert!(
        matches!(before, Err(StoreError::Unavailable(_))),
        "the unit before it was rolled back with it: {before:?}"
    );
    assert!(
        after.is_ok(),
        "the unit after it runs in a transaction of its own: {after:?}"
    );

    let names = store
        .read(|tx| -> R<Vec<Option<String>>> {
            let mut out = Vec::new();
            for sid in ["CH1", "CH2", "CH3"] {
                out.push(tx.get::<ConversationRow>(sid)?.expect("row").friendly_name);
            }
            Ok(out)
        })
        .await
        .unwrap();
    assert_eq!(
        names,
        [
            Some("before".into()),
            Some("before".into()),
            Some("renamed".into())
        ],
        "what was answered is what was written"
    );
    // The writer goes on: a unit that fits is committed.
    update(&store, "CH1", "renamed", false)
        .await
        .expect("a write after the full one");
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
