//! The PostgreSQL backend: several Parley nodes share one database. A unit of work runs on
//! a pooled connection inside one transaction (READ COMMITTED for writes, a read-only
//! snapshot for reads) on a blocking thread: the synchronous `postgres` client runs its own
//! small runtime and must never be driven from async code. Work that must be serialised
//! across nodes takes row locks (`get_for_update`) or advisory locks (`lock_key`); due jobs
//! are claimed with `FOR UPDATE SKIP LOCKED`; `Tx::notify` becomes `NOTIFY` sent with the
//! commit, and `listen` a dedicated `LISTEN` connection (`crate::listen`).

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use tokio::sync::Semaphore;

use crate::error::{Result, StoreError};
use crate::listen::Listener;
use crate::record::Statements;
use crate::sql::Param;
use crate::tx::{Db, Tx};

/// Connections per node unless the URL says otherwise (`?pool_size=N`).
pub const DEFAULT_POOL_SIZE: usize = 8;
/// Prepared statements kept per connection; past this the cache starts over (the SQL a
/// server runs is a few hundred distinct statements).
const STATEMENT_CACHE: usize = 1_024;
/// PostgreSQL refuses a `NOTIFY` payload of 8,000 bytes or more, which would fail the
/// commit; such payloads are dropped (the server sends a stub for large events instead).
pub const MAX_NOTIFY_PAYLOAD: usize = 7_999;

/// Where the database is and how many connections this node may hold.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// The URL as given, without Parley's own parameters.
    url: String,
    pub pool_size: usize,
}

impl std::fmt::Debug for PgUrl {
    /// Never prints a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PgUrl({}, pool_size={})",
            self.redacted(),
            self.pool_size
        )
    }
}

impl PgUrl {
    /// Accepts `postgres://` and `postgresql://` URLs (see the `postgres` crate for the
    /// parameters, e.g. `?options=-csearch_path%3Dparley`) plus Parley's own
    /// `pool_size=N`, which is taken out before the URL reaches the driver.
    pub fn parse(url: &str) -> std::result::Result<PgUrl, String> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut pool_size = DEFAULT_POOL_SIZE;
        let mut kept = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("pool_size", v)) => {
                    pool_size = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1_000).contains(n))
                        .ok_or_else(|| format!("pool_size must be 1..1000, not '{v}'"))?;
                }
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        url.parse::<postgres::Config>()
            .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
        Ok(PgUrl { url, pool_size })
    }

    /// The same database with another pool size.
    pub fn with_pool_size(mut self, n: usize) -> PgUrl {
        self.pool_size = n.max(1);
        self
    }

    /// The driver's URL (with the password, if any).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        match (self.url.find("://"), self.url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let creds = &self.url[scheme_end + 3..at];
                match creds.split_once(':') {
                    Some((user, _)) => format!(
                        "{}{user}:***{}",
                        &self.url[..scheme_end + 3],
                        &self.url[at..]
                    ),
                    None => self.url.clone(),
                }
            }
            _ => self.url.clone(),
        }
    }

    fn config(&self) -> Result<postgres::Config> {
        let mut config: postgres::Config = self
            .url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("parley");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        Ok(config)
    }
}

/// Runs `f` on a thread of its own and waits for it: for the few blocking calls made from
/// code that may be inside an async runtime (opening the store, closing connections).
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    std::thread::Builder::new()
        .name("parley-pg".into())
        .spawn(f)
        .map_err(|e| StoreError::Backend(format!("cannot start a thread: {e}")))?
        .join()
        .map_err(|_| StoreError::Panicked("a PostgreSQL helper thread panicked".into()))
}

/// One pooled connection and its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    /// Keyed by the statement's portable text (`?N` placeholders).
    statements: HashMap<String, Statement>,
    /// A statement failed in the current transaction, which PostgreSQL has therefore
    /// aborted: it must not be reported as committed.
    failed: Option<String>,
}

