//! The store's contract, checked on every backend: SQLite always, PostgreSQL too when
//! `PARLEY_TEST_PG` names a server (each test in a schema of its own).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use parley_store::testing::PgSchema;
use parley_store::{
    BindingRow, ConversationRow, Cursor, DbUrl, Durability, ExecutionRow, NewJob, PageRequest,
    Param, Store, StoreError, schema,
};

/// A store on a fresh database, removed afterwards.
struct TestDb {
    name: &'static str,
    store: Store,
    _guard: Guard,
}

enum Guard {
    Sqlite(PathBuf),
    Pg(#[allow(dead_code)] PgSchema),
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Sqlite(path) = self {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

static N: AtomicU64 = AtomicU64::new(0);

fn backends() -> Vec<TestDb> {
    let path = std::env::temp_dir().join(format!(
        "parley-store-test-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let url = DbUrl::Sqlite(path.clone());
    let mut out = vec![TestDb {
        name: "sqlite",
        store: Store::open(&url, Durability::Normal).expect("open sqlite"),
        _guard: Guard::Sqlite(path),
    }];
    if let Some(schema) = PgSchema::from_env() {
        let schema = schema.expect("PARLEY_TEST_PG is set but the server cannot be reached");
        let url = DbUrl::Postgres(schema.url().clone().with_pool_size(4));
        out.push(TestDb {
            name: "postgres",
            store: Store::open(&url, Durability::Normal).expect("open postgres"),
            _guard: Guard::Pg(schema),
        });
    }
    out
}

type R<T> = Result<T, StoreError>;

fn conversation(sid: &str, unique_name: Option<&str>) -> ConversationRow {
    ConversationRow {
        seq: 0,
        sid: sid.into(),
        account_sid: "AC1".into(),
        service_sid: "IS1".into(),
        messaging_service_sid: None,
        friendly_name: Some("café ☕".into()),
        unique_name: unique_name.map(str::to_string),
        attributes: "{}".into(),
        state: "active".into(),
        timer_inactive: None,
        timer_closed: None,
        date_inactive: Some(1_704_067_200_123),
        date_closed: None,
        bindings: None,
        next_index: 0,
        date_created: 1,
        date_updated: 1,
    }
}

fn binding(participant: &str, address: &str) -> BindingRow {
    BindingRow {
        seq: 0,
        account_sid: "AC1".into(),
        address: address.into(),
        proxy_address: "+12345678901".into(),
        conversation_sid: "CH1".into(),
        participant_sid: participant.into(),
    }
}

fn execution(sid: &str, status: &str) -> ExecutionRow {
    ExecutionRow {
        seq: 0,
        sid: sid.into(),
        account_sid: "AC1".into(),
        flow_sid: "FW1".into(),
        flow_revision: 1,
        contact_key: "+15550001".into(),
        contact_channel_address: "+15550001".into(),
        flow_channel_address: "+12345678901".into(),
        conversation_sid: None,
        status: status.into(),
        initiated_by: "API".into(),
        waiting_for_reply: true,
        session: "{}".into(),
        date_created: 1,
        date_updated: 1,
    }
}

fn job(key: &str, run_at: i64) -> NewJob {
    NewJob {
        key: key.into(),
        kind: "test".into(),
        account_sid: "AC1".into(),
        run_at,
        max_attempts: 3,
        payload: format!("{{\"key\":\"{key}\"}}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip() {
    for db in backends() {
        let name = db.name;
        let seq = db
            .store
            .write(|tx| -> R<i64> { tx.insert(&conversation("CH1", Some("one"))) })
            .await
            .unwrap();
        assert!(seq > 0, "{name}");
        let got = db
            .store
            .read(|tx| -> R<Option<ConversationRow>> { tx.get("CH1") })
            .await
            .unwrap()
            .expect("inserted");
        let mut want = conversation("CH1", Some("one"));
        want.seq = seq;
        assert_eq!(got, want, "{name}");

        let mut changed = got.clone();
        changed.state = "inactive".into();
        changed.date_inactive = None;
        changed.bindings = Some("{\"email\":{}}".into());
        let c2 = changed.clone();
        assert!(
            db.store
                .write(move |tx| -> R<bool> { tx.update(&c2) })
                .await
                .unwrap()
        );
        let (found, count, missing) = db
            .store
            .read(|tx| -> R<_> {
                Ok((
                    tx.find::<ConversationRow>(
                        "state = ?1 AND date_inactive IS NULL",
                        &[Param::Text("inactive")],
                    )?,
                    tx.count::<ConversationRow>("account_sid = ?1", &[Param::Text("AC1")])?,
                    tx.get::<ConversationRow>("CH404")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(found, Some(changed), "{name}");
        assert_eq!((count, missing), (1, None), "{name}");

        let (deleted, again) = db
            .store
            .write(|tx| -> R<_> {
                Ok((
                    tx.delete::<ConversationRow>("CH1")?,
                    tx.delete::<ConversationRow>("CH1")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((deleted, again), (true, false), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_rolls_the_unit_back() {
    for db in backends() {
        let out = db
            .store
            .write(|tx| -> R<()> {
                tx.insert(&conversation("CH1", None))?;
                Err(StoreError::Corrupt("changed my mind".into()))
            })
            .await;
        assert!(out.is_err());
        let n = db
            .store
            .read(|tx| -> R<i64> { tx.count::<ConversationRow>("1 = 1", &[]) })
            .await
            .unwrap();
        assert_eq!(n, 0, "{}", db.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_seq_both_ways() {
    for db in backends() {
        let name = db.name;
        db.store
            .write(|tx| -> R<()> {
                for i in 0..25 {
                    tx.insert(&conversation(&format!("CH{i:02}"), None))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let page = |req: PageRequest| {
            let store = db.store.clone();
            async move {
                store
                    .read(move |tx| -> R<_> {
                        let p = tx.page::<ConversationRow>(
                            "account_sid = ?1",
                            &[Param::Text("AC1")],
                            &req,
                        )?;
                        let sids: Vec<String> = p.items.iter().map(|c| c.sid.clone()).collect();
                        let last = p.items.last().map(|c| c.seq);
                        let first = p.items.first().map(|c| c.seq);
                        Ok((sids, p.has_next, first, last))
                    })
                    .await
                    .unwrap()
            }
        };
        let (sids, more, _, last) = page(PageRequest::first(10)).await;
        assert_eq!(sids.first().map(String::as_str), Some("CH00"), "{name}");
        assert_eq!((sids.len(), more), (10, true), "{name}");
        let (sids2, _, first2, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::After(last.unwrap()),
            descending: false,
        })
        .await;
        assert_eq!(sids2[0], "CH10", "{name}");
        let (sids3, more3, _, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::After(20),
            descending: false,
        })
        .await;
        assert!(sids3.len() <= 10 && !more3, "{name}");
        let (back, _, _, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::Before(first2.unwrap()),
            descending: false,
        })
        .await;
        assert_eq!(
            back, sids,
            "{name}: the page before the second is the first"
        );
        let (desc, _, _, _) = page(PageRequest {
            size: 5,
            cursor: Cursor::Start,
            descending: true,
        })
        .await;
        assert_eq!(desc, ["CH24", "CH23", "CH22", "CH21", "CH20"], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_indexes_are_named_and_the_unit_goes_on() {
    for db in backends() {
        let name = db.name;
        // The caller reads the row in the way after the refusal, in the same unit.
        let (err, holder) = db
            .store
            .write(|tx| -> R<_> {
                tx.insert(&binding("MB1", "+15550001"))?;
                let err = tx.insert(&binding("MB2", "+15550001")).unwrap_err();
                let holder = tx.find::<BindingRow>(
                    "account_sid = ?1 AND address = ?2",
                    &[Param::Text("AC1"), Param::Text("+15550001")],
                )?;
                tx.insert(&binding("MB3", "+15550002"))?;
                Ok((err, holder.map(|b| b.participant_sid)))
            })
            .await
            .unwrap();
        assert!(
            matches!(&err, StoreError::Unique(ix) if ix == schema::BINDING_PAIR),
            "{name}: {err:?}"
        );
        assert_eq!(holder.as_deref(), Some("MB1"), "{name}");
        let n = db
            .store
            .read(|tx| -> R<i64> { tx.count::<BindingRow>("1 = 1", &[]) })
            .await
            .unwrap();
        assert_eq!(n, 2, "{name}: the refused row is not there, the others are");

        // Partial indexes: only named conversations, only active executions.
        let out = db
            .store
            .write(|tx| -> R<_> {
                tx.insert(&conversation("CH1", None))?;
                tx.insert(&conversation("CH2", None))?;
                tx.insert(&conversation("CH3", Some("u")))?;
                let dup_name = tx.insert(&conversation("CH4", Some("u"))).unwrap_err();
                tx.insert(&execution("FN1", "ended"))?;
                tx.insert(&execution("FN2", "ended"))?;
                tx.insert(&execution("FN3", "active"))?;
                let dup_active = tx.insert(&execution("FN4", "active")).unwrap_err();
                Ok((dup_name, dup_active))
            })
            .await
            .unwrap();
        assert!(
            matches!(&out.0, StoreError::Unique(ix) if ix == schema::CONVERSATION_UNIQUE_NAME),
            "{name}: {:?}",
            out.0
        );
        assert!(
            matches!(&out.1, StoreError::Unique(ix) if ix == schema::EXECUTION_ACTIVE_CONTACT),
            "{name}: {:?}",
            out.1
        );

        // An update that breaks an index is refused with the index's name too.
        let err = db
            .store
            .write(|tx| -> R<bool> {
                let mut c = tx.get::<ConversationRow>("CH1")?.expect("CH1");
                c.unique_name = Some("u".into());
                tx.update(&c)
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Unique(ix) if ix == schema::CONVERSATION_UNIQUE_NAME),
            "{name}: {err:?}"
        );
    }
}

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

/// A read-modify-write under `get_for_update` loses nothing, however many run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_locks_serialise_read_modify_write() {
    for db in backends() {
        db.store
            .write(|tx| -> R<i64> { tx.insert(&conversation("CH1", None)) })
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(|tx| -> R<bool> {
                        let mut c = tx.get_for_update::<ConversationRow>("CH1")?.expect("CH1");
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
        let c = db
            .store
            .read(|tx| -> R<_> { tx.get::<ConversationRow>("CH1") })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.next_index, 16, "{}", db.name);
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
