//! Checkpoints: copying the WAL back into the database file on a thread of their own, and
//! starting the WAL over (asked by the checkpointer, done by the writer between batches).

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::{Durability, note_if_slow, open};
use crate::error::{Result, StoreError};

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
pub(super) const RESTART_WAL_AFTER_FRAMES: i64 = 32_768;

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
pub(super) fn spawn_checkpointer(
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

/// The checkpointer asks the writer to start the WAL over; until the writer has done it,
/// the checkpointer stays out of its way (no checkpoint, no second request for the same
/// WAL, which measured as a needless second stall right after the first).
#[derive(Default)]
pub(super) struct WalRestart(AtomicU8);

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
    pub(super) fn begin(&self) -> bool {
        self.0
            .compare_exchange(
                Self::WANTED,
                Self::RUNNING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    pub(super) fn finished(&self) {
        self.0.store(Self::IDLE, Ordering::Release);
    }
}
/// Copies what is left of the WAL into the database, fsyncs it, and makes the next commit
/// write from the start of the WAL (RESTART; `journal_size_limit` then trims the file).
/// Runs on the writer between batches, so no commit waits on it for a lock. With
/// `Durability::Full` the writer commits with `synchronous=OFF` (its syncer thread makes
/// commits durable); a checkpoint at that setting would skip its fsyncs and let the WAL be
/// overwritten before the database holds its pages on disk, so this one runs at FULL.
pub(super) fn restart_wal(conn: &Connection, durability: Durability) {
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
