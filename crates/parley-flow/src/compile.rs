//! A flow revision ready to run: validated once, every Liquid template of every widget parsed
//! once and every static regex condition compiled once. The server caches
//! `Arc<CompiledFlow>` per (flow, revision), so the hot path never parses.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use crate::conditions::RegexCache;
use crate::definition::FlowDefinition;
use crate::liquid::{self, RenderError, RenderSettings, Template};
use crate::validate::{Finding, ValidationReport, validate_parsed};

#[derive(Debug)]
pub struct CompiledFlow {
    flow_sid: String,
    revision: i64,
    definition: FlowDefinition,
    warnings: Vec<Finding>,
    /// Keyed by template text: the same text in two widgets is parsed once, and a lookup
    /// needs nothing but the string the widget holds. A parse error is kept and reported
    /// when (if ever) the template is rendered.
    templates: HashMap<String, Result<Template, String>>,
    regexes: RegexCache,
}

impl CompiledFlow {
    /// Validates and compiles. Fails only on hard validation errors; warnings are kept in
    /// [`CompiledFlow::warnings`].
    pub fn compile(
        flow_sid: &str,
        revision: i64,
        definition: &Value,
    ) -> Result<CompiledFlow, ValidationReport> {
        let (report, parsed) = validate_parsed(definition);
        let definition = match parsed {
            Some(d) if report.is_valid() => d,
            _ => return Err(report),
        };
        let mut templates = HashMap::new();
        let mut regexes = RegexCache::default();
        for state in definition.states() {
            for (_, text) in state.template_strings() {
                if liquid::has_markup(text) && !templates.contains_key(text) {
                    templates.insert(text.to_owned(), Template::parse(text));
                }
            }
            for t in &state.transitions {
                for c in t.conditions.iter().filter(|c| c.kind == "regex") {
                    if !liquid::has_markup(&c.value) {
                        regexes.insert(&c.value);
                    }
                }
            }
        }
        Ok(CompiledFlow {
            flow_sid: flow_sid.to_owned(),
            revision,
            definition,
            warnings: report.warnings,
            templates,
            regexes,
        })
    }

    pub fn flow_sid(&self) -> &str {
        &self.flow_sid
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn definition(&self) -> &FlowDefinition {
        &self.definition
    }

    /// Soft validation findings of this revision.
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// Renders one string of the definition. Plain text (no `{{`/`{%`) is returned as is.
    pub(crate) fn render<'t>(
        &self,
        text: &'t str,
        context: &Value,
        settings: &RenderSettings,
    ) -> Result<Cow<'t, str>, RenderError> {
        if !liquid::has_markup(text) {
            return Ok(Cow::Borrowed(text));
        }
        let rendered = match self.templates.get(text) {
            Some(Ok(template)) => template.render(context, settings),
            Some(Err(e)) => Err(RenderError(format!("invalid Liquid: {e}"))),
            // Text that is not in the definition (e.g. built at run time): parse on the spot.
            None => match Template::parse(text) {
                Ok(template) => template.render(context, settings),
                Err(e) => Err(RenderError(format!("invalid Liquid: {e}"))),
            },
        }?;
        Ok(Cow::Owned(rendered))
    }

    pub(crate) fn regexes(&self) -> &RegexCache {
        &self.regexes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn compiled_flows_can_be_shared_across_threads() {
        assert_send_sync::<CompiledFlow>();
    }
}
