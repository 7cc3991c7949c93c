//! Outbound webhooks: who is owed an event, signing, durable delivery with retries, and
//! the guard every outbound call passes.

pub mod delivery;
pub mod guard;
pub mod payload;
pub mod pre;
pub mod signature;
