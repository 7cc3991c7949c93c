//! The runtime: what happens after a domain operation (dispatching its events to webhooks,
//! Studio and channels, inside the same transaction) and the workers that run durable jobs
//! (timers, deliveries) once they are due.

pub mod account_flags;
pub mod dispatch;
pub mod fanout;
pub mod flow_cache;
pub mod http_calls;
pub mod ingress;
pub mod jobs;
pub mod live;
pub mod studio;
pub mod studio_conversations;
pub mod studio_sms;
