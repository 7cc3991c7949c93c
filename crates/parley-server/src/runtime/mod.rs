//! The runtime: what happens after a domain operation (dispatching its events to webhooks,
//! Studio and channels, inside the same transaction) and the workers that run durable jobs
//! (timers, deliveries) once they are due.

pub mod dispatch;
pub mod jobs;
