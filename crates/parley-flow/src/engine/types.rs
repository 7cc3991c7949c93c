//! The engine's vocabulary with the outside world: how an execution starts ([`Trigger`],
//! [`StartParams`]), what can happen to a parked one ([`Event`]), what the caller must do
//! ([`Effect`]), and what a call reports back ([`Outcome`], [`StepRecord`], [`EndReason`]).
//! All of it is serde so the server can queue, store and log it as JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::session::Session;

/// What starts an execution; picks the trigger's transition of the same name (studio.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A Messaging webhook (inbound SMS/MMS/WhatsApp): `From`, `To`, `Body`, `MessageSid`,
    /// `NumMedia`, `MediaUrl0`, `AccountSid`, … → `trigger.message.*`.
    IncomingMessage { message: Map<String, Value> },
    /// A Conversations `onMessageAdded` delivery: `ConversationSid`, `MessageSid`, `Body`,
    /// `Author`, `ParticipantSid`, `Index`, `Source`, `Attributes`, `ChannelAttributes`
    /// (parsed), `ChatServiceSid`, … → `trigger.conversation.*` (and the
    /// `trigger.message.*` alias of §3.3).
    IncomingConversationMessage { conversation: Map<String, Value> },
    /// `POST /v2/Flows/{FlowSid}/Executions`: `parameters` → `flow.data` and
    /// `trigger.request.parameters`.
    IncomingRequest {
        to: String,
        from: String,
        parameters: Value,
    },
    /// A Voice webhook → `trigger.call.*`. Voice widgets do not run yet; a flow can still
    /// route an incoming call through messaging/HTTP widgets.
    IncomingCall { call: Map<String, Value> },
}

impl Trigger {
    /// The trigger event (transition name) this start takes.
    pub fn event_name(&self) -> &'static str {
        match self {
            Trigger::IncomingMessage { .. } => "incomingMessage",
            Trigger::IncomingConversationMessage { .. } => "incomingConversationMessage",
            Trigger::IncomingRequest { .. } => "incomingRequest",
            Trigger::IncomingCall { .. } => "incomingCall",
        }
    }
}

/// Everything a new execution needs besides the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartParams {
    /// The Execution SID (`FN…`), minted by the caller, exposed as `flow.sid`.
    pub execution_sid: String,
    pub trigger: Trigger,
    /// `contact.channel.address`: inbound `From`, REST `To`, or the conversation's key.
    pub contact_address: String,
    /// `flow.channel.address`: inbound `To`, REST `From`.
    pub flow_address: String,
    /// The Conversation SID when the execution is bound to a conversation
    /// (`flow.channel.sid`); messaging widgets then post into it.
    pub channel_sid: Option<String>,
}

/// Something that happened to a waiting execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A reply from the contact (same field names as the trigger's payload).
    InboundMessage {
        message: Map<String, Value>,
    },
    TimerFired {
        timer_id: String,
    },
    HttpResponse {
        request_id: String,
        result: HttpResult,
    },
    /// A status callback said an outbound message failed or was undelivered.
    DeliveryFailed {
        message_sid: String,
        error_code: Option<i64>,
        error_message: Option<String>,
    },
    /// The execution was ended through the API (`Status=ended`).
    Stop {
        reason: String,
    },
}

impl Event {
    /// The Studio event name, as warnings name it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Event::InboundMessage { .. } => "incomingMessage",
            Event::TimerFired { .. } => "timeout",
            Event::HttpResponse { .. } => "httpResponse",
            Event::DeliveryFailed { .. } => "deliveryFailure",
            Event::Stop { .. } => "stop",
        }
    }
}

/// The result of an [`Effect::HttpRequest`] the caller performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpResult {
    /// The final response (redirects already followed). `truncated` when the body was cut at
    /// `max_response_bytes`; Studio cannot process such a response and fails the widget.
    Response {
        status: u16,
        content_type: Option<String>,
        headers: Vec<(String, String)>,
        body: String,
        truncated: bool,
    },
    /// No response: timeout, refused connection, blocked address, …
    Error { message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpKind {
    /// `make-http-request`.
    Http,
    /// `run-function` (a Twilio Function or any URL standing in for one).
    Function,
}

/// Work for the caller, to be done after the new session is stored (outbox pattern).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    SendMessage {
        message_sid: String,
        widget: String,
        from: String,
        to: String,
        body: String,
        media_urls: Vec<String>,
        /// Message attributes, already checked to be valid JSON.
        attributes: Option<String>,
        /// Post into this conversation instead of sending to `to`.
        channel_sid: Option<String>,
        /// A Content API template (`message_type: content_template`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_sid: Option<String>,
        /// The template's variables as a JSON object text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_variables: Option<String>,
    },
    HttpRequest {
        request_id: String,
        widget: String,
        kind: HttpKind,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        timeout_ms: u64,
        max_response_bytes: usize,
    },
    ScheduleTimer {
        timer_id: String,
        fire_at_ms: i64,
    },
    CancelTimer {
        timer_id: String,
    },
    /// Send to Flex: create the task/interaction; the flow goes on (`callComplete`).
    Handoff {
        widget: String,
        task_sid: String,
        workflow: String,
        channel: String,
        attributes: String,
        priority: i64,
        timeout_s: i64,
    },
}

/// One transition taken (Studio's Step resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step_sid: String,
    /// The event that led out of `transitioned_from`, e.g. `incomingRequest`, `match`.
    pub name: String,
    pub transitioned_from: String,
    /// The widget entered, or `"Ended"` when the transition had no `next`.
    pub transitioned_to: String,
    /// The type of `transitioned_from`.
    pub widget_type: String,
    /// What `transitioned_from` wrote — `{"widgets":{NAME:{…}}}`, the trigger data, or the
    /// `flow.variables` it set. A delta, not a snapshot, so steps stay small.
    pub context: Value,
    pub at_ms: i64,
    /// For steps inside a subflow: the parent step that entered the `run-subflow` widget.
    pub parent_step_sid: Option<String>,
}

/// Why an execution ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EndReason {
    /// A transition without `next` (or an event the widget does not list) was taken.
    Completed,
    /// 84002 (execution failed: a widget with no failure path, a limit), 81024 (subflow).
    Failed { code: i64, message: String },
    /// Ended through the API.
    Stopped { reason: String },
}

/// What one call to `start` or `resume` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The session to store (also when the execution ended: it holds the final context).
    pub session: Session,
    pub effects: Vec<Effect>,
    pub steps: Vec<StepRecord>,
    /// Set when the execution ended during this call.
    pub ended: Option<EndReason>,
    /// Things worth logging that did not stop the execution, e.g.
    /// `81002: unexpected event incomingMessage while waiting in http_1; ignored`.
    pub warnings: Vec<String>,
}
