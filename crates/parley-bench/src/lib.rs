//! `parley bench`: a benchmark anyone can re-run on their own machine. It starts the server
//! itself (SQLite, durable settings) or uses one given by URL, drives it with its own
//! keep-alive HTTP load generator, and reports throughput, latency, memory and database
//! size, each rate also as a ratio of `/healthz` measured in the same run.
//! Method and figures: BENCHMARKS.md.

pub mod client;
pub mod scenarios;
pub mod server;
pub mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use client::Pool;
use stats::Summary;

#[derive(Debug, Clone)]
pub struct Options {
    /// The `parley` binary to start (`--url` unset).
    pub server_bin: PathBuf,
    /// An already running server (`http://HOST:PORT`) and its credentials.
    pub url: Option<String>,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    /// Which parts to run: baseline, rest, tutorial, idle, scaling (all by default).
    pub scenarios: Vec<String>,
    pub handsets: usize,
    /// Texts per second of the tutorial's latency phase; None: half the closed-loop rate.
    /// A fixed rate compares two builds at the same load (half of each one's own rate
    /// differs when their throughput does).
    pub latency_rate: Option<f64>,
    pub connections: usize,
    pub duration: Duration,
    pub idle_executions: usize,
    pub scaling_levels: Vec<usize>,
    /// Extra arguments for `parley serve` (e.g. `--sqlite-sync normal`).
    pub server_args: Vec<String>,
}

impl Options {
    pub fn wants(&self, s: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|x| x == s)
    }
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    #[serde(flatten)]
    pub summary: Summary,
    pub ratio_to_baseline: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: String,
    pub rows: Vec<Row>,
    pub tutorial_handsets_checked: u64,
    pub tutorial_handsets_wrong: u64,
    pub server_peak_rss_mib: Option<f64>,
    pub idle_executions: Option<usize>,
    pub idle_rss_mib: Option<f64>,
    pub idle_db_mib: Option<f64>,
    pub scaling: Vec<ScalingRow>,
}

#[derive(Debug, Serialize)]
pub struct ScalingRow {
    pub stored_conversations: usize,
    pub inbound_per_second: f64,
    pub micros_per_message: f64,
    pub p99_ms: f64,
}

async fn start(opts: &Options) -> Result<server::Server> {
    match &opts.url {
        Some(u) => server::Server::external(
            u,
            opts.account_sid.as_deref().unwrap_or(""),
            opts.auth_token.as_deref().unwrap_or(""),
        ),
        None => server::Server::start(&opts.server_bin, &opts.server_args).await,
    }
}

