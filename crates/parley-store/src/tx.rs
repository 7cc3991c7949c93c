//! `Tx`: one unit of work inside a store transaction. Everything the server does to the
//! database goes through a `Tx`, so a request, an inbound message or a job is applied
//! atomically, with its outbox rows, or not at all.

use crate::error::{Result, StoreError};
use crate::memo::{Memo, UnitMemo};
use crate::record::Record;
use crate::sql::{Param, Row};

mod remembered;

/// Something to run once the transaction has committed (wake a worker, publish a live event).
pub type CommitHook = Box<dyn FnOnce() + Send>;

pub(crate) enum Db<'c> {
    Sqlite(&'c rusqlite::Connection),
    Pg(&'c mut crate::postgres::PgConn),
}

/// Statements executed by this process, for profiling the hot path (one relaxed atomic
/// add per statement; read by benchmarks and tests).
pub static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct Tx<'c> {
    db: Db<'c>,
    hooks: Vec<CommitHook>,
    /// (channel, payload) to announce to the other nodes when this unit commits.
    notifications: Vec<(String, String)>,
    read_only: bool,
    /// Rows read with `find_all_memo`, `get_memo` and their siblings, until a statement
    /// writes what they read (`crate::memo`): this unit's own, or the SQLite writer's.
    memo: UnitMemo<'c>,
    /// Statements this unit has run (what `statements_run` reports).
    statements: u64,
}

/// Which way a page is read, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Start,
    /// Continue after the item with this seq (in the listing's order).
    After(i64),
    /// The page that ends just before the item with this seq (in the listing's order).
    Before(i64),
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub size: usize,
    pub cursor: Cursor,
    pub descending: bool,
}

impl PageRequest {
    pub fn first(size: usize) -> Self {
        PageRequest {
            size,
            cursor: Cursor::Start,
            descending: false,
        }
    }
}

