//! A VFS for the writer connection that hands each commit's WAL frames to the kernel in
//! one `pwrite` instead of two per frame.
//!
//! SQLite writes a WAL frame as two calls, its 24-byte header and then the page, and a
//! tutorial text dirties about eight pages: ~16 `pwrite`s per text, ~100,000 a second at
//! the closed loop's rate, which was 16 % of the writer thread's time (BENCHMARKS.md,
//! change 21). This VFS is SQLite's default one except for the file it opens as a WAL:
//! writes to that file that follow on from each other are gathered in memory and written
//! together.
//!
//! What keeps it correct:
//! - **Nothing is published before it is written.** Other connections find frames through
//!   the wal-index header, which SQLite updates only after the commit frame is written. The
//!   commit frame is recognised by its header (bytes 4..8, the database size after the
//!   commit, are non-zero only on a commit frame: the WAL file format, which SQLite keeps
//!   stable), and the gathered writes are flushed as soon as that frame's page arrives,
//!   inside the `xWrite` call: a write error (a full disk) is returned to SQLite there,
//!   which rolls the transaction back as it would have without this layer.
//! - **Only new frames wait.** Writes are gathered only where they extend the log (from
//!   offset 0, where SQLite writes the WAL header when it starts the log over). Anything
//!   else, a page written twice in one transaction or the checksums SQLite rewrites after
//!   that, goes straight to the file after what was gathered: otherwise a rewritten commit
//!   header could still be waiting here when SQLite publishes the commit.
//! - **Writes reach the file in the order SQLite made them.** Everything gathered is
//!   written before any other write, and before the file's own reads (SQLite reads back
//!   frames of its open transaction), sync, truncate, size and close.
//! - **A failed write is never forgotten.** What could not be written stays gathered, so
//!   the commit frame's flush writes it first or fails: SQLite counts spilled frames as
//!   written, and after a full disk it may roll back only the statement that hit the error
//!   and commit the rest of the transaction.
//! - **No gathering where SQLite pads commits.** Without power-safe overwrite (a database
//!   URI with `psow=0`), SQLite pads each commit to a sector boundary with copies of its
//!   last frame and splits a frame around an fsync; that WAL is written straight through.
//! - **Durability is unchanged.** Frames are only acknowledged after the sync thread's
//!   fsync of the WAL, which runs after the commit has returned, so after the flush.
//!
//! Every other file (the database, its shared memory) is opened by the default VFS as is,
//! with no layer in between.

use rusqlite::ffi;
use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

/// The VFS's registered name (`Connection::open_with_flags_and_vfs`).
pub(super) const NAME: &str = "parley-walbuf";

/// Gathered bytes are written once they reach this size even before the commit frame (a
/// large transaction's frames), so the buffer stays small.
const FLUSH_AT: usize = 1 << 20;
/// The unix VFS writes at most 128 KiB - 1 per call (it masks the length to 17 bits).
const MAX_WRITE: usize = 126 * 1024;
/// A WAL frame's header; bytes 4..8 hold the commit size (WAL file format).
const FRAME_HEADER: usize = 24;

/// What the VFS was layered on: SQLite's default VFS at registration.
static INNER: OnceLock<usize> = OnceLock::new();

/// Registers the VFS once per process (idempotent); false when SQLite has no default VFS
/// to layer on, and the writer then opens with the default one.
pub(super) fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| unsafe {
        // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS, which SQLite never
        // frees; the VFS built here is leaked, as sqlite3_vfs_register requires it to
        // outlive every connection.
        let inner = ffi::sqlite3_vfs_find(std::ptr::null());
        if inner.is_null() {
            return false;
        }
        INNER.get_or_init(|| inner as usize);
        let mut vfs: ffi::sqlite3_vfs = *inner;
        let shim = std::mem::size_of::<WalFile>() as c_int;
        vfs.szOsFile = (*inner).szOsFile + shim;
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = c"parley-walbuf".as_ptr();
        vfs.xOpen = Some(x_open);
        // The remaining methods are the default VFS's own; the unix VFS reads nothing from
        // the VFS object in them but mxPathname and pAppData, both copied. Version 2: the
        // system-call overrides of version 3 are not offered through this name.
        vfs.iVersion = vfs.iVersion.min(2);
        vfs.xSetSystemCall = None;
        vfs.xGetSystemCall = None;
        vfs.xNextSystemCall = None;
        let vfs = Box::into_raw(Box::new(vfs));
        ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK
    })
}

