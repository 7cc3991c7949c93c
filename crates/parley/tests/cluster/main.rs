//! Scale-out proved with real processes: `parley serve` nodes on one database, virtual
//! handsets running the tutorial flow through the phone simulator with their messages spread
//! over the nodes, and a node killed with SIGKILL in the middle of the load.
//!
//! The PostgreSQL tests run when `PARLEY_TEST_PG` names a server (each in a schema of its
//! own) and are skipped otherwise; the SQLite crash test always runs.

#[path = "../common/mod.rs"]
mod common;
mod node_loss;
mod sharing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::Server;
use common::{ACCOUNT_SID, AUTH_TOKEN};
use parley_store::testing::PgSchema;
use serde_json::{Value, json};

const NUMBER: &str = "+12345678901";
const QUESTION: &str = "Hi, do you like bots?";
const TOO_SLOW: &str = "Too slow";
/// The reply timeout of the crash tests' flow, in seconds.
const TIMEOUT_SECS: u64 = 5;
const SEED: &str = include_str!("../../../../examples/flows/seed-flow.json");

static NODES_STARTED: AtomicUsize = AtomicUsize::new(0);

/// One `parley serve` process (killed when dropped) with a log of its own, removed with it.
struct Node {
    server: Server,
}

impl Node {
    fn start(db: &str) -> Node {
        let n = NODES_STARTED.fetch_add(1, Ordering::SeqCst);
        let log =
            std::env::temp_dir().join(format!("parley-cluster-{}-node{n}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        Node {
            server: Server::start(db, &log, &[]),
        }
    }
}

impl std::ops::Deref for Node {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.kill9();
        let _ = std::fs::remove_file(&self.server.log);
    }
}

fn logs(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("--- {} ---\n{}", n.base, n.tail(40)))
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
