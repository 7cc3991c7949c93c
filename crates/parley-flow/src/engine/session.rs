//! The execution's state between events: everything `resume` needs, as plain serde data the
//! server stores with the execution. A session holds one frame per flow being run — the main
//! flow and, while a `run-subflow` widget is inside it, the subflow (nesting depth is 1).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::types::{EndReason, HttpKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub(crate) execution_sid: String,
    pub(crate) frames: Vec<Frame>,
    /// Steps taken so far, subflow steps included (the 1,000-step limit).
    pub(crate) steps_taken: u32,
    /// The latest step, which a subflow's steps point back to.
    pub(crate) last_step_sid: Option<String>,
    pub(crate) loop_guard: LoopGuard,
    pub(crate) ended: Option<EndReason>,
}

/// One flow being run inside the execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub flow_sid: String,
    pub revision: i64,
    /// `{"flow":…, "contact":…, "trigger":…, "widgets":…}`: what Liquid sees.
    pub context: Value,
    /// The widget the frame is in: the one waiting, or the `run-subflow` widget a subflow
    /// frame sits on top of.
    pub current: String,
    pub wait: Option<Wait>,
    /// Subflow frames: the parent's `run-subflow` widget that will receive the result.
    pub parent_widget: Option<String>,
    /// Subflow frames: the parent step that entered that widget.
    pub parent_step_sid: Option<String>,
}

/// What a parked frame waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Wait {
    Reply {
        widget: String,
        timer_id: String,
        message_sid: String,
    },
    Http {
        widget: String,
        request_id: String,
        http_kind: HttpKind,
    },
}

/// Counts consecutive runs of one widget (a widget transitioning to itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoopGuard {
    pub depth: usize,
    pub widget: String,
    pub runs: u32,
}

impl Session {
    pub(crate) fn new(execution_sid: String, frame: Frame) -> Session {
        Session {
            execution_sid,
            frames: vec![frame],
            steps_taken: 0,
            last_step_sid: None,
            loop_guard: LoopGuard::default(),
            ended: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.ended.is_none()
    }

    /// How the execution ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.ended.as_ref()
    }

    pub fn execution_sid(&self) -> &str {
        &self.execution_sid
    }

    /// The Execution Context resource (studio.md §6.9): the main flow's
    /// `{"flow":{…},"contact":{…},"trigger":{…},"widgets":{…}}`.
    pub fn context(&self) -> Value {
        self.frames
            .first()
            .map(|f| f.context.clone())
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// The context of the innermost flow (the subflow's while one runs).
    pub fn current_context(&self) -> Option<&Value> {
        self.frames.last().map(|f| &f.context)
    }

    /// The widget the innermost flow is in (waiting, or where the execution ended).
    pub fn current_widget(&self) -> Option<&str> {
        self.frames.last().map(|f| f.current.as_str())
    }

    /// Name of the send-and-wait widget waiting for a reply, if any.
    pub fn waiting_for_reply(&self) -> Option<&str> {
        match self.wait()? {
            Wait::Reply { widget, .. } => Some(widget),
            Wait::Http { .. } => None,
        }
    }

    /// The reply timer the execution waits on, if any.
    pub fn pending_timer_id(&self) -> Option<&str> {
        match self.wait()? {
            Wait::Reply { timer_id, .. } => Some(timer_id),
            Wait::Http { .. } => None,
        }
    }

    /// The outbound message a send-and-wait widget waits on (for delivery failures).
    pub fn awaited_message_sid(&self) -> Option<&str> {
        match self.wait()? {
            Wait::Reply { message_sid, .. } => Some(message_sid),
            Wait::Http { .. } => None,
        }
    }

    /// The HTTP/Function request the execution waits on, if any.
    pub fn pending_http_request_id(&self) -> Option<&str> {
        match self.wait()? {
            Wait::Http { request_id, .. } => Some(request_id),
            Wait::Reply { .. } => None,
        }
    }

    /// `(flow_sid, revision)` of every frame, outermost first, so the server can load (and
    /// cache) each revision before calling `resume`.
    pub fn flow_revisions(&self) -> Vec<(String, i64)> {
        self.frames
            .iter()
            .map(|f| (f.flow_sid.clone(), f.revision))
            .collect()
    }

    pub fn steps_taken(&self) -> u32 {
        self.steps_taken
    }

    pub(crate) fn wait(&self) -> Option<&Wait> {
        self.frames.last().and_then(|f| f.wait.as_ref())
    }
}
