//! SQLite's own page cache with one method wrapped, so that the writer's commits stop
//! scanning its whole page cache.
//!
//! At every commit SQLite asks the page cache to drop the pages past the end of the
//! database (`xTruncate`). The default cache keeps the largest page number it has seen and
//! scans only when a page may lie past the limit; it scans the slots between the limit and
//! that number, or the whole hash table when the range is wider than the table. When a
//! b-tree page splits, SQLite reorders the new pages by swapping their numbers through a
//! temporary one, the *lock page* (the page holding byte 1 GiB, which never holds data:
//! 262,145 with 4 KiB pages). The default cache then believes a page that far out exists,
//! and the next commit walks every slot and every page header of the writer's 16 MB cache
//! (~4,000 pages) to find nothing: 4 % of the writer thread's time under the tutorial load
//! (`perf`, BENCHMARKS.md change 26), since nearly every batch splits a page.
//!
//! The wrapper keeps, per cache, the largest page number a page was fetched or renumbered
//! to other than the lock page, and lets a truncation through only when that number
//! reaches the limit. Why skipping the others is safe: a page can enter the cache only
//! through `xFetch` or `xRekey`, both seen here; the lock page number is only ever a
//! waypoint of a swap that completes inside one call of SQLite's balancing code (three
//! renumberings in a row, nothing in between can fail), so no page is left there when a
//! truncation comes. Everything else is the default cache's own code.
//!
//! The page cache is process-wide configuration that SQLite accepts only before it is
//! initialised: [`install`] runs before the store opens its first connection. Where SQLite
//! was already initialised (something else in the process opened a database first) it
//! changes nothing and the default cache is used as is.

use rusqlite::ffi;
use std::ffi::{c_int, c_uint};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where SQLite reserves its lock byte range (`PENDING_BYTE`, fixed outside SQLite's own
/// test builds); the page that holds it is the swap waypoint.
const PENDING_BYTE: u32 = 0x4000_0000;

/// The default cache's methods, captured when the wrapper was installed.
static INNER: OnceLock<Methods> = OnceLock::new();

/// The methods table: function pointers and the default cache's `pArg`, which it does not
/// use (SQLite's own cache passes null), read-only once captured.
struct Methods(ffi::sqlite3_pcache_methods2);
// SAFETY: the table is never written after it is captured, and pArg is only handed back
// to SQLite's own xInit/xShutdown.
unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

/// Truncations the wrapper found nothing to do for, and pages renumbered to the lock page
/// (what the tests check).
static SKIPPED: AtomicU64 = AtomicU64::new(0);
static WAYPOINTS: AtomicU64 = AtomicU64::new(0);

/// One cache: the default cache's handle and what the wrapper knows of its pages.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The swap waypoint for this cache's page size, never counted in `max_page`.
    lock_page: c_uint,
    /// No page numbered above this can be in the cache.
    max_page: c_uint,
}

/// Installs the wrapper once per process; true when it is in place.
pub(super) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| unsafe {
        // SAFETY: sqlite3_config is called with the argument types each option documents
        // (a pointer to a sqlite3_pcache_methods2 for both); SQLite copies the struct it is
        // given. Both calls fail harmlessly (SQLITE_MISUSE) once SQLite is initialised.
        let mut inner: ffi::sqlite3_pcache_methods2 = std::mem::zeroed();
        if ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_GETPCACHE2,
            &mut inner as *mut ffi::sqlite3_pcache_methods2,
        ) != ffi::SQLITE_OK
            || inner.xCreate.is_none()
        {
            return false;
        }
        let inner = INNER.get_or_init(|| Methods(inner)).0;
        let wrapped = ffi::sqlite3_pcache_methods2 {
            iVersion: inner.iVersion,
            pArg: inner.pArg,
            xInit: inner.xInit,
            xShutdown: inner.xShutdown,
            xCreate: Some(x_create),
            xCachesize: Some(x_cachesize),
            xPagecount: Some(x_pagecount),
            xFetch: Some(x_fetch),
            xUnpin: Some(x_unpin),
            xRekey: Some(x_rekey),
            xTruncate: Some(x_truncate),
            xDestroy: Some(x_destroy),
            xShrink: Some(x_shrink),
        };
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_PCACHE2,
            &wrapped as *const ffi::sqlite3_pcache_methods2,
        ) == ffi::SQLITE_OK
    })
}

