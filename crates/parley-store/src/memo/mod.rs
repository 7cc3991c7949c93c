//! What units of work have read, remembered so that reading it again runs no statement
//! (SQLite only; see `Tx::find_all_memo` and its siblings for how a read is remembered).
//!
//! Two lifetimes (`UnitMemo` is a unit's view of both):
//! - a unit's own memo: it goes with the unit. Reader connections, and any `Tx` not run by
//!   the writer, have only this one;
//! - the SQLite writer's memo, one for the writer thread, lent to every unit it runs. It
//!   outlives units and batches: an inbound text reads the same conversation, participants,
//!   webhooks and waiting execution as the previous text of that conversation, and on the
//!   writer nothing but the writer's own statements can have changed them since. An answer
//!   goes into the writer's memo only when its key comes up a second time (`Memo::admit`);
//!   until then it stays with the unit. A first contact (a new handset, a new conversation)
//!   would otherwise fill the writer's memo with copies nobody reads again: measured with
//!   valgrind's cache simulation, that doubled the writer's last-level cache misses when
//!   every text came from a new handset, and parking 80,000 executions got ~20 % slower.
//!
//! Why that is sound, and what keeps it so:
//! - every write a unit makes goes through `Tx`, which forgets what the write may change
//!   (below) before the statement runs;
//! - the writer clears the memo whenever a transaction or savepoint is rolled back (the
//!   memo may hold rows the rollback undid) and whenever another connection has committed
//!   (`PRAGMA data_version`, checked at the start of each batch: another process writing to
//!   the file, which Parley never does but an operator with the `sqlite3` shell might);
//! - it holds at most `WRITER_LIMIT` entries, forgetting the oldest first (a few at a time:
//!   clearing all of them at once freed up to a million allocations in one go, a stall of
//!   tens of milliseconds on the writer).
//!
//! What a write forgets: a plain SQL statement forgets every memo of the table it writes
//! (`INSERT … INTO t`, `UPDATE t`, `DELETE FROM t`), and everything when the table cannot
//! be read from its first words. A record operation (`Tx::insert`, `update_changed`) on a
//! table whose record is remembered by row (`Record::MEMO_BY_ROW`) forgets only the memos
//! keyed by that row's key or by its group (`Record::memo_group`, e.g. its conversation);
//! on any other table it forgets the table. So a memo on a table remembered by row must be
//! keyed by the key or the group value its query selects by (`conversation_sid = ?1` keyed
//! by that conversation's SID): a write to any other row cannot change its answer.

// Here: what an answer is (`Question`, `Slot`), a unit's own answers and `UnitMemo`, the
// view of both tiers units use. `writer`: the writer's memo, bounded, oldest out first.
// `admission`: which keys may enter it.
mod admission;
mod writer;

use std::any::{Any, TypeId};

pub(crate) use self::writer::Memo;

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
    fn new<V: Send + 'static>(q: &Question<'_>, value: V) -> Slot {
        Slot {
            record: q.record,
            filter: q.filter,
            detail: q.detail.into(),
            value: Box::new(value),
        }
    }

    fn answers(&self, q: &Question<'_>) -> bool {
        self.record == q.record && self.filter == q.filter && &*self.detail == q.detail
    }

    fn value<V: Clone + 'static>(&self) -> Option<V> {
        self.value.downcast_ref::<V>().cloned()
    }

    fn into_value<V: 'static>(self) -> Option<V> {
        self.value.downcast::<V>().ok().map(|v| *v)
    }
}

/// A unit's own remembered answers: a few, so a list searched in order.
#[derive(Default)]
struct OwnMemo {
    entries: Vec<OwnEntry>,
}

struct OwnEntry {
    table: &'static str,
    key: Box<str>,
    slot: Slot,
}

impl OwnMemo {
    fn position(&self, table: &str, key: &str, q: &Question<'_>) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.slot.answers(q) && e.table == table && &*e.key == key)
    }

    fn get<V: Clone + 'static>(&self, table: &str, key: &str, q: &Question<'_>) -> Option<V> {
        self.entries[self.position(table, key, q)?].slot.value()
    }

    fn put<V: Send + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: &Question<'_>,
        value: V,
    ) {
        match self.position(table, key, q) {
            Some(at) => self.entries[at].slot.value = Box::new(value),
            None => self.entries.push(OwnEntry {
                table,
                key: key.into(),
                slot: Slot::new(q, value),
            }),
        }
    }

    fn remove(&mut self, table: &str, key: &str, q: &Question<'_>) -> Option<Slot> {
        let at = self.position(table, key, q)?;
        Some(self.entries.swap_remove(at).slot)
    }

    fn forget_table(&mut self, table: &str) {
        self.entries.retain(|e| e.table != table);
    }

    fn forget_key(&mut self, table: &str, key: &str) {
        self.entries
            .retain(|e| !(e.table == table && &*e.key == key));
    }
}

/// What one unit of work remembers: its own entries, and the writer's memo when the unit
/// runs on the SQLite writer. An answer is in one of the two at most.
pub(crate) struct UnitMemo<'w> {
    own: OwnMemo,
    writer: Option<&'w mut Memo>,
}

