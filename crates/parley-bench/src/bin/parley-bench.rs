//! A development entry point for the benchmark; users run `parley bench`.

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let bin = get("--server-bin").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("parley"))).unwrap_or_else(|| "parley".into())
    });
    let opts = parley_bench::Options {
        server_bin: bin,
        url: get("--url"),
        account_sid: get("--account-sid"),
        auth_token: get("--auth-token"),
        scenarios: get("--scenario").map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default(),
        handsets: get("--handsets").and_then(|s| s.parse().ok()).unwrap_or(1000),
        connections: get("--connections").and_then(|s| s.parse().ok()).unwrap_or(64),
        duration: std::time::Duration::from_secs_f64(get("--duration").and_then(|s| s.parse().ok()).unwrap_or(10.0)),
        idle_executions: get("--idle-executions").and_then(|s| s.parse().ok()).unwrap_or(100_000),
        scaling_levels: vec![1_000, 10_000, 100_000],
        server_args: get("--server-args").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
    };
    let report = rt.block_on(parley_bench::run(opts))?;
    parley_bench::print(&report);
    if let Some(path) = get("--json") {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
