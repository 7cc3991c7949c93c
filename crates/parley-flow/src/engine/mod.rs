//! The execution state machine (studio.md §6): [`start`] runs a new execution from its trigger
//! until it waits or ends; [`resume`] delivers one [`Event`] to a waiting execution. Both are
//! pure: the new [`Session`] and the [`Effect`]s to carry out come back in an [`Outcome`].

pub(crate) mod context;
mod resume;
mod run;
mod session;
mod types;
pub(crate) mod widgets;

pub use session::Session;
pub use types::{
    Effect, EndReason, Event, HttpKind, HttpResult, Outcome, StartParams, StepRecord, Trigger,
};

use crate::compile::CompiledFlow;
use crate::env::{Env, Limits};
use run::{Pending, Run};
use session::Frame;

/// Starts an execution: builds the context from the trigger, takes the trigger's transition
/// named after the trigger kind, and runs until a widget waits or the execution ends.
pub fn start(
    flow: &CompiledFlow,
    params: StartParams,
    env: &mut dyn Env,
    limits: &Limits,
) -> Outcome {
    let event = params.trigger.event_name();
    let execution_sid = params.execution_sid.clone();
    let (context, delta) = context::initial(flow.flow_sid(), params);
    let initial = flow.definition().initial_state().to_owned();
    let frame = Frame {
        flow_sid: flow.flow_sid().to_owned(),
        revision: flow.revision(),
        context,
        current: initial.clone(),
        wait: None,
        parent_widget: None,
        parent_step_sid: None,
    };
    let session = Session::new(execution_sid, frame);
    let mut run = Run::new(flow, session, env, limits);
    run.advance(Pending {
        from: initial,
        event: event.to_owned(),
        transition: None,
        delta,
    });
    run.finish()
}

/// Delivers one event to a stored session. `flow` must be the revision the execution started
/// with (`session.flow_revisions()[0]`); a subflow frame's revision is loaded through
/// [`Env::load_flow`]. Events that do not fit what the execution waits for are ignored with a
/// warning and leave the session as it was.
pub fn resume(
    flow: &CompiledFlow,
    session: Session,
    event: Event,
    env: &mut dyn Env,
    limits: &Limits,
) -> Outcome {
    let expected = session.flow_revisions().into_iter().next();
    let mut run = Run::new(flow, session, env, limits);
    match expected {
        Some((sid, revision)) if sid == flow.flow_sid() && revision == flow.revision() => {
            resume::deliver(&mut run, event);
        }
        Some((sid, revision)) => run.warnings.push(format!(
            "resume called with flow {} revision {} but the execution runs {sid} revision {revision}; event ignored",
            flow.flow_sid(),
            flow.revision()
        )),
        None => run
            .warnings
            .push("the session holds no flow; event ignored".to_owned()),
    }
    run.finish()
}

#[cfg(test)]
mod tests;
