//! `parley chat --to NUMBER`: a virtual handset in the terminal. Lines typed are texted to the
//! Parley address through the phone simulator (`POST /sim/v1/Messages`); what the handset
//! receives is printed as it arrives (`< body`), from the live event stream
//! (`GET /parley/v1/Events?Address=…`) or, when that is unavailable, by polling
//! `GET /sim/v1/Messages?Address=…`. Ctrl-D (end of input) quits.
//!
//! Scripted use: with stdin piped, each line sent is echoed (`> body`), and
//! `--wait-replies N` waits for N replies after each line (at most `--timeout` seconds, else
//! exit 1) before sending the next, so `printf 'hi\nyes\n' | parley chat --to … --wait-replies 1`
//! prints a whole conversation and exits.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::cli::ChatArgs;
use crate::client::Client;

const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long to wait for the event stream's `ready` before falling back to polling.
const STREAM_READY_WITHIN: Duration = Duration::from_secs(5);

pub fn run(args: &ChatArgs) -> ExitCode {
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        eprintln!("error: --timeout must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let client = match Client::new(&args.server) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(chat(args, client));
    // The stdin reader thread may still block on a read; do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the handset has shown already (message SIDs) and how many replies arrived.
#[derive(Clone)]
struct Screen {
    seen: Arc<Mutex<HashSet<String>>>,
    replies: Arc<watch::Sender<usize>>,
    parley_address: String,
}

impl Screen {
    /// Marks a message as shown; true the first time.
    fn first_sight(&self, sid: &str) -> bool {
        match self.seen.lock() {
            Ok(mut seen) => seen.insert(sid.to_owned()),
            Err(poisoned) => poisoned.into_inner().insert(sid.to_owned()),
        }
    }

    /// Prints a message the handset received (once), and counts it.
    fn show(&self, message: &Value) {
        if message.get("direction").and_then(Value::as_str) != Some("outbound") {
            return;
        }
        let sid = message.get("sid").and_then(Value::as_str).unwrap_or("");
        if !sid.is_empty() && !self.first_sight(sid) {
            return;
        }
        let from = message.get("from").and_then(Value::as_str).unwrap_or("");
        let sender = if from == self.parley_address || from.is_empty() {
            String::new()
        } else {
            format!("[{from}] ")
        };
        let mut text = message
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(media) = message.get("media").filter(|m| !m.is_null()) {
            let urls: Vec<String> = match media {
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect(),
                other => vec![other.to_string()],
            };
            for url in urls {
                text.push_str(&format!(" [media: {url}]"));
            }
        }
        println!("< {sender}{text}");
        self.replies.send_modify(|n| *n += 1);
    }
}

async fn chat(args: &ChatArgs, client: Arc<Client>) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let (replies_tx, mut replies) = watch::channel(0usize);
    let screen = Screen {
        seen: Arc::new(Mutex::new(HashSet::new())),
        replies: Arc::new(replies_tx),
        parley_address: args.to.clone(),
    };
    eprintln!(
        "connecting to {} as {} texting {}…",
        client.base(),
        args.from,
        args.to
    );
    // What the handset already shows is history, not a reply.
    for m in history(&client, &args.from).await? {
        if let Some(sid) = m.get("sid").and_then(Value::as_str) {
            screen.first_sight(sid);
        }
    }
    if args.poll {
        tokio::spawn(poll(client.clone(), args.from.clone(), screen.clone()));
    } else {
        match open_events(&client, &args.from).await {
            Ok(stream) => {
                tokio::spawn(follow(
                    stream,
                    client.clone(),
                    args.from.clone(),
                    screen.clone(),
                ));
            }
            Err(e) => {
                eprintln!("live events unavailable ({e:#}); polling the simulator instead");
                tokio::spawn(poll(client.clone(), args.from.clone(), screen.clone()));
            }
        }
    }
    if interactive {
        eprintln!("connected: type a message and press Enter; Ctrl-D quits");
    }
    let mut lines = read_stdin_lines();
    let wait = Duration::from_secs_f64(args.timeout);
    while let Some(line) = lines.recv().await {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if !interactive {
            println!("> {line}");
        }
        let target = *replies.borrow() + args.wait_replies;
        let sent = client
            .post_form(
                "/sim/v1/Messages",
                &[("From", &args.from), ("To", &args.to), ("Body", &line)],
            )
            .await
            .context("sending the message")?;
        if sent.get("routed").and_then(Value::as_str) == Some("refused") {
            let reason = sent.get("reason").and_then(Value::as_str).unwrap_or("");
            let note = format!("{} refused the message: {reason}", args.to);
            if args.wait_replies > 0 {
                bail!("{note}");
            }
            eprintln!("({note})");
            continue;
        }
        if args.wait_replies > 0
            && tokio::time::timeout(wait, replies.wait_for(|n| *n >= target))
                .await
                .is_err()
        {
            let got = (*replies.borrow() + args.wait_replies).saturating_sub(target);
            bail!(
                "waited {}s for {} repl{}, got {got}",
                args.timeout,
                args.wait_replies,
                if args.wait_replies == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(())
}

/// Lines of stdin, read on a thread of their own (a blocking read would stall the runtime).
fn read_stdin_lines() -> mpsc::UnboundedReceiver<Result<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if tx.send(line.context("reading standard input")).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// Everything the handset sent and received so far.
async fn history(client: &Client, handset: &str) -> Result<Vec<Value>> {
    client
        .list("/sim/v1/Messages", &[("Address", handset)], "messages")
        .await
}

/// Opens the live event stream and waits for its `ready`.
async fn open_events(client: &Client, handset: &str) -> Result<EventStream> {
    let response = client
        .open_stream(
            "/parley/v1/Events",
            &[("Address", handset), ("EventType", "onSimMessage")],
        )
        .await?;
    let mut stream = EventStream::new(response);
    let ready = tokio::time::timeout(STREAM_READY_WITHIN, stream.next())
        .await
        .map_err(|_| anyhow!("no answer within {}s", STREAM_READY_WITHIN.as_secs()))??;
    match ready {
        Some(event) if event.name == "ready" => Ok(stream),
        Some(event) => bail!("the stream began with {:?}, not ready", event.name),
        None => bail!("the stream closed at once"),
    }
}

/// Prints messages from the live stream; falls back to polling if the stream breaks.
async fn follow(mut stream: EventStream, client: Arc<Client>, handset: String, screen: Screen) {
    loop {
        match stream.next().await {
            Ok(Some(event)) if event.name == "onSimMessage" => {
                match serde_json::from_str::<Value>(&event.data) {
                    Ok(v) => screen.show(v.get("data").unwrap_or(&Value::Null)),
                    Err(e) => eprintln!("(an event could not be read: {e})"),
                }
            }
            Ok(Some(event)) if event.name == "overflow" => {
                // Events were dropped: catch up from the simulator's record.
                catch_up(&client, &handset, &screen).await;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                eprintln!("(the live event stream ended; polling the simulator instead)");
                poll(client, handset, screen).await;
                return;
            }
        }
    }
}

async fn catch_up(client: &Client, handset: &str, screen: &Screen) {
    match history(client, handset).await {
        Ok(messages) => messages.iter().for_each(|m| screen.show(m)),
        Err(e) => eprintln!("(cannot read the simulator: {e:#})"),
    }
}

async fn poll(client: Arc<Client>, handset: String, screen: Screen) {
    loop {
        catch_up(&client, &handset, &screen).await;
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// One server-sent event.
struct SseEvent {
    name: String,
    data: String,
}

/// Splits a `text/event-stream` body into events (the subset axum writes: `event:`,
/// `data:`, `id:` and `:` comments, events ended by a blank line).
struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl EventStream {
    fn new(response: reqwest::Response) -> EventStream {
        EventStream {
            response,
            buffer: Vec::new(),
        }
    }

    async fn next(&mut self) -> Result<Option<SseEvent>> {
        loop {
            if let Some(event) = self.take_event() {
                return Ok(Some(event));
            }
            match self
                .response
                .chunk()
                .await
                .context("reading the event stream")?
            {
                Some(bytes) => self.buffer.extend(bytes.iter().filter(|b| **b != b'\r')),
                None => return Ok(None),
            }
        }
    }

    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buffer.windows(2).position(|w| w == b"\n\n")?;
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block);
            let mut name = String::from("message");
            let mut data: Vec<&str> = Vec::new();
            for line in text.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = value.to_owned(),
                    "data" => data.push(value),
                    _ => {}
                }
            }
            if !data.is_empty() {
                return Some(SseEvent {
                    name,
                    data: data.join("\n"),
                });
            }
        }
    }
}
