//! The SQLite backend: one writer thread that applies units of work in batches (group
//! commit: many requests share one fsync), and a pool of reader connections (WAL mode lets
//! readers run while the writer writes).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};
use crate::tx::{Db, Tx};

/// How much of a commit must reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: every acknowledged commit survives power loss.
    Full,
    /// `synchronous=NORMAL`: survives a process crash (`kill -9`), not power loss.
    Normal,
}

/// A unit of work as the writer thread sees it. `work` runs inside the batch transaction
/// and says whether to keep its changes; `finish` delivers the outcome once the batch has
/// committed (or failed), and is called even when `work` never ran or panicked.
struct Unit {
    work: Box<dyn FnMut(&mut Tx<'_>) -> bool + Send>,
    finish: Finish,
}

type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// Largest number of units applied in one transaction. Bigger batches amortise the fsync
/// further but delay the first unit's answer.
const MAX_BATCH: usize = 512;

pub struct SqliteBackend {
    path: PathBuf,
    writer: mpsc::Sender<Unit>,
    readers: Mutex<Vec<Connection>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The checkpoint thread stops once this is dropped with the backend.
    _checkpointer_alive: std::sync::Arc<()>,
}

fn open(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=OFF; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000; \
         PRAGMA journal_size_limit=134217728;"
    ))?;
    conn.set_prepared_statement_cache_capacity(256);
    // Query-planner stability: without it, SQLite marks statements whose plan could depend
    // on a bound value (LIMIT ?, LIKE ?) as expired whenever their bindings are cleared,
    // and the statement cache then recompiles them on every use (measured: ~8% of the
    // writer's time on the tutorial load).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Runs a statement through the connection's statement cache (transaction control runs
/// for every unit of work; parsing it each time shows in profiles).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Logs (at debug) a step of the write path that took long enough to show in a request's
/// latency: how the latency tail is traced back to its cause
/// (`--log-level info,parley_store=debug`; see BENCHMARKS.md).
fn note_if_slow(what: &str, started: std::time::Instant, items: usize) {
    let took = started.elapsed();
    if took >= Duration::from_millis(5) {
        tracing::debug!(ms = took.as_millis() as u64, items, "sqlite: slow {what}");
    }
}

/// How often the checkpointer copies the WAL back into the database file and fdatasyncs
/// it. Often and small is what keeps commits fast: each checkpoint's writes to the database
/// share the disk with the WAL fsyncs commits wait for, and measured on the tutorial at
/// half rate, p99 was 45-65 ms every 250 ms, 160-170 ms every second, 23 ms every 50 ms
/// and 11-13 ms every 10 ms. Writing the database back early costs closed-loop throughput
/// (15-28 % against the former 250 ms without the fdatasync; 25 or 50 ms cost the same):
/// the trade taken for the latency target (BENCHMARKS.md, change 10).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(10);

/// How long the checkpointer sleeps once the WAL has not changed for `IDLE_AFTER_ROUNDS`
/// checkpoints (an idle server: 100 checkpoints a second cost ~1 % of a core there).
/// Backing off sooner, after any checkpoint that found everything copied, measured badly:
/// at half rate the next checkpoint then had 100 ms of commits to copy and sync (p99 330 ms).
const CHECKPOINT_WHEN_IDLE: Duration = Duration::from_millis(100);
const IDLE_AFTER_ROUNDS: u32 = 50;

/// WAL length, in frames (pages), past which the writer starts the WAL over (128 MiB with
/// 4 KiB pages; a busy server writes 20-40 KB of WAL per inbound text, so under full load
/// that is about once a second). Each restart stalls the writer (5-25 ms once the
/// checkpointer syncs the database ahead of it, see `spawn_checkpointer`; 75-130 ms
/// before). 512 MiB was tried while restarts were slow: a quarter as many stalls but
/// longer ones (p99 at half rate 62 → 73 ms), so not kept.
const RESTART_WAL_AFTER_FRAMES: i64 = 32_768;

