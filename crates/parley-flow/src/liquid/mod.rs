//! Studio's Liquid (studio.md §5): templates parsed once per flow revision, rendered against
//! the execution context (`flow`, `trigger`, `widgets`, `contact`) with Studio's rules —
//! undefined is empty, 15 iterations per loop, 16 KB of output (and a budget for what filters
//! build on the way), `date: "now"` on the injected clock, `to_json`.

mod budget;
mod comment;
mod date_format;
mod filters;
mod for_block;
mod language;
mod literals;
mod math;
mod runtime;
mod view;

use std::io;
use std::panic::{self, AssertUnwindSafe};

use liquid_core::Renderable;
use serde_json::Value;

use language::LANGUAGE;
use runtime::{RenderBudget, StudioRuntime};
use view::JsonView;

/// A parsed template.
#[derive(Debug)]
pub(crate) struct Template {
    inner: liquid_core::Template,
}

/// What a render may use and how much.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderSettings {
    pub now_ms: i64,
    pub offset_minutes: i32,
    pub max_output_bytes: usize,
    pub max_loop_iterations: usize,
}

/// Why a render failed, in words for the execution log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct RenderError(pub String);

/// `text` with every non-ASCII character replaced by `?`: one character for one, so lines and
/// columns stay, and `?` is, like any non-ASCII character, matched by nothing in Liquid's
/// grammar but "any character" (it is not an identifier, symbol, quote or whitespace), so
/// both texts split into the same tokens and parse alike.
fn ascii_stand_in(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

/// Whether a string holds Liquid markup at all; plain strings skip the template engine.
pub(crate) fn has_markup(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        if let Some(literal) = literals::oversized_integer(text) {
            return Err(format!(
                "the number {literal} is too large for Liquid (integers are 64-bit)"
            ));
        }
        if !text.is_ascii() {
            // liquid-core can panic while reporting invalid markup that follows multi-byte
            // characters on its line (it uses a column in characters as a byte index). An
            // ASCII copy parses exactly like the original — see `ascii_stand_in` — without
            // that bug: when it fails, its error is the answer; when it parses, the original
            // holds no invalid markup and parses too.
            if let Err(e) = liquid_core::parser::parse(&ascii_stand_in(text), &LANGUAGE) {
                return Err(one_line(&e.to_string()));
            }
        }
        liquid_core::parser::parse(text, &LANGUAGE)
            .map(|elements| Template {
                inner: liquid_core::Template::new(elements),
            })
            .map_err(|e| one_line(&e.to_string()))
    }

    /// Renders against `context`, the JSON object holding the four namespaces.
    pub(crate) fn render(
        &self,
        context: &Value,
        settings: &RenderSettings,
    ) -> Result<String, RenderError> {
        let runtime = StudioRuntime::new(JsonView::new(context), settings.max_output_bytes);
        let filter_bytes = settings
            .max_output_bytes
            .saturating_mul(budget::FILTER_BYTES_PER_OUTPUT_BYTE);
        {
            let mut budget = liquid_core::Runtime::registers(&runtime).get_mut::<RenderBudget>();
            *budget = RenderBudget {
                now_ms: settings.now_ms,
                offset_minutes: settings.offset_minutes,
                loop_cap: settings.max_loop_iterations,
                loop_runs_left: settings
                    .max_loop_iterations
                    .saturating_mul(settings.max_loop_iterations.max(1)),
                filter_bytes_total: filter_bytes,
                filter_bytes_left: filter_bytes,
            };
        }
        let mut out = CappedWriter {
            buf: Vec::new(),
            cap: settings.max_output_bytes,
            overflowed: false,
        };
        // Last line of defence: a template is user input, run by a library we do not own. No
        // panic is known to be reachable (the fuzz targets in `fuzz/` look for them, and the
        // ones found, like integer overflow in the math filters, are fixed where they arise),
        // but should one be, it becomes a render error of this one template instead of taking
        // the caller down.
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            self.inner.render_to(&mut out, &runtime)
        }))
        .unwrap_or_else(|_| {
            Err(liquid_core::Error::with_msg(
                "the template engine failed on this template",
            ))
        });
        if out.overflowed {
            return Err(RenderError(format!(
                "rendered text exceeds Studio's limit of {} bytes",
                settings.max_output_bytes
            )));
        }
        if runtime.oversized() {
            return Err(RenderError(format!(
                "a variable assigned in the template exceeds {} bytes",
                settings.max_output_bytes
            )));
        }
        result.map_err(|e| RenderError(one_line(&e.to_string())))?;
        String::from_utf8(out.buf).map_err(|_| RenderError("rendered text is not UTF-8".into()))
    }
}

/// Liquid errors come as `liquid: <message>` followed by a trace of where it happened (the
/// tag, loop indexes); the execution log wants the message alone, on one line.
/// What was asked for (`requested filter=…`) is kept; it says which name was wrong.
fn one_line(s: &str) -> String {
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let mut out = first
        .strip_prefix("liquid:")
        .unwrap_or(first)
        .trim()
        .to_owned();
    for requested in lines.filter(|l| l.starts_with("requested ")) {
        out.push_str(" (");
        out.push_str(requested);
        out.push(')');
    }
    out
}

/// Refuses writes past the cap, so a runaway template stops early instead of filling memory.
struct CappedWriter {
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.cap {
            self.overflowed = true;
            return Err(io::Error::other("output cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