fn pool_for(s: &server::Server, size: usize) -> std::sync::Arc<Pool> {
    Pool::new(
        scenarios::target(&s.addr, &s.account_sid, &s.auth_token),
        size,
    )
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

pub async fn run(opts: Options) -> Result<Report> {
    let mut report = Report {
        machine: machine(),
        ..Default::default()
    };
    let d = opts.duration;
    let c = opts.connections;

    if opts.wants("baseline") || opts.wants("rest") || opts.wants("tutorial") {
        let server = start(&opts).await?;
        let pool = pool_for(&server, c);
        eprintln!("server at {} — {}", server.addr, report.machine);
        let baseline = if opts.wants("baseline") {
            Some(scenarios::baseline(pool.clone(), c, d).await?)
        } else {
            None
        };
        let base_rate = baseline.as_ref().map(|b| b.per_second).unwrap_or(0.0);
        let push = |name: &str, s: Summary, report: &mut Report| {
            let ratio = (base_rate > 0.0).then(|| s.per_second / base_rate);
            report.rows.push(Row {
                name: name.to_string(),
                summary: s,
                ratio_to_baseline: ratio,
            });
        };
        if let Some(b) = baseline {
            push("baseline: GET /healthz", b, &mut report);
        }
        if opts.wants("rest") {
            push(
                "rest: conversation create",
                scenarios::conversation_creates(pool.clone(), c, d).await?,
                &mut report,
            );
            push(
                "rest: message create",
                scenarios::message_creates(pool.clone(), c, d).await?,
                &mut report,
            );
            push(
                "rest: list page (50)",
                scenarios::list_pages(pool.clone(), c, d).await?,
                &mut report,
            );
        }
        if opts.wants("tutorial") {
            scenarios::setup_tutorial(&pool).await?;
            let state = scenarios::HandsetState::new(opts.handsets);
            let closed =
                scenarios::tutorial(pool.clone(), state.clone(), opts.handsets, c, d).await?;
            let rate = opts.latency_rate.unwrap_or(closed.per_second / 2.0);
            push(
                "tutorial: inbound messages (closed loop)",
                closed,
                &mut report,
            );
            let open =
                scenarios::tutorial_at_rate(pool.clone(), state.clone(), opts.handsets, rate, d)
                    .await?;
            let name = match opts.latency_rate {
                None => "tutorial: at half that rate (latency)".to_string(),
                Some(r) => format!("tutorial: at {r:.0}/s (latency)"),
            };
            push(&name, open, &mut report);
            let sample = opts.handsets.min(200);
            let step = (opts.handsets / sample.max(1)).max(1);
            report.tutorial_handsets_checked = sample as u64;
            report.tutorial_handsets_wrong =
                scenarios::verify(&pool, &state, (0..sample).map(|i| i * step)).await?;
        }
        report.server_peak_rss_mib = server.rss_mib().map(|(_, peak)| peak);
    }

    if opts.wants("scaling") {
        let server = start(&opts).await?;
        let pool = pool_for(&server, c);
        scenarios::setup_tutorial(&pool).await?;
        let mut stored = 0usize;
        let mut first_handset = 10_000_000usize;
        for &level in &opts.scaling_levels {
            eprintln!("scaling: filling to {level} stored conversations");
            // Stored conversations are tutorial conversations (each with a participant, a
            // webhook, messages and an execution), parked waiting for a reply.
            if level > stored {
                scenarios::park_executions(pool.clone(), first_handset, level - stored, c).await?;
                first_handset += level - stored;
                stored = level;
            }
            let n = opts.handsets;
            let state = scenarios::HandsetState::new(first_handset + n);
            let s =
                scenarios::tutorial_range(pool.clone(), state, first_handset, n, c, d / 2).await?;
            first_handset += n;
            report.scaling.push(ScalingRow {
                stored_conversations: level,
                inbound_per_second: s.per_second,
                micros_per_message: 1e6 / s.per_second.max(1e-9),
                p99_ms: s.p99_ms,
            });
        }
    }

    if opts.wants("idle") {
        let server = start(&opts).await?;
        let pool = pool_for(&server, c);
        scenarios::setup_tutorial(&pool).await?;
        let before = scenarios::park_executions(
            pool.clone(),
            20_000_000,
            2_000.min(opts.idle_executions),
            c,
        )
        .await?;
        let parked =
            scenarios::park_executions(pool.clone(), 30_000_000, opts.idle_executions, c).await?;
        let after = scenarios::park_executions(
            pool.clone(),
            40_000_000,
            2_000.min(opts.idle_executions),
            c,
        )
        .await?;
        report.idle_executions = Some(opts.idle_executions + 2 * 2_000.min(opts.idle_executions));
        report.idle_rss_mib = server.rss_mib().map(|(rss, _)| rss);
        report.idle_db_mib = server.db_mib();
        report.rows.push(Row {
            name: "idle: new conversations before parking".into(),
            summary: before,
            ratio_to_baseline: None,
        });
        report.rows.push(Row {
            name: format!("idle: parking {} executions", opts.idle_executions),
            summary: parked,
            ratio_to_baseline: None,
        });
        report.rows.push(Row {
            name: "idle: new conversations after parking".into(),
            summary: after,
            ratio_to_baseline: None,
        });
    }
    Ok(report)
}

pub fn print(report: &Report) {
    println!();
    println!("machine: {}", report.machine);
    println!(
        "{:<46} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "scenario", "per sec", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "/healthz"
    );
    for r in &report.rows {
        let s = &r.summary;
        let ratio = r
            .ratio_to_baseline
            .map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_default();
        println!(
            "{:<46} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>9}",
            r.name, s.per_second, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.errors, ratio
        );
    }
    if report.tutorial_handsets_checked > 0 {
        println!(
            "tutorial replies checked on {} handsets: {} wrong",
            report.tutorial_handsets_checked, report.tutorial_handsets_wrong
        );
    }
    if let Some(p) = report.server_peak_rss_mib {
        println!("server peak RSS: {p:.1} MiB");
    }
    if let Some(n) = report.idle_executions {
        println!(
            "idle: {n} executions waiting for a reply: RSS {:.1} MiB, database {:.1} MiB",
            report.idle_rss_mib.unwrap_or(0.0),
            report.idle_db_mib.unwrap_or(0.0)
        );
    }
    if !report.scaling.is_empty() {
        println!(
            "{:<24} {:>12} {:>14} {:>8}",
            "stored conversations", "inbound/s", "µs per message", "p99 ms"
        );
        for s in &report.scaling {
            println!(
                "{:<24} {:>12.0} {:>14.1} {:>8.2}",
                s.stored_conversations, s.inbound_per_second, s.micros_per_message, s.p99_ms
            );
        }
    }
}
