//! The `parley` command line: one module per command, dispatched from [`cli`].

/// mimalloc for Rust and (with its `override` feature) for SQLite's C allocations: the
/// server allocates many short-lived rows and strings per message, and glibc's malloc
/// took about a fifth of the writer's instructions (callgrind; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod accounts;
mod bench;
mod chat;
mod cli;
mod client;
mod flow_deploy;
mod flow_diff;
mod flow_file;
mod flow_test;
mod flow_validate;
mod junit;
mod serve;
mod style;
mod widget_diff;

fn main() -> std::process::ExitCode {
    cli::main()
}