/// Before raising `restart_wal`, the checkpointer runs PASSIVE checkpoints back to back
/// (at most this many) until no more than `RESTART_LEFT_FRAMES` frames are left to copy,
/// so the stalled writer's RESTART copies only those.
const RESTART_CATCH_UP_ROUNDS: usize = 4;
const RESTART_LEFT_FRAMES: i64 = 256;

/// Checkpoints run on their own thread and connection, so the writer never stops to copy
/// the WAL (and fsync the database) in the middle of a commit. PASSIVE checkpoints never
/// block the writer or readers.
///
/// SQLite only starts the WAL over when a checkpoint has caught up with the last commit,
/// which a PASSIVE one never does under sustained writes, and a RESTART checkpoint from
/// this thread never gets the write lock either (the writer takes it again between
/// batches faster than SQLite's busy handler polls): measured, the WAL grew to 12 GB while
/// 100,000 executions were parked, and every write slowed down with it. So past
/// `RESTART_WAL_AFTER_FRAMES` this thread raises `restart_wal`, and the writer itself runs
/// the RESTART between two batches (see `restart_wal`).
///
/// What that stall costs is what the writer's RESTART has left to do: copy the frames no
/// PASSIVE copied yet, and fsync the database file. SQLite fsyncs the database only at the
/// end of a checkpoint that reached the end of the WAL, which a PASSIVE one under load
/// never does, so without help every page copied since the last restart (tens of MB,
/// scattered) waited in the page cache for the writer's fsync: 80-130 ms stalls, the whole
/// p99 at half rate (traced with strace; BENCHMARKS.md). So this thread fdatasyncs the
/// database after each PASSIVE itself, off the writer's path, and catches up just before
/// raising `restart_wal`. The extra fsyncs change nothing SQLite relies on: a page copied
/// into the database is still in the WAL until a complete checkpoint has synced it.
fn spawn_checkpointer(
    path: &Path,
    durability: Durability,
    alive: std::sync::Weak<()>,
    restart_wal: std::sync::Arc<WalRestart>,
    restart_after_frames: i64,
) -> Result<()> {
    let conn = open(path, durability)?;
    let db_file = std::fs::OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    std::thread::Builder::new()
        .name("parley-sqlite-checkpoint".into())
        .spawn(move || {
            // Frames copied by the previous checkpoint: nothing to sync when unchanged.
            let mut last_copied = -1;
            // Returns (frames in the WAL, frames copied into the database).
            let mut passive = || -> rusqlite::Result<(i64, i64)> {
                let started = std::time::Instant::now();
                // The pragma answers (busy, frames in the WAL, frames copied).
                let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })?;
                if r.1 != last_copied {
                    last_copied = r.1;
                    if let Err(e) = db_file.sync_data() {
                        // Only the next restart gets slower; SQLite syncs what it needs.
                        tracing::warn!(error = %e, "sqlite: fdatasync of the database failed");
                    }
                }
                note_if_slow("PASSIVE checkpoint", started, 1);
                Ok(r)
            };
            // The WAL's length when a restart was last asked for.
            let mut requested_at: Option<i64> = None;
            // Checkpoints in a row that found the WAL as the previous one left it.
            let (mut idle_rounds, mut last_frames) = (0u32, -1);
            while alive.upgrade().is_some() {
                std::thread::sleep(if idle_rounds >= IDLE_AFTER_ROUNDS {
                    CHECKPOINT_WHEN_IDLE
                } else {
                    CHECKPOINT_EVERY
                });
                if restart_wal.pending() {
                    // The writer is about to run the RESTART: a checkpoint now would hold
                    // the lock it needs (it then fails with SQLITE_BUSY).
                    continue;
                }
                let done = passive();
                match done {
                    Ok((frames, _)) if frames == last_frames => {
                        idle_rounds = idle_rounds.saturating_add(1)
                    }
                    Ok((frames, _)) => (idle_rounds, last_frames) = (0, frames),
                    Err(_) => {}
                }
                match done {
                    Ok((frames, _)) if frames <= restart_after_frames => requested_at = None,
                    // The restart ran; the WAL starts over with the next commit, and until
                    // then it reads as long as before. (If it never starts over, say a
                    // reader kept it, it is asked again once it has grown as much again.)
                    Ok((frames, _))
                        if requested_at.is_some_and(|at| frames < at + restart_after_frames) => {}
                    Ok((frames, _)) => {
                        for _ in 0..RESTART_CATCH_UP_ROUNDS {
                            match passive() {
                                Ok((frames, copied)) if frames - copied > RESTART_LEFT_FRAMES => {}
                                _ => break,
                            }
                        }
                        restart_wal.request();
                        requested_at = Some(frames);
                    }
                    Err(e) => tracing::warn!(error = %e, "sqlite checkpoint failed; will retry"),
                }
            }
        })
        .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

