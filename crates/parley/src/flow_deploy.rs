//! `parley flow deploy FILE…`: validates every file locally (nothing is deployed when one
//! has errors), then creates or updates each flow on the server — found by `--sid`, or by
//! FriendlyName (`--name`, default the file's stem) — as a draft or, with `--publish`,
//! published. Progress goes to stderr as it happens; the flow SID, revision and webhook URL
//! of each deployed flow go to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

use crate::cli::DeployArgs;
use crate::client::Client;
use crate::flow_file;
use crate::flow_validate::finding_lines;
use crate::style::Style;

/// Prints a step without ending the line (its outcome follows).
fn step(text: &str) {
    eprint!("{text}… ");
    let _ = std::io::stderr().flush();
}

pub fn run(args: &DeployArgs) -> ExitCode {
    if args.files.len() > 1 && (args.sid.is_some() || args.name.is_some()) {
        eprintln!("error: --sid and --name name one flow: deploy one file at a time with them");
        return ExitCode::from(2);
    }
    let Some(definitions) = validate_all(&args.files) else {
        return ExitCode::FAILURE;
    };
    let client = match Client::new(&args.server) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let total = definitions.len();
    for (i, (path, definition)) in definitions.iter().enumerate() {
        if total > 1 {
            eprintln!("[{}/{total}] {}", i + 1, path.display());
        }
        if let Err(e) = runtime.block_on(deploy_one(&client, args, path, definition)) {
            eprintln!("failed");
            eprintln!("error: {}: {e:#}", path.display());
            if total > 1 {
                eprintln!("{} of {total} files deployed", i);
            }
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Reads and validates every file; prints findings; `None` when one is missing or invalid.
fn validate_all(files: &[PathBuf]) -> Option<Vec<(PathBuf, Value)>> {
    let style = Style::plain();
    let mut out = Vec::new();
    let mut ok = true;
    for path in files {
        let shown = path.display().to_string();
        step(&format!("validating {shown}"));
        let definition = match flow_file::read(path) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("failed");
                eprintln!("{}", e.line_for(&shown));
                ok = false;
                continue;
            }
        };
        let report = flow_file::check(&definition);
        if report.is_valid() {
            match report.warnings.len() {
                0 => eprintln!("ok"),
                n => eprintln!("ok, {n} warning{}", if n == 1 { "" } else { "s" }),
            }
        } else {
            eprintln!("invalid");
            ok = false;
        }
        for line in finding_lines(&shown, &report, style) {
            eprintln!("{line}");
        }
        out.push((path.clone(), definition));
    }
    if !ok {
        eprintln!("nothing deployed: fix the errors above first");
        return None;
    }
    Some(out)
}

async fn deploy_one(
    client: &Client,
    args: &DeployArgs,
    path: &Path,
    definition: &Value,
) -> Result<()> {
    let name = args.name.clone().unwrap_or_else(|| flow_file::stem(path));
    let status = if args.publish { "published" } else { "draft" };
    let definition_text = definition.to_string();
    match &args.sid {
        Some(sid) => step(&format!("fetching flow {sid} from {}", client.base())),
        None => step(&format!("looking up flow {name:?} on {}", client.base())),
    }
    let existing = client.find_flow(args.sid.as_deref(), &name).await?;
    let mut fields: Vec<(&str, &str)> = vec![("Status", status), ("Definition", &definition_text)];
    if let Some(message) = &args.message {
        fields.push(("CommitMessage", message));
    }
    let flow = match existing {
        Some(flow) => {
            let sid = str_field(&flow, "sid")?;
            let revision = flow.get("revision").and_then(Value::as_i64).unwrap_or(0);
            eprintln!("found {sid} (revision {revision})");
            if args.name.is_some() {
                fields.push(("FriendlyName", &name));
            }
            step(&format!("updating {sid} ({status})"));
            client
                .post_form(&format!("/v2/Flows/{sid}"), &fields)
                .await?
        }
        None => {
            eprintln!("not found");
            step(&format!("creating flow {name:?} ({status})"));
            fields.push(("FriendlyName", &name));
            client.post_form("/v2/Flows", &fields).await?
        }
    };
    eprintln!("done");
    let sid = str_field(&flow, "sid")?;
    let revision = flow
        .get("revision")
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow!("the server's answer has no revision"))?;
    let webhook = str_field(&flow, "webhook_url")?;
    let state = str_field(&flow, "status").unwrap_or(status);
    println!("{}: {sid} revision {revision} ({state})", path.display());
    println!("  webhook URL: {webhook}");
    Ok(())
}

fn str_field<'v>(flow: &'v Value, key: &str) -> Result<&'v str> {
    flow.get(key)
        .and_then(Value::as_str)
        .with_context(|| format!("the server's flow has no {key}"))
}
