//! For tests that run on PostgreSQL too: `PARLEY_TEST_PG` names the server, and each test
//! gets a schema of its own (created empty, migrated by `Store::open`, dropped afterwards),
//! so tests run in parallel on one database without seeing each other.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, StoreError};
use crate::postgres::PgUrl;

/// The environment variable with the PostgreSQL URL tests use (CI sets it when a server
/// answers on 127.0.0.1:5432).
pub const TEST_PG_ENV: &str = "PARLEY_TEST_PG";

/// The URL from `PARLEY_TEST_PG`, when set.
pub fn test_pg_url() -> Option<String> {
    std::env::var(TEST_PG_ENV)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty schema; dropped (with everything in it) when this is dropped.
pub struct PgSchema {
    base: String,
    name: String,
    url: PgUrl,
}

impl std::fmt::Debug for PgSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSchema")
            .field("name", &self.name)
            .finish()
    }
}

fn admin<T: Send + 'static>(
    base: String,
    f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, postgres::Error> + Send + 'static,
) -> Result<T> {
    // The driver runs a runtime of its own: keep it off the caller's (maybe async) thread.
    std::thread::spawn(move || -> Result<T> {
        let mut client = postgres::Client::connect(&base, postgres::NoTls)?;
        Ok(f(&mut client)?)
    })
    .join()
    .map_err(|_| StoreError::Panicked("PostgreSQL test helper panicked".into()))?
}

impl PgSchema {
    /// Creates `parley_t_<unique>` on the server at `base` (a `postgres://` URL without
    /// `options`).
    pub fn create(base: &str) -> Result<PgSchema> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("parley_t_{}_{n}_{nanos}", std::process::id());
        let sql = format!("CREATE SCHEMA {name}");
        admin(base.to_string(), move |c| c.batch_execute(&sql))?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = PgUrl::parse(&format!("{base}{sep}options=-csearch_path%3D{name}"))
            .map_err(StoreError::Backend)?;
        Ok(PgSchema {
            base: base.to_string(),
            name,
            url,
        })
    }

    /// A fresh schema on `PARLEY_TEST_PG`'s server, if it is set.
    pub fn from_env() -> Option<Result<PgSchema>> {
        test_pg_url().map(|base| PgSchema::create(&base))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the schema (its `search_path`), for `Store::open` or `parley serve --db`.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(e) = admin(self.base.clone(), move |c| c.batch_execute(&sql)) {
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}

/// A minimal active conversation in account `AC1`, service `IS1`, for store tests to
/// insert; a test sets the fields it is about on the result.
pub fn conversation(sid: &str) -> crate::ConversationRow {
    crate::ConversationRow {
        seq: 0,
        sid: sid.into(),
        account_sid: "AC1".into(),
        service_sid: "IS1".into(),
        messaging_service_sid: None,
        friendly_name: None,
        unique_name: None,
        attributes: "{}".into(),
        state: "active".into(),
        timer_inactive: None,
        timer_closed: None,
        date_inactive: None,
        date_closed: None,
        bindings: None,
        next_index: 0,
        date_created: 1,
        date_updated: 1,
    }
}
