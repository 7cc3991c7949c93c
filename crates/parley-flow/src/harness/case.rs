//! A flow test case as data (YAML): the flow, how the execution starts, and a script of
//! contact replies, clock moves, HTTP mocks and expectations.
//!
//! ```yaml
//! name: says yes
//! flow: seed-flow.json              # relative to the case file
//! subflows: {FW0123…: sub.json}     # optional
//! trigger: {conversation_message: {body: "hi", author: "+15558675310"}}
//! script:
//!   - expect_message: {body: "Hi, do you like bots?"}
//!   - say: "yes"
//!   - expect_message: {body: "🤖"}
//!   - expect_end: {widget: send_message_2, status: completed}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::env::Limits;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// Path of the flow JSON, relative to the case file.
    pub flow: String,
    /// Flow SID → path of a subflow definition (revision 1).
    #[serde(default)]
    pub subflows: BTreeMap<String, String>,
    /// Overrides of the default limits (any subset of [`Limits`]' fields).
    #[serde(default)]
    pub limits: Option<Limits>,
    pub trigger: TriggerSpec,
    #[serde(default)]
    pub script: Vec<ScriptStep>,
    /// Keep at most this many steps in the written trace (for cases that run hundreds of
    /// steps on purpose); the rest are counted, not listed.
    #[serde(default)]
    pub max_trace_steps: Option<usize>,
}

impl TestCase {
    pub fn from_yaml(text: &str) -> Result<TestCase, String> {
        // Through JSON values: serde_yaml 0.9 reads enums only from `!tags`, while the case
        // format writes them as one-key maps (`- say: "yes"`), which serde_json reads.
        let value: Value = serde_yaml::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("invalid test case: {e}"))
    }
}

pub(crate) const CONTACT: &str = "+15558675310";
pub(crate) const FLOW_ADDRESS: &str = "+15005550006";
pub(crate) const CONVERSATION_SID: &str = "CH00000000000000000000000000000001";
pub(crate) const CHAT_SERVICE_SID: &str = "IS00000000000000000000000000000001";

fn contact() -> String {
    CONTACT.into()
}

fn flow_address() -> String {
    FLOW_ADDRESS.into()
}

fn conversation_sid() -> String {
    CONVERSATION_SID.into()
}

fn chat_service_sid() -> String {
    CHAT_SERVICE_SID.into()
}

/// How the execution starts. Extra webhook fields go in `fields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerSpec {
    /// An inbound SMS to the flow's number (`incomingMessage`).
    Sms {
        #[serde(default = "contact")]
        from: String,
        #[serde(default = "flow_address")]
        to: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        fields: Map<String, Value>,
    },
    /// A message added to a conversation with a Studio webhook
    /// (`incomingConversationMessage`); the execution is bound to the conversation.
    ConversationMessage {
        #[serde(default)]
        body: String,
        #[serde(default = "contact")]
        author: String,
        #[serde(default = "conversation_sid")]
        conversation_sid: String,
        #[serde(default = "chat_service_sid")]
        chat_service_sid: String,
        #[serde(default = "flow_address")]
        flow_address: String,
        /// Defaults to the author.
        #[serde(default)]
        contact_address: Option<String>,
        #[serde(default)]
        fields: Map<String, Value>,
    },
    /// `POST /v2/Flows/{sid}/Executions` (`incomingRequest`).
    Rest {
        #[serde(default = "contact")]
        to: String,
        #[serde(default = "flow_address")]
        from: String,
        #[serde(default)]
        parameters: Value,
    },
    /// An inbound call (`incomingCall`).
    Call {
        #[serde(default = "contact")]
        from: String,
        #[serde(default = "flow_address")]
        to: String,
        #[serde(default)]
        fields: Map<String, Value>,
    },
}

/// One line of the script.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptStep {
    /// The next message the flow sent (in order) must match.
    ExpectMessage(MessageExpectation),
    /// No message is left unchecked.
    ExpectNoMessage,
    /// The contact replies: a body, or the full webhook fields.
    Say(Reply),
    /// Moves the clock (`3600s`, `500ms`, `5m`, `2h`, `1d`, or a number of seconds); timers
    /// that fall due fire in order.
    Advance(DurationSpec),
    /// Answers the next matching HTTP request (now pending or yet to come).
    MockHttp(HttpMock),
    /// The next HTTP request the flow made (in order) must match.
    ExpectHttp(HttpExpectation),
    ExpectEnd(EndExpectation),
    /// The execution is active and parked in this send-and-wait widget.
    ExpectWaiting(String),
    /// These transitions were taken, in this order (others may come between): each entry
    /// is `"widget event"` or `"widget event next"` (`Ended` for the end).
    ExpectSteps(Vec<String>),
    ExpectVariable {
        name: String,
        value: Value,
    },
    /// A path under `widgets`, e.g. `http_1.parsed.a`. A `null` value means "undefined".
    ExpectWidget {
        path: String,
        value: Value,
    },
    /// A path from the context root, e.g. `flow.data.name`.
    ExpectContext {
        path: String,
        value: Value,
    },
    /// Some warning so far contains this text.
    ExpectWarning(String),
    ExpectHandoff(HandoffExpectation),
    /// The message the execution waits on could not be delivered.
    DeliveryFailed {
        #[serde(default)]
        error_code: Option<i64>,
        #[serde(default)]
        error_message: Option<String>,
    },
    /// Fires the n-th timer ever scheduled (0-based), even if cancelled: simulates a timer
    /// job that raced the reply.
    FireTimer(usize),
    /// Ends the execution through the API.
    Stop(String),
}