#[derive(Debug)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    /// More items exist after this page (in the listing's order).
    pub has_next: bool,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(db: Db<'c>, read_only: bool) -> Self {
        Tx {
            db,
            hooks: Vec::new(),
            notifications: Vec::new(),
            read_only,
            memo: UnitMemo::new(),
            statements: 0,
        }
    }

    /// A unit of the SQLite writer, reading and keeping the writer's memo (`crate::memo`).
    pub(crate) fn with_writer_memo(db: Db<'c>, memo: &'c mut Memo) -> Self {
        Tx {
            memo: UnitMemo::with_writer(memo),
            ..Tx::new(db, false)
        }
    }

    pub(crate) fn take_hooks(&mut self) -> Vec<CommitHook> {
        std::mem::take(&mut self.hooks)
    }

    pub(crate) fn take_notifications(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.notifications)
    }

    /// Announces `payload` on `channel` to every node that listens (`Store::listen`), if and
    /// when this unit of work commits. On PostgreSQL this is `NOTIFY`, sent with the commit
    /// (a payload must stay under 8,000 bytes; larger ones are dropped with a warning). On
    /// SQLite there are no other nodes and it does nothing.
    pub fn notify(&mut self, channel: &str, payload: String) {
        if matches!(self.db, Db::Pg(_)) && !self.read_only {
            self.notifications.push((channel.to_string(), payload));
        }
    }

    /// Runs `hook` after this unit of work commits; dropped if it rolls back.
    pub fn on_commit(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.hooks.push(Box::new(hook));
    }

    pub fn backend_kind(&self) -> crate::BackendKind {
        match &self.db {
            Db::Sqlite(_) => crate::BackendKind::Sqlite,
            Db::Pg(_) => crate::BackendKind::Postgres,
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// How many SQL statements this unit has run so far (tests check what a memo saves).
    pub fn statements_run(&self) -> u64 {
        self.statements
    }

    /// Counts a statement about to run, for this unit and for the process.
    fn count_statement(&mut self) {
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.statements += 1;
    }

    pub fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<usize> {
        self.forget_memo_on_write(sql);
        self.execute_known(sql, params)
    }

    /// `execute` for a statement whose written table the caller has already forgotten
    /// (the record operations, which know it: no need to read it from the SQL).
    fn execute_known(&mut self, sql: &str, params: &[Param<'_>]) -> Result<usize> {
        self.count_statement();
        match &mut self.db {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))?)
            }
            Db::Pg(c) => Ok(c.execute(sql, params)? as usize),
        }
    }

    pub fn query<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.count_statement();
        self.forget_memo_on_write(sql);
        match &mut self.db {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(map(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Db::Pg(c) => c
                .query(sql, params)?
                .iter()
                .map(|r| map(&Row::Pg(r)))
                .collect(),
        }
    }

    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.count_statement();
        self.forget_memo_on_write(sql);
        match &mut self.db {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                match rows.next()? {
                    Some(r) => Ok(Some(map(&Row::Sqlite(r))?)),
                    None => Ok(None),
                }
            }
            Db::Pg(c) => match c.query(sql, params)?.first() {
                Some(r) => Ok(Some(map(&Row::Pg(r))?)),
                None => Ok(None),
            },
        }
    }

    /// Serialises work on `key` (a conversation, an address pair) across the nodes that
    /// share the database, until this transaction ends. SQLite has one writer, so work is
    /// already serialised there and this does nothing.
    pub fn lock_key(&mut self, key: &str) -> Result<()> {
        match &mut self.db {
            Db::Sqlite(_) => {
                let _ = key;
                Ok(())
            }
            // A read sees committed data only and changes nothing: nothing to serialise.
            Db::Pg(_) if self.read_only => Ok(()),
            // A transaction-level advisory lock on a 64-bit hash of the key: released at
            // commit or rollback, and by the server if this node dies.
            Db::Pg(c) => {
                c.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(?1, 0))",
                    &[Param::Text(key)],
                )?;
                Ok(())
            }
        }
    }

    /// Locks the row with this key for the rest of the transaction (`SELECT … FOR UPDATE`
    /// on PostgreSQL), so a read-modify-write of it cannot lose a concurrent change.
    /// Returns the row as it is once locked. On SQLite (one writer) it is a plain read.
    pub fn get_for_update<T: Record>(&mut self, key: &str) -> Result<Option<T>> {
        match &self.db {
            // One writer: a row this unit read is still as read unless the unit wrote to
            // its table since (see `get_memo`).
            Db::Sqlite(_) => Ok(self
                .get_memo::<T>(key)?
                .map(std::sync::Arc::unwrap_or_clone)),
            Db::Pg(_) if self.read_only => self.get::<T>(key),
            Db::Pg(_) => self.query_opt(
                &T::statements().get_for_update,
                &[Param::Text(key)],
                T::from_row,
            ),
        }
    }

    /// Locks a row that this same transaction has already read, and brings `row` up to date
    /// with it; false if the row is gone (`row` is then left as it was read). On PostgreSQL
    /// that is `get_for_update` (another node may have changed the row between the plain
    /// read and the lock). On SQLite the one writer has held the database since the read,
    /// so the row cannot have changed: nothing is read again, one statement fewer on the hot
    /// path. Only for rows read in this transaction; others go through `get_for_update`.
    pub fn lock_read<T: Record>(&mut self, row: &mut T) -> Result<bool> {
        if let Db::Sqlite(_) = &self.db {
            return Ok(true);
        }
        match self.get_for_update::<T>(row.key())? {
            Some(fresh) => {
                *row = fresh;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Locks the row with this key for the rest of the transaction without reading it:
    /// to take locks in a consistent order (a conversation before its execution) so that
    /// two nodes never wait on each other. Nothing to do on SQLite (one writer).
    pub fn lock_row<T: Record>(&mut self, key: &str) -> Result<()> {
        match &mut self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Pg(_) if self.read_only => Ok(()),
            Db::Pg(c) => {
                c.query(&T::statements().lock, &[Param::Text(key)])?;
                Ok(())
            }
        }
    }

    pub fn query_i64(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<i64>> {
        self.query_opt(sql, params, |r| r.get::<Option<i64>>(0))
            .map(Option::flatten)
    }

    // ---- generic record operations ----

    /// Inserts a record and returns its assigned `seq`.
    pub fn insert<T: Record>(&mut self, rec: &T) -> Result<i64> {
        let params = rec.params();
        if let Db::Pg(c) = &mut self.db {
            return c.insert(T::statements(), &params);
        }
        self.forget_row(rec, None);
        self.execute_known(&T::statements().insert_plain, &params)?;
        match &self.db {
            Db::Sqlite(c) => Ok(c.last_insert_rowid()),
            Db::Pg(_) => Err(StoreError::Backend(
                "unreachable: PostgreSQL inserts return early".into(),
            )),
        }
    }

    /// Rewrites every column of the row with the record's key. Returns false if it is gone.
    pub fn update<T: Record>(&mut self, rec: &T) -> Result<bool> {
        let params = rec.params();
        // The row as it was is not known here (its group may have been another).
        self.forget_table(T::TABLE);
        Ok(self.execute_known(&T::statements().update, &params)? > 0)
    }

    /// Writes only the columns in which `after` differs from `before` (the same row as read
    /// in this transaction), and nothing when none does. On SQLite a full `update` rewrites
    /// the entry of every index covering a column it sets, whether or not the value changed
    /// (a delete and an insert each, dirtying the index pages): for an execution's step that
    /// was five indexes for nothing. Returns false if the row is gone; when nothing changed
    /// no statement runs and it returns true without looking.
    pub fn update_changed<T: Record>(&mut self, before: &T, after: &T) -> Result<bool> {
        debug_assert_eq!(
            before.key(),
            after.key(),
            "update_changed cannot move a row"
        );
        let changed = after.changed_fields(before);
        if changed == 0 {
            return Ok(true);
        }
        let sql = T::statements().update_of(changed);
        let all = after.params();
        let mut params = Vec::with_capacity(changed.count_ones() as usize + 1);
        params.extend(
            all.into_iter()
                .enumerate()
                .filter(|(i, _)| changed & (1u64 << i) != 0)
                .map(|(_, p)| p),
        );
        params.push(Param::Text(after.key()));
        self.forget_row(after, Some(before));
        Ok(self.execute_known(&sql, &params)? > 0)
    }

    pub fn get<T: Record>(&mut self, key: &str) -> Result<Option<T>> {
        self.query_opt(&T::statements().get, &[Param::Text(key)], T::from_row)
    }

    pub fn delete<T: Record>(&mut self, key: &str) -> Result<bool> {
        // Only the key is known here, not the row's group.
        self.forget_table(T::TABLE);
        Ok(self.execute_known(&T::statements().delete, &[Param::Text(key)])? > 0)
    }

    /// The first record matching `filter` (an SQL boolean expression over the table's columns).
    pub fn find<T: Record>(&mut self, filter: &str, params: &[Param<'_>]) -> Result<Option<T>> {
        let sql = format!("{} WHERE {filter} LIMIT 1", T::statements().select);
        self.query_opt(&sql, params, T::from_row)
    }

    /// Every record matching `filter`, in insertion order. For bounded sets only.
    pub fn find_all<T: Record>(&mut self, filter: &str, params: &[Param<'_>]) -> Result<Vec<T>> {
        let sql = format!("{} WHERE {filter} ORDER BY seq", T::statements().select);
        self.query(&sql, params, T::from_row)
    }

    pub fn count<T: Record>(&mut self, filter: &str, params: &[Param<'_>]) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {filter}", T::TABLE);
        Ok(self.query_i64(&sql, params)?.unwrap_or(0))
    }

    /// One page of records matching `filter`, ordered by `seq`. Paging by `seq` (not by
    /// offset) keeps pages stable while rows are added.
    pub fn page<T: Record>(
        &mut self,
        filter: &str,
        params: &[Param<'_>],
        req: &PageRequest,
    ) -> Result<PageOf<T>> {
        let size = req.size.max(1);
        let n = params.len();
        // Reading backwards (a previous page) walks the index the other way, then flips.
        let (cmp, order, backwards, bound) = match (req.cursor, req.descending) {
            (Cursor::Start, false) => ("", "ASC", false, None),
            (Cursor::Start, true) => ("", "DESC", false, None),
            (Cursor::After(s), false) => (">", "ASC", false, Some(s)),
            (Cursor::After(s), true) => ("<", "DESC", false, Some(s)),
            (Cursor::Before(s), false) => ("<", "DESC", true, Some(s)),
            (Cursor::Before(s), true) => (">", "ASC", true, Some(s)),
        };
        let mut all: Vec<Param<'_>> = params.to_vec();
        let seq_clause = match bound {
            Some(s) => {
                all.push(Param::Int(s));
                format!(" AND seq {cmp} ?{}", n + 1)
            }
            None => String::new(),
        };
        all.push(Param::Int(size as i64 + 1));
        let sql = format!(
            "{} WHERE ({filter}){seq_clause} ORDER BY seq {order} LIMIT ?{}",
            T::statements().select,
            all.len()
        );
        let mut items = self.query(&sql, &all, T::from_row)?;
        let more = items.len() > size;
        items.truncate(size);
        if backwards {
            items.reverse();
            // We came from the page after this one, so there is always a next page.
            return Ok(PageOf {
                items,
                has_next: true,
            });
        }
        Ok(PageOf {
            items,
            has_next: more,
        })
    }
}
