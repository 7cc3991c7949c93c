//! The write path's figures, logged once a second at debug level while it is busy
//! (`--log-level info,parley_store=debug`): how many batches the writer committed and how
//! long applying them took, how many fsyncs the sync thread ran and how long they took.
//! They say which of the two limits a server: a writer busy near 100 % of the second is
//! CPU-bound (fewer or cheaper statements help); an fsync busy near 100 % is disk-bound
//! (fewer pages per commit, or a faster disk, help). BENCHMARKS.md, seventh round.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
pub(super) struct PipelineStats {
    batches: AtomicU64,
    units: AtomicU64,
    apply_ns: AtomicU64,
    fsyncs: AtomicU64,
    fsynced_batches: AtomicU64,
    fsync_ns: AtomicU64,
    memo_hits: AtomicU64,
    memo_misses: AtomicU64,
    /// When the current report period began (None before the first batch).
    since: Mutex<Option<Instant>>,
}

const REPORT_EVERY: Duration = Duration::from_secs(1);

impl PipelineStats {
    /// A batch of `units` applied and committed (not yet durable) in `took`.
    pub(super) fn batch(&self, units: usize, took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.units.fetch_add(units as u64, Ordering::Relaxed);
        self.apply_ns.fetch_add(nanos(took), Ordering::Relaxed);
    }

    /// Reads a batch's units answered from the writer's memo, and reads that ran a query.
    pub(super) fn memo(&self, hits: u64, misses: u64) {
        self.memo_hits.fetch_add(hits, Ordering::Relaxed);
        self.memo_misses.fetch_add(misses, Ordering::Relaxed);
    }

    /// An fsync of the WAL that made `batches` committed batches durable in `took`.
    pub(super) fn fsync(&self, batches: usize, took: Duration) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsynced_batches
            .fetch_add(batches as u64, Ordering::Relaxed);
        self.fsync_ns.fetch_add(nanos(took), Ordering::Relaxed);
    }

    /// Called by the writer after each batch: logs and starts a new period once a second
    /// has passed (nothing is logged, or counted beyond a few additions, unless debug
    /// logging is on for the store).
    pub(super) fn report_if_due(&self) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        let Some(began) = *since else {
            *since = Some(Instant::now());
            self.take();
            return;
        };
        let elapsed = began.elapsed();
        if elapsed < REPORT_EVERY {
            return;
        }
        *since = Some(Instant::now());
        let r = self.take().over(elapsed);
        tracing::debug!(
            batches_per_s = r.batches_per_s,
            units_per_batch = r.units_per_batch,
            apply_us_per_batch = r.apply_us_per_batch,
            writer_busy_pct = r.writer_busy_pct,
            fsyncs_per_s = r.fsyncs_per_s,
            batches_per_fsync = r.batches_per_fsync,
            fsync_us = r.fsync_us,
            fsync_busy_pct = r.fsync_busy_pct,
            memo_hit_pct = r.memo_hit_pct,
            "sqlite: write path"
        );
    }

    /// The counts since the last call, leaving zeros.
    fn take(&self) -> Counts {
        let take = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        Counts {
            batches: take(&self.batches),
            units: take(&self.units),
            apply_ns: take(&self.apply_ns),
            fsyncs: take(&self.fsyncs),
            fsynced_batches: take(&self.fsynced_batches),
            fsync_ns: take(&self.fsync_ns),
            memo_hits: take(&self.memo_hits),
            memo_misses: take(&self.memo_misses),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

struct Counts {
    batches: u64,
    units: u64,
    apply_ns: u64,
    fsyncs: u64,
    fsynced_batches: u64,
    fsync_ns: u64,
    memo_hits: u64,
    memo_misses: u64,
}

/// One period's figures, rounded for the log.
#[derive(Debug, PartialEq)]
struct Report {
    batches_per_s: u64,
    units_per_batch: f64,
    apply_us_per_batch: u64,
    writer_busy_pct: u64,
    fsyncs_per_s: u64,
    batches_per_fsync: f64,
    fsync_us: u64,
    fsync_busy_pct: u64,
    memo_hit_pct: u64,
}

impl Counts {
    fn over(&self, period: Duration) -> Report {
        let secs = period.as_secs_f64().max(1e-9);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let round1 = |x: f64| (x * 10.0).round() / 10.0;
        let pct = |ns: u64| (ns as f64 / 1e9 / secs * 100.0).round() as u64;
        Report {
            batches_per_s: (self.batches as f64 / secs).round() as u64,
            units_per_batch: round1(ratio(self.units, self.batches)),
            apply_us_per_batch: (ratio(self.apply_ns, self.batches) / 1e3).round() as u64,
            writer_busy_pct: pct(self.apply_ns),
            fsyncs_per_s: (self.fsyncs as f64 / secs).round() as u64,
            batches_per_fsync: round1(ratio(self.fsynced_batches, self.fsyncs)),
            fsync_us: (ratio(self.fsync_ns, self.fsyncs) / 1e3).round() as u64,
            fsync_busy_pct: pct(self.fsync_ns),
            memo_hit_pct: (ratio(self.memo_hits, self.memo_hits + self.memo_misses) * 100.0).round()
                as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_reports_rates_averages_and_busy_shares() {
        let stats = PipelineStats::default();
        for _ in 0..4 {
            stats.batch(10, Duration::from_micros(200));
        }
        stats.fsync(3, Duration::from_micros(900));
        stats.fsync(1, Duration::from_micros(500));
        stats.memo(30, 10);
        let report = stats.take().over(Duration::from_millis(10));
        assert_eq!(
            report,
            Report {
                batches_per_s: 400,
                units_per_batch: 10.0,
                apply_us_per_batch: 200,
                writer_busy_pct: 8,
                fsyncs_per_s: 200,
                batches_per_fsync: 2.0,
                fsync_us: 700,
                fsync_busy_pct: 14,
                memo_hit_pct: 75,
            }
        );
        // The counts start over with each period.
        let empty = stats.take().over(Duration::from_secs(1));
        assert_eq!(empty.batches_per_s, 0);
        assert_eq!(empty.units_per_batch, 0.0);
        assert_eq!(empty.fsync_us, 0);
    }
}