impl ScriptStep {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            ScriptStep::ExpectMessage(_) => "expect_message",
            ScriptStep::ExpectNoMessage => "expect_no_message",
            ScriptStep::Say(_) => "say",
            ScriptStep::Advance(_) => "advance",
            ScriptStep::MockHttp(_) => "mock_http",
            ScriptStep::ExpectHttp(_) => "expect_http",
            ScriptStep::ExpectEnd(_) => "expect_end",
            ScriptStep::ExpectWaiting(_) => "expect_waiting",
            ScriptStep::ExpectSteps(_) => "expect_steps",
            ScriptStep::ExpectVariable { .. } => "expect_variable",
            ScriptStep::ExpectWidget { .. } => "expect_widget",
            ScriptStep::ExpectContext { .. } => "expect_context",
            ScriptStep::ExpectWarning(_) => "expect_warning",
            ScriptStep::ExpectHandoff(_) => "expect_handoff",
            ScriptStep::DeliveryFailed { .. } => "delivery_failed",
            ScriptStep::FireTimer(_) => "fire_timer",
            ScriptStep::Stop(_) => "stop",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Body(String),
    Fields(Map<String, Value>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationSpec {
    Seconds(u64),
    Text(String),
}

impl DurationSpec {
    pub(crate) fn to_ms(&self) -> Result<i64, String> {
        let text = match self {
            DurationSpec::Seconds(s) => {
                return Ok(i64::try_from(*s).unwrap_or(i64::MAX / 1000) * 1000);
            }
            DurationSpec::Text(t) => t.trim(),
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: i64 = number
            .parse()
            .map_err(|_| format!("invalid duration '{text}'"))?;
        let factor = match unit.trim() {
            "ms" => 1,
            "" | "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => return Err(format!("unknown duration unit '{other}' in '{text}'")),
        };
        n.checked_mul(factor)
            .ok_or_else(|| format!("duration '{text}' is too long"))
    }
}

/// Every field given must match; `body` exactly, `contains` a substring, `regex` anywhere
/// (anchor it yourself).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageExpectation {
    pub body: Option<String>,
    pub contains: Option<String>,
    pub regex: Option<String>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub widget: Option<String>,
    pub media_urls: Option<Vec<String>>,
    pub channel_sid: Option<String>,
    pub attributes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpMock {
    /// Any method when absent.
    pub method: Option<String>,
    /// The full URL, query string included.
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub body: String,
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Answer with a transport error (timeout, refused…) instead of a response.
    pub error: Option<String>,
    #[serde(default)]
    pub truncated: bool,
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExpectation {
    pub method: Option<String>,
    pub url: Option<String>,
    pub body: Option<String>,
    pub widget: Option<String>,
    /// `http` or `function`.
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndExpectation {
    /// The widget the last step left.
    pub widget: Option<String>,
    /// `completed`, `failed` or `stopped`.
    pub status: Option<String>,
    pub code: Option<i64>,
    /// Part of the failure message or stop reason.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffExpectation {
    pub widget: Option<String>,
    pub workflow: Option<String>,
    pub channel: Option<String>,
    /// Compared as JSON.
    pub attributes: Option<Value>,
    pub priority: Option<i64>,
    pub timeout_s: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let case = TestCase::from_yaml(
            r#"
name: says yes
flow: seed-flow.json
trigger: {conversation_message: {body: "hi", author: "+15558675310"}}
script:
  - expect_message: {body: "Hi, do you like bots?"}
  - say: "yes"
  - say: {Body: "x", NumMedia: "1"}
  - advance: 3600s
  - advance: 5
  - mock_http: {method: GET, url: "https://x.test/a", status: 200, body: '{"a":1}', content_type: application/json}
  - expect_end: {widget: send_message_2}
  - expect_variable: {name: count, value: "2"}
  - expect_widget: {path: "http_1.parsed.a", value: 1}
  - expect_no_message
  - fire_timer: 0
"#,
        )
        .expect("parses");
        assert_eq!(case.script.len(), 11);
        assert!(matches!(
            case.trigger,
            TriggerSpec::ConversationMessage { .. }
        ));
    }

    #[test]
    fn durations() {
        let d = |s: &str| DurationSpec::Text(s.into()).to_ms();
        assert_eq!(d("3600s"), Ok(3_600_000));
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("2h"), Ok(7_200_000));
        assert_eq!(DurationSpec::Seconds(5).to_ms(), Ok(5000));
        assert!(d("soon").is_err());
        assert!(d("5y").is_err());
    }
}
