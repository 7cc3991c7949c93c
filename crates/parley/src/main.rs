//! The `parley` command line: one module per command, dispatched from [`cli`].

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
