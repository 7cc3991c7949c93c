//! JUnit XML for `parley flow test --junit FILE`: one `<testsuite>` per test file, one
//! `<testcase>` per case, a `<failure>` with the same text the terminal shows, and an
//! `<error>` for a file that could not be loaded. The shape CI systems (GitHub, GitLab,
//! Jenkins) read.

use std::fmt::Write;

pub struct Suite {
    /// The test file.
    pub name: String,
    pub cases: Vec<Case>,
    /// Why the file could not be loaded (then `cases` is empty).
    pub error: Option<String>,
}

pub struct Case {
    pub name: String,
    pub seconds: f64,
    pub failure: Option<Failure>,
}

pub struct Failure {
    /// One line: where and what.
    pub message: String,
    /// The full explanation: expected vs actual, the trail.
    pub details: String,
}

pub fn render(suites: &[Suite], total_seconds: f64) -> String {
    let count = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let tests = count(|s| s.cases.len() + usize::from(s.error.is_some()));
    let failures = count(|s| s.cases.iter().filter(|c| c.failure.is_some()).count());
    let errors = count(|s| usize::from(s.error.is_some()));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"parley flow test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total_seconds:.3}\">"
    );
    for suite in suites {
        let failures = suite.cases.iter().filter(|c| c.failure.is_some()).count();
        let seconds: f64 = suite.cases.iter().map(|c| c.seconds).sum();
        let name = escape(&suite.name);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{seconds:.3}\">",
            suite.cases.len() + usize::from(suite.error.is_some()),
            usize::from(suite.error.is_some()),
        );
        if let Some(error) = &suite.error {
            let _ = writeln!(
                out,
                "    <testcase name=\"{name}\" classname=\"{name}\" time=\"0.000\">\n      <error message=\"the test file could not be loaded\">{}</error>\n    </testcase>",
                escape_text(error)
            );
        }
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{name}\" time=\"{:.3}\"",
                escape(&case.name),
                case.seconds
            );
            match &case.failure {
                None => out.push_str("/>\n"),
                Some(f) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(&f.message),
                        escape_text(&f.details)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for an attribute (where a newline must be a reference to survive).
fn escape(text: &str) -> String {
    escape_as(text, true)
}

/// Escapes element text (newlines kept as they are, for a readable report).
fn escape_text(text: &str) -> String {
    escape_as(text, false)
}

/// Drops the control characters XML 1.0 forbids (a flow may well send them).
fn escape_as(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if !attribute => out.push('\n'),
            '\n' | '\t' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot;&#10;"
        );
    }

    #[test]
    fn counts_failures_and_errors() {
        let xml = render(
            &[
                Suite {
                    name: "a.yaml".into(),
                    cases: vec![
                        Case {
                            name: "ok".into(),
                            seconds: 0.001,
                            failure: None,
                        },
                        Case {
                            name: "bad".into(),
                            seconds: 0.002,
                            failure: Some(Failure {
                                message: "step 1".into(),
                                details: "expected x".into(),
                            }),
                        },
                    ],
                    error: None,
                },
                Suite {
                    name: "b.yaml".into(),
                    cases: vec![],
                    error: Some("invalid YAML".into()),
                },
            ],
            0.01,
        );
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"step 1\">expected x</failure>"));
        assert!(
            xml.contains(
                "<error message=\"the test file could not be loaded\">invalid YAML</error>"
            )
        );
    }
}
