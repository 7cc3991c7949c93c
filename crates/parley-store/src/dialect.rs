//! The few statements that differ between SQLite and PostgreSQL.

use crate::tx::Tx;

pub(crate) fn claim_jobs_sql(tx: &Tx<'_>) -> String {
    let cols = <crate::records::JobRow as crate::record::Record>::statements()
        .columns
        .clone();
    match tx.backend_kind() {
        crate::BackendKind::Sqlite => format!(
            "UPDATE jobs SET locked_until = ?1, attempts = attempts + 1 WHERE seq IN \
             (SELECT seq FROM jobs WHERE run_at <= ?2 AND locked_until <= ?2 ORDER BY run_at LIMIT ?3) \
             RETURNING {cols}"
        ),
        // Nodes claim concurrently: each skips the rows another is claiming, so a job is
        // handed to one node, and nobody waits.
        crate::BackendKind::Postgres => format!(
            "UPDATE jobs SET locked_until = ?1, attempts = attempts + 1 WHERE seq IN \
             (SELECT seq FROM jobs WHERE run_at <= ?2 AND locked_until <= ?2 ORDER BY run_at LIMIT ?3 \
             FOR UPDATE SKIP LOCKED) RETURNING {cols}"
        ),
    }
}
