//! Reads a unit remembers (`find_all_memo`, `get_memo` and their siblings) and what each
//! write makes it forget: `Tx`'s side of `crate::memo`. The rules (what a write forgets,
//! how long an answer lives) are in that module's documentation.

use std::sync::Arc;

use super::{Db, Tx};
use crate::error::Result;
use crate::memo::Question;
use crate::record::Record;
use crate::sql::Param;

impl Tx<'_> {
    /// `find_all` with one text parameter (`?1` = `key`), remembered: asked again with the
    /// same filter and key, it answers from memory unless a statement has written what it
    /// read since. For sets read again and again (an inbound text reads its conversation's
    /// participants and webhooks for itself, again for the flow's reply, and the next text
    /// of the conversation does the same).
    ///
    /// SQLite only, where the one writer runs units one at a time, so nothing but Parley's
    /// own statements can change the rows; what a write forgets, and how long a memo lives
    /// (the unit, or the writer's memo across units), is in `crate::memo`. On a table
    /// remembered by row, `key` must be the key or group value `filter` selects by. On
    /// PostgreSQL another node may commit between two reads; it reads again, as `find_all`
    /// does.
    ///
    /// The rows are shared with the memo (`Arc`): a hit copies nothing.
    pub fn find_all_memo<T: Record>(
        &mut self,
        filter: &'static str,
        key: &str,
    ) -> Result<Arc<[T]>> {
        self.memo_or::<T, Arc<[T]>>(filter, key, |tx| {
            Ok(tx.find_all::<T>(filter, &[Param::Text(key)])?.into())
        })
    }

    /// `find`, remembered like `find_all_memo`. `key` and `detail` name the answer: the
    /// caller's `params` must follow from them alone. On a table remembered by row, `key`
    /// is the key or group value `filter` selects by and `detail` the other parameters
    /// (an execution by contact, `key`, and flow, `detail`); on other tables `key` may
    /// stand for all of them and `detail` be empty.
    pub fn find_memo<T: Record>(
        &mut self,
        filter: &'static str,
        key: &str,
        detail: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Arc<T>>> {
        self.memo_or_with::<T, Option<Arc<T>>>(filter, key, detail, |tx| {
            Ok(tx.find::<T>(filter, params)?.map(Arc::new))
        })
    }

    /// Sets what `find_memo::<T>(filter, key, detail, …)` answers next, for a unit that has
    /// just written the row it would find (or taken it out of what the filter selects).
    /// Nothing on PostgreSQL.
    pub fn remember_found<T: Record>(
        &mut self,
        filter: &'static str,
        key: &str,
        detail: &str,
        row: Option<T>,
    ) {
        self.remember_with::<T, Option<Arc<T>>>(filter, key, detail, row.map(Arc::new));
    }

    /// `get`, remembered like `find_all_memo` (SQLite only).
    pub fn get_memo<T: Record>(&mut self, key: &str) -> Result<Option<Arc<T>>> {
        self.memo_or::<T, Option<Arc<T>>>("", key, |tx| Ok(tx.get::<T>(key)?.map(Arc::new)))
    }

    /// A value a query computes from `T`'s table (`load`, run with `key`), remembered like
    /// `find_all_memo`: forgotten when a statement writes what it read, unless the unit,
    /// having written it, tells what the value now is (`remember`). SQLite only; `load`
    /// runs every time on PostgreSQL.
    pub fn derived_memo<T: Record, V: Clone + Send + 'static>(
        &mut self,
        name: &'static str,
        key: &str,
        load: impl FnOnce(&mut Self) -> Result<V>,
    ) -> Result<V> {
        self.memo_or::<T, V>(name, key, load)
    }

    /// Sets what `derived_memo::<T, V>(name, key, …)` answers next (`remember_found` does
    /// it for `find_memo`), for a unit that has just
    /// written `T`'s table and knows the value it changed (a message's insert and its
    /// conversation's next index; an execution's step and the execution as it now is).
    /// Nothing on PostgreSQL.
    pub fn remember<T: Record, V: Send + 'static>(
        &mut self,
        name: &'static str,
        key: &str,
        value: V,
    ) {
        self.remember_with::<T, V>(name, key, "", value);
    }

    /// `remember`, for a value filed under a key that is new each time (an execution's
    /// SID) but read again as often as another key of the same table is (its contact's):
    /// it is kept across units when `admitted_as` has come up before, where `remember`
    /// would wait for `key` itself to come up twice (see `crate::memo`). Nothing on
    /// PostgreSQL.
    pub fn remember_admitted_as<T: Record, V: Send + 'static>(
        &mut self,
        name: &'static str,
        key: &str,
        admitted_as: &str,
        value: V,
    ) {
        self.file::<T, V>(name, key, "", admitted_as, value);
    }

    /// What `remember::<T, V>(name, key, …)` set, taken out of the memo (so not copied):
    /// for a value the unit will change and remember again once it has written the row it
    /// came from (an execution's parsed session). `None` when there is none, and always on
    /// PostgreSQL.
    pub fn take_remembered<T: Record, V: Send + 'static>(
        &mut self,
        name: &'static str,
        key: &str,
    ) -> Option<V> {
        if !matches!(self.db, Db::Sqlite(_)) {
            return None;
        }
        let q = question::<T, V>(name, "");
        self.memo.take::<V>(T::TABLE, key, q)
    }

    fn remember_with<T: Record, V: Send + 'static>(
        &mut self,
        filter: &'static str,
        key: &str,
        detail: &str,
        value: V,
    ) {
        self.file::<T, V>(filter, key, detail, key, value);
    }

    /// Files `value` as the answer to (`filter`, `key`, `detail`), kept across units when
    /// `admitted_as` (usually `key` itself) has come up before. Nothing on PostgreSQL.
    fn file<T: Record, V: Send + 'static>(
        &mut self,
        filter: &'static str,
        key: &str,
        detail: &str,
        admitted_as: &str,
        value: V,
    ) {
        if !matches!(self.db, Db::Sqlite(_)) {
            return;
        }
        let q = question::<T, V>(filter, detail);
        self.memo
            .put_admitted_as(T::TABLE, key, admitted_as, q, value);
    }

    fn memo_or<T: Record, V: Clone + Send + 'static>(
        &mut self,
        filter: &'static str,
        key: &str,
        load: impl FnOnce(&mut Self) -> Result<V>,
    ) -> Result<V> {
        self.memo_or_with::<T, V>(filter, key, "", load)
    }

    /// What `load` read from `T`'s table for (`filter`, `key`, `detail`) earlier, or
    /// `load`'s answer, remembered. `load` runs every time on PostgreSQL.
    fn memo_or_with<T: Record, V: Clone + Send + 'static>(
        &mut self,
        filter: &'static str,
        key: &str,
        detail: &str,
        load: impl FnOnce(&mut Self) -> Result<V>,
    ) -> Result<V> {
        if !matches!(self.db, Db::Sqlite(_)) {
            return load(self);
        }
        let q = question::<T, V>(filter, detail);
        if let Some(known) = self.memo.get::<V>(T::TABLE, key, q) {
            return Ok(known);
        }
        let value = load(self)?;
        self.memo.put(T::TABLE, key, q, value.clone());
        Ok(value)
    }

    /// Forgets the memos a statement may change: those of the table an INSERT, UPDATE or
    /// DELETE writes to (nothing in the schema writes through triggers or cascades), and
    /// all of them for any other statement but a `SELECT`.
    pub(super) fn forget_table(&mut self, table: &str) {
        let memo = &mut self.memo;
        if !memo.is_empty() {
            memo.forget_table(table);
        }
    }

    /// Forgets what a record operation on `row` may change: on a table remembered by row,
    /// the memos keyed by its key or group (and by the group it had, `before`); on any
    /// other, the table's.
    pub(super) fn forget_row<T: Record>(&mut self, row: &T, before: Option<&T>) {
        let memo = &mut self.memo;
        if memo.is_empty() {
            return;
        }
        if !T::MEMO_BY_ROW {
            memo.forget_table(T::TABLE);
            return;
        }
        memo.forget_key(T::TABLE, row.key());
        if let Some(group) = row.memo_group() {
            memo.forget_key(T::TABLE, group);
        }
        if let Some(group) = before.and_then(|b| b.memo_group())
            && Some(group) != row.memo_group()
        {
            // A row does not change group (`Record::memo_group`); if one did, say so loudly
            // in tests and stay correct here.
            debug_assert!(false, "{} {} changed its memo group", T::TABLE, row.key());
            memo.forget_key(T::TABLE, group);
        }
    }

    pub(super) fn forget_memo_on_write(&mut self, sql: &str) {
        let memo = &mut self.memo;
        if memo.is_empty() {
            return;
        }
        match written_table(sql) {
            Written::Nothing => {}
            Written::Table(t) => {
                // Table names are ASCII; the memo's are lower case, as the schema's.
                if t.bytes().any(|b| b.is_ascii_uppercase()) {
                    memo.forget_table(&t.to_ascii_lowercase());
                } else {
                    memo.forget_table(t);
                }
            }
            Written::Unknown => memo.clear(),
        }
    }
}