/// How many truncations were skipped, and pages renumbered to the lock page, in this
/// process so far.
#[cfg(test)]
pub(super) fn counts() -> (u64, u64) {
    (
        SKIPPED.load(Ordering::Relaxed),
        WAYPOINTS.load(Ordering::Relaxed),
    )
}

fn inner() -> &'static ffi::sqlite3_pcache_methods2 {
    &INNER
        .get()
        .expect("the wrapper is installed only after INNER is set")
        .0
}

/// SAFETY (all methods below): SQLite passes back the handle `x_create` returned, a live
/// `Cache`, and calls one cache's methods from one thread at a time (the connection's).
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    unsafe { &mut *(p as *mut Cache) }
}

unsafe extern "C" fn x_create(
    sz_page: c_int,
    sz_extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let create = inner().xCreate.expect("checked at install");
    let handle = unsafe { create(sz_page, sz_extra, purgeable) };
    if handle.is_null() {
        return handle;
    }
    let lock_page = PENDING_BYTE / (sz_page.max(1) as u32) + 1;
    Box::into_raw(Box::new(Cache {
        inner: handle,
        lock_page,
        max_page: 0,
    })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn x_cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    let c = unsafe { cache(p) };
    if let Some(f) = inner().xCachesize {
        unsafe { f(c.inner, n) }
    }
}

unsafe extern "C" fn x_pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    let c = unsafe { cache(p) };
    inner().xPagecount.map_or(0, |f| unsafe { f(c.inner) })
}

unsafe extern "C" fn x_fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let c = unsafe { cache(p) };
    let fetch = inner().xFetch.expect("the default cache has xFetch");
    let page = unsafe { fetch(c.inner, key, create) };
    // A page found is counted already; counting it again costs a compare. A page number
    // handed out for the lock page would make SQLite report corruption, and is counted
    // all the same, so a truncation still drops it.
    if !page.is_null() && key > c.max_page {
        c.max_page = key;
    }
    page
}

unsafe extern "C" fn x_unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    let c = unsafe { cache(p) };
    let unpin = inner().xUnpin.expect("the default cache has xUnpin");
    unsafe { unpin(c.inner, page, discard) }
}

unsafe extern "C" fn x_rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = unsafe { cache(p) };
    let rekey = inner().xRekey.expect("the default cache has xRekey");
    unsafe { rekey(c.inner, page, old, new) };
    if new == c.lock_page {
        WAYPOINTS.fetch_add(1, Ordering::Relaxed);
    } else if new > c.max_page {
        c.max_page = new;
    }
}

unsafe extern "C" fn x_truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = unsafe { cache(p) };
    // Pages numbered `limit` and above are to go; none can be here when the largest
    // number counted is below it.
    if limit > c.max_page {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let truncate = inner().xTruncate.expect("the default cache has xTruncate");
    unsafe { truncate(c.inner, limit) };
    c.max_page = limit.saturating_sub(1);
}

unsafe extern "C" fn x_destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: the handle was made by Box::into_raw in x_create, and SQLite destroys a
    // cache once.
    let c = unsafe { Box::from_raw(p as *mut Cache) };
    let destroy = inner().xDestroy.expect("the default cache has xDestroy");
    unsafe { destroy(c.inner) }
}

