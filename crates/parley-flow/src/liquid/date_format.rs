//! `date` formats made safe for liquid-core's strftime, which the `liquid_render` fuzz target
//! found two ways to break (docs/fuzzing.md):
//! - a directive ending in a non-ASCII character (`%é`, `%-é`, `%:é`) is copied to the output
//!   by byte index and panics in the middle of the character. Such a directive is no
//!   directive, so its `%` is escaped (`%%`) and the text comes out as written, as Ruby
//!   prints unknown directives;
//! - a padding width is any number (`%999999999999Y`), and the padding is built one character
//!   at a time before anything could stop it. Widths over [`MAX_WIDTH`] are refused.

use std::borrow::Cow;

/// Widest padding a directive may ask for (`%64N`); real formats use 2–9.
pub(super) const MAX_WIDTH: usize = 64;

const FLAGS: &[char] = &['-', '_', '0', '^', '#'];

/// The format to hand to liquid's strftime, or why it cannot be used.
pub(super) fn checked(format: &str) -> Result<Cow<'_, str>, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::with_capacity(format.len());
    let mut escaped = false;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The directive as liquid reads it: flags, width, an E/O modifier, up to two colons
        // (`%::z`), then the conversion character.
        let mut j = i + 1;
        while j < chars.len() && FLAGS.contains(&chars[j]) {
            j += 1;
        }
        let width_start = j;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j > width_start {
            let width: String = chars[width_start..j].iter().collect();
            if width.parse::<usize>().map_or(true, |w| w > MAX_WIDTH) {
                return Err(format!(
                    "invalid date format: padding width {width} is over {MAX_WIDTH}"
                ));
            }
        }
        if j < chars.len() && matches!(chars[j], 'E' | 'O') {
            j += 1;
        }
        let colons_start = j;
        while j < chars.len() && chars[j] == ':' && j - colons_start < 2 {
            j += 1;
        }
        let end = (j + 1).min(chars.len());
        if chars[i + 1..end].iter().all(char::is_ascii) {
            out.extend(&chars[i..end]);
            i = end;
        } else {
            out.push_str("%%");
            escaped = true;
            i += 1;
        }
    }
    Ok(if escaped {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(format)
    })
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn escapes_directives_with_non_ascii_and_refuses_huge_widths() {
        assert_eq!(checked("%Y-%m-%d %:z %%").unwrap(), "%Y-%m-%d %:z %%");
        assert_eq!(checked("%é %-é %:é %Eé").unwrap(), "%%é %%-é %%:é %%Eé");
        assert_eq!(checked("%64N").unwrap(), "%64N");
        assert!(checked("%65N").is_err());
        assert!(checked("%99999999999999999999999Y").is_err());
    }
}
