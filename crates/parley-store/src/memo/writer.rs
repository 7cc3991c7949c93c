//! The SQLite writer's memo: answers kept across units, bounded, oldest forgotten first,
//! and let in only for keys that came up before (`admission`).

use std::collections::VecDeque;

use foldhash::HashMap;

use super::admission::Doorkeeper;
use super::{Question, Slot};

/// Entries the writer's memo holds before it forgets the oldest: about eight per
/// conversation in use (its binding, row, participants, webhooks, next message index,
/// waiting execution and its parsed session), so a couple of thousand conversations texting
/// at once stay remembered. An entry is a few hundred bytes to a few KB (an execution's
/// session): ~20-60 MB when full.
pub(crate) const WRITER_LIMIT: usize = 16_384;

/// The SQLite writer's memo (a unit's own answers are in `super::OwnMemo`).
pub(crate) struct Memo {
    tables: HashMap<&'static str, HashMap<String, Filed>>,
    entries: usize,
    /// Entries held before the oldest are forgotten (`WRITER_LIMIT`).
    limit: usize,
    /// Where keys were filed, oldest first, with their listing number. A key forgotten since, or forgotten and filed again (a newer listing), stays
    /// listed until its turn comes or the list is compacted: a listing counts only while
    /// the key's `Filed::listing` is its number, so there are never more live listings
    /// than keys, and compacting always makes room.
    order: VecDeque<(&'static str, String, u64)>,
    next_listing: u64,
    /// The (table, key) pairs asked or told once, as bits of a small filter: what `admit` lets in the second time.
    seen: Doorkeeper,
    /// Reads answered from memory and reads that ran a statement (the writer's figures).
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

/// The answers filed under one key, and the number of the key's live listing in the
/// order of arrival.
struct Filed {
    listing: u64,
    slots: Vec<Slot>,
}

impl Memo {
    /// The writer's memo, holding up to `WRITER_LIMIT` entries.
    pub(crate) fn for_writer() -> Memo {
        Memo {
            tables: HashMap::default(),
            entries: 0,
            limit: WRITER_LIMIT,
            order: VecDeque::new(),
            next_listing: 0,
            seen: Doorkeeper::default(),
            hits: 0,
            misses: 0,
        }
    }

    /// Whether an entry filed under (`table`, `key`) may be kept: only keys that an earlier
    /// unit of work came across (`UnitMemo` notes them when it ends).
    pub(super) fn admit(&self, table: &str, key: &str) -> bool {
        self.seen.contains(table, key)
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
            .and_then(|f| f.slots.iter().find(|s| s.answers(&q)))
            .and_then(Slot::value::<V>);
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
        self.make_room();
        let keys = self.tables.entry(table).or_default();
        let filed = match keys.get_mut(key) {
            Some(filed) => filed,
            None => {
                let listing = self.next_listing;
                self.next_listing += 1;
                self.order.push_back((table, key.to_string(), listing));
                keys.entry(key.to_string()).or_insert(Filed {
                    listing,
                    slots: Vec::new(),
                })
            }
        };
        match filed.slots.iter_mut().find(|s| s.answers(&q)) {
            Some(slot) => slot.value = Box::new(value),
            None => {
                filed.slots.push(Slot::new(&q, value));
                self.entries += 1;
            }
        }
    }

    /// Forgets the oldest keys until there is room for one more entry, and drops the
    /// stale listings (keys forgotten, or filed again, since) when the list holds twice as
    /// many listings as the memo may hold entries: there are never more live listings
    /// than keys, nor keys than entries, so the work is paid for by the puts that listed
    /// them.
    fn make_room(&mut self) {
        while self.entries >= self.limit {
            let Some((table, key, listing)) = self.order.pop_front() else {
                break;
            };
            if self.listed(table, &key, listing) {
                self.forget_key(table, &key);
            }
        }
        if self.order.len() > 2 * self.limit {
            let mut order = std::mem::take(&mut self.order);
            order.retain(|(t, k, n)| self.listed(t, k, *n));
            self.order = order;
        }
    }

    /// Whether `listing` is the live listing of (`table`, `key`).
    fn listed(&self, table: &str, key: &str, listing: u64) -> bool {
        self.tables
            .get(table)
            .and_then(|keys| keys.get(key))
            .is_some_and(|f| f.listing == listing)
    }

    /// Takes a remembered value out (it is then forgotten): for values that are costly to
    /// copy and that the taker replaces once it has written what it changed.
    pub(crate) fn take<V: 'static>(
        &mut self,
        table: &'static str,
        key: &str,
        q: Question<'_>,
    ) -> Option<V> {
        let taken = self.remove(table, key, &q).and_then(Slot::into_value::<V>);
        match taken {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        taken
    }

    /// Removes the answer to `q` filed under (`table`, `key`), if there is one.
    pub(super) fn remove(&mut self, table: &str, key: &str, q: &Question<'_>) -> Option<Slot> {
        let keys = self.tables.get_mut(table)?;
        let slots = &mut keys.get_mut(key)?.slots;
        let at = slots.iter().position(|s| s.answers(q))?;
        let slot = slots.swap_remove(at);
        // A key left with no answers goes too (an execution whose session was taken by its
        // last event): an empty key would hold its listing for nothing.
        if slots.is_empty() {
            keys.remove(key);
        }
        self.entries -= 1;
        Some(slot)
    }

    /// Forgets every memo of `table`.
    pub(crate) fn forget_table(&mut self, table: &str) {
        if let Some(keys) = self.tables.remove(table) {
            self.entries -= keys.values().map(|f| f.slots.len()).sum::<usize>();
        }
    }

    /// Forgets the memos of `table` keyed by `key`.
    pub(crate) fn forget_key(&mut self, table: &str, key: &str) {
        if let Some(filed) = self.tables.get_mut(table).and_then(|keys| keys.remove(key)) {
            self.entries -= filed.slots.len();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.tables.clear();
        self.order.clear();
        self.entries = 0;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Notes that a unit came across (`table`, `key`): the next answer filed under it is
    /// admitted.
    pub(super) fn note_seen(&mut self, table: &str, key: &str) {
        self.seen.note(table, key);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::any::TypeId;

    fn q<T: 'static>(filter: &'static str) -> Question<'static> {
        Question {
            record: TypeId::of::<T>(),
            filter,
            detail: "",
        }
    }

    #[test]
    fn the_writers_memo_forgets_the_oldest_when_full() {
        let mut m = Memo::for_writer();
        for i in 0..WRITER_LIMIT {
            m.put("t", &format!("K{i}"), q::<u8>("f"), i);
        }
        assert_eq!(m.len(), WRITER_LIMIT);
        assert_eq!(m.get::<usize>("t", "K0", q::<u8>("f")), Some(0));
        m.put("t", "one more", q::<u8>("f"), 0usize);
        assert_eq!(m.len(), WRITER_LIMIT, "full: the oldest made room");
        assert_eq!(m.get::<usize>("t", "K0", q::<u8>("f")), None);
        assert_eq!(m.get::<usize>("t", "K1", q::<u8>("f")), Some(1));
        assert_eq!(m.get::<usize>("t", "one more", q::<u8>("f")), Some(0));

        // Keys forgotten meanwhile neither count nor pile up in the order of arrival.
        for round in 0..10 {
            for i in 0..WRITER_LIMIT {
                let key = format!("R{round}-{i}");
                m.put("u", &key, q::<u8>("f"), i);
                m.forget_key("u", &key);
            }
        }
        // (The first of those puts found the memo full and made room: K1 went.)
        assert_eq!(m.len(), WRITER_LIMIT - 1);
        assert!(m.order.len() <= 2 * WRITER_LIMIT + 1, "{}", m.order.len());
        assert_eq!(m.get::<usize>("t", "K1", q::<u8>("f")), None);
        assert_eq!(m.get::<usize>("t", "K2", q::<u8>("f")), Some(2));
    }

    /// The order of arrival never holds more than twice the limit, and compacting it
    /// leaves one listing per key: otherwise every put would scan the whole list (the
    /// first version counted a key listed twice as two live listings, and kept keys whose
    /// answer had been taken; the tutorial bench fell from ~6,000 to ~240 texts/s within
    /// ten seconds).
    #[test]
    fn listings_stay_bounded_when_keys_are_filed_again_or_taken() {
        let mut m = Memo::for_writer();
        let live = |m: &Memo| {
            m.order
                .iter()
                .filter(|(t, k, n)| m.listed(t, k, *n))
                .count()
        };
        // Half the memo's worth of keys stay (conversations in use) …
        for i in 0..WRITER_LIMIT / 2 {
            m.put("t", &format!("K{i}"), q::<u8>("f"), i);
        }
        for i in 0..3 * WRITER_LIMIT {
            // … one key is forgotten and filed again by every text (a conversation's next
            // message index, forgotten by each message written) …
            m.forget_key("next", "C1");
            m.put("next", "C1", q::<u8>("f"), i);
            // … and a session is parked, then taken by its answer and not put back (the
            // execution ended).
            let key = format!("E{i}");
            m.put("sessions", &key, q::<u8>("s"), i);
            assert_eq!(m.take::<usize>("sessions", &key, q::<u8>("s")), Some(i));
            assert!(m.order.len() <= 2 * WRITER_LIMIT + 1, "{}", m.order.len());
        }
        assert_eq!(m.len(), WRITER_LIMIT / 2 + 1);
        assert!(
            m.tables.get("sessions").is_none_or(|keys| keys.is_empty()),
            "taken answers leave no empty keys"
        );
        assert_eq!(live(&m), WRITER_LIMIT / 2 + 1, "one live listing per key");
        assert_eq!(m.get::<usize>("t", "K0", q::<u8>("f")), Some(0));
        assert_eq!(
            m.get::<usize>("next", "C1", q::<u8>("f")),
            Some(3 * WRITER_LIMIT - 1)
        );
    }
}