/// What a memo of `T`'s table answering with a `V` is an answer to.
fn question<'a, T: Record, V: 'static>(filter: &'static str, detail: &'a str) -> Question<'a> {
    Question {
        record: std::any::TypeId::of::<(T, V)>(),
        filter,
        detail,
    }
}

/// What a statement writes to, read from its first words.
#[derive(Debug, PartialEq)]
enum Written<'s> {
    Nothing,
    Table(&'s str),
    Unknown,
}

/// `SELECT …` writes nothing; `INSERT [OR …] INTO t`, `REPLACE INTO t`, `UPDATE [OR …] t`
/// and `DELETE FROM t` write to `t` (SQLite and PostgreSQL write one table per statement);
/// anything else (`WITH …`, DDL, pragmas) is `Unknown`. Looking at the first words, not
/// searching the whole text: this runs for every write of a unit that holds a memo.
fn written_table(sql: &str) -> Written<'_> {
    // Bytes, not chars: every keyword and accepted table name is ASCII.
    let mut words = sql
        .as_bytes()
        .split(|b| b.is_ascii_whitespace() || *b == b'(')
        .filter(|w| !w.is_empty());
    let is = |w: Option<&[u8]>, k: &str| w.is_some_and(|w| w.eq_ignore_ascii_case(k.as_bytes()));
    let first = words.next();
    if is(first, "SELECT") {
        return Written::Nothing;
    }
    let keyword_before_table = if is(first, "INSERT") || is(first, "REPLACE") {
        "INTO"
    } else if is(first, "DELETE") {
        "FROM"
    } else if is(first, "UPDATE") {
        ""
    } else {
        return Written::Unknown;
    };
    let mut next = words.next();
    // `OR REPLACE`, `OR IGNORE`, … (the conflict clause).
    if is(next, "OR") {
        words.next();
        next = words.next();
    }
    if !keyword_before_table.is_empty() {
        if !is(next, keyword_before_table) {
            return Written::Unknown;
        }
        next = words.next();
    }
    match next {
        Some(t) if t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') => {
            // All ASCII, so this is a whole `str` of its own.
            std::str::from_utf8(t).map_or(Written::Unknown, Written::Table)
        }
        _ => Written::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::{Written, written_table};

    #[test]
    fn the_table_a_statement_writes_is_read_from_its_first_words() {
        for (sql, want) in [
            ("SELECT * FROM participants", Written::Nothing),
            ("  select 1", Written::Nothing),
            (
                "INSERT INTO participants (sid) VALUES (?1)",
                Written::Table("participants"),
            ),
            (
                "INSERT OR REPLACE INTO bindings(a) VALUES (1)",
                Written::Table("bindings"),
            ),
            ("REPLACE INTO jobs VALUES (1)", Written::Table("jobs")),
            (
                "UPDATE conversations SET state = ?1",
                Written::Table("conversations"),
            ),
            (
                "update OR ignore conversation_webhooks set x = 1",
                Written::Table("conversation_webhooks"),
            ),
            (
                "DELETE FROM conversation_webhooks WHERE sid = ?1",
                Written::Table("conversation_webhooks"),
            ),
            ("\n  DELETE\n FROM messages", Written::Table("messages")),
            (
                "WITH x AS (SELECT 1) DELETE FROM participants",
                Written::Unknown,
            ),
            ("INSERT INTO \"participants\" VALUES (1)", Written::Unknown),
            ("DELETE participants", Written::Unknown),
            ("PRAGMA foreign_keys = ON", Written::Unknown),
            ("", Written::Unknown),
        ] {
            assert_eq!(written_table(sql), want, "{sql}");
        }
    }
}