impl SqliteBackend {
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteBackend> {
        Self::open_with(path, durability, RESTART_WAL_AFTER_FRAMES)
    }

    /// `open`, with the WAL restarted past `restart_after_frames` (tests use a small one).
    fn open_with(
        path: &Path,
        durability: Durability,
        restart_after_frames: i64,
    ) -> Result<SqliteBackend> {
        let mut conn = open(path, durability)?;
        crate::migrate::run_sqlite(&mut conn)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let alive = std::sync::Arc::new(());
        let restart = std::sync::Arc::new(WalRestart::default());
        spawn_checkpointer(
            path,
            durability,
            std::sync::Arc::downgrade(&alive),
            restart.clone(),
            restart_after_frames,
        )?;
        let syncer = match durability {
            Durability::Full => {
                conn.execute_batch("PRAGMA synchronous=OFF;")?;
                Some(spawn_syncer(path)?)
            }
            Durability::Normal => None,
        };
        let (tx, rx) = mpsc::channel::<Unit>(8192);
        let handle = std::thread::Builder::new()
            .name("parley-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, syncer, restart, durability))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            writer: tx,
            readers: Mutex::new(Vec::new()),
            writer_thread: Mutex::new(Some(handle)),
            _checkpointer_alive: alive,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn write<T, E>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<std::result::Result<T, E>>();
        let slot = std::sync::Arc::new(Mutex::new(None::<std::result::Result<T, E>>));
        let work_slot = slot.clone();
        let unit = Unit {
            work: Box::new(move |tx: &mut Tx<'_>| {
                let outcome = f(tx);
                let keep = outcome.is_ok();
                *work_slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                keep
            }),
            finish: Box::new(move |commit: Result<()>| {
                let outcome = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                let result = match (outcome, commit) {
                    (Some(outcome), Ok(())) => outcome,
                    // The unit succeeded but its batch did not reach the disk.
                    (Some(outcome), Err(e)) => outcome.and(Err(E::from(e))),
                    (None, Err(e)) => Err(E::from(e)),
                    (None, Ok(())) => Err(E::from(StoreError::Panicked(
                        "unit produced no result".into(),
                    ))),
                };
                let _ = done_tx.send(result);
            }),
        };
        self.writer
            .send(unit)
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        done_rx.await.map_err(|_| E::from(StoreError::Closed))?
    }

    /// Runs `f` on a reader connection inside one read transaction (a consistent snapshot).
    pub fn read<T, E>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = self.take_reader()?;
        let result = (|| {
            run(&conn, "BEGIN").map_err(StoreError::from)?;
            let mut tx = Tx::new(Db::Sqlite(&conn), true);
            let out = f(&mut tx);
            // A read transaction has nothing to keep; ending it frees the WAL snapshot.
            let _ = run(&conn, "COMMIT");
            out
        })();
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        result
    }

    fn take_reader(&self) -> Result<Connection> {
        if let Some(c) = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let conn = open(&self.path, Durability::Normal)?;
        Ok(conn)
    }

    /// Stops accepting writes and waits for the writer to finish what it has.
    pub fn close(&self) {
        // Dropping our sender is not possible through &self; the writer stops when every
        // Store handle is dropped. Here we only join if it already stopped.
        if let Some(h) = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            && h.is_finished()
        {
            let _ = h.join();
        }
    }
}

