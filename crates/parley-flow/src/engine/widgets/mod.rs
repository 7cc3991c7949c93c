//! Running one widget: what each type does when entered, and what it hands back to the step
//! loop — an event to take, something to wait for, or a failure.

mod flex;
pub(crate) mod http;
pub(crate) mod messaging;
mod split;
mod subflow;
mod variables;

use std::sync::Arc;

use serde_json::Value;

use super::session::{Frame, Wait};
use super::types::{Effect, HttpKind};
use crate::catalogue::{self, Runner};
use crate::compile::CompiledFlow;
use crate::definition::State;
use crate::env::{Env, Limits};
use crate::liquid::RenderSettings;

/// What running a widget produced.
pub(crate) enum WidgetOutcome {
    /// Take `event` now. `transition` picks one transition among several with the same event
    /// (a split's `match` transitions); `None` means the first one with that event.
    Next {
        event: String,
        transition: Option<usize>,
        delta: Value,
    },
    /// Park the frame until an [`super::types::Event`] arrives.
    Wait(Wait),
    /// The widget could not do its job: it takes its failure event if its type has one,
    /// otherwise its flow fails (84002).
    Failure(String),
    /// The widget's flow fails whatever the widget's events (voice widgets, nesting).
    FrameFails { code: i64, message: String },
    /// Start a subflow in a new frame.
    EnterSubflow(Box<SubflowEntry>),
}

pub(crate) struct SubflowEntry {
    pub flow: Arc<CompiledFlow>,
    pub frame: Frame,
}

/// What a widget may touch while it runs.
pub(crate) struct WidgetCtx<'r> {
    pub flow: &'r CompiledFlow,
    pub state: &'r State,
    pub frame: &'r mut Frame,
    /// 0 in the main flow, 1 inside a subflow.
    pub depth: usize,
    pub env: &'r mut dyn Env,
    pub limits: &'r Limits,
    pub effects: &'r mut Vec<Effect>,
}

impl WidgetCtx<'_> {
    pub(crate) fn name(&self) -> &str {
        &self.state.name
    }

    /// `widget 'x' (type)`, the way execution messages name a widget.
    pub(crate) fn who(&self) -> String {
        format!("widget '{}' ({})", self.state.name, self.state.kind)
    }

    pub(crate) fn settings(&self) -> RenderSettings {
        render_settings(self.env.now_ms(), self.limits)
    }

    /// Renders `text` (held by `property`, named in the error).
    pub(crate) fn render_text(&self, property: &str, text: &str) -> Result<String, String> {
        self.flow
            .render(text, &self.frame.context, &self.settings())
            .map(|s| s.into_owned())
            .map_err(|e| {
                format!(
                    "{}: property '{property}' could not be rendered: {e}",
                    self.who()
                )
            })
    }

    /// Renders a property: strings through Liquid, numbers and booleans as their JSON text;
    /// `None` when absent, null, or not a scalar.
    pub(crate) fn render_prop(&self, key: &str) -> Result<Option<String>, String> {
        match self.state.properties.get(key) {
            Some(Value::String(text)) => self.render_text(key, text).map(Some),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            _ => Ok(None),
        }
    }

    /// Renders an array of `{key, value}` (HTTP/Function/subflow parameters): keys are
    /// literal, values rendered; items without a string key are skipped.
    pub(crate) fn render_pairs(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        let Some(Value::Array(items)) = self.state.properties.get(key) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(name) = item.get("key").and_then(Value::as_str) else {
                continue;
            };
            let value = match item.get("value") {
                Some(Value::String(text)) => {
                    self.render_text(&format!("{key}[{i}].value"), text)?
                }
                None | Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
            };
            out.push((name.to_owned(), value));
        }
        Ok(out)
    }
}

pub(crate) fn render_settings(now_ms: i64, limits: &Limits) -> RenderSettings {
    RenderSettings {
        now_ms,
        offset_minutes: limits.timezone_offset_minutes,
        max_output_bytes: limits.liquid_max_output_bytes,
        max_loop_iterations: limits.liquid_max_loop_iterations,
    }
}

/// Runs the widget `w.state` has just been entered into.
pub(crate) fn run(w: &mut WidgetCtx<'_>) -> WidgetOutcome {
    let Some(spec) = catalogue::widget(&w.state.kind) else {
        return WidgetOutcome::FrameFails {
            code: 84002,
            message: format!("{}: unknown widget type", w.who()),
        };
    };
    match spec.runner {
        Runner::SendMessage => messaging::send_message(w),
        Runner::SendAndWait => messaging::send_and_wait(w),
        Runner::Split => split::run(w),
        Runner::SetVariables => variables::run(w),
        Runner::HttpRequest => http::start(w, HttpKind::Http),
        Runner::RunFunction => http::start(w, HttpKind::Function),
        Runner::RunSubflow => subflow::start(w),
        Runner::SendToFlex => flex::run(w),
        Runner::Trigger => WidgetOutcome::FrameFails {
            code: 84002,
            message: format!(
                "{}: a trigger starts a flow and cannot be entered from a transition",
                w.who()
            ),
        },
        Runner::Voice => WidgetOutcome::FrameFails {
            code: 84002,
            message: format!(
                "{} needs a voice call; Parley does not run voice widgets yet",
                w.who()
            ),
        },
        Runner::Unsupported => WidgetOutcome::FrameFails {
            code: 84002,
            message: format!("{} is not supported by Parley", w.who()),
        },
    }
}
