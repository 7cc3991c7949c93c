//! ISO 8601 durations as Conversations timers use them (`PT1M`, `PT10M`, `P1D`, `PT0S`).

/// Milliseconds in the duration, or None if it is not ISO 8601. Years and months are not
/// accepted: their length depends on the calendar.
pub fn parse_ms(s: &str) -> Option<i64> {
    let rest = s.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total: i64 = 0;
    total = total.checked_add(parse_part(date, &[('W', 604_800_000), ('D', 86_400_000)])?)?;
    if let Some(t) = time {
        total = total.checked_add(parse_part(
            t,
            &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)],
        )?)?;
    }
    Some(total)
}

fn parse_part(s: &str, units: &[(char, i64)]) -> Option<i64> {
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut next_unit = 0usize;
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let pos = units.iter().position(|(u, _)| *u == c)?;
        // Units appear at most once, in order.
        if pos < next_unit || num.is_empty() || num.len() > 12 {
            return None;
        }
        let n: i64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(units[pos].1)?)?;
        num.clear();
        next_unit = pos + 1;
    }
    if !num.is_empty() {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn parses_timer_durations() {
        assert_eq!(parse_ms("PT1M"), Some(60_000));
        assert_eq!(parse_ms("PT10M"), Some(600_000));
        assert_eq!(parse_ms("P1D"), Some(86_400_000));
        assert_eq!(parse_ms("P1DT2H"), Some(93_600_000));
        assert_eq!(parse_ms("PT0S"), Some(0));
        assert_eq!(parse_ms("P2W"), Some(1_209_600_000));
        for bad in [
            "", "P", "PT", "1M", "PTM", "PT1X", "PT1S1M", "P1Y", "banana",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }
}