impl<'w> UnitMemo<'w> {
    pub(crate) fn new() -> Self {
        UnitMemo {
            own: OwnMemo::default(),
            writer: None,
        }
    }

    pub(crate) fn with_writer(writer: &'w mut Memo) -> Self {
        UnitMemo {
            own: OwnMemo::default(),
            writer: Some(writer),
        }
    }

    pub(crate) fn get<V: Clone + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
    ) -> Option<V> {
        if let Some(v) = self.own.get::<V>(table, key, &q) {
            return Some(v);
        }
        self.writer.as_mut().and_then(|w| w.get::<V>(table, key, q))
    }

    pub(crate) fn put<V: Send + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
        value: V,
    ) {
        self.put_admitted_as(table, key, key, q, value)
    }

    /// `put`, admitted to the writer's memo by another key of the same table: for an
    /// answer filed under a key that is new every time (an execution's SID) but belongs to
    /// one that comes back (its contact), so it is read again as often as that one is.
    pub(crate) fn put_admitted_as<V: Send + 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        admitted_as: &str,
        q: Question<'_>,
        value: V,
    ) {
        // The new answer replaces the old one wherever that is.
        match self.writer.as_mut() {
            Some(w) if w.admit(table, admitted_as) => {
                self.own.remove(table, key, &q);
                w.put(table, key, q, value);
            }
            writer => {
                if let Some(w) = writer {
                    w.remove(table, key, &q);
                }
                self.own.put(table, key, &q, value);
            }
        }
    }

    pub(crate) fn take<V: 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
    ) -> Option<V> {
        if let Some(slot) = self.own.remove(table, key, &q) {
            return slot.into_value();
        }
        self.writer
            .as_mut()
            .and_then(|w| w.take::<V>(table, key, q))
    }

    pub(crate) fn forget_table(&mut self, table: &str) {
        self.own.forget_table(table);
        if let Some(w) = self.writer.as_mut() {
            w.forget_table(table);
        }
    }

    pub(crate) fn forget_key(&mut self, table: &str, key: &str) {
        self.own.forget_key(table, key);
        if let Some(w) = self.writer.as_mut() {
            w.forget_key(table, key);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.own.entries.clear();
        if let Some(w) = self.writer.as_mut() {
            w.clear();
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.own.entries.is_empty() && self.writer.as_ref().is_none_or(|w| w.is_empty())
    }
}

impl Drop for UnitMemo<'_> {
    /// The unit is over: the keys it kept to itself have now come up once, and the writer
    /// keeps them the next time a unit comes across them.
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            for e in &self.own.entries {
                w.note_seen(e.table, &e.key);
            }
        }
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
        let mut m = Memo::for_writer();
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
        let mut m = Memo::for_writer();
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
    fn a_key_reaches_the_writers_memo_the_second_time_it_comes_up() {
        let mut w = Memo::for_writer();
        {
            let mut unit = UnitMemo::with_writer(&mut w);
            unit.put("t", "K", q::<u8>("f"), 1i64);
            assert_eq!(
                unit.get::<i64>("t", "K", q::<u8>("f")),
                Some(1),
                "the unit has it"
            );
        }
        assert!(w.is_empty(), "the first time, only the unit kept it");
        {
            let mut unit = UnitMemo::with_writer(&mut w);
            assert_eq!(unit.get::<i64>("t", "K", q::<u8>("f")), None);
            unit.put("t", "K", q::<u8>("f"), 2i64);
        }
        assert_eq!(w.len(), 1, "the second time, the writer keeps it");
        {
            let mut unit = UnitMemo::with_writer(&mut w);
            assert_eq!(unit.get::<i64>("t", "K", q::<u8>("f")), Some(2));
            // A unit's forgetting reaches the writer's memo.
            unit.forget_key("t", "K");
        }
        assert!(w.is_empty());
    }

    #[test]
    fn an_answer_admitted_as_a_returning_key_is_kept_the_first_time() {
        let mut w = Memo::for_writer();
        // A new key belonging to one never seen stays with the unit (a first contact's
        // execution, which may never be read again).
        {
            let mut unit = UnitMemo::with_writer(&mut w);
            unit.put_admitted_as("t", "EX1", "CONTACT", q::<u8>("s"), 1i64);
            unit.put("t", "CONTACT", q::<u8>("f"), 0i64);
        }
        assert!(
            w.is_empty(),
            "nothing was admitted: the contact had not come up"
        );
        // Once the contact has come up, a new key belonging to it is kept at once.
        {
            let mut unit = UnitMemo::with_writer(&mut w);
            unit.put_admitted_as("t", "EX2", "CONTACT", q::<u8>("s"), 2i64);
        }
        assert_eq!(w.len(), 1);
        let mut unit = UnitMemo::with_writer(&mut w);
        assert_eq!(unit.take::<i64>("t", "EX2", q::<u8>("s")), Some(2));
        assert_eq!(unit.get::<i64>("t", "EX1", q::<u8>("s")), None);
    }
}
