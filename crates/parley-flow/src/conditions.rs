//! The 17 split condition types (studio.md §4) and Studio's evaluation rules: both sides
//! trimmed and compared case-insensitively, `matches_any_of` lists split on commas, regexes
//! anchored and case-insensitive, numbers/times/dates compared only when both sides parse.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use regex::{Regex, RegexBuilder};

/// Compiled regexes are capped so a hostile pattern cannot make compilation expensive.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Builds the regex for a `regex` condition the way Studio does: the pattern is wrapped in
/// `^…$` *without* a group, so a bare alternation `a|b` behaves like `(^a)|(b$)` — a known
/// Studio trap that flows written for Studio rely on (authors wrap in `(?:…)`).
/// Case-insensitive, and `.` matches newlines too.
pub(crate) fn anchored_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^{pattern}$"))
        .case_insensitive(true)
        .dot_matches_new_line(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Regexes of conditions whose value is static, compiled once per flow revision.
#[derive(Debug, Default)]
pub(crate) struct RegexCache {
    compiled: HashMap<String, Option<Regex>>,
}

impl RegexCache {
    pub(crate) fn insert(&mut self, pattern: &str) {
        if !self.compiled.contains_key(pattern) {
            let re = anchored_regex(pattern.trim()).ok();
            self.compiled.insert(pattern.to_owned(), re);
        }
    }

    /// The compiled regex for a pattern; patterns rendered at run time are compiled on the
    /// spot. `None` when the pattern does not compile (the condition is then false).
    fn get(&self, pattern: &str) -> Option<Cow<'_, Regex>> {
        match self.compiled.get(pattern) {
            Some(re) => re.as_ref().map(Cow::Borrowed),
            None => anchored_regex(pattern.trim()).ok().map(Cow::Owned),
        }
    }
}

/// Whether one condition holds for `subject` (the rendered split input) and `value` (the
/// rendered condition value). An unknown condition type never holds.
pub(crate) fn holds(kind: &str, subject: &str, value: &str, regexes: &RegexCache) -> bool {
    let s = normalise(subject);
    let v = normalise(value);
    match kind {
        "equal_to" => s == v,
        "not_equal_to" => s != v,
        "matches_any_of" => any_of(&s, value),
        "does_not_match_any_of" => !any_of(&s, value),
        "is_blank" => s.is_empty(),
        "is_not_blank" => !s.is_empty(),
        "regex" => regexes
            .get(value)
            .is_some_and(|re| re.is_match(subject.trim())),
        "contains" => s.contains(v.as_str()),
        "does_not_contain" => !s.contains(v.as_str()),
        "starts_with" => s.starts_with(v.as_str()),
        "does_not_start_with" => !s.starts_with(v.as_str()),
        "less_than" => compare(number(&s), number(&v), |a, b| a < b),
        "greater_than" => compare(number(&s), number(&v), |a, b| a > b),
        "is_before_time" => compare(time(&s), time(&v), |a, b| a < b),
        "is_after_time" => compare(time(&s), time(&v), |a, b| a > b),
        "is_before_date" => compare(date(&s), date(&v), |a, b| a < b),
        "is_after_date" => compare(date(&s), date(&v), |a, b| a > b),
        _ => false,
    }
}

/// The alternatives of a `matches_any_of` value: split on commas, trimmed; empty parts (a
/// trailing comma) are dead and never match, as in Studio.
pub(crate) fn alternatives(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

fn any_of(normalised_subject: &str, value: &str) -> bool {
    alternatives(value)
        .filter(|alt| !alt.is_empty())
        .any(|alt| normalise(alt) == normalised_subject)
}

fn normalise(s: &str) -> String {
    s.trim().to_lowercase()
}

fn compare<T>(a: Option<T>, b: Option<T>, op: impl Fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => op(&a, &b),
        _ => false,
    }
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `HH:MM`, 24-hour clock.
fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// `YYYY-MM-DD`.
fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(kind: &str, subject: &str, value: &str) -> bool {
        holds(kind, subject, value, &RegexCache::default())
    }

    #[test]
    fn text_comparisons_trim_and_ignore_case() {
        assert!(h("equal_to", " YES ", "yes"));
        assert!(!h("not_equal_to", "Yes", "yes "));
        assert!(h("contains", "aab", "A"));
        assert!(h("starts_with", " Hoot", "hoo"));
        assert!(h("does_not_start_with", "hoot", "oot"));
        assert!(h("does_not_contain", "abc", "d"));
    }

    #[test]
    fn any_of_splits_on_commas() {
        assert!(h("matches_any_of", "Yes", "yes, Yes"));
        assert!(
            !h("matches_any_of", "", "yes,"),
            "empty alternative is dead"
        );
        assert!(h("does_not_match_any_of", "maybe", "yes,no"));
    }

    #[test]
    fn blanks() {
        assert!(h("is_blank", "  ", "ignored"));
        assert!(h("is_not_blank", " x ", ""));
    }

    #[test]
    fn regex_is_anchored_case_insensitive_and_invalid_is_false() {
        assert!(h("regex", "Hello World", "hello.*"));
        assert!(!h("regex", "say hello", "hello"));
        assert!(!h("regex", "x", "("));
        // The Studio trap: `a|b` is `(^a)|(b$)`.
        assert!(h("regex", "ax", "a|b"));
        assert!(!h("regex", "ax", "(?:a|b)"));
    }

    #[test]
    fn numbers_times_dates_compare_only_when_both_parse() {
        assert!(h("less_than", "5", "10"));
        assert!(!h("less_than", "abc", "10"));
        assert!(!h("greater_than", "5", "x"));
        assert!(h("greater_than", " 10.5 ", "10"));
        assert!(h("is_before_time", "09:30", "10:00"));
        assert!(h("is_after_time", "23:59", "00:00"));
        assert!(!h("is_after_time", "noon", "00:00"));
        assert!(h("is_before_date", "2024-01-31", "2024-02-01"));
        assert!(h("is_after_date", "2025-01-01", "2024-12-31"));
        assert!(!h("is_after_date", "2025/01/01", "2024-12-31"));
    }

    #[test]
    fn unknown_type_never_holds() {
        assert!(!h("sounds_like", "a", "a"));
    }
}
