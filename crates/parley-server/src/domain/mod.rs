//! The business rules of Conversations and Studio resources. Each operation runs inside one
//! store transaction (`Op`), validates against the current state, writes rows, and records
//! the events it caused; the runtime turns those events into webhooks, Studio steps and
//! deliveries in the same transaction (the outbox), before anything is acknowledged.

pub mod accounts;
pub mod address_configs;
pub mod configuration;
pub mod conversations;
pub mod duration;
pub mod events;
pub mod flows;
pub mod messages;
pub mod participants;
pub mod roles;
pub mod services;
pub mod users;
pub mod webhooks;

use parley_store::Tx;

use crate::app::App;
use crate::error::Result;
pub use events::{DomainEvent, Source};

/// The NOTIFY channel that tells every node's job workers that work was scheduled.
pub const JOBS_CHANNEL: &str = "parley_jobs";

/// Who or what caused an operation, which decides which webhooks it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub source: Source,
    /// REST actions fire webhooks only with `X-Twilio-Webhook-Enabled: true`; SMS, WhatsApp
    /// and chat participants always do; Studio's own messages never do.
    pub fire_webhooks: bool,
}

impl Actor {
    pub fn api(webhook_enabled: bool) -> Actor {
        Actor {
            source: Source::Api,
            fire_webhooks: webhook_enabled,
        }
    }

    pub fn studio() -> Actor {
        Actor {
            source: Source::Studio,
            fire_webhooks: false,
        }
    }

    pub fn system() -> Actor {
        Actor {
            source: Source::System,
            fire_webhooks: true,
        }
    }
}

/// One unit of work: the transaction, the account it acts for, and the events it causes.
pub struct Op<'a, 'c> {
    pub tx: &'a mut Tx<'c>,
    pub app: &'a App,
    pub account_sid: &'a str,
    pub now: i64,
    pub actor: Actor,
    /// Events caused so far, each with the actor that caused it (a flow's reply inside an
    /// inbound message's operation is Studio's, not the handset's).
    pub events: Vec<(DomainEvent, Actor)>,
    jobs_scheduled: bool,
}

impl<'a, 'c> Op<'a, 'c> {
    pub fn new(tx: &'a mut Tx<'c>, app: &'a App, account_sid: &'a str, actor: Actor) -> Self {
        Op {
            tx,
            app,
            account_sid,
            now: app.now_ms(),
            actor,
            events: Vec::new(),
            jobs_scheduled: false,
        }
    }

    pub fn sid(&self, prefix: &str) -> String {
        self.app.sid(prefix)
    }

    /// Schedules a durable job in this transaction; workers are woken after the commit.
    pub fn schedule_job(&mut self, job: &parley_store::NewJob) -> Result<()> {
        self.tx.schedule_job(job, self.now)?;
        // With when it is due: a worker woken for a job not due yet only moves its alarm.
        let (app, run_at) = (self.app.clone(), job.run_at);
        self.tx.on_commit(move || app.jobs_wake().scheduled(run_at));
        if !self.jobs_scheduled {
            self.jobs_scheduled = true;
            // Scale-out: wake the workers of the other nodes too (NOTIFY with the commit on
            // PostgreSQL; nothing on SQLite). They poll as a fallback.
            self.tx.notify(JOBS_CHANNEL, String::new());
        }
        Ok(())
    }

    pub fn emit(&mut self, event: DomainEvent) {
        self.events.push((event, self.actor));
    }

    /// Hands the recorded events to the runtime (webhooks, Studio, deliveries, timers).
    pub fn dispatch(&mut self) -> Result<()> {
        crate::runtime::dispatch::dispatch(self)
    }
}

/// Runs `f` as one unit of work for `account_sid`, then dispatches its events; returns
/// once everything is durable. `f` may run more than once before it commits (`Fn`:
/// see `parley_store::Store::write`); only the last run counts.
pub async fn run<T, F>(app: &App, account_sid: &str, actor: Actor, f: F) -> Result<T>
where
    T: Send + 'static,
    F: Fn(&mut Op<'_, '_>) -> Result<T> + Send + 'static,
{
    let app2 = app.clone();
    let account = account_sid.to_string();
    app.store()
        .write(move |tx| {
            let mut op = Op::new(tx, &app2, &account, actor);
            let out = f(&mut op)?;
            op.dispatch()?;
            Ok(out)
        })
        .await
}

/// Runs `f` in a read snapshot.
pub async fn read<T, F>(app: &App, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
{
    app.store().read(f).await
}

/// Checks a JSON attributes value and its size limit (Twilio's limits page).
pub fn check_attributes(name: &str, value: &str, max_bytes: usize) -> Result<()> {
    if value.len() > max_bytes {
        return Err(crate::error::Error::api(
            crate::error::codes::ATTRIBUTES_TOO_LONG,
            format!(
                "{name} is {} bytes; the limit is {max_bytes} bytes",
                value.len()
            ),
        ));
    }
    Ok(())
}
