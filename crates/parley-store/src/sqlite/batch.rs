//! Applying a batch of units of work in one transaction, and answering them once their
//! commit is durable (the syncer thread).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{note_if_slow, panic_message, run};
use crate::error::{Result, StoreError};
use crate::memo::Memo;
use crate::tx::{Db, Tx};

/// A unit of work as the writer thread sees it. `work` runs inside the batch transaction
/// and says whether to keep its changes; `finish` delivers the outcome once the batch has
/// committed (or failed), and is called even when `work` never ran or panicked.
pub(super) struct Unit {
    pub(super) work: Box<dyn FnMut(&mut Tx<'_>) -> bool + Send>,
    pub(super) finish: Finish,
}

pub(super) type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// Durable commits without stopping the writer: with `Durability::Full` the writer commits
/// with `synchronous=OFF`, and this thread fsyncs the WAL file, then answers the batches
/// committed before the fsync began (several at once when commits come faster than fsyncs:
/// group commit across batches). Nothing is acknowledged before its WAL frames are on disk;
/// the database file itself is synced by the checkpointer (FULL) before the WAL is reused.
/// Other readers may see a batch a few milliseconds before it is acknowledged.
pub(super) fn spawn_syncer(
    path: &Path,
    stats: std::sync::Arc<super::PipelineStats>,
) -> Result<std::sync::mpsc::Sender<Committed>> {
    let (tx, rx) = std::sync::mpsc::channel::<Committed>();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    std::thread::Builder::new()
        .name("parley-sqlite-sync".into())
        .spawn(move || {
            let mut file: Option<std::fs::File> = None;
            while let Ok(first) = rx.recv() {
                let mut ready = vec![first];
                while let Ok(more) = rx.try_recv() {
                    ready.push(more);
                }
                if file.is_none() {
                    file = std::fs::OpenOptions::new().write(true).open(&wal).ok();
                }
                let started = std::time::Instant::now();
                let synced = match &file {
                    Some(f) => f.sync_data().map_err(|e| e.to_string()),
                    None => Err(format!("cannot open {}", wal.display())),
                };
                note_if_slow("WAL fsync", started, ready.len());
                stats.fsync(ready.len(), started.elapsed());
                match synced {
                    Ok(()) => ready.into_iter().for_each(Committed::deliver),
                    Err(e) => {
                        tracing::error!(error = %e, "sqlite: fsync of the WAL failed; the batches are answered with an error");
                        file = None;
                        for c in ready {
                            for f in c.finishes {
                                f(Err(StoreError::Unavailable(format!("the commit could not be made durable: {e}"))));
                            }
                        }
                    }
                }
            }
        })
        .map_err(|e| StoreError::Backend(format!("cannot start the sync thread: {e}")))?;
    Ok(tx)
}

/// What a committed batch still owes its callers: the answers and the after-commit hooks,
/// given once the commit is durable.
pub(super) struct Committed {
    finishes: Vec<Finish>,
    hooks: Vec<crate::tx::CommitHook>,
}

impl Committed {
    pub(super) fn deliver(self) {
        for f in self.finishes {
            f(Ok(()));
        }
        for h in self.hooks {
            h();
        }
    }
}

/// How a unit ended when it ran without a savepoint of its own.
enum Ran {
    Kept,
    /// The unit answered an error. `wrote` says whether any of its statements changed a
    /// row before that (SQLite's change counter; a statement that failed changed nothing).
    Failed {
        wrote: bool,
    },
    Panicked(String),
}

fn run_unit(
    conn: &Connection,
    memo: &mut Memo,
    unit: &mut Unit,
    hooks: &mut Vec<crate::tx::CommitHook>,
) -> Ran {
    let changes_before = conn.total_changes();
    let mut tx = Tx::with_writer_memo(Db::Sqlite(conn), memo);
    let work = &mut unit.work;
    match catch_unwind(AssertUnwindSafe(|| work(&mut tx))) {
        Ok(true) => {
            hooks.extend(tx.take_hooks());
            Ran::Kept
        }
        Ok(false) => Ran::Failed {
            wrote: conn.total_changes() != changes_before,
        },
        Err(panic) => Ran::Panicked(panic_message(&panic)),
    }
}

/// Runs a unit inside `SAVEPOINT unit`, so that its failure undoes only its own writes,
/// and files it: kept, failed (its own error is its answer), or answered here (a panic,
/// or a savepoint that could not be opened).
fn run_unit_in_savepoint(
    conn: &Connection,
    memo: &mut Memo,
    mut unit: Unit,
    kept: &mut Vec<Unit>,
    failed: &mut Vec<Finish>,
    hooks: &mut Vec<crate::tx::CommitHook>,
) {
    if let Err(e) = run(conn, "SAVEPOINT unit") {
        (unit.finish)(Err(StoreError::from(e)));
        return;
    }
    match run_unit(conn, memo, &mut unit, hooks) {
        Ran::Kept => {
            let _ = run(conn, "RELEASE unit");
            kept.push(unit);
        }
        Ran::Failed { .. } => {
            memo.clear();
            let _ = run(conn, "ROLLBACK TO unit").and_then(|()| run(conn, "RELEASE unit"));
            failed.push(unit.finish);
        }
        Ran::Panicked(msg) => {
            tracing::error!(panic = %msg, "a store transaction panicked; rolled back");
            memo.clear();
            let _ = run(conn, "ROLLBACK TO unit").and_then(|()| run(conn, "RELEASE unit"));
            (unit.finish)(Err(StoreError::Panicked(msg)));
        }
    }
}

/// Applies a batch of units in one transaction.
///
/// Units run without savepoints: a savepoint makes SQLite copy every page a unit touches
/// into a statement journal first (11 % of the writer's time in a profile of the tutorial's
/// hot path, BENCHMARKS.md change 13), for the rare unit that fails after it has written. A unit
/// that fails without having changed a row (most errors: a lookup that found nothing, a
/// validation) needs nothing undone. When one fails after writing, the whole transaction
/// is rolled back and the units kept so far run again, each in a savepoint, as does the
/// rest of the batch: units are `Fn` closures, so running one twice does the same work,
/// and nothing of the first run was visible outside the transaction or acknowledged.
///
/// `memo` is the writer's memo (`crate::memo`), lent to every unit; whatever rolls back
/// (the transaction, a unit's savepoint) clears it, since it may hold what was undone.
pub(super) fn apply_batch(
    conn: &Connection,
    memo: &mut Memo,
    batch: &mut Vec<Unit>,
) -> Option<Committed> {
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "sqlite: cannot begin a transaction");
        for unit in batch.drain(..) {
            (unit.finish)(Err(StoreError::Backend(format!(
                "cannot begin a transaction: {e}"
            ))));
        }
        return None;
    }
    let mut kept: Vec<Unit> = Vec::with_capacity(batch.len());
    let mut failed_units = Vec::new();
    let mut hooks = Vec::new();
    // Set once a unit failed after writing: from then on every unit runs in a savepoint.
    let mut careful = false;
    // Set when the batch transaction was lost and could not be begun again.
    let mut broken: Option<String> = None;
    for mut unit in batch.drain(..) {
        if let Some(why) = &broken {
            (unit.finish)(Err(StoreError::Backend(why.clone())));
            continue;
        }
        if careful {
            run_unit_in_savepoint(conn, memo, unit, &mut kept, &mut failed_units, &mut hooks);
        } else {
            match run_unit(conn, memo, &mut unit, &mut hooks) {
                Ran::Kept => kept.push(unit),
                // Nothing to undo (or SQLite already undid everything: checked below).
                Ran::Failed { wrote } if !wrote || conn.is_autocommit() => {
                    failed_units.push(unit.finish)
                }
                outcome => {
                    if let Ran::Panicked(msg) = outcome {
                        tracing::error!(panic = %msg, "a store transaction panicked; rolled back");
                        (unit.finish)(Err(StoreError::Panicked(msg)));
                    } else {
                        failed_units.push(unit.finish);
                    }
                    careful = true;
                    hooks.clear();
                    memo.clear();
                    // (If SQLite already rolled the transaction back, there is none to end.)
                    let again = if conn.is_autocommit() {
                        run(conn, "BEGIN IMMEDIATE")
                    } else {
                        run(conn, "ROLLBACK").and_then(|()| run(conn, "BEGIN IMMEDIATE"))
                    };
                    if let Err(e) = again {
                        tracing::error!(error = %e, "sqlite: cannot begin a transaction");
                        let why = format!("cannot begin a transaction: {e}");
                        for u in kept.drain(..) {
                            (u.finish)(Err(StoreError::Backend(why.clone())));
                        }
                        broken = Some(why);
                        continue;
                    }
                    for u in std::mem::take(&mut kept) {
                        run_unit_in_savepoint(
                            conn,
                            memo,
                            u,
                            &mut kept,
                            &mut failed_units,
                            &mut hooks,
                        );
                    }
                }
            }
        }
        // On some errors SQLite rolls back the whole transaction, not just the failing
        // statement: SQLITE_FULL from an UPDATE or an upsert (the storage quota or the disk
        // is full), SQLITE_IOERR, SQLITE_NOMEM. The units kept so far are then gone and must
        // not be acknowledged, and the rest of the batch must not run outside a transaction.
        // (Found by crates/parley/tests/faults.rs: before this check those units got 500
        // "commit failed", and the units after the failing one had each been committed on
        // its own by `RELEASE unit` although they too were answered 500.)
        if conn.is_autocommit() {
            memo.clear();
            if !kept.is_empty() {
                tracing::warn!(
                    units = kept.len(),
                    "sqlite rolled back the batch (storage full or I/O error); its units answer 503"
                );
            }
            for u in kept.drain(..) {
                (u.finish)(Err(StoreError::Unavailable(
                    "the database rolled back the transaction (its storage is full)".into(),
                )));
            }
            hooks.clear();
            if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
                tracing::error!(error = %e, "sqlite: cannot begin a transaction");
                broken = Some(format!("cannot begin a transaction: {e}"));
            }
        }
    }
    for f in failed_units {
        f(Ok(()));
    }
    let finishes: Vec<Finish> = kept.into_iter().map(|u| u.finish).collect();
    match run(conn, "COMMIT") {
        Ok(()) => Some(Committed { finishes, hooks }),
        Err(e) => {
            tracing::error!(error = %e, "sqlite: commit failed; the batch was rolled back");
            memo.clear();
            let _ = run(conn, "ROLLBACK");
            // A disk that fills up while the WAL is written is "unavailable" (503), as a
            // statement that hits the quota is, not an internal error.
            let full = matches!(&e, rusqlite::Error::SqliteFailure(c, _)
                if c.code == rusqlite::ErrorCode::DiskFull);
            for f in finishes {
                f(Err(if full {
                    StoreError::Unavailable("the database's storage is full".into())
                } else {
                    StoreError::Backend(format!("commit failed: {e}"))
                }));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{Durability, open};
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    /// What `apply_batch` does with units that fail, with and without having written, and
    /// with one that panics, in the middle of a batch: the others keep exactly their own
    /// writes (the kept ones before the failure run again, in savepoints), every unit gets
    /// its own answer, and each kept unit's commit hook runs once.
    #[test]
    fn a_failing_unit_undoes_only_its_own_writes() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        use std::sync::mpsc::{Receiver, channel};

        let dir = std::env::temp_dir().join(format!("parley-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conn = open(&dir.join("batch.db"), Durability::Normal).unwrap();
        conn.execute_batch("CREATE TABLE t (name TEXT PRIMARY KEY)")
            .unwrap();
        let hooks_run = Arc::new(AtomicUsize::new(0));

        #[derive(Clone, Copy)]
        enum Then {
            Keep,
            Fail,
            Panic,
        }
        // A unit that inserts `name` (unless it is None), then keeps, fails or panics.
        let unit = |name: Option<&'static str>, then: Then| -> (Unit, Receiver<String>) {
            let (answer, answered) = channel();
            let hooks_run = hooks_run.clone();
            let outcome = Arc::new(Mutex::new(String::new()));
            let seen = outcome.clone();
            let unit = Unit {
                work: Box::new(move |tx: &mut Tx<'_>| {
                    if let Some(n) = name {
                        tx.execute("INSERT INTO t VALUES (?1)", &[crate::Param::Text(n)])
                            .unwrap();
                    }
                    let hooks_run = hooks_run.clone();
                    tx.on_commit(move || {
                        hooks_run.fetch_add(1, Ordering::SeqCst);
                    });
                    *seen.lock().unwrap() = "ran".into();
                    match then {
                        Then::Keep => true,
                        Then::Fail => false,
                        Then::Panic => panic!("unit {name:?} panics"),
                    }
                }),
                finish: Box::new(move |commit: Result<()>| {
                    let said = match commit {
                        Ok(()) => outcome.lock().unwrap().clone(),
                        Err(e) => format!("error: {e}"),
                    };
                    let _ = answer.send(said);
                }),
            };
            (unit, answered)
        };
        let run_batch = |plan: &[(Option<&'static str>, Then)]| -> Vec<String> {
            let (mut batch, answers): (Vec<Unit>, Vec<Receiver<String>>) =
                plan.iter().map(|&(n, t)| unit(n, t)).unzip();
            apply_batch(&conn, &mut Memo::for_writer(), &mut batch)
                .expect("the batch commits")
                .deliver();
            answers.iter().map(|a| a.recv().unwrap()).collect()
        };
        let names = |conn: &Connection| -> Vec<String> {
            conn.prepare("SELECT name FROM t ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };

        // A failure after a write, and one before any.
        let said = run_batch(&[
            (Some("a"), Then::Keep),
            (None, Then::Fail),
            (Some("b"), Then::Keep),
            (Some("c"), Then::Fail),
            (Some("d"), Then::Keep),
        ]);
        // A failed unit's own answer is its error; the store only passes on "ran".
        assert_eq!(said, ["ran"; 5]);
        assert_eq!(names(&conn), ["a", "b", "d"]);
        assert_eq!(
            hooks_run.load(Ordering::SeqCst),
            3,
            "one hook per kept unit"
        );

        // A panic after a write.
        let said = run_batch(&[
            (Some("e"), Then::Keep),
            (Some("f"), Then::Panic),
            (Some("g"), Then::Keep),
        ]);
        assert_eq!(said[0], "ran");
        assert!(said[1].contains("panics"), "{}", said[1]);
        assert_eq!(said[2], "ran");
        assert_eq!(names(&conn), ["a", "b", "d", "e", "g"]);
        assert_eq!(hooks_run.load(Ordering::SeqCst), 5);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
