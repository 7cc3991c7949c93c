//! Scale-out proved with real processes: `parley serve` nodes on one database, virtual
//! handsets running the tutorial flow through the phone simulator with their messages spread
//! over the nodes, and a node killed with SIGKILL in the middle of the load.
//!
//! The PostgreSQL tests run when `PARLEY_TEST_PG` names a server (each in a schema of its
//! own) and are skipped otherwise; the SQLite crash test always runs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_store::testing::PgSchema;
use serde_json::{Value, json};

const ACCOUNT_SID: &str = "ACc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const AUTH_TOKEN: &str = "cluster_test_token_0123456789abcd";
const NUMBER: &str = "+12345678901";
const QUESTION: &str = "Hi, do you like bots?";
const TOO_SLOW: &str = "Too slow";
/// The reply timeout of the crash tests' flow, in seconds.
const TIMEOUT_SECS: u64 = 5;
const SEED: &str = include_str!("../../../examples/flows/seed-flow.json");

static NODES_STARTED: AtomicUsize = AtomicUsize::new(0);

/// One `parley serve` process; killed when dropped.
struct Node {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Node {
    fn start(db: &str) -> Node {
        let n = NODES_STARTED.fetch_add(1, Ordering::SeqCst);
        let log =
            std::env::temp_dir().join(format!("parley-cluster-{}-node{n}.log", std::process::id()));
        let stderr = std::fs::File::create(&log).expect("node log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db", db])
            .args(["--log-level", "warn"])
            .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
            .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN)
            .env_remove("PARLEY_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start parley serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading so the node never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Parley listening on ") {
                    let _ = tx.send(rest.trim().to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("node did not start; its log:\n{}", tail(&log));
            }
        };
        Node { child, base, log }
    }

    /// `kill -9`: no shutdown, no flush, connections cut mid-transaction.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn tail(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn logs(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("--- {} ---\n{}", n.base, tail(&n.log)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Twilio-style API of any node.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
}