fn inner_vfs() -> *mut ffi::sqlite3_vfs {
    *INNER.get().expect("registered before use") as *mut ffi::sqlite3_vfs
}

/// An open WAL: SQLite's `sqlite3_file` header (pointing at [`WAL_METHODS`]), the default
/// VFS's file it wraps (stored right after this struct, in the memory SQLite allocated),
/// and the writes gathered so far.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    /// Bytes written by SQLite and not yet handed to the file, starting at `pending_at`.
    pending: Vec<u8>,
    pending_at: i64,
    /// The offset at which the page of a commit frame whose header was just written will
    /// arrive; the flush happens once it has.
    commit_page_at: Option<i64>,
    /// Where the log written through this file ends (None before the first write): only
    /// writes there, new frames, are gathered.
    end: Option<i64>,
    /// False where SQLite pads a commit to the sector size (no power-safe overwrite, e.g.
    /// `?psow=0`): it then splits a frame around an fsync, which this layer does not
    /// follow, so every write goes straight to the file.
    gather: bool,
}

impl WalFile {
    unsafe fn inner_methods(&self) -> &ffi::sqlite3_io_methods {
        // SAFETY: set by a successful inner xOpen and valid until its xClose.
        unsafe { &*(*self.inner).pMethods }
    }

    /// Writes what was gathered. On an error what is not written yet stays gathered: SQLite
    /// already counts those frames as written (a page spilled before the commit is in the
    /// wal-index's hash for the open transaction, even if the error reached it from a read),
    /// so they must not be lost while the transaction can still commit. Every later flush,
    /// the commit frame's included, writes them first or fails, and a transaction that
    /// fails to commit is rolled back and never published.
    unsafe fn flush(&mut self) -> c_int {
        if self.pending.is_empty() {
            return ffi::SQLITE_OK;
        }
        #[cfg(test)]
        if tests::FAILING_FLUSHES.with(|n| n.replace(n.get().saturating_sub(1)) > 0) {
            return ffi::SQLITE_FULL; // what the unix VFS answers on a full disk
        }
        let write = unsafe { self.inner_methods() }.xWrite.expect("xWrite");
        let mut rc = ffi::SQLITE_OK;
        let mut at = self.pending_at;
        for chunk in self.pending.chunks(MAX_WRITE) {
            rc = unsafe {
                write(
                    self.inner,
                    chunk.as_ptr() as *const c_void,
                    chunk.len() as c_int,
                    at,
                )
            };
            if rc != ffi::SQLITE_OK {
                let written = (at - self.pending_at) as usize;
                self.pending.drain(..written);
                self.pending_at = at;
                return rc;
            }
            at += chunk.len() as i64;
        }
        self.pending.clear();
        if self.pending.capacity() > 4 * FLUSH_AT {
            self.pending.shrink_to(FLUSH_AT);
        }
        rc
    }
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let inner_vfs = inner_vfs();
    // SAFETY: SQLite passes `file` with this VFS's szOsFile bytes, room for the inner
    // VFS's file alone or for a WalFile followed by it.
    unsafe {
        let open = (*inner_vfs).xOpen.expect("xOpen");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return open(inner_vfs, name, file, flags, out_flags);
        }
        let inner = (file as *mut u8).add(std::mem::size_of::<WalFile>()) as *mut ffi::sqlite3_file;
        (*inner).pMethods = std::ptr::null();
        let rc = open(inner_vfs, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK || (*inner).pMethods.is_null() {
            if !(*inner).pMethods.is_null()
                && let Some(close) = (*(*inner).pMethods).xClose
            {
                close(inner);
            }
            (*file).pMethods = std::ptr::null();
            return if rc == ffi::SQLITE_OK {
                ffi::SQLITE_CANTOPEN
            } else {
                rc
            };
        }
        std::ptr::write(
            file as *mut WalFile,
            WalFile {
                base: ffi::sqlite3_file {
                    pMethods: &WAL_METHODS,
                },
                inner,
                pending: Vec::new(),
                pending_at: 0,
                commit_page_at: None,
                end: None,
                gather: false,
            },
        );
        // SQLite decides on padding from the database file's characteristics, which
        // follow the database URI's `psow` parameter; the WAL file's own may differ.
        let f = wal(file);
        let psow = name.is_null() || ffi::sqlite3_uri_boolean(name, c"psow".as_ptr(), 1) != 0;
        f.gather = psow
            && f.inner_methods()
                .xDeviceCharacteristics
                .is_some_and(|chars| chars(inner) & ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE != 0);
        ffi::SQLITE_OK
    }
}

