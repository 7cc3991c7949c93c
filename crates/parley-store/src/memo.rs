//! What units of work have read, remembered so that reading it again runs no statement
//! (SQLite only; see `Tx::find_all_memo` and its siblings for how a read is remembered).
//!
//! Two lifetimes:
//! - a unit's own memo (`Memo::default()` in `Tx::new`): reader connections, and any `Tx`
//!   not run by the writer; it goes with the unit;
//! - the SQLite writer's memo, one for the writer thread, lent to every unit it runs. It
//!   outlives units and batches: an inbound text reads the same conversation, participants,
//!   webhooks and waiting execution as the previous text of that conversation, and on the
//!   writer nothing but the writer's own statements can have changed them since.
//!
//! Why that is sound, and what keeps it so:
//! - every write a unit makes goes through `Tx`, which forgets what the write may change
//!   (below) before the statement runs;
//! - the writer clears the memo whenever a transaction or savepoint is rolled back (the
//!   memo may hold rows the rollback undid) and whenever another connection has committed
//!   (`PRAGMA data_version`, checked at the start of each batch: another process writing to
//!   the file, which Parley never does but an operator with the `sqlite3` shell might);
//! - it holds at most `WRITER_LIMIT` entries and starts over when full.
//!
//! What a write forgets: a plain SQL statement forgets every memo of the table it writes
//! (`INSERT … INTO t`, `UPDATE t`, `DELETE FROM t`), and everything when the table cannot
//! be read from its first words. A record operation (`Tx::insert`, `update_changed`) on a
//! table whose record is remembered by row (`Record::MEMO_BY_ROW`) forgets only the memos
//! keyed by that row's key or by its group (`Record::memo_group`, e.g. its conversation);
//! on any other table it forgets the table. So a memo on a table remembered by row must be
//! keyed by the key or the group value its query selects by (`conversation_sid = ?1` keyed
//! by that conversation's SID): a write to any other row cannot change its answer.

use std::any::{Any, TypeId};
use std::collections::HashMap;

/// Entries the writer's memo holds before it starts over: about six per conversation in
/// use (its binding, row, participants, webhooks, next message index and waiting
/// execution), so a few thousand conversations texting at once stay remembered. An entry
/// is a few hundred bytes to a few KB (an execution's session): ~20-60 MB when full.
pub(crate) const WRITER_LIMIT: usize = 16_384;

#[derive(Default)]
pub(crate) struct Memo {
    tables: HashMap<&'static str, HashMap<String, Vec<Slot>>>,
    entries: usize,
    /// 0: no limit (a unit's own memo lives as long as the unit).
    limit: usize,
    /// Reads answered from memory and reads that ran a statement (the writer's figures).
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

/// One remembered answer: what `record` (the record type and the answer's type) and
/// `filter` (the query, or the name of a derived value) gave for the memo's key and
/// `detail` (the query's other parameters, when the key alone does not name them).
struct Slot {
    record: TypeId,
    filter: &'static str,
    detail: Box<str>,
    value: Box<dyn Any + Send>,
}

/// What a remembered answer is an answer to (besides the table and key it is filed under).
#[derive(Clone, Copy)]
pub(crate) struct Question<'a> {
    pub(crate) record: TypeId,
    pub(crate) filter: &'static str,
    pub(crate) detail: &'a str,
}

impl Slot {
    fn answers(&self, q: &Question<'_>) -> bool {
        self.record == q.record && self.filter == q.filter && &*self.detail == q.detail
    }
}

impl Memo {
    /// The writer's memo, bounded.
    pub(crate) fn for_writer() -> Memo {
        Memo {
            limit: WRITER_LIMIT,
            ..Memo::default()
        }
    }