impl Api {
    fn new() -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }

    async fn post(
        &self,
        base: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Value), reqwest::Error> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let r = self
            .http
            .post(format!("{base}{path}"))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn get(&self, base: &str, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{base}{path}"))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .await
            .expect("GET");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        serde_json::from_str(&r.text().await.expect("body")).expect("JSON")
    }

    /// Publishes a flow and makes `NUMBER` auto-create conversations that run it.
    async fn set_up(&self, base: &str, definition: &Value) -> String {
        let (status, flow) = self
            .post(
                base,
                "/v2/Flows",
                &[
                    ("FriendlyName", "cluster"),
                    ("Status", "published"),
                    ("Definition", &definition.to_string()),
                ],
            )
            .await
            .expect("create flow");
        assert_eq!(status, 201, "{flow}");
        let flow_sid = flow["sid"].as_str().expect("flow sid").to_string();
        let (status, body) = self
            .post(
                base,
                "/v1/Configuration/Addresses",
                &[
                    ("Type", "sms"),
                    ("Address", NUMBER),
                    ("AutoCreation.Enabled", "true"),
                    ("AutoCreation.Type", "studio"),
                    ("AutoCreation.StudioFlowSid", &flow_sid),
                ],
            )
            .await
            .expect("address configuration");
        assert_eq!(status, 201, "{body}");
        flow_sid
    }

    /// A handset texts `NUMBER` through `base`; true when the node acknowledged it.
    async fn text(&self, base: &str, handset: &str, body: &str) -> bool {
        match self
            .post(
                base,
                "/sim/v1/Messages",
                &[("From", handset), ("To", NUMBER), ("Body", body)],
            )
            .await
        {
            Ok((status, _)) => (200..300).contains(&status),
            Err(_) => false,
        }
    }

    /// What a handset has received, oldest first.
    async fn received(&self, base: &str, handset: &str) -> Vec<String> {
        let path = format!(
            "/sim/v1/Messages?PageSize=1000&Address={}",
            form_urlencoded::byte_serialize(handset.as_bytes()).collect::<String>()
        );
        let page = self.get(base, &path).await;
        page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .map(|m| m["body"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Executions of a flow, per contact address.
    async fn executions(&self, base: &str, flow_sid: &str) -> HashMap<String, usize> {
        let mut per_contact = HashMap::new();
        let mut path = format!("/v2/Flows/{flow_sid}/Executions?PageSize=1000");
        loop {
            let page = self.get(base, &path).await;
            for e in page["executions"].as_array().expect("executions") {
                let contact = e["contact_channel_address"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                *per_contact.entry(contact).or_insert(0) += 1;
            }
            match page["meta"]["next_page_url"].as_str() {
                Some(next) if !next.is_empty() => {
                    path = next.strip_prefix(base).unwrap_or(next).to_string();
                    if path.starts_with("http") {
                        path = format!("/{}", path.splitn(4, '/').nth(3).unwrap_or(""));
                    }
                }
                _ => return per_contact,
            }
        }
    }
}

fn emoji(answer: &str) -> &'static str {
    match answer {
        "yes" => "🤖",
        "no" => "👽",
        _ => "👻",
    }
}

/// The tutorial flow, with a short reply timeout whose branch says `TOO_SLOW`.
fn flow_with_timeout(secs: u64) -> Value {
    let mut flow: Value = serde_json::from_str(SEED).expect("seed flow");
    let states = flow["states"].as_array_mut().expect("states");
    for state in states.iter_mut() {
        if state["name"] == "send_and_reply_1" {
            state["properties"]["timeout"] = json!(secs.to_string());
            for t in state["transitions"].as_array_mut().expect("transitions") {
                if t["event"] == "timeout" {
                    t["next"] = json!("too_slow");
                }
            }
        }
    }
    states.push(json!({
        "name": "too_slow",
        "type": "send-message",
        "transitions": [{"event": "sent"}, {"event": "failed"}],
        "properties": {
            "offset": {"x": 400, "y": 170},
            "service": "{{trigger.message.InstanceSid}}",
            "channel": "{{trigger.message.ChannelSid}}",
            "from": "{{flow.channel.address}}",
            "to": "{{contact.channel.address}}",
            "body": TOO_SLOW
        }
    }));
    flow
}

fn pg_base() -> Option<String> {
    let url = parley_store::testing::test_pg_url();
    if url.is_none() {
        eprintln!("skipped: set PARLEY_TEST_PG=postgres://… to run the PostgreSQL cluster tests");
    }
    url
}

fn pg_node_url(schema: &PgSchema) -> String {
    format!("{}&pool_size=6", schema.url().as_str())
}

/// Two nodes, one database: handsets run the tutorial with their messages spread over both
/// nodes, some texting both nodes at once for the same conversation. Every handset gets
/// exactly its replies, each conversation runs one execution, and a live-event subscriber
/// on one node sees what happened on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres() {
    let Some(base_url) = pg_base() else { return };
    let schema = PgSchema::create(&base_url).expect("test schema");
    let db = pg_node_url(&schema);
    // Started together: they migrate the new schema at the same time.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Node::start(&db));
        let b = s.spawn(|| Node::start(&db));
        (a.join().unwrap(), b.join().unwrap())
    });
    let api = Api::new();
    let flow: Value = serde_json::from_str(SEED).unwrap();
    let flow_sid = api.set_up(&a.base, &flow).await;
    let nodes = [a.base.clone(), b.base.clone()];

    // Live events cross nodes: watch a handset on B while it texts A.
    let watcher = "+15550009999";
    let stream = api
        .http
        .get(format!(
            "{}/parley/v1/Events?Address=%2B15550009999",
            b.base
        ))
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .send()
        .await
        .expect("event stream");
    let watch = tokio::spawn(read_events(stream, 2));

    const HANDSETS: usize = 100;
    let answers = ["yes", "no", "maybe"];
    let mut tasks = Vec::new();
    for i in 0..HANDSETS {
        let api = api.clone();
        let nodes = nodes.clone();
        tasks.push(tokio::spawn(async move {
            let handset = format!("+1555100{i:04}");
            if i.is_multiple_of(4) {
                // Both nodes at once, same conversation: one starts the flow, the other's
                // "hi" is its reply (no match: 👻), whichever commits first.
                let (x, y) = tokio::join!(
                    api.text(&nodes[0], &handset, "hi"),
                    api.text(&nodes[1], &handset, "hi")
                );
                assert!(x && y, "{handset}: a text was not acknowledged");
                (handset, vec![QUESTION.to_string(), "👻".to_string()])
            } else {
                let answer = answers[i % 3];
                assert!(
                    api.text(&nodes[i % 2], &handset, "hi").await,
                    "{handset}: hi"
                );
                assert!(
                    api.text(&nodes[(i + 1) % 2], &handset, answer).await,
                    "{handset}: {answer}"
                );
                (
                    handset,
                    vec![QUESTION.to_string(), emoji(answer).to_string()],
                )
            }
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        match t.await {
            Ok(e) => expected.push(e),
            Err(e) => panic!("{e}\n{}", logs(&[&a, &b])),
        }
    }
    assert!(api.text(&a.base, watcher, "hi").await);

    for (handset, want) in &expected {
        let got = api.received(&nodes[handset.len() % 2], handset).await;
        assert_eq!(&got, want, "{handset}\n{}", logs(&[&a, &b]));
    }
    let per_contact = api.executions(&b.base, &flow_sid).await;
    for (handset, _) in &expected {
        assert_eq!(
            per_contact.get(handset),
            Some(&1),
            "{handset}: one execution"
        );
    }
    assert_eq!(per_contact.values().sum::<usize>(), HANDSETS + 1);

    let seen = tokio::time::timeout(Duration::from_secs(10), watch)
        .await
        .expect("node B streamed the events of node A")
        .unwrap();
    assert!(
        seen.iter().any(|e| e["body"] == "hi") && seen.iter().any(|e| e["body"] == QUESTION),
        "{seen:?}"
    );
}

/// Reads `onSimMessage` events from a server-sent event stream until `count` arrived.
async fn read_events(mut stream: reqwest::Response, count: usize) -> Vec<Value> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < count {
        let Ok(Some(chunk)) = stream.chunk().await else {
            return out;
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l == "event: onSimMessage") {
                continue;
            }
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                {
                    out.push(v["data"].clone());
                }
            }
        }
    }
    out
}