/// The checkpointer asks the writer to start the WAL over; until the writer has done it,
/// the checkpointer stays out of its way (no checkpoint, no second request for the same
/// WAL, which measured as a needless second stall right after the first).
#[derive(Default)]
struct WalRestart(AtomicU8);

impl WalRestart {
    const IDLE: u8 = 0;
    const WANTED: u8 = 1;
    const RUNNING: u8 = 2;

    fn request(&self) {
        self.0.store(Self::WANTED, Ordering::Release);
    }

    fn pending(&self) -> bool {
        self.0.load(Ordering::Acquire) != Self::IDLE
    }

    /// The writer takes a request, if there is one.
    fn begin(&self) -> bool {
        self.0
            .compare_exchange(
                Self::WANTED,
                Self::RUNNING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    fn finished(&self) {
        self.0.store(Self::IDLE, Ordering::Release);
    }
}

fn writer_loop(
    conn: Connection,
    mut rx: mpsc::Receiver<Unit>,
    syncer: Option<std::sync::mpsc::Sender<Committed>>,
    restart: std::sync::Arc<WalRestart>,
    durability: Durability,
) {
    let mut batch: Vec<Unit> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(u) => batch.push(u),
                Err(_) => break,
            }
        }
        let (started, units) = (std::time::Instant::now(), batch.len());
        let committed = apply_batch(&conn, &mut batch);
        note_if_slow("batch", started, units);
        if let Some(committed) = committed {
            match &syncer {
                // The next batch runs while this one's WAL frames are being fsynced.
                Some(s) => {
                    if let Err(std::sync::mpsc::SendError(c)) = s.send(committed) {
                        tracing::error!("sqlite syncer stopped; answering without it");
                        c.deliver();
                    }
                }
                None => committed.deliver(),
            }
        }
        if restart.begin() {
            restart_wal(&conn, durability);
            restart.finished();
        }
    }
    tracing::debug!("sqlite writer stopped");
}

/// Copies what is left of the WAL into the database, fsyncs it, and makes the next commit
/// write from the start of the WAL (RESTART; `journal_size_limit` then trims the file).
/// Runs on the writer between batches, so no commit waits on it for a lock. With
/// `Durability::Full` the writer commits with `synchronous=OFF` (its syncer thread makes
/// commits durable); a checkpoint at that setting would skip its fsyncs and let the WAL be
/// overwritten before the database holds its pages on disk, so this one runs at FULL.
fn restart_wal(conn: &Connection, durability: Durability) {
    let started = std::time::Instant::now();
    let full = durability == Durability::Full;
    let result = (|| -> rusqlite::Result<(i64, i64)> {
        if full {
            conn.execute_batch("PRAGMA synchronous=FULL;")?;
        }
        let r = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        });
        if full {
            conn.execute_batch("PRAGMA synchronous=OFF;")?;
        }
        r
    })();
    match result {
        Ok((busy, frames)) => tracing::debug!(
            busy,
            frames,
            ms = started.elapsed().as_millis() as u64,
            "sqlite WAL restarted"
        ),
        Err(e) => tracing::warn!(error = %e, "sqlite WAL restart failed; will retry"),
    }
}

