//! Command-line parsing and dispatch to the subcommands.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use parley_server::core::Shutdown;
use parley_server::server::{ServeOptions, serve};
use parley_store::{DbUrl, Durability};

#[derive(Parser)]
#[command(
    name = "parley",
    version,
    about = "A self-hosted Twilio Studio + Conversations server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (embedded SQLite by default; no setup needed).
    Serve(ServeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum SyncMode {
    /// fsync every commit (survives power loss).
    Full,
    /// Survives a crash of the process, not of the machine.
    Normal,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8686")]
    addr: SocketAddr,
    /// Database URL: sqlite://PATH.
    #[arg(long, default_value = "sqlite://parley.db", env = "PARLEY_DB")]
    db: String,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter expression).
    #[arg(long, default_value = "info", env = "PARLEY_LOG")]
    log_level: String,
    /// Durability of SQLite commits.
    #[arg(long, value_enum, default_value = "full")]
    sqlite_sync: SyncMode,
    /// Origin used in absolute URLs instead of the request's Host (behind a proxy).
    #[arg(long, env = "PARLEY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Use a manual clock moved by POST /parley/v1/Clock (tests and demos only).
    #[arg(long, hide = true)]
    dev_clock: bool,
}

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

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => run_serve(args),
    }
}

fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn run_serve(args: ServeArgs) -> ExitCode {
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
