//! Schema migrations, kept in the repository as numbered SQL files and applied at start-up.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// (version, SQL) in order. Never edit a migration that has shipped; add a new one.
const SQLITE: &[(i64, &str)] = &[(1, include_str!("../migrations/sqlite/0001_init.sql"))];

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