unsafe extern "C" fn x_shrink(p: *mut ffi::sqlite3_pcache) {
    let c = unsafe { cache(p) };
    if let Some(f) = inner().xShrink {
        unsafe { f(c.inner) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Page splits (the swaps through the lock page), rollbacks and a reopen: every row
    /// committed is there, none rolled back is, SQLite finds the file sound, and the
    /// commits skipped their scans.
    #[test]
    fn splits_and_rollbacks_stay_sound_and_commits_skip_the_scan() {
        // Each test is its own process under nextest, so SQLite is not initialised yet;
        // under a shared harness another test may have initialised it first.
        if !install() {
            eprintln!("SQLite was initialised before this test: nothing to check");
            return;
        }
        let dir = std::env::temp_dir().join(format!("parley-pcache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.db");
        let _ = std::fs::remove_file(&path);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA cache_size=-16000; \
             CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID; \
             CREATE TABLE u (id INTEGER PRIMARY KEY, k TEXT); CREATE INDEX u_k ON u (k);",
        )
        .unwrap();
        let (skipped_before, waypoints_before) = counts();
        let mut kept = 0i64;
        for round in 0..60u64 {
            let tx = conn.unchecked_transaction().unwrap();
            for i in 0..200u64 {
                // Keys spread over the index so that pages split all over it.
                let k = format!(
                    "{:016x}",
                    (round * 200 + i).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                );
                tx.execute("INSERT INTO t VALUES (?1, zeroblob(300))", [&k])
                    .unwrap();
                tx.execute("INSERT INTO u (k) VALUES (?1)", [&k]).unwrap();
            }
            if round % 4 == 3 {
                tx.rollback().unwrap();
            } else {
                tx.commit().unwrap();
                kept += 200;
            }
        }
        let (skipped, waypoints) = counts();
        assert!(
            waypoints > waypoints_before,
            "pages split and were swapped (the case under test)"
        );
        assert!(
            skipped > skipped_before,
            "commits found nothing to truncate and skipped the scan"
        );
        // The same connection (its cache) and a new one (the file) agree on what is there.
        let sound = |conn: &Connection| {
            let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
            assert_eq!(count("SELECT count(*) FROM t"), kept);
            assert_eq!(count("SELECT count(*) FROM u"), kept);
            assert_eq!(count("SELECT count(*) FROM t JOIN u USING (k)"), kept);
            let check: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok");
        };
        sound(&conn);
        sound(&conn);
        drop(conn);
        sound(&Connection::open(&path).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The wrapper against the default cache directly: a truncation past every page
    /// counted is skipped, one that reaches a page goes through and drops exactly the pages
    /// at and past the limit, and the lock page as a swap's waypoint is not counted.
    #[test]
    fn truncations_go_through_exactly_when_a_page_may_be_past_the_limit() {
        if !install() {
            eprintln!("SQLite was initialised before this test: nothing to check");
            return;
        }
        // SAFETY: SQLite is initialised (with the wrapper) before the cache is made; every
        // page fetched is unpinned before the cache is destroyed.
        unsafe {
            assert_eq!(ffi::sqlite3_initialize(), ffi::SQLITE_OK);
            let p = x_create(4096, 64, 1);
            assert!(!p.is_null());
            x_cachesize(p, 100);
            let fetch = |key: c_uint| {
                let page = x_fetch(p, key, 2);
                assert!(!page.is_null(), "page {key}");
                page
            };
            let mut pages: Vec<*mut ffi::sqlite3_pcache_page> = (1..=10).map(fetch).collect();
            assert_eq!(x_pagecount(p), 10);
            let (skipped_before, _) = counts();
            x_truncate(p, 11); // nothing at 11 or past it
            assert_eq!(counts().0, skipped_before + 1);
            assert_eq!(x_pagecount(p), 10);
            // A split's swap of pages 3 and 9 through the lock page (262,145 at 4 KiB).
            let lock = PENDING_BYTE / 4096 + 1;
            x_rekey(p, pages[2], 3, lock);
            x_rekey(p, pages[8], 9, 3);
            x_rekey(p, pages[2], lock, 9);
            pages.swap(2, 8);
            x_truncate(p, 11);
            assert_eq!(
                counts().0,
                skipped_before + 2,
                "the waypoint was not counted"
            );
            // Pages 7..=10 go, 1..=6 stay.
            for page in pages.drain(6..) {
                x_unpin(p, page, 0);
            }
            x_truncate(p, 7);
            assert_eq!(x_pagecount(p), 6);
            assert_eq!(
                counts().0,
                skipped_before + 2,
                "this truncation went through"
            );
            assert!(x_fetch(p, 8, 0).is_null(), "page 8 was dropped");
            assert!(!x_fetch(p, 6, 0).is_null(), "page 6 stayed");
            // Renumbering a page past the end counts it: the next truncation drops it.
            x_rekey(p, pages[5], 6, 40);
            x_unpin(p, pages.pop().unwrap(), 0);
            x_truncate(p, 30);
            assert!(x_fetch(p, 40, 0).is_null(), "page 40 was dropped");
            for page in pages {
                x_unpin(p, page, 0);
            }
            x_destroy(p);
        }
    }
}
