//! parley-flow: Twilio Studio (v2) flows as a pure library.
//!
//! The crate owns the flow definition model (a lossless view of the JSON the Studio canvas
//! exports), its validation (what `POST /v2/Flows/Validate` answers), Studio's flavour of
//! Liquid, and the execution state machine. It does no I/O: the clock, SIDs and subflow
//! loading come in through [`Env`]; messages, HTTP calls, timers and hand-offs go out as
//! [`Effect`]s; the execution's state is a serialisable [`Session`] that the caller stores and
//! hands back with the next [`Event`]. That keeps every behaviour testable with a fixed clock
//! and seeded SIDs (see [`harness`] and `tests/golden/`).
//!
//! Behaviour follows `shared/docs/reference/studio.md`; section numbers in comments (§4.2…)
//! point there.

mod catalogue;
pub mod compile;
mod conditions;
pub mod definition;
pub mod engine;
pub mod env;
/// For fuzz targets only (`fuzz/` at the repository root): not part of the crate's API.
#[doc(hidden)]
pub mod fuzzing;
pub mod harness;
mod liquid;
pub mod validate;

pub use compile::CompiledFlow;
pub use definition::{Condition, FlowDefinition, State, Transition};
pub use engine::{
    Effect, EndReason, Event, HttpKind, HttpResult, Outcome, Session, StartParams, StepRecord,
    Trigger, resume, start,
};
pub use env::{Env, Limits, RevisionSpec};
pub use validate::{Finding, ValidationReport, validate};