/// The WalFile behind SQLite's file pointer.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    // SAFETY: only files opened by x_open as a WAL get WAL_METHODS, so only they come here.
    unsafe { &mut *(file as *mut WalFile) }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let f = wal(file);
        let flushed = f.flush();
        let close = f.inner_methods().xClose.expect("xClose");
        let closed = close(f.inner);
        std::ptr::drop_in_place(file as *mut WalFile);
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let f = wal(file);
        let bytes = std::slice::from_raw_parts(buf as *const u8, amount.max(0) as usize);
        let through = |f: &mut WalFile| {
            let rc = f.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let write = f.inner_methods().xWrite.expect("xWrite");
            write(f.inner, buf, amount, offset)
        };
        if !f.gather {
            return through(f);
        }
        // Offset 0 is the WAL header, written when SQLite starts the log over: what
        // follows it is appended again from there.
        if offset == 0 {
            let rc = f.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            f.end = Some(0);
        }
        let appends = f.end.is_none_or(|end| end == offset);
        let written_to = offset + bytes.len() as i64;
        f.end = Some(f.end.map_or(written_to, |end| end.max(written_to)));
        if !appends {
            // A rewrite of what is already there (a page written twice in one
            // transaction, checksums recomputed after it): straight to the file, after
            // what was gathered, so that the file sees the writes in SQLite's order and
            // nothing but new frames ever waits here.
            #[cfg(test)]
            tests::REWRITES.with(|n| n.set(n.get() + 1));
            f.commit_page_at = None;
            return through(f);
        }
        if f.pending.is_empty() {
            f.pending_at = offset;
        }
        f.pending.extend_from_slice(bytes);
        let completes_commit = f.commit_page_at == Some(offset);
        f.commit_page_at =
            (bytes.len() == FRAME_HEADER && bytes[4..8] != [0, 0, 0, 0]).then_some(written_to);
        if completes_commit || f.pending.len() >= FLUSH_AT {
            // The commit frame is whole: it must be in the file before SQLite publishes
            // it in the wal-index, and a failure must reach SQLite from this call.
            return f.flush();
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let f = wal(file);
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let read = f.inner_methods().xRead.expect("xRead");
        read(f.inner, buf, amount, offset)
    }
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    unsafe {
        let f = wal(file);
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let truncate = f.inner_methods().xTruncate.expect("xTruncate");
        truncate(f.inner, size)
    }
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    unsafe {
        let f = wal(file);
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let sync = f.inner_methods().xSync.expect("xSync");
        sync(f.inner, flags)
    }
}

unsafe extern "C" fn x_file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    unsafe {
        let f = wal(file);
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let file_size = f.inner_methods().xFileSize.expect("xFileSize");
        file_size(f.inner, size)
    }
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let f = wal(file);
        match f.inner_methods().xLock {
            Some(lock) => lock(f.inner, level),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let f = wal(file);
        match f.inner_methods().xUnlock {
            Some(unlock) => unlock(f.inner, level),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    unsafe {
        let f = wal(file);
        match f.inner_methods().xCheckReservedLock {
            Some(check) => check(f.inner, out),
            None => {
                *out = 0;
                ffi::SQLITE_OK
            }
        }
    }
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    unsafe {
        let f = wal(file);
        // A file control may look at the file's contents or size (SQLITE_FCNTL_SIZE_HINT,
        // persist-WAL, ...): the file is made current first.
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        match f.inner_methods().xFileControl {
            Some(control) => control(f.inner, op, arg),
            None => ffi::SQLITE_NOTFOUND,
        }
    }
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let f = wal(file);
        match f.inner_methods().xSectorSize {
            Some(size) => size(f.inner),
            None => 4096,
        }
    }
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let f = wal(file);
        match f.inner_methods().xDeviceCharacteristics {
            Some(chars) => chars(f.inner),
            None => 0,
        }
    }
}

