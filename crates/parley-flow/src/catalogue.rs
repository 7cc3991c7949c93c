//! The widget catalogue: every Studio `type` string, its transition events, the properties
//! its schema requires, and how (or whether) Parley runs it. Validation and the engine both
//! read this one table so they can never disagree about what a widget is (studio.md §2.1).

/// How the engine runs a widget type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runner {
    Trigger,
    SendMessage,
    SendAndWait,
    Split,
    SetVariables,
    HttpRequest,
    RunFunction,
    RunSubflow,
    SendToFlex,
    /// Needs a live call (TwiML); Parley has no voice leg yet.
    Voice,
    /// A type Studio knows but Parley does not run (deprecated or unverified products).
    Unsupported,
}

/// What the catalogue knows about one widget type.
#[derive(Debug)]
pub(crate) struct WidgetSpec {
    pub type_name: &'static str,
    /// The events its transitions may name; `None` when the exact strings are unverified
    /// (studio.md marks them so) and validation must not reject what Studio may accept.
    pub events: Option<&'static [&'static str]>,
    /// Properties the official schema requires (studio.md §1.3).
    pub required: &'static [&'static str],
    /// The event a widget takes when it cannot do its job (render error, unsendable
    /// message…). Widgets without one end the execution instead.
    pub failure_event: Option<&'static str>,
    pub runner: Runner,
}

const fn spec(
    type_name: &'static str,
    events: &'static [&'static str],
    required: &'static [&'static str],
    failure_event: Option<&'static str>,
    runner: Runner,
) -> WidgetSpec {
    WidgetSpec {
        type_name,
        events: Some(events),
        required,
        failure_event,
        runner,
    }
}

/// The trigger's events, which are also the names of the ways an execution can start.
pub(crate) const TRIGGER_EVENTS: &[&str] = &[
    "incomingMessage",
    "incomingCall",
    "incomingConversationMessage",
    "incomingRequest",
    "incomingParent",
];

static WIDGETS: &[WidgetSpec] = &[
    spec("trigger", TRIGGER_EVENTS, &[], None, Runner::Trigger),
    spec(
        "send-message",
        &["sent", "failed"],
        &["from"],
        Some("failed"),
        Runner::SendMessage,
    ),
    // Studio gives send-and-wait no "failed" event; a message that cannot go out is, from the
    // flow's point of view, one that was not delivered.
    spec(
        "send-and-wait-for-reply",
        &["incomingMessage", "timeout", "deliveryFailure"],
        &["from"],
        Some("deliveryFailure"),
        Runner::SendAndWait,
    ),
    spec(
        "split-based-on",
        &["match", "noMatch"],
        &["input"],
        None,
        Runner::Split,
    ),
    spec("set-variables", &["next"], &[], None, Runner::SetVariables),
    spec(
        "make-http-request",
        &["success", "failed"],
        &["url"],
        Some("failed"),
        Runner::HttpRequest,
    ),
    spec(
        "run-function",
        &["success", "fail"],
        &["url"],
        Some("fail"),
        Runner::RunFunction,
    ),
    spec(
        "run-subflow",
        &["completed", "failed"],
        &["flow_sid", "flow_revision"],
        Some("failed"),
        Runner::RunSubflow,
    ),
    spec(
        "send-to-flex",
        &["callComplete", "failedToEnqueue", "callFailure"],
        &["workflow", "channel"],
        Some("failedToEnqueue"),
        Runner::SendToFlex,
    ),
    spec(
        "add-twiml-redirect",
        &["return", "timeout", "fail"],
        &[],
        None,
        Runner::Voice,
    ),
    spec("say-play", &["audioComplete"], &[], None, Runner::Voice),
    spec(
        "gather-input-on-call",
        &["keypress", "speech", "timeout"],
        &[],
        None,
        Runner::Voice,
    ),
    spec(
        "connect-call-to",
        &["callCompleted", "hangup"],
        &["noun"],
        None,
        Runner::Voice,
    ),
    spec(
        "make-outgoing-call-v2",
        &["answered", "busy", "noAnswer", "failed"],
        &["from", "to"],
        None,
        Runner::Voice,
    ),
    spec(
        "make-outgoing-call-v1",
        &["answered", "busy", "noAnswer", "failed"],
        &[],
        None,
        Runner::Voice,
    ),
    spec(
        "record-voicemail",
        &["recordingComplete", "noAudio", "hangup"],
        &[],
        None,
        Runner::Voice,
    ),
    spec(
        "record-call",
        &["success", "failed"],
        &[],
        None,
        Runner::Voice,
    ),
    spec(
        "enqueue-call",
        &["callComplete", "failedToEnqueue", "callFailure"],
        &[],
        None,
        Runner::Voice,
    ),
    spec(
        "capture-payments",
        &[
            "success",
            "maxFailedAttempts",
            "providerError",
            "payInterrupted",
            "hangup",
            "validationError",
        ],
        &[],
        None,
        Runner::Voice,
    ),
    spec("fork-stream", &["next"], &[], None, Runner::Voice),
    spec(
        "connect-virtual-agent",
        &["return", "hangup"],
        &["connector"],
        None,
        Runner::Voice,
    ),
    WidgetSpec {
        type_name: "connect-virtual-agent-v2",
        events: None,
        required: &[],
        failure_event: None,
        runner: Runner::Voice,
    },
    spec(
        "send-to-auto-pilot",
        &["sessionEnded", "failure", "timeout"],
        &[],
        None,
        Runner::Unsupported,
    ),
];

/// Looks a widget type up; `None` means Studio does not know the type.
pub(crate) fn widget(type_name: &str) -> Option<&'static WidgetSpec> {
    WIDGETS.iter().find(|w| w.type_name == type_name)
}

/// The 17 split condition types of studio.md §4.1.
pub(crate) const CONDITION_TYPES: &[&str] = &[
    "equal_to",
    "not_equal_to",
    "matches_any_of",
    "does_not_match_any_of",
    "is_blank",
    "is_not_blank",
    "regex",
    "contains",
    "does_not_contain",
    "starts_with",
    "does_not_start_with",
    "less_than",
    "greater_than",
    "is_before_time",
    "is_after_time",
    "is_before_date",
    "is_after_date",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_fails_with_fail_not_failed() {
        let f = widget("run-function").expect("known");
        assert_eq!(f.failure_event, Some("fail"));
        assert!(!f.events.unwrap_or_default().contains(&"failed"));
    }

    #[test]
    fn every_failure_event_is_an_event_of_its_widget() {
        for w in WIDGETS {
            if let (Some(fe), Some(events)) = (w.failure_event, w.events) {
                assert!(events.contains(&fe), "{}", w.type_name);
            }
        }
    }

    #[test]
    fn seventeen_condition_types() {
        assert_eq!(CONDITION_TYPES.len(), 17);
    }
}
