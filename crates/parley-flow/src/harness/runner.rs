//! Drives one test case: starts the execution, plays the script (replies, clock moves, HTTP
//! mocks), and stores the session as JSON text and reads it back between every call, as the
//! server does, so a case only passes if the execution survives being persisted.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Files;
use super::case::{HttpMock, Reply, ScriptStep, TestCase, TriggerSpec};
use super::env::TestEnv;
use super::expect;
use super::report::{CallTrace, CaseFailure, CaseReport, Trace, TrailEntry};
use crate::compile::CompiledFlow;
use crate::engine::{
    self, Effect, EndReason, Event, HttpResult, Outcome, Session, StartParams, Trigger,
};
use crate::env::{Env, Limits};

/// The SID the case's main flow runs under.
pub const MAIN_FLOW_SID: &str = "FW00000000000000000000000000000001";
const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";

/// A scheduled reply timer as the harness tracks it.
pub(super) struct Timer {
    pub id: String,
    pub fire_at_ms: i64,
    pub cancelled: bool,
    pub fired: bool,
}

/// How replies from the contact look, from the way the execution started.
enum ReplyStyle {
    Messaging {
        contact: String,
        flow_address: String,
    },
    Conversation {
        sid: String,
        service: String,
        author: String,
    },
}

pub(super) struct Driver {
    flow: Arc<CompiledFlow>,
    pub env: TestEnv,
    limits: Limits,
    pub session: Option<Session>,
    style: ReplyStyle,
    replies_sent: u64,
    pub messages: VecDeque<Effect>,
    pub requests: VecDeque<Effect>,
    pub handoffs: VecDeque<Effect>,
    pending_http: Vec<Effect>,
    mocks: Vec<(HttpMock, bool)>,
    pub timers: Vec<Timer>,
    pub warnings: Vec<String>,
    pub ended: Option<EndReason>,
    pub trail: Vec<TrailEntry>,
    trace: Trace,
    /// Steps the trace may still list (`max_trace_steps`).
    trace_budget: usize,
    /// A harness-level problem (the session did not survive JSON) to report at the next check.
    pub broken: Option<String>,
}

/// Runs a case, reading the flow files through `files`.
pub fn run_case(case: &TestCase, files: &dyn Files) -> CaseReport {
    let (mut driver, start) = match Driver::new(case, files) {
        Ok(d) => d,
        Err(message) => {
            return CaseReport {
                name: case.name.clone(),
                failure: Some(CaseFailure {
                    script_step: 0,
                    step: "load".into(),
                    expected: "flows that load and compile".into(),
                    actual: message,
                }),
                trail: Vec::new(),
                trace: Trace {
                    case: case.name.clone(),
                    ..Trace::default()
                },
            };
        }
    };
    driver.start(start);
    let mut failure = None;
    for (i, step) in case.script.iter().enumerate() {
        let result = driver.play(step).and_then(|()| match driver.broken.take() {
            Some(problem) => Err(("a session that survives JSON".into(), problem)),
            None => Ok(()),
        });
        if let Err((expected, actual)) = result {
            failure = Some(CaseFailure {
                script_step: i + 1,
                step: step.label().into(),
                expected,
                actual,
            });
            break;
        }
    }
    driver.into_report(case, failure)
}

fn load(files: &dyn Files, path: &str, sid: &str) -> Result<Arc<CompiledFlow>, String> {
    let text = files.read(path)?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
    CompiledFlow::compile(sid, 1, &json)
        .map(Arc::new)
        .map_err(|report| format!("{path} is not a valid flow:\n{report}"))
}