    pub(crate) fn get<V: Clone + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
    ) -> Option<V> {
        let found = self
            .tables
            .get(table)
            .and_then(|keys| keys.get(key))
            .and_then(|slots| slots.iter().find(|s| s.answers(&q)))
            .and_then(|s| s.value.downcast_ref::<V>())
            .cloned();
        match found {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        found
    }

    pub(crate) fn put<V: Send + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
        value: V,
    ) {
        if self.limit > 0 && self.entries >= self.limit {
            self.clear();
        }
        let slots = self
            .tables
            .entry(table)
            .or_default()
            .entry(key.to_string())
            .or_default();
        match slots.iter_mut().find(|s| s.answers(&q)) {
            Some(slot) => slot.value = Box::new(value),
            None => {
                slots.push(Slot {
                    record: q.record,
                    filter: q.filter,
                    detail: q.detail.into(),
                    value: Box::new(value),
                });
                self.entries += 1;
            }
        }
    }

    /// Takes a remembered value out (it is then forgotten): for values that are costly to
    /// copy and that the taker replaces once it has written what it changed.
    pub(crate) fn take<V: 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
    ) -> Option<V> {
        let slots = self
            .tables
            .get_mut(table)
            .and_then(|keys| keys.get_mut(key));
        let taken = slots.and_then(|slots| {
            let at = slots.iter().position(|s| s.answers(&q))?;
            Some(slots.swap_remove(at))
        });
        let Some(slot) = taken else {
            self.misses += 1;
            return None;
        };
        self.entries -= 1;
        match slot.value.downcast::<V>() {
            Ok(v) => {
                self.hits += 1;
                Some(*v)
            }
            Err(_) => {
                self.misses += 1;
                None
            }
        }
    }

    /// Forgets every memo of `table`.
    pub(crate) fn forget_table(&mut self, table: &str) {
        if let Some(keys) = self.tables.remove(table) {
            self.entries -= keys.values().map(Vec::len).sum::<usize>();
        }
    }

    /// Forgets the memos of `table` keyed by `key`.
    pub(crate) fn forget_key(&mut self, table: &str, key: &str) {
        if let Some(slots) = self.tables.get_mut(table).and_then(|keys| keys.remove(key)) {
            self.entries -= slots.len();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.tables.clear();
        self.entries = 0;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<T: 'static>(filter: &'static str) -> Question<'static> {
        Question {
            record: TypeId::of::<T>(),
            filter,
            detail: "",
        }
    }

    #[test]
    fn answers_by_table_key_record_and_filter() {
        let mut m = Memo::default();
        m.put("t", "K1", q::<u8>("a = ?1"), 1i64);
        m.put("t", "K1", q::<u8>("b = ?1"), 2i64);
        m.put("t", "K1", q::<u16>("a = ?1"), 3i64);
        m.put("u", "K1", q::<u8>("a = ?1"), 4i64);
        assert_eq!(m.get::<i64>("t", "K1", q::<u8>("a = ?1")), Some(1));
        assert_eq!(m.get::<i64>("t", "K1", q::<u8>("b = ?1")), Some(2));
        assert_eq!(m.get::<i64>("t", "K1", q::<u16>("a = ?1")), Some(3));
        assert_eq!(m.get::<i64>("u", "K1", q::<u8>("a = ?1")), Some(4));
        assert_eq!(m.get::<i64>("t", "K2", q::<u8>("a = ?1")), None);
        // The same entry put again is replaced, not added.
        m.put("t", "K1", q::<u8>("a = ?1"), 5i64);
        assert_eq!(m.get::<i64>("t", "K1", q::<u8>("a = ?1")), Some(5));
        assert_eq!(m.len(), 4);
        assert_eq!((m.hits, m.misses), (5, 1));
        // The detail (the query's other parameters) is part of the question.
        let flow = |detail: &'static str| Question {
            detail,
            ..q::<u8>("a = ?1 AND b = ?2")
        };
        m.put("t", "K1", flow("FW1"), 6i64);
        m.put("t", "K1", flow("FW2"), 7i64);
        assert_eq!(m.get::<i64>("t", "K1", flow("FW1")), Some(6));
        assert_eq!(m.get::<i64>("t", "K1", flow("FW2")), Some(7));
        assert_eq!(m.get::<i64>("t", "K1", flow("FW3")), None);
        m.forget_key("t", "K1");
        assert_eq!(m.get::<i64>("t", "K1", flow("FW2")), None);
        // Taken out, a value is gone.
        m.put("t", "K1", q::<u8>("a = ?1"), String::from("big"));
        let before = m.len();
        assert_eq!(
            m.take::<String>("t", "K1", q::<u8>("a = ?1")).as_deref(),
            Some("big")
        );
        assert_eq!(m.len(), before - 1);
        assert_eq!(m.take::<String>("t", "K1", q::<u8>("a = ?1")), None);
        assert_eq!(m.get::<String>("t", "K1", q::<u8>("a = ?1")), None);
    }

    #[test]
    fn forgets_a_key_a_table_or_everything() {
        let mut m = Memo::default();
        for key in ["K1", "K2"] {
            m.put("t", key, q::<u8>("f"), 1i64);
            m.put("t", key, q::<u8>("g"), 1i64);
            m.put("u", key, q::<u8>("f"), 1i64);
        }
        m.forget_key("t", "K1");
        assert_eq!(m.get::<i64>("t", "K1", q::<u8>("f")), None);
        assert_eq!(m.get::<i64>("t", "K1", q::<u8>("g")), None);
        assert_eq!(m.get::<i64>("t", "K2", q::<u8>("f")), Some(1));
        assert_eq!(m.get::<i64>("u", "K1", q::<u8>("f")), Some(1));
        assert_eq!(m.len(), 4);
        m.forget_table("t");
        assert_eq!(m.get::<i64>("t", "K2", q::<u8>("f")), None);
        assert_eq!(m.len(), 2);
        m.forget_key("t", "K2");
        m.forget_table("nothing here");
        assert_eq!(m.len(), 2);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.get::<i64>("u", "K1", q::<u8>("f")), None);
    }

    #[test]
    fn the_writers_memo_starts_over_when_full() {
        let mut m = Memo::for_writer();
        for i in 0..WRITER_LIMIT {
            m.put("t", &format!("K{i}"), q::<u8>("f"), i);
        }
        assert_eq!(m.len(), WRITER_LIMIT);
        assert_eq!(m.get::<usize>("t", "K0", q::<u8>("f")), Some(0));
        m.put("t", "one more", q::<u8>("f"), 0usize);
        assert_eq!(m.len(), 1, "full: cleared, then the new entry");
        assert_eq!(m.get::<usize>("t", "K0", q::<u8>("f")), None);
    }
}