/// Durable commits without stopping the writer: with `Durability::Full` the writer commits
/// with `synchronous=OFF`, and this thread fsyncs the WAL file, then answers the batches
/// committed before the fsync began (several at once when commits come faster than fsyncs:
/// group commit across batches). Nothing is acknowledged before its WAL frames are on disk;
/// the database file itself is synced by the checkpointer (FULL) before the WAL is reused.
/// Other readers may see a batch a few milliseconds before it is acknowledged.
fn spawn_syncer(path: &Path) -> Result<std::sync::mpsc::Sender<Committed>> {
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
struct Committed {
    finishes: Vec<Finish>,
    hooks: Vec<crate::tx::CommitHook>,
}

impl Committed {
    fn deliver(self) {
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

fn run_unit(conn: &Connection, unit: &mut Unit, hooks: &mut Vec<crate::tx::CommitHook>) -> Ran {
    let changes_before = conn.total_changes();
    let mut tx = Tx::new(Db::Sqlite(conn), false);
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

/// Runs a unit inside `SAVEPOINT unit`, so that its failure undoes only its own writes.
/// `Ok(true)`: kept; `Ok(false)`: rolled back, its error is its answer.
fn run_unit_in_savepoint(
    conn: &Connection,
    unit: &mut Unit,
    hooks: &mut Vec<crate::tx::CommitHook>,
) -> std::result::Result<bool, StoreError> {
    run(conn, "SAVEPOINT unit")?;
    match run_unit(conn, unit, hooks) {
        Ran::Kept => {
            let _ = run(conn, "RELEASE unit");
            Ok(true)
        }
        Ran::Failed { .. } => {
            let _ = run(conn, "ROLLBACK TO unit").and_then(|()| run(conn, "RELEASE unit"));
            Ok(false)
        }
        Ran::Panicked(msg) => {
            tracing::error!(panic = %msg, "a store transaction panicked; rolled back");
            let _ = run(conn, "ROLLBACK TO unit").and_then(|()| run(conn, "RELEASE unit"));
            Err(StoreError::Panicked(msg))
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
fn apply_batch(conn: &Connection, batch: &mut Vec<Unit>) -> Option<Committed> {
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
            match run_unit_in_savepoint(conn, &mut unit, &mut hooks) {
                Ok(true) => kept.push(unit),
                Ok(false) => failed_units.push(unit.finish),
                Err(e) => (unit.finish)(Err(e)),
            }
        } else {
            match run_unit(conn, &mut unit, &mut hooks) {
                Ran::Kept => kept.push(unit),
                // Nothing to undo (or SQLite already undid everything: checked below).
                Ran::Failed { wrote } if !wrote || conn.is_autocommit() => {
                    failed_units.push(unit.finish)
                }
                outcome => {
                    match outcome {
                        Ran::Panicked(msg) => {
                            tracing::error!(panic = %msg, "a store transaction panicked; rolled back");
                            (unit.finish)(Err(StoreError::Panicked(msg)));
                        }
                        _ => failed_units.push(unit.finish),
                    }
                    careful = true;
                    hooks.clear();
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
                    for mut u in std::mem::take(&mut kept) {
                        match run_unit_in_savepoint(conn, &mut u, &mut hooks) {
                            Ok(true) => kept.push(u),
                            Ok(false) => failed_units.push(u.finish),
                            Err(e) => (u.finish)(Err(e)),
                        }
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

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under writes that never pause, the WAL still starts over (without the checkpointer's
    /// request and the writer's RESTART it grows without bound: 12 GB once, measured).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_sustained_writes() {
        let dir = std::env::temp_dir().join(format!("parley-wal-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal.db");
        let backend = SqliteBackend::open_with(&path, Durability::Normal, 64).unwrap();
        backend
            .write(|tx| tx.execute("CREATE TABLE filler (body BLOB)", &[]))
            .await
            .unwrap();
        // Each unit appends a row of about one page (three frames with the b-tree pages it
        // touches): ~9,000 frames of WAL without a restart.
        const UNITS: i64 = 3_000;
        for _ in 0..UNITS {
            backend
                .write(|tx| tx.execute("INSERT INTO filler VALUES (zeroblob(3500))", &[]))
                .await
                .unwrap();
        }
        let rows = backend
            .read(|tx| tx.query_i64("SELECT count(*) FROM filler", &[]))
            .unwrap();
        assert_eq!(rows, Some(UNITS), "every unit was kept");
        // (busy, frames in the WAL, frames copied), asked from a connection of our own.
        let probe = Connection::open(&path).unwrap();
        let frames: i64 = probe
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(
            frames < UNITS,
            "the WAL holds {frames} frames after {UNITS} one-page commits: it did not start over"
        );
        drop(probe);
        drop(backend);
        let _ = std::fs::remove_dir_all(&dir);
    }

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
            apply_batch(&conn, &mut batch)
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