/// Version 1 methods only: SQLite keeps a WAL's shared memory and memory maps on the
/// database file, never on the WAL file itself.
static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};
    use std::path::{Path, PathBuf};

    thread_local! {
        /// Flushes on this thread that fail (as a full disk would) instead of writing.
        pub(super) static FAILING_FLUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
        /// Writes on this thread that went straight to the file as rewrites.
        pub(super) static REWRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn rewrites() -> u64 {
        REWRITES.with(|n| n.get())
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("parley-walbuf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The writer's connection as the store opens it: WAL, no automatic checkpoints, no
    /// fsync at commit (the store's sync thread does that).
    fn writer(path: &Path) -> Connection {
        assert!(register());
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0; \
             CREATE TABLE IF NOT EXISTS t(x)",
        )
        .unwrap();
        conn
    }

    /// What a crash would leave: the database and WAL files as they are in the file system
    /// now, with the writer still open (nothing flushed by closing it), copied and opened
    /// afresh, so SQLite recovers the WAL from its frames and checksums. Returns the rows
    /// it finds, after checking the copy's integrity.
    fn rows_after_crash(path: &Path, copy: &Path) -> i64 {
        let wal = |p: &Path| PathBuf::from(format!("{}-wal", p.display()));
        for p in [
            copy.to_path_buf(),
            wal(copy),
            PathBuf::from(format!("{}-shm", copy.display())),
        ] {
            let _ = std::fs::remove_file(p);
        }
        std::fs::copy(path, copy).unwrap();
        std::fs::copy(wal(path), wal(copy)).unwrap();
        let conn = Connection::open(copy).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn every_commit_is_in_the_files_when_it_returns() {
        let dir = scratch("commits");
        let path = dir.join("w.db");
        let copy = dir.join("copy.db");
        let writer = writer(&path);
        let reader = Connection::open(&path).unwrap();
        for i in 1..=200 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
            let n: i64 = reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, i, "another connection sees each commit at once");
            if i % 50 == 0 {
                assert_eq!(rows_after_crash(&path, &copy), i);
            }
        }
        // A commit larger than one write of the default VFS (128 KiB) and than FLUSH_AT.
        writer
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
                 INSERT INTO t SELECT randomblob(3000) FROM n",
                [],
            )
            .unwrap();
        assert_eq!(rows_after_crash(&path, &copy), 1200);
        // The log started over (as the store's checkpointer does): new frames go from the
        // start of the file again, over the old ones.
        reader
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0))
            .unwrap();
        for i in 1..=10 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        assert_eq!(rows_after_crash(&path, &copy), 1210);
    }

    #[test]
    fn a_transaction_that_rewrites_its_own_frames_is_whole_after_a_crash() {
        let dir = scratch("rewrite");
        let path = dir.join("w.db");
        let copy = dir.join("copy.db");
        let writer = writer(&path);
        writer.execute("INSERT INTO t VALUES (0)", []).unwrap();
        // A cache of a few pages: the transaction spills pages into the WAL before its
        // commit, then writes some of them again, and SQLite rewrites those frames in place
        // and recomputes the checksums of the frames after them (the commit frame's too).
        writer.execute_batch("PRAGMA cache_size=8").unwrap();
        let rewrites_before = rewrites();
        writer
            .execute_batch(
                "BEGIN; \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) \
                 INSERT INTO t SELECT randomblob(1000) FROM n; \
                 UPDATE t SET x = zeroblob(1000) WHERE rowid % 3 = 0; \
                 UPDATE t SET x = 7 WHERE rowid = 1; \
                 COMMIT",
            )
            .unwrap();
        assert!(
            rewrites() > rewrites_before,
            "the transaction rewrote frames (the case under test)"
        );
        // Later commits extend the log again: gathered, not taken for rewrites.
        writer.execute_batch("PRAGMA cache_size=2000").unwrap();
        let rewrites_after = rewrites();
        for i in 0..5 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        assert_eq!(rewrites(), rewrites_after);
        assert_eq!(rows_after_crash(&path, &copy), 406);
        let copy_conn = Connection::open(&copy).unwrap();
        let first: i64 = copy_conn
            .query_row("SELECT x FROM t WHERE rowid = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(first, 7, "the transaction's last write survived");
    }

    #[test]
    fn a_commit_whose_frames_cannot_be_written_fails_and_the_next_ones_work() {
        let dir = scratch("failing");
        let path = dir.join("w.db");
        let copy = dir.join("copy.db");
        let writer = writer(&path);
        let reader = Connection::open(&path).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        for i in 0..10 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        // The commit's frames fail to reach the file: SQLite hears it from the commit
        // frame's write and rolls the transaction back.
        FAILING_FLUSHES.with(|n| n.set(1));
        let failed = writer.execute("INSERT INTO t VALUES (99)", []);
        assert!(failed.is_err(), "the failed write is reported: {failed:?}");
        assert_eq!(count(&reader), 10);
        assert_eq!(count(&writer), 10);
        // The next commits rewrite the log where the failed one started, and land.
        for i in 0..10 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        assert_eq!(count(&reader), 20);
        assert_eq!(rows_after_crash(&path, &copy), 20);
    }

    #[test]
    fn commits_padded_to_the_sector_size_are_read_back_at_once() {
        // Without power-safe overwrite and with synchronous=FULL, SQLite pads each commit
        // with copies of its last frame up to a sector boundary and splits a frame around
        // an fsync there; the padding frames are the ones the wal-index points readers at.
        let dir = scratch("padded");
        let path = dir.join("w.db");
        let copy = dir.join("copy.db");
        assert!(register());
        let uri = format!("file:{}?psow=0", path.display());
        let writer = Connection::open_with_flags_and_vfs(&uri, OpenFlags::default(), NAME).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; \
                 CREATE TABLE t(x)",
            )
            .unwrap();
        let reader = Connection::open(&path).unwrap();
        for i in 1..=50i64 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [i * 1000 + 7])
                .unwrap();
            let last: i64 = reader
                .query_row("SELECT x FROM t ORDER BY rowid DESC LIMIT 1", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(last, i * 1000 + 7);
        }
        assert_eq!(rows_after_crash(&path, &copy), 50);
    }

    #[test]
    fn spilled_frames_that_failed_to_write_are_written_before_the_commit() {
        // A transaction larger than the cache spills pages into the WAL before its commit.
        // If writing them fails where SQLite only rolls back the statement (a full disk,
        // with a statement journal), the transaction goes on and commits: the frames it
        // believes written must reach the file first.
        let dir = scratch("spill-failure");
        let path = dir.join("w.db");
        let copy = dir.join("copy.db");
        let writer = writer(&path);
        let reader = Connection::open(&path).unwrap();
        writer.execute("INSERT INTO t VALUES (0)", []).unwrap();
        writer.execute_batch("PRAGMA cache_size=8; BEGIN").unwrap();
        writer
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
                 INSERT INTO t SELECT randomblob(1000) FROM n",
                [],
            )
            .unwrap();
        FAILING_FLUSHES.with(|n| n.set(1));
        let failed = writer.execute("UPDATE t SET x = zeroblob(1000) WHERE rowid <= 200", []);
        assert!(failed.is_err(), "the failed write is reported: {failed:?}");
        assert_eq!(
            FAILING_FLUSHES.with(|n| n.get()),
            0,
            "a flush failed (the case under test)"
        );
        writer.execute("INSERT INTO t VALUES (7)", []).unwrap();
        writer.execute_batch("COMMIT").unwrap();
        let count: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 302);
        let blobs: i64 = reader
            .query_row("SELECT count(*) FROM t WHERE length(x) = 1000", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(blobs, 300, "the failed statement's changes are not there");
        assert_eq!(rows_after_crash(&path, &copy), 302);
    }
}
