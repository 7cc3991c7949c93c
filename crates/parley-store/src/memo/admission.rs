//! Which keys may enter the writer's memo: those that came up before.

/// Which keys have come up before, approximately: one bit per hash of a key in 128 KB (it
/// stays in the CPU's caches; a hash set of the keys themselves cost the writer ~1.5 µs a
/// text in cache misses). A key that collides with another is let in on its first time,
/// which only costs memory and a copy; the bits are cleared when a sixteenth of them are
/// set, so at most one key in sixteen gets in that way (an 8 KB filter cleared at half
/// full let in a quarter of the first contacts, and their evictions cost more than the
/// memo saved).
pub(super) struct Doorkeeper {
    bits: Box<[u64; DOORKEEPER_WORDS]>,
    set: usize,
    hasher: foldhash::fast::RandomState,
}

const DOORKEEPER_WORDS: usize = 16_384;

impl Default for Doorkeeper {
    fn default() -> Self {
        Doorkeeper {
            bits: Box::new([0; DOORKEEPER_WORDS]),
            set: 0,
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl Doorkeeper {
    fn position(&self, table: &str, key: &str) -> (usize, u64) {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one((table, key)) as usize % (DOORKEEPER_WORDS * 64);
        (h / 64, 1u64 << (h % 64))
    }

    pub(super) fn contains(&self, table: &str, key: &str) -> bool {
        let (word, bit) = self.position(table, key);
        self.bits[word] & bit != 0
    }

    pub(super) fn note(&mut self, table: &str, key: &str) {
        let (word, bit) = self.position(table, key);
        if self.bits[word] & bit != 0 {
            return;
        }
        if self.set >= DOORKEEPER_WORDS * 64 / 16 {
            self.bits.fill(0);
            self.set = 0;
        }
        self.bits[word] |= bit;
        self.set += 1;
    }
}
