//! Soft findings: things Studio accepts but that cannot work as the author meant — Liquid that
//! does not parse, regex conditions that do not compile, `matches_any_of` lists with empty
//! alternatives, unknown condition types, `match` transitions with nothing to test
//! (studio.md §1.3 "Not checked at validation time", §8 pain point 4).

use super::{ValidationReport, widget_label};
use crate::catalogue::CONDITION_TYPES;
use crate::conditions::{alternatives, anchored_regex};
use crate::definition::{FlowDefinition, State};
use crate::liquid;

pub(super) fn check(def: &FlowDefinition, report: &mut ValidationReport) {
    for (i, state) in def.states().iter().enumerate() {
        let who = widget_label(&state.name, i);
        for (path, text) in state.template_strings() {
            if liquid::has_markup(text)
                && let Err(e) = liquid::Template::parse(text)
            {
                let what = path.strip_prefix("properties/").unwrap_or(&path);
                report.warning(
                    format!("#/states/{i}/{path}"),
                    format!("{who}: '{what}' is not valid Liquid and will fail when rendered: {e}"),
                );
            }
        }
        if state.kind == "split-based-on" {
            check_conditions(&who, i, state, report);
        }
    }
}

fn check_conditions(who: &str, i: usize, state: &State, report: &mut ValidationReport) {
    for (j, t) in state.transitions.iter().enumerate() {
        let tpath = format!("#/states/{i}/transitions/{j}");
        if t.event == "match" && t.conditions.is_empty() {
            report.warning(
                tpath.clone(),
                format!("{who}: a 'match' transition without conditions never matches"),
            );
        }
        for (k, c) in t.conditions.iter().enumerate() {
            let cpath = format!("{tpath}/conditions/{k}");
            if !CONDITION_TYPES.contains(&c.kind.as_str()) {
                report.warning(
                    format!("{cpath}/type"),
                    format!("{who}: unknown condition type '{}' never matches", c.kind),
                );
            }
            let dynamic = liquid::has_markup(&c.value);
            if c.kind == "regex"
                && !dynamic
                && let Err(e) = anchored_regex(c.value.trim())
            {
                report.warning(
                    format!("{cpath}/value"),
                    format!(
                        "{who}: regex '{}' does not compile, so the condition is always false: {}",
                        c.value,
                        last_line(&e.to_string())
                    ),
                );
            }
            if (c.kind == "matches_any_of" || c.kind == "does_not_match_any_of")
                && !dynamic
                && alternatives(&c.value).any(str::is_empty)
            {
                report.warning(
                    format!("{cpath}/value"),
                    format!(
                        "{who}: '{}' has an empty alternative (a stray comma?) that can never match",
                        c.value
                    ),
                );
            }
        }
    }
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}