fn merged(mut base: Map<String, Value>, extra: &Map<String, Value>) -> Map<String, Value> {
    for (k, v) in extra {
        base.insert(k.clone(), v.clone());
    }
    base
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Driver {
    fn new(case: &TestCase, files: &dyn Files) -> Result<(Driver, StartParams), String> {
        let flow = load(files, &case.flow, MAIN_FLOW_SID)?;
        let mut env = TestEnv::default();
        for (sid, path) in &case.subflows {
            env.add_flow(load(files, path, sid)?);
        }
        let flow_warnings = std::iter::once(&flow)
            .chain(case.subflows.keys().filter_map(|sid| env.flow(sid)))
            .flat_map(|f| {
                f.warnings()
                    .iter()
                    .map(|w| format!("{} {}: {}", f.flow_sid(), w.property_path, w.message))
                    .collect::<Vec<_>>()
            })
            .collect();
        let execution_sid = env.new_sid("FN");
        let (trigger, contact, flow_address, channel_sid, style) =
            start_trigger(&case.trigger, &mut env);
        let params = StartParams {
            execution_sid,
            trigger,
            contact_address: contact,
            flow_address,
            channel_sid,
        };
        let driver = Driver {
            flow,
            env,
            limits: case.limits.clone().unwrap_or_default(),
            session: None,
            style,
            replies_sent: 0,
            messages: VecDeque::new(),
            requests: VecDeque::new(),
            handoffs: VecDeque::new(),
            pending_http: Vec::new(),
            mocks: Vec::new(),
            timers: Vec::new(),
            warnings: Vec::new(),
            ended: None,
            trail: Vec::new(),
            trace: Trace {
                case: case.name.clone(),
                flow_warnings,
                ..Trace::default()
            },
            broken: None,
            trace_budget: case.max_trace_steps.unwrap_or(usize::MAX),
        };
        Ok((driver, params))
    }

    fn start(&mut self, params: StartParams) {
        let input = format!("start: {}", params.trigger.event_name());
        let out = engine::start(&self.flow, params, &mut self.env, &self.limits);
        self.absorb(input, out);
        self.settle();
    }

    /// Delivers an event to the stored session (after a JSON round trip).
    pub(super) fn deliver(&mut self, input: String, event: Event) {
        let Some(session) = self.session.take() else {
            return;
        };
        let session = match serde_json::to_string(&session)
            .and_then(|text| serde_json::from_str::<Session>(&text))
        {
            Ok(s) => s,
            Err(e) => {
                self.broken = Some(format!("the session did not round-trip through JSON: {e}"));
                session
            }
        };
        let out = engine::resume(&self.flow, session, event, &mut self.env, &self.limits);
        self.absorb(input, out);
    }

    fn absorb(&mut self, input: String, out: Outcome) {
        for s in &out.steps {
            self.trail.push(TrailEntry {
                widget: s.transitioned_from.clone(),
                event: s.name.clone(),
                to: s.transitioned_to.clone(),
            });
        }
        for effect in &out.effects {
            match effect {
                Effect::SendMessage { .. } => self.messages.push_back(effect.clone()),
                Effect::HttpRequest { .. } => {
                    self.requests.push_back(effect.clone());
                    self.pending_http.push(effect.clone());
                }
                Effect::ScheduleTimer {
                    timer_id,
                    fire_at_ms,
                } => self.timers.push(Timer {
                    id: timer_id.clone(),
                    fire_at_ms: *fire_at_ms,
                    cancelled: false,
                    fired: false,
                }),
                Effect::CancelTimer { timer_id } => {
                    for t in self.timers.iter_mut().filter(|t| t.id == *timer_id) {
                        t.cancelled = true;
                    }
                }
                Effect::Handoff { .. } => self.handoffs.push_back(effect.clone()),
            }
        }
        self.warnings.extend(out.warnings.iter().cloned());
        if out.ended.is_some() {
            self.ended.clone_from(&out.ended);
        }
        let mut steps = out.steps;
        let kept = steps.len().min(self.trace_budget);
        let steps_omitted = steps.len() - kept;
        steps.truncate(kept);
        self.trace_budget -= kept;
        self.trace.calls.push(CallTrace {
            input,
            at_ms: self.env.now_ms(),
            steps,
            steps_omitted,
            effects: out.effects,
            warnings: out.warnings,
            ended: out.ended,
        });
        self.session = Some(out.session);
    }

    /// Answers every pending HTTP request that has an unused matching mock.
    fn settle(&mut self) {
        loop {
            let found = self.pending_http.iter().enumerate().find_map(|(i, req)| {
                let Effect::HttpRequest { method, url, .. } = req else {
                    return None;
                };
                self.mocks
                    .iter()
                    .position(|(m, used)| !used && mock_matches(m, method, url))
                    .map(|j| (i, j))
            });
            let Some((i, j)) = found else { return };
            let request = self.pending_http.remove(i);
            let Some((mock, used)) = self.mocks.get_mut(j) else {
                return;
            };
            *used = true;
            let mock = mock.clone();
            if let Effect::HttpRequest {
                request_id, widget, ..
            } = request
            {
                let result = mock_result(&mock);
                let label = match &mock.error {
                    Some(e) => format!("http error for {widget}: {e}"),
                    None => format!("http {} for {widget}", mock.status),
                };
                self.deliver(label, Event::HttpResponse { request_id, result });
            }
        }
    }

    fn play(&mut self, step: &ScriptStep) -> Result<(), (String, String)> {
        match step {
            ScriptStep::Say(reply) => {
                let (label, message) = self.reply(reply);
                self.deliver(label, Event::InboundMessage { message });
            }
            ScriptStep::Advance(d) => {
                let ms = d.to_ms().map_err(|e| ("a duration".to_owned(), e))?;
                self.advance(ms);
            }
            ScriptStep::MockHttp(mock) => self.mocks.push((mock.clone(), false)),
            ScriptStep::DeliveryFailed {
                error_code,
                error_message,
            } => {
                let sid = self
                    .session
                    .as_ref()
                    .and_then(|s| s.awaited_message_sid())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        (
                            "a send-and-wait widget waiting".to_owned(),
                            "nothing waits".to_owned(),
                        )
                    })?;
                self.deliver(
                    format!("delivery failed: {sid}"),
                    Event::DeliveryFailed {
                        message_sid: sid,
                        error_code: *error_code,
                        error_message: error_message.clone(),
                    },
                );
            }
            ScriptStep::FireTimer(n) => {
                let id = self.timers.get(*n).map(|t| t.id.clone()).ok_or_else(|| {
                    (
                        format!("timer #{n}"),
                        format!("{} timers scheduled", self.timers.len()),
                    )
                })?;
                self.deliver(
                    format!("timer fired: {id}"),
                    Event::TimerFired { timer_id: id },
                );
            }
            ScriptStep::Stop(reason) => self.deliver(
                format!("stop: {reason}"),
                Event::Stop {
                    reason: reason.clone(),
                },
            ),
            other => return expect::check(self, other),
        }
        self.settle();
        Ok(())
    }

    /// Moves the clock, firing due timers in order at their own time.
    fn advance(&mut self, ms: i64) {
        let target = self.env.now_ms().saturating_add(ms);
        loop {
            let due = self
                .timers
                .iter_mut()
                .filter(|t| !t.cancelled && !t.fired && t.fire_at_ms <= target)
                .min_by_key(|t| t.fire_at_ms);
            let Some(timer) = due else { break };
            timer.fired = true;
            let (id, at) = (timer.id.clone(), timer.fire_at_ms);
            self.env.set_now_ms(at.max(self.env.now_ms()));
            self.deliver(
                format!("timer fired: {id}"),
                Event::TimerFired { timer_id: id },
            );
            self.settle();
        }
        self.env.set_now_ms(target);
    }

    fn reply(&mut self, reply: &Reply) -> (String, Map<String, Value>) {
        self.replies_sent += 1;
        let (label, body) = match reply {
            Reply::Body(body) => (format!("reply: {body}"), body.clone()),
            Reply::Fields(fields) => return ("reply (fields)".into(), fields.clone()),
        };
        let message = match &self.style {
            ReplyStyle::Messaging {
                contact,
                flow_address,
            } => json!({
                "MessageSid": self.env.new_sid("SM"),
                "AccountSid": ACCOUNT_SID,
                "From": contact,
                "To": flow_address,
                "Body": body,
                "NumMedia": "0",
            }),
            ReplyStyle::Conversation {
                sid,
                service,
                author,
            } => json!({
                "EventType": "onMessageAdded",
                "ConversationSid": sid,
                "ChatServiceSid": service,
                "MessageSid": self.env.new_sid("IM"),
                "Index": self.replies_sent.to_string(),
                "Author": author,
                "Body": body,
                "Source": "SMS",
            }),
        };
        (label, object(message))
    }

    fn into_report(self, case: &TestCase, failure: Option<CaseFailure>) -> CaseReport {
        let mut trace = self.trace;
        trace.final_context = self
            .session
            .as_ref()
            .map(Session::context)
            .unwrap_or(Value::Null);
        trace.ended = self.ended;
        CaseReport {
            name: case.name.clone(),
            failure,
            trail: self.trail,
            trace,
        }
    }
}

