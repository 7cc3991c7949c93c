//! Concurrent migrations, and how failed statements and deadlocks are reported.

use super::*;

/// Nodes that start together on a new database migrate it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_migrate_once() {
    for db in backends() {
        if db.name != "postgres" {
            continue;
        }
        // A second schema, fresh, opened by four "nodes" at once.
        let schema = PgSchema::create(&parley_store::testing::test_pg_url().unwrap()).unwrap();
        let url = DbUrl::Postgres(schema.url().clone().with_pool_size(2));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || Store::open(&url, Durability::Normal).map(|_| ()))
            })
            .collect();
        for t in threads {
            t.join().unwrap().expect("every node starts");
        }
        let store = Store::open(&url, Durability::Normal).unwrap();
        let (applied, latest) = store
            .read(|tx| -> R<(i64, i64)> {
                let applied = tx.query_i64("SELECT COUNT(*) FROM schema_migrations", &[])?;
                let latest = tx.query_i64("SELECT MAX(version) FROM schema_migrations", &[])?;
                Ok((applied.unwrap_or(0), latest.unwrap_or(0)))
            })
            .await
            .unwrap();
        // Every migration recorded exactly once, none skipped.
        assert!(latest >= 2, "{latest}");
        assert_eq!(applied, latest);
        drop(store);
    }
}

/// PostgreSQL aborts a transaction at its first failed statement; a unit that ignores the
/// error must not be reported as committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_ignores_a_failed_statement_is_not_committed() {
    for db in backends() {
        if db.name != "postgres" {
            continue;
        }
        let out = db
            .store
            .write(|tx| -> R<()> {
                tx.insert(&conversation("CH1", None))?;
                let _ = tx.execute("SELECT no_such_column FROM conversations", &[]);
                Ok(())
            })
            .await;
        assert!(matches!(out, Err(StoreError::Backend(_))), "{out:?}");
        let n = db
            .store
            .read(|tx| -> R<i64> { tx.count::<ConversationRow>("1 = 1", &[]) })
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}

/// Two transactions that lock the same rows in opposite orders: PostgreSQL breaks the cycle
/// by failing one of them, and the store reports that as a conflict (the caller may retry;
/// the server answers 503 rather than 500).
#[test]
fn a_deadlock_is_reported_as_a_conflict() {
    let Some(schema) = PgSchema::from_env() else {
        return;
    };
    let schema = schema.expect("PARLEY_TEST_PG is set but the server cannot be reached");
    let url = schema.url().as_str().to_string();
    // The schema's URL sets its search_path.
    let connect = || postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut setup = connect();
    setup
        .batch_execute(
            "CREATE TABLE deadlock_probe (id INT PRIMARY KEY, v INT);
             INSERT INTO deadlock_probe VALUES (1, 0), (2, 0);",
        )
        .expect("setup");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let run = |first: i32, second: i32| {
        let barrier = barrier.clone();
        let mut c = connect();
        std::thread::spawn(move || -> Result<(), postgres::Error> {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE deadlock_probe SET v = v + 1 WHERE id = $1",
                &[&first],
            )?;
            barrier.wait();
            tx.execute(
                "UPDATE deadlock_probe SET v = v + 1 WHERE id = $1",
                &[&second],
            )?;
            tx.commit()
        })
    };
    let (a, b) = (run(1, 2), run(2, 1));
    let outcomes = [a.join().unwrap(), b.join().unwrap()];
    let failed: Vec<StoreError> = outcomes
        .into_iter()
        .filter_map(|o| o.err().map(StoreError::from))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(matches!(failed[0], StoreError::Conflict(_)), "{failed:?}");
}
