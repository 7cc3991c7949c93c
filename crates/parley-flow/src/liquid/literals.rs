//! Integer literals too large for Liquid. liquid-core's grammar accepts any run of digits as
//! an integer literal and then converts it with `parse::<i64>().expect(…)`, so parsing
//! `{{ 99999999999999999999 }}` panics (found by the `liquid_render` fuzz target; see
//! docs/fuzzing.md). Templates are checked here first and such a literal is a parse error.
//!
//! The scan follows liquid's lexer: only the inside of `{{ … }}` and `{% … %}` is markup, and
//! quoted strings in it are skipped. A digit run is a literal unless an identifier character
//! comes right before it (`item12`, `a-99`) or it is the fraction of a float (`1.5`). Markup
//! inside `{% raw %}` and `{% comment %}` is scanned too, which can only turn a template that
//! holds such a number there into a parse error, never let a panic through.

/// The first integer literal in `text` that does not fit in an `i64`, if any.
pub(super) fn oversized_integer(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut closer: Option<&[u8]> = None;
    while i < bytes.len() {
        let Some(end) = closer else {
            if bytes[i..].starts_with(b"{{") {
                closer = Some(b"}}");
                i += 2;
            } else if bytes[i..].starts_with(b"{%") {
                closer = Some(b"%}");
                i += 2;
            } else {
                i += 1;
            }
            continue;
        };
        let b = bytes[i];
        if bytes[i..].starts_with(end) {
            closer = None;
            i += 2;
        } else if b == b'\'' || b == b'"' {
            // An unclosed quote is a parse error of its own; nothing after it is a literal.
            let close = bytes[i + 1..].iter().position(|&c| c == b)?;
            i += close + 2;
        } else if b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if let Some(literal) = literal_at(text, start, i)
                && !fits_i64(literal)
            {
                return Some(literal);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The literal (sign included) whose digits are `text[start..end]`, or `None` when those
/// digits belong to an identifier or are the fraction of a float.
fn literal_at(text: &str, start: usize, end: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let before = start.checked_sub(1).map(|p| bytes[p]);
    let mut from = start;
    match before {
        Some(b'-' | b'+') => {
            let sign_at = start - 1;
            let hyphen = bytes[sign_at] == b'-';
            let after_open = sign_at >= 2
                && (bytes[sign_at - 2..sign_at] == *b"{{" || bytes[sign_at - 2..sign_at] == *b"{%");
            // `a-99` is an identifier; the `-` of `{{-` trims whitespace and is no sign.
            if hyphen && sign_at > 0 && ident(bytes[sign_at - 1]) {
                return None;
            }
            if !(hyphen && after_open) {
                from = sign_at;
            }
        }
        Some(b) if ident(b) => return None,
        Some(b'.') if start >= 2 && bytes[start - 2].is_ascii_digit() => return None,
        _ => {}
    }
    Some(&text[from..end])
}

fn fits_i64(literal: &str) -> bool {
    literal.parse::<i64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::oversized_integer;

    #[test]
    fn finds_integers_past_i64_in_markup_only() {
        assert_eq!(
            oversized_integer("{{ 99999999999999999999 }}"),
            Some("99999999999999999999")
        );
        assert_eq!(
            oversized_integer("{% for i in (1..-9223372036854775809) %}{% endfor %}"),
            Some("-9223372036854775809")
        );
        assert_eq!(
            oversized_integer("{{ x | plus: +9223372036854775808 }}"),
            Some("+9223372036854775808")
        );
        assert_eq!(
            oversized_integer("{{ a[99999999999999999999] }}"),
            Some("99999999999999999999")
        );
        // The hyphen of `{{-` is whitespace control, so this literal is positive.
        assert_eq!(
            oversized_integer("{{-9223372036854775808}}"),
            Some("9223372036854775808")
        );
        // These fit, or are not integer literals at all.
        for ok in [
            "99999999999999999999 outside markup",
            "{{ -9223372036854775808 }} {{ 9223372036854775807 }}",
            "{{ '99999999999999999999' }} {{ \"99999999999999999999\" }}",
            "{{ a99999999999999999999 }} {{ a-99999999999999999999 }}",
            "{{ 1.99999999999999999999 }} {{ 99999999999999999999.5 }}",
            "{{ '}}' }} 99999999999999999999",
            "{{ 'unclosed 99999999999999999999 }}",
        ] {
            assert_eq!(oversized_integer(ok), None, "{ok}");
        }
    }
}