fn mock_matches(mock: &HttpMock, method: &str, url: &str) -> bool {
    mock.url == url
        && mock
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
}

fn mock_result(mock: &HttpMock) -> HttpResult {
    match &mock.error {
        Some(message) => HttpResult::Error {
            message: message.clone(),
        },
        None => HttpResult::Response {
            status: mock.status,
            content_type: mock.content_type.clone(),
            headers: mock
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: mock.body.clone(),
            truncated: mock.truncated,
        },
    }
}

/// The trigger, contact, flow address, bound conversation and reply style of a start.
fn start_trigger(
    spec: &TriggerSpec,
    env: &mut TestEnv,
) -> (Trigger, String, String, Option<String>, ReplyStyle) {
    match spec {
        TriggerSpec::Sms {
            from,
            to,
            body,
            fields,
        } => {
            let message = object(json!({
                "MessageSid": env.new_sid("SM"), "AccountSid": ACCOUNT_SID,
                "From": from, "To": to, "Body": body, "NumMedia": "0",
            }));
            (
                Trigger::IncomingMessage {
                    message: merged(message, fields),
                },
                from.clone(),
                to.clone(),
                None,
                ReplyStyle::Messaging {
                    contact: from.clone(),
                    flow_address: to.clone(),
                },
            )
        }
        TriggerSpec::ConversationMessage {
            body,
            author,
            conversation_sid,
            chat_service_sid,
            flow_address,
            contact_address,
            fields,
        } => {
            let conversation = object(json!({
                "EventType": "onMessageAdded", "AccountSid": ACCOUNT_SID,
                "ConversationSid": conversation_sid, "ChatServiceSid": chat_service_sid,
                "MessageSid": env.new_sid("IM"), "Index": "0", "Author": author,
                "Body": body, "Source": "SMS",
            }));
            (
                Trigger::IncomingConversationMessage {
                    conversation: merged(conversation, fields),
                },
                contact_address.clone().unwrap_or_else(|| author.clone()),
                flow_address.clone(),
                Some(conversation_sid.clone()),
                ReplyStyle::Conversation {
                    sid: conversation_sid.clone(),
                    service: chat_service_sid.clone(),
                    author: author.clone(),
                },
            )
        }
        TriggerSpec::Rest {
            to,
            from,
            parameters,
        } => (
            Trigger::IncomingRequest {
                to: to.clone(),
                from: from.clone(),
                parameters: if parameters.is_null() {
                    json!({})
                } else {
                    parameters.clone()
                },
            },
            to.clone(),
            from.clone(),
            None,
            ReplyStyle::Messaging {
                contact: to.clone(),
                flow_address: from.clone(),
            },
        ),
        TriggerSpec::Call { from, to, fields } => {
            let call = object(json!({
                "CallSid": env.new_sid("CA"), "AccountSid": ACCOUNT_SID,
                "From": from, "To": to, "CallStatus": "ringing", "Direction": "inbound",
            }));
            (
                Trigger::IncomingCall {
                    call: merged(call, fields),
                },
                from.clone(),
                to.clone(),
                None,
                ReplyStyle::Messaging {
                    contact: from.clone(),
                    flow_address: to.clone(),
                },
            )
        }
    }
}
