//! `parley bench`: runs the benchmark (crate parley-bench) against a server it starts from
//! this very binary, or one given by `--url`. Progress goes to stderr, the table to stdout.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> ExitCode {
    if let Some(r) = args.latency_rate
        && !(r.is_finite() && r > 0.0)
    {
        eprintln!("error: --latency-rate must be a positive number of texts per second");
        return ExitCode::FAILURE;
    }
    let server_bin = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find this binary to start a server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut opts = parley_bench::Options {
        server_bin,
        url: args.url.clone(),
        account_sid: args.account_sid.clone(),
        auth_token: args.auth_token.clone(),
        scenarios: args.scenario.clone(),
        handsets: args.handsets,
        latency_rate: args.latency_rate,
        connections: args.connections,
        duration: Duration::from_secs_f64(args.duration.max(0.1)),
        idle_executions: args.idle_executions,
        scaling_levels: args.scaling_levels.clone(),
        server_args: args
            .server_args
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    };
    if args.quick {
        // Seconds, not minutes: enough to prove every scenario still works.
        opts.handsets = opts.handsets.min(50);
        opts.connections = opts.connections.min(8);
        opts.duration = Duration::from_secs_f64(args.duration.min(1.0));
        opts.idle_executions = opts.idle_executions.min(200);
        opts.scaling_levels = vec![50, 100];
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(parley_bench::run(opts)) {
        Ok(report) => {
            parley_bench::print(&report);
            if let Some(path) = &args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => {
                        if let Err(e) = std::fs::write(path, text) {
                            eprintln!("error: cannot write {}: {e}", path.display());
                            return ExitCode::FAILURE;
                        }
                    }
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            let errors: u64 = report.rows.iter().map(|r| r.summary.errors).sum();
            if errors > 0 || report.tutorial_handsets_wrong > 0 {
                eprintln!(
                    "bench: {errors} request errors, {} handsets with wrong replies",
                    report.tutorial_handsets_wrong
                );
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
