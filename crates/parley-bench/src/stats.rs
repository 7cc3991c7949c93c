//! Latency recording and the figures reported: throughput, percentiles, errors.

use std::time::Duration;

use serde::Serialize;

#[derive(Default)]
pub struct Recorder {
    micros: Vec<u32>,
    pub errors: u64,
}

impl Recorder {
    pub fn record(&mut self, d: Duration) {
        self.micros.push(d.as_micros().min(u32::MAX as u128) as u32);
    }

    pub fn merge(&mut self, other: Recorder) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    pub fn count(&self) -> u64 {
        self.micros.len() as u64
    }

    pub fn summary(mut self, elapsed: Duration) -> Summary {
        self.micros.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let i = ((p / 100.0) * (self.micros.len() - 1) as f64).round() as usize;
            self.micros[i] as f64 / 1000.0
        };
        Summary {
            requests: self.micros.len() as u64,
            errors: self.errors,
            seconds: elapsed.as_secs_f64(),
            per_second: self.micros.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: self
                .micros
                .last()
                .map(|m| *m as f64 / 1000.0)
                .unwrap_or(0.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}
