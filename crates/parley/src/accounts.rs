//! `parley accounts create`: makes an account through the API (as an existing account, like
//! `POST /2010-04-01/Accounts.json`) and prints its credentials once.

use std::process::ExitCode;

use crate::cli::AccountCreateArgs;
use crate::client::Client;

pub fn run_create(args: &AccountCreateArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.server)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let account = runtime
        .block_on(client.post_form("/2010-04-01/Accounts.json", &[("FriendlyName", &args.name)]))?;
    println!(
        "Account SID: {}",
        account["sid"].as_str().unwrap_or_default()
    );
    println!(
        "Auth Token:  {}   (shown once; keep it)",
        account["auth_token"].as_str().unwrap_or_default()
    );
    Ok(())
}

pub fn create(args: &AccountCreateArgs) -> ExitCode {
    match run_create(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
