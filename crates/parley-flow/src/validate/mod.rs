//! Flow definition validation: what `POST /v2/Flows/Validate` and flow create/update answer.
//!
//! Hard errors make a definition invalid (error 81022 at the API, with `details.errors[]`
//! holding these findings); warnings are soft findings the Flow resource reports in
//! `warnings` while still accepting the definition (studio.md §1.3).
//!
//! Widget property schemas are deliberately *open*: Studio's official schemas are closed
//! (`additionalProperties: false`), but we have no complete list of every widget's keys across
//! Console versions, and rejecting a key Studio accepts would refuse flows exported from real
//! accounts. So unknown property keys are accepted and round-tripped untouched; only the
//! required keys of §1.3 and the shapes of the properties the engine reads are checked.

mod lint;
mod rules;
pub(crate) mod schema;

use serde::Serialize;
use serde_json::Value;

use crate::definition::FlowDefinition;

/// The outcome of validating a definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationReport {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// One finding, shaped like an entry of Twilio's `details.errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub message: String,
    /// A JSON-pointer-like path into the definition, e.g. `#/states/3/transitions/0/next`.
    pub property_path: String,
}

impl ValidationReport {
    /// True when there is no hard error (warnings do not make a flow invalid).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Finding {
            message: message.into(),
            property_path: path.into(),
        });
    }

    pub(crate) fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding {
            message: message.into(),
            property_path: path.into(),
        });
    }
}

impl std::fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {} ({})", e.message, e.property_path)?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {} ({})", w.message, w.property_path)?;
        }
        Ok(())
    }
}

/// Validates a definition: schema shape first; when the shape holds, the rules between widgets
/// (names, references, events, required properties) and the soft lints.
pub fn validate(definition: &Value) -> ValidationReport {
    validate_parsed(definition).0
}

/// Validates and, when the shape allowed it, returns the parsed definition too, so compiling
/// does not parse twice.
pub(crate) fn validate_parsed(definition: &Value) -> (ValidationReport, Option<FlowDefinition>) {
    let mut report = ValidationReport::default();
    schema::check(definition, &mut report);
    if !report.is_valid() {
        return (report, None);
    }
    let def = FlowDefinition::from_checked(definition);
    rules::check(&def, &mut report);
    lint::check(&def, &mut report);
    (report, Some(def))
}

/// `Widget 'name'` for messages; an unnamed widget is named by its position.
pub(crate) fn widget_label(name: &str, index: usize) -> String {
    if name.is_empty() {
        format!("Widget #{index}")
    } else {
        format!("Widget '{name}'")
    }
}

#[cfg(test)]
mod tests;
