//! SIDs: two upper-case letters and 32 lower-case hex digits, Twilio's shape (the CLI
//! checks it against `^XX[0-9a-fA-F]{32}$` before sending anything).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub trait SidGen: Send + Sync + 'static {
    fn sid(&self, prefix: &str) -> String;

    /// A secret (auth token, API key secret): 32 hex digits from the OS random source.
    fn secret(&self) -> String;
}

fn format_sid(prefix: &str, value: u128) -> String {
    // By hand rather than `format!("{value:032x}")`: an inbound text makes about ten SIDs
    // on the writer thread, and the formatter's padding path cost ~2 % of it (callgrind).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(prefix.len() + 32);
    s.push_str(prefix);
    for shift in (0..32).rev() {
        s.push(HEX[((value >> (shift * 4)) & 0xf) as usize] as char);
    }
    s
}

thread_local! {
    static RNG: std::cell::RefCell<StdRng> = std::cell::RefCell::new(StdRng::from_os_rng());
}

/// SIDs ordered by time, like UUIDv7: 48 bits of milliseconds since 1970, then 80 random
/// bits from a per-thread generator seeded by the OS.
///
/// Why not 128 random bits: every table has a unique index on `sid`, and most child tables
/// an index led by their parent's SID (`messages(conversation_sid, idx)`, …). With random
/// SIDs each new row lands on a random leaf page of each such index, so one inbound text
/// dirtied ~25 pages spread over the whole database: measured, ~100 KB of WAL per text,
/// a WAL of 12 GB after 100,000 parked executions, and new conversations 3× slower once the
/// indexes outgrew the page cache. Time-ordered SIDs append to the indexes' right edge and
/// keep the conversations in use on a few hot pages. 80 random bits still make SIDs
/// unguessable, and they never were secrets (every route checks the account).
pub struct RandomSids;

impl SidGen for RandomSids {
    fn sid(&self, prefix: &str) -> String {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let random: u128 = RNG.with(|r| r.borrow_mut().random());
        format_sid(prefix, time_ordered(millis, random))
    }

    fn secret(&self) -> String {
        let mut bytes = [0u8; 16];
        let mut rng = StdRng::from_os_rng();
        rng.fill(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The low 48 bits of `millis` above the low 80 bits of `random`.
fn time_ordered(millis: u128, random: u128) -> u128 {
    const RANDOM_BITS: u32 = 80;
    let time = millis & ((1u128 << 48) - 1);
    (time << RANDOM_BITS) | (random & ((1u128 << RANDOM_BITS) - 1))
}

/// Predictable SIDs for tests: a counter, optionally mixed with a seed so two test
/// servers do not collide.
pub struct SeededSids {
    seed: u64,
    counter: AtomicU64,
    secrets: Mutex<StdRng>,
}

impl SeededSids {
    pub fn new(seed: u64) -> Self {
        SeededSids {
            seed,
            counter: AtomicU64::new(1),
            secrets: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }
}

impl SidGen for SeededSids {
    fn sid(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format_sid(prefix, ((self.seed as u128) << 64) | n as u128)
    }

    fn secret(&self) -> String {
        let mut rng = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        let v: u128 = rng.random();
        format!("{v:032x}")
    }
}

/// A SID derived from a key: the same key always gives the same SID (FNV-1a, 128 bits).
/// For things Twilio names by SID that Parley derives (a media URL, an execution's contact).
pub fn stable_sid(prefix: &str, key: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in key.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format_sid(prefix, h)
}

/// True when `s` looks like a SID with the given prefix.
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_have_twilio_shape() {
        let s = RandomSids.sid("CH");
        assert!(is_sid(&s, "CH"), "{s}");
        assert_eq!(s[2..].to_lowercase(), s[2..]);
        let t = SeededSids::new(7);
        assert_ne!(t.sid("IM"), t.sid("IM"));
        assert!(is_sid(&t.sid("IM"), "IM"));
        assert_eq!(RandomSids.secret().len(), 32);
    }

    #[test]
    fn a_sid_is_its_value_in_32_lowercase_hex_digits() {
        for v in [
            0,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            assert_eq!(format_sid("FN", v), format!("FN{v:032x}"));
        }
    }

    #[test]
    fn random_sids_sort_by_time_and_stay_unpredictable() {
        // The time prefix orders SIDs made in different milliseconds …
        let early = format_sid("CH", time_ordered(1_700_000_000_000, u128::MAX));
        let late = format_sid("CH", time_ordered(1_700_000_000_001, 0));
        assert!(early < late, "{early} {late}");
        // … and the 80 random bits differ between SIDs made in the same one.
        let a = RandomSids.sid("CH");
        let b = RandomSids.sid("CH");
        assert_ne!(a[14..], b[14..]);
        assert!(a[..10] <= b[..10], "{a} {b}");
    }
}
