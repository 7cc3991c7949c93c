//! The step loop: take a transition, record the step, enter the next widget, run it, repeat
//! until a widget waits or the execution ends — enforcing the step limit and the loop guard,
//! and pushing/popping subflow frames on the way.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Value, json};

use super::context::{self, set_widget};
use super::session::{LoopGuard, Session};
use super::types::{Effect, EndReason, Outcome, StepRecord};
use super::widgets::{self, WidgetCtx, WidgetOutcome};
use crate::catalogue;
use crate::compile::CompiledFlow;
use crate::env::{Env, Limits};

/// Code of a failed execution (Twilio's "execution failed").
pub(crate) const EXECUTION_FAILED: i64 = 84002;

/// A transition about to be taken.
pub(crate) struct Pending {
    pub from: String,
    pub event: String,
    /// A specific transition of `from` (a split's winning `match`); else the first one
    /// listed for `event`.
    pub transition: Option<usize>,
    /// What `from` wrote, for the step record.
    pub delta: Value,
}

/// The flow a frame runs: the main flow (borrowed) or a loaded subflow.
#[derive(Clone)]
enum FlowRef<'a> {
    Root(&'a CompiledFlow),
    Sub(Arc<CompiledFlow>),
}

impl Deref for FlowRef<'_> {
    type Target = CompiledFlow;

    fn deref(&self) -> &CompiledFlow {
        match self {
            FlowRef::Root(f) => f,
            FlowRef::Sub(f) => f,
        }
    }
}

