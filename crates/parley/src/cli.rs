//! The command tree (clap types) and dispatch to the one module per command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{accounts, bench, chat, flow_deploy, flow_diff, flow_test, flow_validate, serve};

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
    /// Work with Studio flow definitions: validate, test, deploy, diff.
    #[command(subcommand)]
    Flow(FlowCommand),
    /// Chat with a running server as a virtual handset (the phone simulator).
    Chat(ChatArgs),
    /// Manage accounts on a running server (each sees only its own resources).
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Measure throughput, latency and memory (see BENCHMARKS.md).
    Bench(BenchArgs),
}

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Create an account; prints its Account SID and Auth Token.
    Create(AccountCreateArgs),
}

#[derive(Args)]
pub struct AccountCreateArgs {
    /// The new account's FriendlyName.
    #[arg(long, default_value = "Parley account")]
    pub name: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Scenarios to run, comma-separated: baseline, rest, tutorial, scaling, idle (default: all).
    #[arg(long, value_delimiter = ',')]
    pub scenario: Vec<String>,
    /// Virtual handsets in the tutorial scenario.
    #[arg(long, default_value_t = 1000)]
    pub handsets: usize,
    /// Inbound texts per second in the tutorial's latency phase (default: half the
    /// closed-loop rate; a fixed rate compares two builds at the same load).
    #[arg(long)]
    pub latency_rate: Option<f64>,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Executions left waiting for a reply in the idle scenario.
    #[arg(long, default_value_t = 100_000)]
    pub idle_executions: usize,
    /// Stored-conversation levels of the scaling table.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub scaling_levels: Vec<usize>,
    /// A few seconds of everything with small numbers (CI smoke run).
    #[arg(long)]
    pub quick: bool,
    /// Bench a running server instead of starting one (needs its credentials).
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long, env = "PARLEY_ACCOUNT_SID")]
    pub account_sid: Option<String>,
    #[arg(long, env = "PARLEY_AUTH_TOKEN")]
    pub auth_token: Option<String>,
    /// Extra arguments for the server the bench starts, e.g. "--sqlite-sync normal".
    #[arg(long, allow_hyphen_values = true)]
    pub server_args: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum FlowCommand {
    /// Validate flow definitions as the API does; exit 1 if any has errors.
    Validate(ValidateArgs),
    /// Run scripted flow tests (YAML) against the engine; no server needed.
    Test(TestArgs),
    /// Validate, then create or update a flow on the server.
    Deploy(DeployArgs),
    /// Compare two flow definitions widget by widget; exit 1 when they differ.
    Diff(DiffArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SyncMode {
    /// fsync every commit (survives power loss).
    Full,
    /// Survives a crash of the process, not of the machine.
    Normal,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8686")]
    pub addr: SocketAddr,
    /// Database URL: sqlite://PATH, or postgres://… (several nodes on one database).
    #[arg(long, default_value = "sqlite://parley.db", env = "PARLEY_DB")]
    pub db: String,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter expression).
    #[arg(long, default_value = "info", env = "PARLEY_LOG")]
    pub log_level: String,
    /// Durability of SQLite commits.
    #[arg(long, value_enum, default_value = "full")]
    pub sqlite_sync: SyncMode,
    /// Origin used in absolute URLs instead of the request's Host (behind a proxy).
    #[arg(long, env = "PARLEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes (a flow definition may be up to 1 MiB).
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Use a manual clock moved by POST /parley/v1/Clock (tests and demos only).
    #[arg(long, hide = true)]
    pub dev_clock: bool,
    /// Let flows and webhooks call private network addresses (10/8, 172.16/12, 192.168/16…).
    #[arg(long, env = "PARLEY_ALLOW_PRIVATE_NETWORKS")]
    pub allow_private_networks: bool,
    /// Refuse calls to loopback addresses too (a shared deployment; the local default allows them).
    #[arg(long)]
    pub deny_loopback: bool,
    /// How long webhook receivers get to answer, in ms (Twilio: 5000; tests use less).
    #[arg(long, default_value_t = 5000, hide = true)]
    pub webhook_timeout_ms: u64,
    /// Cap the SQLite database at this many MiB (past it, writes answer 503 until data is deleted).
    #[arg(long, value_name = "MIB")]
    pub storage_quota_mb: Option<u64>,
}

/// Where the server is and who we are to it.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// Base URL of the Parley server.
    #[arg(long, env = "PARLEY_URL", default_value = "http://127.0.0.1:8686")]
    pub url: String,
    /// Account SID (default: PARLEY_ACCOUNT_SID, then TWILIO_ACCOUNT_SID).
    #[arg(long)]
    pub account_sid: Option<String>,
    /// Auth Token (default: PARLEY_AUTH_TOKEN, then TWILIO_AUTH_TOKEN).
    #[arg(long)]
    pub auth_token: Option<String>,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Flow definition files (JSON, as the Studio canvas exports them).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not print the files that are valid, only findings.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct TestArgs {
    /// Test files (YAML) or directories searched recursively for *.yaml / *.yml.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write a JUnit XML report to this file (for CI).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run only the cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

#[derive(Args)]
pub struct DeployArgs {
    /// Flow definition files to deploy.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Update this flow (FW…) instead of finding it by name (one file only).
    #[arg(long, value_name = "FW…")]
    pub sid: Option<String>,
    /// The flow's FriendlyName (default: the file name without its extension; one file only).
    #[arg(long)]
    pub name: Option<String>,
    /// Publish the new revision (Status=published); otherwise it is saved as a draft.
    #[arg(long)]
    pub publish: bool,
    /// Commit message of the new revision.
    #[arg(long, short)]
    pub message: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct DiffArgs {
    /// One or two operands, each a flow file or (with --sid/--name) a revision: a number,
    /// LatestPublished or LatestRevision. One file is compared against the flow's published
    /// revision on the server.
    #[arg(required = true, num_args = 1..=2, value_name = "FILE|REVISION")]
    pub operands: Vec<String>,
    /// The flow on the server (FW…).
    #[arg(long, value_name = "FW…")]
    pub sid: Option<String>,
    /// The flow on the server by FriendlyName (default for one file: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Also report widgets that only moved on the canvas (offset changes).
    #[arg(long)]
    pub layout: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct ChatArgs {
    /// The Parley address to text (the flow's number).
    #[arg(long)]
    pub to: String,
    /// The handset's own number.
    #[arg(long, default_value = "+15558675310")]
    pub from: String,
    /// After each line sent, wait for this many replies before reading the next line
    /// (for piped input; replies are always printed as they arrive).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub wait_replies: usize,
    /// Longest wait for those replies, in seconds; when it passes, chat exits with status 1.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Poll the simulator instead of using the live event stream.
    #[arg(long)]
    pub poll: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Flow(FlowCommand::Validate(args)) => flow_validate::run(&args),
        Command::Flow(FlowCommand::Test(args)) => flow_test::run(&args),
        Command::Flow(FlowCommand::Deploy(args)) => flow_deploy::run(&args),
        Command::Flow(FlowCommand::Diff(args)) => flow_diff::run(&args),
        Command::Chat(args) => chat::run(&args),
        Command::Accounts(AccountsCommand::Create(args)) => accounts::create(&args),
        Command::Bench(args) => bench::run(&args),
    }
}
