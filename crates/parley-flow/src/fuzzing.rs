//! Entry points for the fuzz targets in `fuzz/` — for fuzz targets only, not an API.
//!
//! The Liquid dialect and the split conditions are private to the crate; the fuzz targets
//! need to reach them with the settings the engine really uses (Studio's output and loop
//! caps, the regex size limit), not a copy of them that could drift.

use serde_json::Value;

use crate::conditions::{self, RegexCache};
use crate::env::Limits;
use crate::liquid::{Template, has_markup};

/// The clock `"now"` reads in fuzzed renders: 2024-01-01T00:00:00Z.
pub const NOW_MS: i64 = 1_704_067_200_000;

/// Parses and renders `template` against `context` (the object holding `flow`, `trigger`,
/// `widgets`, `contact`) the way a widget does, with Studio's default limits.
pub fn render(template: &str, context: &Value) -> Result<String, String> {
    render_with_limits(template, context, &Limits::default())
}

/// [`render`] under other limits (the engine's settings come from [`Limits`]).
pub fn render_with_limits(
    template: &str,
    context: &Value,
    limits: &Limits,
) -> Result<String, String> {
    let settings = crate::engine::widgets::render_settings(NOW_MS, limits);
    Template::parse(template)?
        .render(context, &settings)
        .map_err(|e| e.0)
}

/// Whether `template` holds Liquid markup (the engine renders only such strings).
pub fn has_liquid_markup(template: &str) -> bool {
    has_markup(template)
}

/// Whether a split condition of type `kind` with (rendered) `value` holds for the (rendered)
/// split input `subject`, compiling a `regex` value on the spot as the engine does for a value
/// rendered at run time.
pub fn condition(kind: &str, value: &str, subject: &str) -> bool {
    conditions::holds(kind, subject, value, &RegexCache::default())
}

/// [`condition`] on the path of a static value: its regex compiled once, up front, as
/// [`crate::CompiledFlow::compile`] does. Must always agree with [`condition`].
pub fn condition_precompiled(kind: &str, value: &str, subject: &str) -> bool {
    let mut regexes = RegexCache::default();
    regexes.insert(value);
    conditions::holds(kind, subject, value, &regexes)
}

/// The 17 split condition types.
pub fn condition_types() -> &'static [&'static str] {
    crate::catalogue::CONDITION_TYPES
}