/// What one handset did, and what it may therefore see.
#[derive(Debug, Clone)]
struct Script {
    handset: String,
    /// None: it never answers, and the flow's timer must answer for it.
    answer: Option<&'static str>,
    hi_acked: bool,
    answer_acked: bool,
    hi_acked_at: Option<Instant>,
}

impl Script {
    /// The screens this handset may end with. Only what a node acknowledged is owed; a
    /// message whose node died before answering may or may not have been committed.
    fn allowed(&self) -> Vec<Vec<String>> {
        let q = QUESTION.to_string();
        let slow = vec![q.clone(), TOO_SLOW.to_string()];
        match (self.hi_acked, self.answer) {
            (false, _) => vec![vec![], slow],
            (true, None) => vec![slow],
            (true, Some(a)) if self.answer_acked => vec![vec![q, emoji(a).to_string()]],
            (true, Some(a)) => vec![vec![q.clone(), emoji(a).to_string()], slow],
        }
    }
}

/// Where the load goes: the nodes that are up, changed while the load runs.
#[derive(Clone, Default)]
struct Targets(Arc<Mutex<Vec<String>>>);

impl Targets {
    fn set(&self, nodes: Vec<String>) {
        *self.0.lock().unwrap() = nodes;
    }

    /// A node that is up, waiting (as a carrier would) while none is.
    async fn pick(&self, i: usize) -> Option<String> {
        for _ in 0..300 {
            {
                let nodes = self.0.lock().unwrap();
                if !nodes.is_empty() {
                    return Some(nodes[i % nodes.len()].clone());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

/// Runs `handsets` handsets (a third of them never answer) against `targets`, sixteen at
/// a time, counting acknowledged texts in `acked`.
fn start_load(
    api: &Api,
    targets: &Targets,
    handsets: usize,
    acked: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Vec<Script>> {
    let api = api.clone();
    let targets = targets.clone();
    tokio::spawn(async move {
        let permits = Arc::new(tokio::sync::Semaphore::new(16));
        let answers = ["yes", "no", "maybe"];
        let mut tasks = Vec::new();
        for i in 0..handsets {
            let (api, targets, acked) = (api.clone(), targets.clone(), acked.clone());
            let permit = permits.clone().acquire_owned().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut s = Script {
                    handset: format!("+1555200{i:04}"),
                    answer: (!i.is_multiple_of(3)).then(|| answers[i % 3]),
                    hi_acked: false,
                    answer_acked: false,
                    hi_acked_at: None,
                };
                if let Some(node) = targets.pick(i).await {
                    s.hi_acked = api.text(&node, &s.handset, "hi").await;
                }
                if s.hi_acked {
                    s.hi_acked_at = Some(Instant::now());
                    acked.fetch_add(1, Ordering::SeqCst);
                    if let Some(answer) = s.answer
                        && let Some(node) = targets.pick(i + 1).await
                    {
                        s.answer_acked = api.text(&node, &s.handset, answer).await;
                    }
                }
                drop(permit);
                s
            }));
            // Spread the load over time, so the kill lands in the middle of it.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
}

/// Waits until every handset's screen is one it may end with and every timer that could
/// be owed is due, then checks once more a little later (a duplicate would show up then).
async fn settle(api: &Api, base: &str, scripts: &[Script], context: &dyn Fn() -> String) {
    let last_hi = scripts
        .iter()
        .filter_map(|s| s.hi_acked_at)
        .max()
        .unwrap_or_else(Instant::now);
    // Timers of texts whose acknowledgement was lost are due by then too.
    let timers_due = last_hi.max(Instant::now()) + Duration::from_secs(TIMEOUT_SECS + 2);
    // A job claimed by the killed node is taken over when its lease (60 s) runs out.
    let deadline = Instant::now() + Duration::from_secs(100);
    loop {
        let mut pending = Vec::new();
        for s in scripts {
            let got = api.received(base, &s.handset).await;
            if !s.allowed().contains(&got) {
                pending.push((s.clone(), got));
            }
        }
        if pending.is_empty() && Instant::now() >= timers_due {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "{} handsets never got what they are owed, e.g. {:?}\n{}",
                pending.len(),
                &pending[..pending.len().min(5)],
                context()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for s in scripts {
        let got = api.received(base, &s.handset).await;
        assert!(
            s.allowed().contains(&got),
            "{}: got {got:?}, allowed {:?}\n{}",
            s.handset,
            s.allowed(),
            context()
        );
    }
}

/// Every handset that got a reply ran one execution; none ran two.
async fn check_executions(api: &Api, base: &str, flow_sid: &str, scripts: &[Script]) {
    let per_contact = api.executions(base, flow_sid).await;
    for s in scripts {
        let n = per_contact.get(&s.handset).copied().unwrap_or(0);
        if s.hi_acked {
            assert_eq!(n, 1, "{}: executions", s.handset);
        } else {
            assert!(n <= 1, "{}: {n} executions", s.handset);
        }
    }
}

fn report(scripts: &[Script]) {
    let hi_lost = scripts.iter().filter(|s| !s.hi_acked).count();
    let answers_lost = scripts
        .iter()
        .filter(|s| s.hi_acked && s.answer.is_some() && !s.answer_acked)
        .count();
    eprintln!(
        "{} handsets; unacknowledged because of the kill: {hi_lost} first texts, {answers_lost} answers",
        scripts.len()
    );
}

/// Waits until `n` texts were acknowledged (the middle of the load).
async fn wait_for_acks(acked: &AtomicUsize, n: usize) {
    let until = Instant::now() + Duration::from_secs(30);
    while acked.load(Ordering::SeqCst) < n && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

const CRASH_HANDSETS: usize = 90;

/// `kill -9` of one of two nodes in the middle of the load; the survivor and a restarted
/// node finish it. Whatever was acknowledged before the kill is answered, the timers that
/// came due fire once, and nothing is delivered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_nothing_on_postgres() {
    let Some(base_url) = pg_base() else { return };
    let schema = PgSchema::create(&base_url).expect("test schema");
    let db = pg_node_url(&schema);
    let mut a = Node::start(&db);
    let b = Node::start(&db);
    let api = Api::new();
    let flow_sid = api.set_up(&a.base, &flow_with_timeout(TIMEOUT_SECS)).await;

    let targets = Targets::default();
    targets.set(vec![a.base.clone(), b.base.clone()]);
    let acked = Arc::new(AtomicUsize::new(0));
    let load = start_load(&api, &targets, CRASH_HANDSETS, acked.clone());
    wait_for_acks(&acked, CRASH_HANDSETS / 3).await;
    a.kill9();
    targets.set(vec![b.base.clone()]);
    let restarted = Node::start(&db);
    targets.set(vec![b.base.clone(), restarted.base.clone()]);
    let scripts = load.await.unwrap();

    report(&scripts);
    let context = || logs(&[&b, &restarted]);
    settle(&api, &b.base, &scripts, &context).await;
    check_executions(&api, &restarted.base, &flow_sid, &scripts).await;
}

/// The same crash on SQLite: the one node is killed mid-load and restarted on its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_nothing_on_sqlite() {
    let path = std::env::temp_dir().join(format!("parley-cluster-{}.db", std::process::id()));
    let db = format!("sqlite://{}", path.display());
    let mut a = Node::start(&db);
    let api = Api::new();
    let flow_sid = api.set_up(&a.base, &flow_with_timeout(TIMEOUT_SECS)).await;

    let targets = Targets::default();
    targets.set(vec![a.base.clone()]);
    let acked = Arc::new(AtomicUsize::new(0));
    let load = start_load(&api, &targets, CRASH_HANDSETS, acked.clone());
    wait_for_acks(&acked, CRASH_HANDSETS / 3).await;
    a.kill9();
    targets.set(vec![]);
    let restarted = Node::start(&db);
    targets.set(vec![restarted.base.clone()]);
    let scripts = load.await.unwrap();

    report(&scripts);
    let context = || logs(&[&restarted]);
    settle(&api, &restarted.base, &scripts, &context).await;
    check_executions(&api, &restarted.base, &flow_sid, &scripts).await;
    drop(restarted);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Replies that arrive on one node just as their timeout fires on the other: each
/// conversation takes one of the two (the timer fires once, or not at all), nothing waits
/// on anything else (the locks are taken in one order), and every reply is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_racing_their_timeouts_on_two_nodes() {
    let Some(base_url) = pg_base() else { return };
    let schema = PgSchema::create(&base_url).expect("test schema");
    let db = pg_node_url(&schema);
    let a = Node::start(&db);
    let b = Node::start(&db);
    let api = Api::new();
    let flow_sid = api.set_up(&a.base, &flow_with_timeout(1)).await;
    let nodes = [a.base.clone(), b.base.clone()];

    const HANDSETS: usize = 30;
    let mut tasks = Vec::new();
    for i in 0..HANDSETS {
        let (api, nodes) = (api.clone(), nodes.clone());
        tasks.push(tokio::spawn(async move {
            let handset = format!("+1555300{i:04}");
            assert!(
                api.text(&nodes[i % 2], &handset, "hi").await,
                "{handset}: hi"
            );
            // Around the moment the timer is due (1 s after the hi).
            tokio::time::sleep(Duration::from_millis(700 + 20 * i as u64)).await;
            assert!(
                api.text(&nodes[(i + 1) % 2], &handset, "yes").await,
                "{handset}: yes"
            );
            handset
        }));
    }
    let mut handsets = Vec::new();
    for t in tasks {
        match t.await {
            Ok(h) => handsets.push(h),
            Err(e) => panic!("{e}\n{}", logs(&[&a, &b])),
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let q = QUESTION.to_string();
    let (mut replied, mut timed_out) = (0, 0);
    for h in &handsets {
        let got = api.received(&b.base, h).await;
        if got == [q.clone(), "🤖".to_string()] {
            replied += 1;
        } else if got.len() >= 2 && got[..2] == [q.clone(), TOO_SLOW.to_string()] {
            // The timeout won; the late "yes" then starts the flow again, once (which
            // times out in turn).
            let again = &got[2..];
            assert!(
                again.is_empty()
                    || again == [q.clone()]
                    || again == [q.clone(), TOO_SLOW.to_string()],
                "{h}: {got:?}"
            );
            timed_out += 1;
        } else {
            panic!("{h}: {got:?}\n{}", logs(&[&a, &b]));
        }
    }
    eprintln!("{replied} replies won, {timed_out} timeouts won");
    let per_contact = api.executions(&a.base, &flow_sid).await;
    assert_eq!(per_contact.len(), HANDSETS);
    assert!(
        per_contact.values().all(|n| (1..=2).contains(n)),
        "{per_contact:?}"
    );
    assert_eq!(per_contact.values().filter(|n| **n == 1).count(), replied);
}
