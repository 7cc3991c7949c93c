//! parley-server: the HTTP layer that speaks Twilio's wire format, the Conversations v1
//! and Studio v2 resources, the runtime that connects them, the channels, webhooks and the
//! console. See `../shared/docs/ARCHITECTURE.md` for the picture.

pub mod api;
pub mod app;
pub mod channels;
pub mod console;
pub mod core;
pub mod domain;
pub mod error;
pub mod runtime;
pub mod server;
pub mod testkit;
pub mod webhooks;
pub mod wire;

pub use app::{App, Config};
