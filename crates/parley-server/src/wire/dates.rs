//! Dates on the wire: `YYYY-MM-DDTHH:MM:SSZ` out (the only shape twilio-python turns into a
//! datetime), and the ISO 8601 variants clients send in.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

pub fn iso(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => "1970-01-01T00:00:00Z".to_string(),
    }
}

pub fn iso_opt(ms: Option<i64>) -> Option<String> {
    ms.map(iso)
}

/// RFC 2822, as the 2010 API and Messaging webhooks write dates.
pub fn rfc2822(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

/// Parses an ISO 8601 date-time (with offset or `Z`) or a plain date, to ms.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc().timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_twilio() {
        assert_eq!(iso(1_593_641_917_000), "2020-07-01T22:18:37Z");
        assert_eq!(parse("2020-07-01T22:18:37Z"), Some(1_593_641_917_000));
        assert_eq!(
            parse("2020-07-01T22:18:37.000+00:00"),
            Some(1_593_641_917_000)
        );
        assert_eq!(parse("2020-07-01"), Some(1_593_561_600_000));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(
            rfc2822(1_593_641_917_000),
            "Wed, 01 Jul 2020 22:18:37 +0000"
        );
    }
}
