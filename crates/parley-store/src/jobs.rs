//! The durable jobs queue: timers, webhook deliveries, carrier deliveries and HTTP widget
//! calls are rows here, written in the same transaction as the change that owes them.
//! Workers claim due rows with a lease; a crashed worker's lease runs out and another
//! worker takes the job again (at-least-once; handlers are idempotent).

use crate::error::Result;
use crate::record::Record;
use crate::records::JobRow;
use crate::sql::Param;
use crate::tx::Tx;

/// A job to schedule. Scheduling a key that already exists replaces it (a rescheduled
/// timer), and resets its attempts.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub key: String,
    pub kind: String,
    pub account_sid: String,
    pub run_at: i64,
    pub max_attempts: i64,
    pub payload: String,
}

impl Tx<'_> {
    pub fn schedule_job(&mut self, job: &NewJob, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO jobs (job_key, kind, account_sid, run_at, attempts, max_attempts, payload, locked_until, last_error, date_created) \
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, 0, NULL, ?7) \
             ON CONFLICT (job_key) DO UPDATE SET kind = excluded.kind, run_at = excluded.run_at, attempts = 0, \
             max_attempts = excluded.max_attempts, payload = excluded.payload, locked_until = 0, last_error = NULL",
            &[
                Param::Text(&job.key),
                Param::Text(&job.kind),
                Param::Text(&job.account_sid),
                Param::Int(job.run_at),
                Param::Int(job.max_attempts),
                Param::Text(&job.payload),
                Param::Int(now),
            ],
        )?;
        Ok(())
    }

    /// Removes a job that is no longer owed (a reply arrived before its timeout).
    pub fn cancel_job(&mut self, key: &str) -> Result<bool> {
        Ok(self.execute("DELETE FROM jobs WHERE job_key = ?1", &[Param::Text(key)])? > 0)
    }

    /// Claims up to `limit` due jobs until `lease_until`. Each claim counts as an attempt,
    /// so a job that keeps crashing its worker still runs out of attempts.
    pub fn claim_due_jobs(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>> {
        let sql = crate::dialect::claim_jobs_sql(self);
        self.query(
            &sql,
            &[Param::Int(lease_until), Param::Int(now), Param::Int(limit)],
            JobRow::from_row,
        )
    }

    /// The job ran to completion. Matching on `run_at` keeps a job that was rescheduled
    /// while it ran (its new run is still owed).
    pub fn finish_job(&mut self, key: &str, claimed_run_at: i64) -> Result<()> {
        self.execute(
            "DELETE FROM jobs WHERE job_key = ?1 AND run_at = ?2",
            &[Param::Text(key), Param::Int(claimed_run_at)],
        )?;
        Ok(())
    }

    /// The attempt failed; try again at `run_at`.
    pub fn retry_job(
        &mut self,
        key: &str,
        claimed_run_at: i64,
        run_at: i64,
        error: &str,
    ) -> Result<()> {
        self.execute(
            "UPDATE jobs SET run_at = ?3, locked_until = 0, last_error = ?4 WHERE job_key = ?1 AND run_at = ?2",
            &[Param::Text(key), Param::Int(claimed_run_at), Param::Int(run_at), Param::Text(error)],
        )?;
        Ok(())
    }

    /// When the earliest job is due (or its lease runs out), for a worker deciding how long to sleep.
    pub fn next_job_due(&mut self) -> Result<Option<i64>> {
        self.query_i64("SELECT MIN(CASE WHEN locked_until > run_at THEN locked_until ELSE run_at END) FROM jobs", &[])
    }

    pub fn pending_jobs(&mut self) -> Result<i64> {
        Ok(self
            .query_i64("SELECT COUNT(*) FROM jobs", &[])?
            .unwrap_or(0))
    }
}
