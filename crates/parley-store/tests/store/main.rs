//! The store's contract, checked on every backend: SQLite always, PostgreSQL too when
//! `PARLEY_TEST_PG` names a server (each test in a schema of its own). Shared helpers are
//! here; the tests are grouped by what they check.

mod jobs;
mod locks;
mod migrations_and_errors;
mod records;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use parley_store::testing::PgSchema;
use parley_store::{
    BindingRow, ConversationRow, Cursor, DbUrl, Durability, ExecutionRow, NewJob, PageRequest,
    Param, ParticipantRow, Store, StoreError, schema,
};

/// A store on a fresh database, removed afterwards.
struct TestDb {
    name: &'static str,
    store: Store,
    _guard: Guard,
}

enum Guard {
    Sqlite(PathBuf),
    Pg(#[allow(dead_code)] PgSchema),
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Sqlite(path) = self {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

static N: AtomicU64 = AtomicU64::new(0);

fn backends() -> Vec<TestDb> {
    let path = std::env::temp_dir().join(format!(
        "parley-store-test-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let url = DbUrl::Sqlite(path.clone());
    let mut out = vec![TestDb {
        name: "sqlite",
        store: Store::open(&url, Durability::Normal).expect("open sqlite"),
        _guard: Guard::Sqlite(path),
    }];
    if let Some(schema) = PgSchema::from_env() {
        let schema = schema.expect("PARLEY_TEST_PG is set but the server cannot be reached");
        let url = DbUrl::Postgres(schema.url().clone().with_pool_size(4));
        out.push(TestDb {
            name: "postgres",
            store: Store::open(&url, Durability::Normal).expect("open postgres"),
            _guard: Guard::Pg(schema),
        });
    }
    out
}

type R<T> = Result<T, StoreError>;

fn conversation(sid: &str, unique_name: Option<&str>) -> ConversationRow {
    ConversationRow {
        friendly_name: Some("café ☕".into()),
        unique_name: unique_name.map(str::to_string),
        date_inactive: Some(1_704_067_200_123),
        ..parley_store::testing::conversation(sid)
    }
}

fn binding(participant: &str, address: &str) -> BindingRow {
    BindingRow {
        seq: 0,
        account_sid: "AC1".into(),
        address: address.into(),
        proxy_address: "+12345678901".into(),
        conversation_sid: "CH1".into(),
        participant_sid: participant.into(),
    }
}

fn execution(sid: &str, status: &str) -> ExecutionRow {
    ExecutionRow {
        seq: 0,
        sid: sid.into(),
        account_sid: "AC1".into(),
        flow_sid: "FW1".into(),
        flow_revision: 1,
        contact_key: "+15550001".into(),
        contact_channel_address: "+15550001".into(),
        flow_channel_address: "+12345678901".into(),
        conversation_sid: None,
        status: status.into(),
        initiated_by: "API".into(),
        waiting_for_reply: true,
        session: "{}".into(),
        date_created: 1,
        date_updated: 1,
    }
}

fn job(key: &str, run_at: i64) -> NewJob {
    NewJob {
        key: key.into(),
        kind: "test".into(),
        account_sid: "AC1".into(),
        run_at,
        max_attempts: 3,
        payload: format!("{{\"key\":\"{key}\"}}"),
    }
}
