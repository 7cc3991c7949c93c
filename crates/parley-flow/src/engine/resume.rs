//! Delivering an [`Event`] to a parked execution: match it against what the innermost frame
//! waits for, and either take the widget's event or ignore it with a warning (81002 for an
//! event the widget cannot take, stale timers and responses) leaving the session unchanged.

use super::run::{Pending, Run};
use super::session::Wait;
use super::types::{Effect, EndReason, Event};
use super::widgets::{http, messaging};
use crate::env::RevisionSpec;

pub(crate) fn deliver(run: &mut Run<'_>, event: Event) {
    if !run.session.is_active() {
        run.warnings.push(format!(
            "the execution has ended; event {} ignored",
            event.name()
        ));
        return;
    }
    if let Event::Stop { reason } = event {
        stop(run, reason);
        return;
    }
    let Some(wait) = run.session.wait().cloned() else {
        run.warnings.push(format!(
            "81002: unexpected event {} while the execution waits for nothing; ignored",
            event.name()
        ));
        return;
    };
    let Some(pending) = accept(run, &wait, event) else {
        return;
    };
    if !load_subflow(run) {
        return;
    }
    if let Some(frame) = run.session.frames.last_mut() {
        frame.wait = None;
    }
    run.advance(pending);
}

/// What the event means for the wait, or `None` (with a warning) when it does not fit.
fn accept(run: &mut Run<'_>, wait: &Wait, event: Event) -> Option<Pending> {
    let waiting_in = match wait {
        Wait::Reply { widget, .. } | Wait::Http { widget, .. } => widget.clone(),
    };
    match (wait, event) {
        (
            Wait::Reply {
                widget, timer_id, ..
            },
            Event::InboundMessage { message },
        ) => {
            run.effects.push(Effect::CancelTimer {
                timer_id: timer_id.clone(),
            });
            let frame = run.session.frames.last_mut()?;
            let delta = messaging::on_reply(frame, widget, message);
            Some(pending(widget, "incomingMessage", delta))
        }
        (
            Wait::Reply {
                widget, timer_id, ..
            },
            Event::TimerFired { timer_id: fired },
        ) if *timer_id == fired => {
            let frame = run.session.frames.last()?;
            let delta = super::context::widget_delta(&frame.context, widget);
            Some(pending(widget, "timeout", delta))
        }
        (
            Wait::Reply {
                widget,
                timer_id,
                message_sid,
            },
            Event::DeliveryFailed {
                message_sid: failed,
                error_code,
                error_message,
            },
        ) if *message_sid == failed => {
            run.effects.push(Effect::CancelTimer {
                timer_id: timer_id.clone(),
            });
            let frame = run.session.frames.last_mut()?;
            let delta = messaging::on_delivery_failure(frame, widget, error_code, error_message);
            Some(pending(widget, "deliveryFailure", delta))
        }
        (
            Wait::Http {
                widget,
                request_id,
                http_kind,
            },
            Event::HttpResponse {
                request_id: answered,
                result,
            },
        ) if *request_id == answered => {
            let max = run.limits.http_max_response_bytes;
            let frame = run.session.frames.last_mut()?;
            let (event, delta, warning) = http::on_response(frame, widget, *http_kind, result, max);
            run.warnings.extend(warning);
            Some(pending(widget, event, delta))
        }
        (_, Event::TimerFired { timer_id }) => {
            run.warnings.push(format!(
                "stale timer {timer_id} ignored (the execution waits in {waiting_in})"
            ));
            None
        }
        (_, Event::HttpResponse { request_id, .. }) => {
            run.warnings.push(format!(
                "stale HTTP response {request_id} ignored (the execution waits in {waiting_in})"
            ));
            None
        }
        (_, Event::DeliveryFailed { message_sid, .. }) => {
            run.warnings.push(format!(
                "delivery failure of {message_sid} ignored: it is not the message {waiting_in} waits on"
            ));
            None
        }
        (_, other) => {
            run.warnings.push(format!(
                "81002: unexpected event {} while waiting in {waiting_in}; ignored",
                other.name()
            ));
            None
        }
    }
}

fn pending(widget: &str, event: &str, delta: serde_json::Value) -> Pending {
    Pending {
        from: widget.to_owned(),
        event: event.to_owned(),
        transition: None,
        delta,
    }
}

/// A subflow frame needs its flow loaded again before it can go on. If that fails the
/// subflow fails (the parent takes `failed`); returns whether to go on with the event.
fn load_subflow(run: &mut Run<'_>) -> bool {
    if run.session.frames.len() < 2 {
        return true;
    }
    let Some(top) = run.session.frames.last() else {
        return true;
    };
    let (sid, revision) = (top.flow_sid.clone(), top.revision);
    match run.env.load_flow(&sid, RevisionSpec::Exact(revision)) {
        Ok(flow) => {
            run.sub = Some(flow);
            true
        }
        Err(e) => {
            if let Some(p) =
                run.fail_frame(81024, format!("could not load revision {revision}: {e}"))
            {
                run.advance(p);
            }
            false
        }
    }
}

fn stop(run: &mut Run<'_>, reason: String) {
    for frame in run.session.frames.iter_mut().rev() {
        if let Some(Wait::Reply { timer_id, .. }) = frame.wait.take() {
            run.effects.push(Effect::CancelTimer { timer_id });
        }
    }
    run.end(EndReason::Stopped { reason });
}
