//! The split-condition evaluator: a condition type (one of the 17, or any string), a value
//! and a subject → `holds`, including `regex` with hostile patterns (the regex crate's size
//! limit keeps compilation bounded; its matcher is linear, so no pattern can hang a split).
//!
//! Input layout: byte 0 picks the type (`% 18`; 17 = the raw type string that follows,
//! up to the first NUL), then `value NUL subject`, read as UTF-8 with replacement.

#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_flow::fuzzing::{condition, condition_precompiled, condition_types};

/// Condition types that are each other's negation: exactly one of a pair holds.
const OPPOSITES: &[(&str, &str)] = &[
    ("equal_to", "not_equal_to"),
    ("matches_any_of", "does_not_match_any_of"),
    ("is_blank", "is_not_blank"),
    ("contains", "does_not_contain"),
    ("starts_with", "does_not_start_with"),
];

/// Strict orders: both never hold at once.
const EXCLUSIVE: &[(&str, &str)] = &[
    ("less_than", "greater_than"),
    ("is_before_time", "is_after_time"),
    ("is_before_date", "is_after_date"),
];

fn split_nul(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let types = condition_types();
    let (kind, rest) = match types.get(usize::from(selector) % (types.len() + 1)) {
        Some(kind) => (kind.to_string(), rest),
        None => {
            let (raw, rest) = split_nul(rest);
            (String::from_utf8_lossy(raw).into_owned(), rest)
        }
    };
    let (value, subject) = split_nul(rest);
    let value = String::from_utf8_lossy(value);
    let subject = String::from_utf8_lossy(subject);

    let holds = condition(&kind, &value, &subject);
    assert_eq!(
        holds,
        condition_precompiled(&kind, &value, &subject),
        "a precompiled regex disagrees with one compiled at run time"
    );
    if !types.contains(&kind.as_str()) {
        assert!(!holds, "an unknown condition type held");
    }
    for (a, b) in OPPOSITES {
        if kind == *a || kind == *b {
            assert_ne!(
                condition(a, &value, &subject),
                condition(b, &value, &subject),
                "{a} and {b} must be opposites"
            );
        }
    }
    for (a, b) in EXCLUSIVE {
        if kind == *a || kind == *b {
            assert!(
                !(condition(a, &value, &subject) && condition(b, &value, &subject)),
                "{a} and {b} both held"
            );
        }
    }
});