impl PgConn {
    fn connect(config: &postgres::Config) -> Result<PgConn> {
        let mut client = config.connect(NoTls)?;
        // `NOTIFY` payloads are sent as literals; keep backslashes literal whatever the
        // server's default. A node that died mid-transaction must not hold locks for long.
        client.batch_execute(
            "SET standard_conforming_strings = on; SET idle_in_transaction_session_timeout = '60s'",
        )?;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
            failed: None,
        })
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self
            .client
            .prepare(&dollar_placeholders(sql))
            .map_err(|e| self.fail(e))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn fail(&mut self, e: postgres::Error) -> StoreError {
        let e = StoreError::from(e);
        if self.failed.is_none() {
            self.failed = Some(e.to_string());
        }
        e
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let stmt = self.prepare(sql)?;
        let refs = pg_params(params);
        self.client.execute(&stmt, &refs).map_err(|e| self.fail(e))
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<postgres::Row>> {
        let stmt = self.prepare(sql)?;
        let refs = pg_params(params);
        self.client.query(&stmt, &refs).map_err(|e| self.fail(e))
    }

    /// Inserts a record and returns its `seq`. A unique violation would abort the whole
    /// transaction (PostgreSQL), where SQLite fails only the statement and callers go on
    /// (to read the row that is in the way). So the insert skips conflicts, and only when
    /// one happened is it repeated inside a savepoint to learn the index's name.
    pub(crate) fn insert(&mut self, st: &Statements, params: &[Param<'_>]) -> Result<i64> {
        if let Some(row) = self.query(&st.insert_or_nothing, params)?.first() {
            return row.try_get::<_, i64>(0).map_err(|e| self.fail(e));
        }
        self.batch("SAVEPOINT parley_insert")?;
        let outcome = self.query(&st.insert, params);
        match outcome {
            Ok(rows) => {
                self.batch("RELEASE SAVEPOINT parley_insert")?;
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::Backend("an insert returned no row".into()))?;
                row.try_get::<_, i64>(0).map_err(|e| self.fail(e))
            }
            Err(e) => {
                // The savepoint undoes the failure: the transaction goes on.
                self.failed = None;
                self.batch("ROLLBACK TO SAVEPOINT parley_insert; RELEASE SAVEPOINT parley_insert")?;
                Err(e)
            }
        }
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(|e| self.fail(e))
    }

    fn is_usable(&self) -> bool {
        !self.client.is_closed()
    }
}

fn pg_params<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Rewrites the portable `?N` placeholders as PostgreSQL's `$N`, leaving quoted literals
/// and identifiers alone. Done once per statement and connection (statements are cached).
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

/// The `COMMIT` of a unit of work, preceded by its notifications (one round trip).
fn commit_sql(notifications: Vec<(String, String)>) -> String {
    let mut sql = String::new();
    let mut seen = HashSet::new();
    for (channel, payload) in notifications {
        let channel_ok = !channel.is_empty()
            && channel
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !channel_ok || payload.len() > MAX_NOTIFY_PAYLOAD || payload.contains('\0') {
            tracing::warn!(channel = %channel, bytes = payload.len(), "notification dropped: bad channel or payload");
            continue;
        }
        if !seen.insert((channel.clone(), payload.clone())) {
            continue;
        }
        sql.push_str("SELECT pg_notify('");
        sql.push_str(&channel);
        sql.push_str("', '");
        sql.push_str(&payload.replace('\'', "''"));
        sql.push_str("'); ");
    }
    sql.push_str("COMMIT");
    sql
}