/// One call to `start`/`resume` in progress.
pub(crate) struct Run<'a> {
    root: &'a CompiledFlow,
    /// The loaded subflow, while the session has a second frame.
    pub(crate) sub: Option<Arc<CompiledFlow>>,
    pub(crate) env: &'a mut dyn Env,
    pub(crate) limits: &'a Limits,
    pub(crate) session: Session,
    pub(crate) effects: Vec<Effect>,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) warnings: Vec<String>,
    pub(crate) ended: Option<EndReason>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        root: &'a CompiledFlow,
        session: Session,
        env: &'a mut dyn Env,
        limits: &'a Limits,
    ) -> Self {
        Run {
            root,
            sub: None,
            env,
            limits,
            session,
            effects: Vec::new(),
            steps: Vec::new(),
            warnings: Vec::new(),
            ended: None,
        }
    }

    pub(crate) fn finish(self) -> Outcome {
        Outcome {
            session: self.session,
            effects: self.effects,
            steps: self.steps,
            ended: self.ended,
            warnings: self.warnings,
        }
    }

    fn flow(&self) -> FlowRef<'a> {
        match (&self.sub, self.session.frames.len() > 1) {
            (Some(sub), true) => FlowRef::Sub(sub.clone()),
            _ => FlowRef::Root(self.root),
        }
    }

    pub(crate) fn end(&mut self, reason: EndReason) {
        self.session.ended = Some(reason.clone());
        self.ended = Some(reason);
    }

    fn end_failed(&mut self, message: String) {
        self.end(EndReason::Failed {
            code: EXECUTION_FAILED,
            message,
        });
    }

    /// Takes `pending` and keeps going until a widget waits or the execution ends.
    pub(crate) fn advance(&mut self, first: Pending) {
        let mut pending = first;
        loop {
            let flow = self.flow();
            let Some(from) = flow.definition().state(&pending.from) else {
                self.end_failed(format!("widget '{}' is not in the flow", pending.from));
                return;
            };
            let transition = match pending.transition {
                Some(i) => from.transitions.get(i),
                None => from.transition(&pending.event),
            };
            let next = transition.and_then(|t| t.next.clone());
            if self.session.steps_taken >= self.limits.max_steps {
                self.end_failed(format!(
                    "the execution exceeded the limit of {} steps",
                    self.limits.max_steps
                ));
                return;
            }
            let kind = from.kind.clone();
            self.record_step(&mut pending, &kind, next.as_deref().unwrap_or("Ended"));
            let Some(next) = next else {
                // A transition without `next` (or an event not listed) ends this flow.
                if self.session.frames.len() > 1 {
                    pending = self.complete_subflow();
                    continue;
                }
                self.end(EndReason::Completed);
                return;
            };
            if let Err(message) = self.count_run(&next) {
                self.end_failed(message);
                return;
            }
            match self.enter(&flow, &next) {
                Some(p) => pending = p,
                None => return,
            }
        }
    }

    /// Records `pending` as a step; its delta moves into the record.
    fn record_step(&mut self, pending: &mut Pending, widget_type: &str, to: &str) {
        let step_sid = self.env.new_sid("FT");
        let parent_step_sid = self
            .session
            .frames
            .last()
            .and_then(|f| f.parent_step_sid.clone());
        self.steps.push(StepRecord {
            step_sid: step_sid.clone(),
            name: pending.event.clone(),
            transitioned_from: pending.from.clone(),
            transitioned_to: to.to_owned(),
            widget_type: widget_type.to_owned(),
            context: std::mem::take(&mut pending.delta),
            at_ms: self.env.now_ms(),
            parent_step_sid,
        });
        self.session.steps_taken = self.session.steps_taken.saturating_add(1);
        self.session.last_step_sid = Some(step_sid);
    }

    /// The loop guard: the same widget entered more than `max_same_widget_runs` times in a
    /// row (it transitions to itself, e.g. a reminder on `timeout`) stops the execution.
    fn count_run(&mut self, widget: &str) -> Result<(), String> {
        let depth = self.session.frames.len();
        let guard = &mut self.session.loop_guard;
        if guard.depth == depth && guard.widget == widget {
            guard.runs = guard.runs.saturating_add(1);
        } else {
            *guard = LoopGuard {
                depth,
                widget: widget.to_owned(),
                runs: 1,
            };
        }
        if guard.runs > self.limits.max_same_widget_runs {
            return Err(format!(
                "widget '{widget}' ran more than {} times in a row; the execution was stopped to break the loop",
                self.limits.max_same_widget_runs
            ));
        }
        Ok(())
    }

    /// Enters and runs widget `name`; the transition it leads to, or `None` when the run
    /// stops here (a wait, or the end).
    fn enter(&mut self, flow: &CompiledFlow, name: &str) -> Option<Pending> {
        let Some(state) = flow.definition().state(name) else {
            self.end_failed(format!("widget '{name}' is not in the flow"));
            return None;
        };
        let depth = self.session.frames.len().saturating_sub(1);
        let Some(frame) = self.session.frames.last_mut() else {
            self.end_failed("the session has no flow to run".into());
            return None;
        };
        frame.current = name.to_owned();
        let mut ctx = WidgetCtx {
            flow,
            state,
            frame,
            depth,
            env: &mut *self.env,
            limits: self.limits,
            effects: &mut self.effects,
        };
        match widgets::run(&mut ctx) {
            WidgetOutcome::Next {
                event,
                transition,
                delta,
            } => Some(Pending {
                from: name.to_owned(),
                event,
                transition,
                delta,
            }),
            WidgetOutcome::Wait(wait) => {
                if let Some(frame) = self.session.frames.last_mut() {
                    frame.wait = Some(wait);
                }
                None
            }
            WidgetOutcome::Failure(message) => {
                let failure_event = catalogue::widget(&state.kind).and_then(|s| s.failure_event);
                match failure_event {
                    Some(event) => {
                        self.warnings.push(format!("{message}; taking '{event}'"));
                        Some(Pending {
                            from: name.to_owned(),
                            event: event.to_owned(),
                            transition: None,
                            delta: json!({}),
                        })
                    }
                    None => self.fail_frame(EXECUTION_FAILED, message),
                }
            }
            WidgetOutcome::FrameFails { code, message } => self.fail_frame(code, message),
            WidgetOutcome::EnterSubflow(entry) => {
                let mut frame = entry.frame;
                frame.parent_step_sid = self.session.last_step_sid.clone();
                let initial = entry.flow.definition().initial_state().to_owned();
                let parent = frame.context["trigger"]["parent"].clone();
                self.sub = Some(entry.flow);
                self.session.frames.push(frame);
                Some(Pending {
                    from: initial,
                    event: "incomingParent".into(),
                    transition: None,
                    delta: context::object([("trigger", context::object([("parent", parent)]))]),
                })
            }
        }
    }

    /// The innermost flow failed. A subflow's failure is its parent's `failed` event; the
    /// main flow's failure ends the execution.
    pub(crate) fn fail_frame(&mut self, code: i64, message: String) -> Option<Pending> {
        if self.session.frames.len() > 1
            && let Some(sub) = self.session.frames.pop()
        {
            self.sub = None;
            self.warnings.push(format!(
                "{code}: subflow {} failed: {message}",
                sub.flow_sid
            ));
            let parent_widget = sub.parent_widget.unwrap_or_default();
            return Some(Pending {
                from: parent_widget,
                event: "failed".into(),
                transition: None,
                delta: json!({}),
            });
        }
        self.end(EndReason::Failed { code, message });
        None
    }

    /// The subflow ended normally: its `flow.variables` become the parent's
    /// `widgets.NAME.*`, and the parent's `run-subflow` widget takes `completed`.
    fn complete_subflow(&mut self) -> Pending {
        let sub = self.session.frames.pop();
        self.sub = None;
        let (widget, variables) = match sub {
            Some(f) => (
                f.parent_widget.unwrap_or_default(),
                Value::Object(context::variables(&f.context)),
            ),
            None => (String::new(), json!({})),
        };
        if let Some(parent) = self.session.frames.last_mut() {
            set_widget(&mut parent.context, &widget, variables.clone());
        }
        let mut widgets = serde_json::Map::new();
        widgets.insert(widget.clone(), variables);
        Pending {
            from: widget,
            event: "completed".into(),
            transition: None,
            delta: context::object([("widgets", Value::Object(widgets))]),
        }
    }
}
