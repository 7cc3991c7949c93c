//! The SQLite backend: one writer thread that applies units of work in batches (group
//! commit: many requests share one fsync), and a pool of reader connections (WAL mode lets
//! readers run while the writer writes). `batch` applies a batch of units in one
//! transaction and answers them once the commit is durable; `checkpoint` copies the WAL
//! back into the database and starts it over.

mod batch;
mod checkpoint;
mod pcache;
mod pipeline;
mod walbuf;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use self::batch::{Committed, Unit, apply_batch, spawn_syncer};
use self::checkpoint::{RESTART_WAL_AFTER_FRAMES, WalRestart, restart_wal, spawn_checkpointer};
use self::pipeline::PipelineStats;
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

const OPEN_FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE
    .union(OpenFlags::SQLITE_OPEN_CREATE)
    .union(OpenFlags::SQLITE_OPEN_NO_MUTEX)
    .union(OpenFlags::SQLITE_OPEN_URI);

fn open(path: &Path, durability: Durability) -> Result<Connection> {
    pcache::install();
    configure(Connection::open_with_flags(path, OPEN_FLAGS)?, durability)
}

/// The writer's connection: through the VFS that writes each commit's WAL frames at once
/// (`walbuf`), or SQLite's default VFS where that cannot be registered.
fn open_writer(path: &Path, durability: Durability) -> Result<Connection> {
    // Before anything initialises SQLite: the page cache is set once per process.
    pcache::install();
    let conn = if walbuf::register() {
        Connection::open_with_flags_and_vfs(path, OPEN_FLAGS, walbuf::NAME)?
    } else {
        Connection::open_with_flags(path, OPEN_FLAGS)?
    };
    configure(conn, durability)
}

fn configure(conn: Connection, durability: Durability) -> Result<Connection> {
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
        let mut conn = open_writer(path, durability)?;
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
        let stats = std::sync::Arc::new(PipelineStats::default());
        let syncer = match durability {
            Durability::Full => {
                conn.execute_batch("PRAGMA synchronous=OFF;")?;
                Some(spawn_syncer(path, stats.clone())?)
            }
            Durability::Normal => None,
        };
        let (tx, rx) = mpsc::channel::<Unit>(8192);
        let handle = std::thread::Builder::new()
            .name("parley-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, syncer, restart, durability, stats))
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

fn writer_loop(
    conn: Connection,
    mut rx: mpsc::Receiver<Unit>,
    syncer: Option<std::sync::mpsc::Sender<Committed>>,
    restart: std::sync::Arc<WalRestart>,
    durability: Durability,
    stats: std::sync::Arc<PipelineStats>,
) {
    let mut batch: Vec<Unit> = Vec::with_capacity(MAX_BATCH);
    let mut memo = crate::memo::Memo::for_writer();
    let mut data_version = None;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(u) => batch.push(u),
                Err(_) => break,
            }
        }
        let (started, units) = (std::time::Instant::now(), batch.len());
        forget_if_written_elsewhere(&conn, &mut memo, &mut data_version);
        let (hits, misses) = (memo.hits, memo.misses);
        let committed = apply_batch(&conn, &mut memo, &mut batch);
        note_if_slow("batch", started, units);
        stats.batch(units, started.elapsed());
        stats.memo(memo.hits - hits, memo.misses - misses);
        stats.report_if_due();
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

/// Clears the writer's memo when another connection has committed since the last batch
/// (`PRAGMA data_version` changes only then): Parley writes through this connection only,
/// but an operator's `sqlite3` shell on the same file could change what the memo remembers.
/// If the version cannot be read, the memo is cleared every batch.
fn forget_if_written_elsewhere(
    conn: &Connection,
    memo: &mut crate::memo::Memo,
    last: &mut Option<i64>,
) {
    let now = conn
        .prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .ok();
    if now.is_none() || now != *last {
        memo.clear();
    }
    *last = now;
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
        // touches): ~3,000 frames of WAL per round without a restart. The restart is asked
        // by the checkpoint thread, which runs every 10 ms; on a machine busy with other
        // work it may get few turns in one round, so the rounds go on until the WAL has
        // started over, for at most 30 s. (SQLite also starts the WAL over by itself when a
        // checkpoint catches up in a pause between units, which these one-at-a-time units
        // leave: this checks that the WAL stays bounded, not which of the two bounded it.
        // The writer's restart is for loads that never pause; see `restart_wal`.)
        const UNITS_PER_ROUND: i64 = 1_000;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let probe = Connection::open(&path).unwrap();
        let mut written = 0;
        loop {
            for _ in 0..UNITS_PER_ROUND {
                backend
                    .write(|tx| tx.execute("INSERT INTO filler VALUES (zeroblob(3500))", &[]))
                    .await
                    .unwrap();
            }
            written += UNITS_PER_ROUND;
            // (busy, frames in the WAL, frames copied), asked from a connection of our own.
            let frames: i64 = probe
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .unwrap();
            if frames < written {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL holds {frames} frames after {written} one-page commits: it did not start over"
            );
        }
        let rows = backend
            .read(|tx| tx.query_i64("SELECT count(*) FROM filler", &[]))
            .unwrap();
        assert_eq!(rows, Some(written), "every unit was kept");
        drop(probe);
        drop(backend);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
