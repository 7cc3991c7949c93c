//! `parley flow diff`: what changed between two flow definitions, widget by widget.
//!
//! - `diff FILE_A FILE_B` — two files, offline;
//! - `diff FILE` — the flow on the server (by `--sid`, or `--name`, default the file's stem)
//!   as published, against the file: what deploying the file would change;
//! - `diff --sid FW… REV_A REV_B` — two revisions on the server (a number, `LatestPublished`
//!   or `LatestRevision`); one revision alone is compared with the published one.
//!
//! Exit status as diff(1): 0 identical, 1 different, 2 trouble.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::cli::DiffArgs;
use crate::client::{ApiError, Client};
use crate::flow_file;
use crate::style::Style;
use crate::widget_diff;

/// One side of the comparison.
#[derive(Clone)]
enum Operand {
    File(PathBuf),
    Revision(String),
}

fn is_revision(text: &str) -> bool {
    matches!(text, "LatestPublished" | "LatestRevision")
        || (!text.is_empty() && text.chars().all(|c| c.is_ascii_digit()))
}

fn classify(text: &str) -> Result<Operand> {
    let path = PathBuf::from(text);
    if path.is_file() {
        Ok(Operand::File(path))
    } else if is_revision(text) {
        Ok(Operand::Revision(text.to_owned()))
    } else {
        bail!("{text}: no such file (nor a revision: a number, LatestPublished or LatestRevision)")
    }
}

pub fn run(args: &DiffArgs) -> ExitCode {
    match compare(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Prints the differences; true when the definitions are the same.
fn compare(args: &DiffArgs) -> Result<bool> {
    let operands = args
        .operands
        .iter()
        .map(|o| classify(o))
        .collect::<Result<Vec<_>>>()?;
    let (old, new) = match operands.as_slice() {
        [only] => (Operand::Revision("LatestPublished".into()), only.clone()),
        [a, b] => (a.clone(), b.clone()),
        _ => bail!("give one or two operands"),
    };
    let on_server = matches!(old, Operand::Revision(_)) || matches!(new, Operand::Revision(_));
    let (old, new) = if on_server {
        let name = args.name.clone().or_else(|| {
            operands.iter().find_map(|o| match o {
                Operand::File(p) => Some(flow_file::stem(p)),
                Operand::Revision(_) => None,
            })
        });
        if args.sid.is_none() && name.is_none() {
            bail!("comparing revisions needs the flow: pass --sid FW… or --name NAME");
        }
        let client = Client::new(&args.server)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")?;
        runtime.block_on(async {
            let flow = client
                .find_flow(args.sid.as_deref(), name.as_deref().unwrap_or_default())
                .await?
                .ok_or_else(|| {
                    anyhow!(
                        "no flow named {:?} on {}; pass --sid or --name",
                        name.as_deref().unwrap_or_default(),
                        client.base()
                    )
                })?;
            let sid = flow
                .get("sid")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("the server's flow has no sid"))?
                .to_owned();
            let old = load(&old, &client, &sid).await?;
            let new = load(&new, &client, &sid).await?;
            Ok::<_, anyhow::Error>((old, new))
        })?
    } else {
        (load_file(&old)?, load_file(&new)?)
    };
    let diff = widget_diff::diff(&old.1, &new.1, args.layout);
    if diff.is_empty() {
        println!("no differences: {} and {}", old.0, new.0);
        return Ok(true);
    }
    let style = Style::stdout();
    println!("{}", style.red(&format!("--- {}", old.0)));
    println!("{}", style.green(&format!("+++ {}", new.0)));
    print!("{}", diff.render(style));
    Ok(false)
}

/// A label and the definition.
type Side = (String, Value);

fn load_file(o: &Operand) -> Result<Side> {
    match o {
        Operand::File(path) => {
            let shown = path.display().to_string();
            let v = flow_file::read(path).map_err(|e| anyhow!("{shown}: {e}"))?;
            Ok((shown, v))
        }
        Operand::Revision(r) => bail!("revision {r} needs the server"),
    }
}

async fn load(o: &Operand, client: &Client, sid: &str) -> Result<Side> {
    match o {
        Operand::File(_) => load_file(o),
        Operand::Revision(spec) => {
            let revision = client
                .get(&format!("/v2/Flows/{sid}/Revisions/{spec}"), &[])
                .await
                .map_err(|e| match e.downcast_ref::<ApiError>() {
                    Some(api) if api.status == 404 && spec == "LatestPublished" => anyhow!(
                        "flow {sid} has no published revision; name the revision to compare \
                         with, e.g. `parley flow diff --sid {sid} LatestRevision FILE`"
                    ),
                    Some(api) if api.status == 404 => {
                        anyhow!("flow {sid} has no revision {spec}")
                    }
                    _ => e,
                })?;
            let number = revision
                .get("revision")
                .and_then(Value::as_i64)
                .map_or_else(|| spec.clone(), |n| n.to_string());
            let status = revision.get("status").and_then(Value::as_str).unwrap_or("");
            let definition = revision
                .get("definition")
                .cloned()
                .filter(|d| !d.is_null())
                .ok_or_else(|| anyhow!("revision {spec} of {sid} has no definition"))?;
            Ok((format!("{sid} revision {number} ({status})"), definition))
        }
    }
}
