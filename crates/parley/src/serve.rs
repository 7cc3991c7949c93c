//! `parley serve`: starts the server and prints where it listens and the account to use.

use std::process::ExitCode;

use parley_server::core::Shutdown;
use parley_server::server::{ServeOptions, serve};
use parley_store::{DbUrl, Durability};

use crate::cli::{ServeArgs, SyncMode};
use crate::client::env_opt;

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(args: ServeArgs) -> ExitCode {
    init_logging(&args.log_level);
    let db = match DbUrl::parse(&args.db) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: --db: {e}");
            return ExitCode::from(2);
        }
    };
    let config = parley_server::Config {
        public_url: args.public_url,
        max_body_bytes: args.max_body_bytes,
        dev_clock: args.dev_clock,
        storage_quota_mb: args.storage_quota_mb,
        webhook_timeout_ms: args.webhook_timeout_ms,
        outbound: parley_server::webhooks::guard::OutboundPolicy {
            allow_loopback: !args.deny_loopback,
            allow_private: args.allow_private_networks,
        },
        ..Default::default()
    };
    let opts = ServeOptions {
        addr: args.addr,
        db,
        durability: match args.sqlite_sync {
            SyncMode::Full => Durability::Full,
            SyncMode::Normal => Durability::Normal,
        },
        account_sid: env_opt("PARLEY_ACCOUNT_SID"),
        auth_token: env_opt("PARLEY_AUTH_TOKEN"),
        config,
    };
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
    let result = runtime.block_on(serve(opts, Shutdown::default(), |started| {
        println!("Parley listening on http://{}", started.addr);
        println!("Account SID: {}", started.account_sid);
        match &started.new_auth_token {
            Some(token) => println!("Auth Token:  {token}   (shown once; keep it)"),
            None => println!("Auth Token:  (set at first start; see PARLEY_AUTH_TOKEN)"),
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