/// The pool and what it connects to.
struct Pool {
    config: postgres::Config,
    idle: Mutex<Vec<PgConn>>,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a connection runs the driver's runtime, which may not happen on an
        // async thread (the last handle may be dropped in one).
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("parley-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Pool {
    fn take(&self) -> Result<(PgConn, bool)> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok((c, true));
        }
        Ok((PgConn::connect(&self.config)?, false))
    }

    fn give_back(&self, mut conn: PgConn) {
        conn.failed = None;
        if conn.is_usable() && !self.closed.load(Ordering::Relaxed) {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }

    /// A connection inside an open transaction. A pooled connection that turns out to be
    /// dead (the server restarted, a proxy timed it out) is replaced once: nothing ran yet.
    fn begin(&self, read_only: bool) -> Result<PgConn> {
        let begin = if read_only {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        };
        let (mut conn, pooled) = self.take()?;
        match conn.batch(begin) {
            Ok(()) => Ok(conn),
            Err(_) if pooled => {
                drop(conn);
                let mut conn = PgConn::connect(&self.config)?;
                conn.batch(begin)?;
                Ok(conn)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs one unit of work to its commit or rollback. Called on a blocking thread.
    fn run<T, E>(
        &self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.begin(read_only).map_err(E::from)?;
        let mut tx = Tx::new(Db::Pg(&mut conn), read_only);
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
        let hooks = tx.take_hooks();
        let notifications = tx.take_notifications();
        drop(tx);
        let value = match outcome {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => {
                self.rollback(conn);
                return Err(e);
            }
            Err(panic) => {
                let msg = crate::sqlite::panic_message(&panic);
                tracing::error!(panic = %msg, "a store transaction panicked; rolled back");
                self.rollback(conn);
                return Err(E::from(StoreError::Panicked(msg)));
            }
        };
        if let Some(first) = conn.failed.take() {
            // The unit went on after a failed statement; PostgreSQL has already discarded
            // its changes, and `COMMIT` would quietly roll back.
            self.rollback(conn);
            return Err(E::from(StoreError::Backend(format!(
                "the transaction was aborted by an earlier error: {first}"
            ))));
        }
        let end = if read_only {
            "COMMIT".to_string()
        } else {
            commit_sql(notifications)
        };
        if let Err(e) = conn.batch(&end) {
            tracing::error!(error = %e, "postgres: commit failed; rolled back");
            self.rollback(conn);
            return Err(E::from(e));
        }
        self.give_back(conn);
        for h in hooks {
            h();
        }
        Ok(value)
    }

    fn rollback(&self, mut conn: PgConn) {
        if conn.batch("ROLLBACK").is_ok() {
            self.give_back(conn);
        }
    }
}

pub struct PgBackend {
    pool: Arc<Pool>,
}

impl PgBackend {
    /// Connects, runs the migrations (once, even when several nodes start together) and
    /// keeps the connection in the pool.
    pub fn open(url: &PgUrl) -> Result<PgBackend> {
        let config = url.config()?;
        let c2 = config.clone();
        let conn = off_runtime(move || -> Result<PgConn> {
            let mut conn = PgConn::connect(&c2)?;
            crate::migrate::run_postgres(&mut conn.client)?;
            Ok(conn)
        })??;
        let pool = Arc::new(Pool {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(url.pool_size)),
            closed: AtomicBool::new(false),
        });
        pool.give_back(conn);
        Ok(PgBackend { pool })
    }

    pub async fn write<T, E>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(false, f).await
    }

    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(true, f).await
    }

    async fn run<T, E>(
        &self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        // Wait for a connection here, not on a blocking thread.
        let permit = self
            .pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        let pool = self.pool.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let out = pool.run(read_only, f);
            drop(permit);
            out
        })
        .await;
        match joined {
            Ok(out) => out,
            Err(e) => Err(E::from(StoreError::Panicked(format!(
                "a store transaction did not finish: {e}"
            )))),
        }
    }

    /// A dedicated connection that `LISTEN`s on `channels` (see `listen`).
    pub fn listen(&self, channels: &[&str]) -> Listener {
        crate::listen::listen_postgres(self.pool.config.clone(), channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?10, ?3)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($10, $3)"
        );
        assert_eq!(dollar_placeholders("SELECT \"?1\", ?"), "SELECT \"?1\", ?");
    }

    #[test]
    fn urls_take_out_the_pool_size_and_hide_the_password() {
        let u = PgUrl::parse("postgres://me:secret@db:5432/parley?pool_size=3&sslmode=disable")
            .unwrap();
        assert_eq!(u.pool_size, 3);
        assert_eq!(
            u.as_str(),
            "postgres://me:secret@db:5432/parley?sslmode=disable"
        );
        assert_eq!(
            u.redacted(),
            "postgres://me:***@db:5432/parley?sslmode=disable"
        );
        assert!(!format!("{u:?}").contains("secret"));
        assert!(PgUrl::parse("postgres://db/x?pool_size=0").is_err());
        assert_eq!(
            PgUrl::parse("postgresql://db/x").unwrap().pool_size,
            DEFAULT_POOL_SIZE
        );
    }

    #[test]
    fn commits_carry_escaped_deduplicated_notifications() {
        let sql = commit_sql(vec![
            ("parley_jobs".into(), String::new()),
            ("parley_jobs".into(), String::new()),
            ("parley_live".into(), "{\"a\":\"it's\"}".into()),
            ("bad channel".into(), "x".into()),
            ("parley_live".into(), "x".repeat(MAX_NOTIFY_PAYLOAD + 1)),
        ]);
        assert_eq!(
            sql,
            "SELECT pg_notify('parley_jobs', ''); SELECT pg_notify('parley_live', '{\"a\":\"it''s\"}'); COMMIT"
        );
    }
}
