//! Schema migrations, kept in the repository as numbered SQL files and applied at start-up.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// (version, SQL) in order. Never edit a migration that has shipped; add a new one.
const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../migrations/sqlite/0002_webhook_signing.sql"),
    ),
    (
        3,
        include_str!("../migrations/sqlite/0003_drop_executions_conversation.sql"),
    ),
];

pub(crate) fn run_sqlite(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction()?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, sql) in SQLITE {
        if *version <= current {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now') * 1000)",
            [version],
        )?;
        tracing::info!(version, "applied migration");
    }
    tx.commit()?;
    Ok(())
}

const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_webhook_signing.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/0003_drop_executions_conversation.sql"),
    ),
];

/// Applies what is missing, holding a session advisory lock so that nodes starting together
/// migrate once: the others wait, then find nothing left to do. The lock is per schema, so
/// databases that host several Parley schemas (tests) do not wait on each other.
pub(crate) fn run_postgres(client: &mut postgres::Client) -> Result<()> {
    client.execute(
        "SELECT pg_advisory_lock(hashtextextended('parley-migrate:' || coalesce(current_schema(), ''), 0))",
        &[],
    )?;
    let outcome = apply_postgres(client);
    let unlocked = client.execute(
        "SELECT pg_advisory_unlock(hashtextextended('parley-migrate:' || coalesce(current_schema(), ''), 0))",
        &[],
    );
    outcome?;
    unlocked?;
    Ok(())
}

fn apply_postgres(client: &mut postgres::Client) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    let current: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .try_get(0)?;
    for (version, sql) in POSTGRES {
        if *version <= current {
            continue;
        }
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, (extract(epoch FROM now()) * 1000)::bigint)",
            &[version],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
