//! Fault injection with real `parley serve` processes:
//!
//! - `kill -9` at random moments under load, again and again, on one SQLite file: every
//!   acknowledged message is there exactly once, every acknowledged text got exactly one
//!   reply, and the database passes `PRAGMA integrity_check` after every kill;
//! - a webhook receiver that accepts connections and never answers;
//! - a carrier (HTTP relay) that fails, with a retryable 503 and with a final 400;
//! - a full disk (`--storage-quota-mb`): writes answer 503 (never 500), reads keep working,
//!   deleting data makes room again, and nothing acknowledged is lost or corrupted.
//!
//! The kill loop picks its kill moments with a seeded generator and prints the seed; set
//! `PARLEY_FAULT_SEED` to replay one.

#[path = "../common/mod.rs"]
mod common;
mod crash;
mod failing_carrier;
mod full_disk;
mod hanging_webhook;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TempDir;
use common::server::{Http, Reply, Server, panics_in, query_escape};
use serde_json::{Value, json};

const NUMBER: &str = "+12345678901";
const QUESTION: &str = "Hi, do you like bots?";

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/// `PRAGMA integrity_check` on a database file, opened read-only so that a crashed
/// server's WAL is left for the next start to recover. "ok" when the file is sound.
fn integrity_check(path: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open the database file");
    let mut stmt = conn.prepare("PRAGMA integrity_check").expect("prepare");
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("integrity_check")
        .map(|r| r.expect("row"))
        .collect();
    rows.join("\n")
}

fn assert_no_panics(log: &Path) {
    let panics = panics_in(log);
    assert!(
        panics.is_empty(),
        "the server panicked:\n{}",
        panics.join("\n")
    );
}

/// Publishes the tutorial flow and makes `NUMBER` start it for any handset that texts it.
async fn set_up_tutorial(http: &Http, base: &str) {
    let flow = http
        .post(
            &format!("{base}/v2/Flows"),
            &[
                ("FriendlyName", "tutorial"),
                ("Status", "published"),
                ("Definition", &common::seed_flow().to_string()),
            ],
        )
        .await
        .expect("create the flow");
    assert_eq!(flow.status, 201, "{}", flow.body);
    let config = http
        .post(
            &format!("{base}/v1/Configuration/Addresses"),
            &[
                ("Type", "sms"),
                ("Address", NUMBER),
                ("AutoCreation.Enabled", "true"),
                ("AutoCreation.Type", "studio"),
                ("AutoCreation.StudioFlowSid", &flow.sid()),
            ],
        )
        .await
        .expect("address configuration");
    assert_eq!(config.status, 201, "{}", config.body);
}

/// A virtual handset running the tutorial over and over, and what the server
/// acknowledged of what it sent.
#[derive(Debug, Clone)]
struct Handset {
    number: String,
    sent: Vec<Text>,
}

#[derive(Debug, Clone)]
struct Text {
    body: &'static str,
    /// The simulator message SID, when the server acknowledged the text.
    acked: Option<String>,
}

/// What handsets text, in turn: a greeting starts the flow, the next text answers it.
const BODIES: [&str; 6] = ["hello", "yes", "hey", "no", "hi", "maybe"];

impl Handset {
    fn new(number: String) -> Handset {
        Handset {
            number,
            sent: Vec::new(),
        }
    }

    /// Records the next text in turn as sent (not yet acknowledged); returns the number,
    /// the body and the text's position in `sent`.
    fn next_text(&mut self) -> (String, &'static str, usize) {
        let body = BODIES[self.sent.len() % BODIES.len()];
        self.sent.push(Text { body, acked: None });
        (self.number.clone(), body, self.sent.len() - 1)
    }

    fn acked(&self) -> usize {
        self.sent.iter().filter(|t| t.acked.is_some()).count()
    }
}

/// The flow's answer: a text when nothing waits starts an execution, which asks the
/// question; a text while it waits is the answer, and the flow ends with an emoji.
fn reply_to(waiting: bool, body: &str) -> &'static str {
    match (waiting, body) {
        (false, _) => QUESTION,
        (true, "yes") => "🤖",
        (true, "no") => "👽",
        (true, _) => "👻",
    }
}

/// Checks a handset's screen (oldest first) against what it sent:
/// - every acknowledged text is on it exactly once, in the order sent;
/// - every other text on it is one that was sent but not acknowledged (the server died
///   after committing it), at most once;
/// - every text on it is followed by exactly one reply (the reply is made in the same
///   transaction as the text), and the reply is the one the flow owes.
///
/// Returns the number of texts on the screen.
fn check_screen(h: &Handset, screen: &[Value]) -> Result<usize, String> {
    let acked: HashSet<&str> = h.sent.iter().filter_map(|t| t.acked.as_deref()).collect();
    let (mut next, mut waiting, mut texts, mut i) = (0usize, false, 0usize, 0usize);
    let show = |m: &Value| format!("{} {} {:?}", m["direction"], m["sid"], m["body"]);
    while i < screen.len() {
        let m = &screen[i];
        if m["direction"] != "inbound" {
            return Err(format!(
                "{}: message #{i} ({}) answers no text: a reply sent twice?",
                h.number,
                show(m)
            ));
        }
        let sid = m["sid"].as_str().unwrap_or_default();
        let body = m["body"].as_str().unwrap_or_default();
        loop {
            let Some(t) = h.sent.get(next) else {
                return Err(format!(
                    "{}: text #{i} ({}) was never sent, or is on the screen twice",
                    h.number,
                    show(m)
                ));
            };
            next += 1;
            match &t.acked {
                Some(a) if a == sid => break,
                Some(a) => {
                    return Err(format!(
                        "{}: acknowledged text {a} ({:?}) is missing or out of order; found {} instead",
                        h.number,
                        t.body,
                        show(m)
                    ));
                }
                // Sent, not acknowledged, and committed anyway: allowed.
                None if t.body == body && !acked.contains(sid) => break,
                // Sent, not acknowledged, not committed.
                None => continue,
            }
        }
        texts += 1;
        let want = reply_to(waiting, body);
        match screen.get(i + 1) {
            Some(r) if r["direction"] == "outbound" => {
                if r["body"] != want {
                    return Err(format!(
                        "{}: text {} ({body:?}) was answered {} instead of {want:?}",
                        h.number, sid, r["body"]
                    ));
                }
            }
            _ => {
                return Err(format!("{}: text {sid} ({body:?}) has no reply", h.number));
            }
        }
        waiting = !waiting;
        i += 2;
    }
    if let Some(t) = h.sent[next..].iter().find(|t| t.acked.is_some()) {
        return Err(format!(
            "{}: acknowledged text {:?} ({:?}) is not on the screen",
            h.number, t.acked, t.body
        ));
    }
    Ok(texts)
}

/// The screen check itself: it must see a lost text, a reply sent twice, a text left
/// unanswered, a wrong reply — and allow a text that was committed but not acknowledged.
#[test]
fn the_screen_check_sees_losses_and_duplicates() {
    let text = |body: &'static str, acked: Option<&str>| Text {
        body,
        acked: acked.map(str::to_string),
    };
    let msg = |direction: &str, sid: &str, body: &str| json!({"direction": direction, "sid": sid, "body": body});
    let h = Handset {
        number: "+15550000000".into(),
        sent: vec![
            text("hello", Some("SM1")),
            text("yes", None),
            text("no", Some("SM3")),
        ],
    };
    let good = vec![
        msg("inbound", "SM1", "hello"),
        msg("outbound", "SMa", QUESTION),
        msg("inbound", "SM2", "yes"),
        msg("outbound", "SMb", "🤖"),
        msg("inbound", "SM3", "no"),
        msg("outbound", "SMc", QUESTION),
    ];
    assert_eq!(check_screen(&h, &good), Ok(3));
    // The unacknowledged text need not be there; the flow then reads "no" as the answer.
    let without = vec![
        good[0].clone(),
        good[1].clone(),
        good[4].clone(),
        msg("outbound", "SMc", "👽"),
    ];
    assert_eq!(check_screen(&h, &without), Ok(2));
    let mut twice = good.clone();
    twice.insert(2, msg("outbound", "SMx", QUESTION));
    assert!(check_screen(&h, &twice).is_err(), "a reply sent twice");
    assert!(
        check_screen(&h, &good[..4]).is_err(),
        "an acknowledged text lost"
    );
    assert!(
        check_screen(&h, &good[..5]).is_err(),
        "a text without its reply"
    );
    let mut wrong = good.clone();
    wrong[3] = msg("outbound", "SMb", "👻");
    assert!(check_screen(&h, &wrong).is_err(), "the wrong reply");
    let mut again = good.clone();
    again.extend([good[4].clone(), good[5].clone()]);
    assert!(check_screen(&h, &again).is_err(), "a text there twice");
}

async fn screen(http: &Http, base: &str, handset: &str) -> Vec<Value> {
    http.list_all(
        base,
        &format!(
            "/sim/v1/Messages?PageSize=1000&Address={}",
            query_escape(handset)
        ),
        "messages",
    )
    .await
}

/// A message written through the REST API, and what the server answered.
#[derive(Debug, Clone)]
struct RestMessage {
    conversation: String,
    body: String,
    /// SID and index, when acknowledged.
    acked: Option<(String, i64)>,
}

/// Checks one conversation's messages against what was written to it: every acknowledged
/// message is there once with the SID and index it was given, every body and every index
/// at most once, and nothing that was never written. Returns how many are there.
async fn check_conversation(
    http: &Http,
    base: &str,
    conversation: &str,
    written: &[&RestMessage],
) -> Result<usize, String> {
    let listed = http
        .list_all(
            base,
            &format!("/v1/Conversations/{conversation}/Messages?PageSize=100"),
            "messages",
        )
        .await;
    let mut by_body: HashMap<&str, &Value> = HashMap::new();
    let mut indexes = HashSet::new();
    for m in &listed {
        let body = m["body"].as_str().unwrap_or_default();
        if by_body.insert(body, m).is_some() {
            return Err(format!("{conversation}: {body:?} is there twice"));
        }
        if !indexes.insert(m["index"].as_i64()) {
            return Err(format!(
                "{conversation}: index {} is there twice",
                m["index"]
            ));
        }
    }
    let sent: HashSet<&str> = written.iter().map(|w| w.body.as_str()).collect();
    if let Some(stray) = by_body.keys().find(|b| !sent.contains(**b)) {
        return Err(format!("{conversation}: {stray:?} was never written"));
    }
    for w in written {
        let Some((sid, index)) = &w.acked else {
            continue;
        };
        match by_body.get(w.body.as_str()) {
            None => {
                return Err(format!(
                    "{conversation}: acknowledged message {sid} ({:?}) is missing",
                    w.body
                ));
            }
            Some(m) if m["sid"] != sid.as_str() || m["index"] != *index => {
                return Err(format!(
                    "{conversation}: acknowledged as {sid} index {index}, listed as {m}"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(listed.len())
}

/// Fetches every acknowledged message by its SID, eight at a time.
async fn fetch_each(http: &Http, base: &str, messages: &[RestMessage]) {
    let acked: Vec<(RestMessage, String)> = messages
        .iter()
        .filter_map(|m| m.acked.clone().map(|(sid, _)| (m.clone(), sid)))
        .collect();
    for chunk in acked.chunks(8) {
        let gets: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(m, sid)| {
                let (http, base) = (http.clone(), base.to_string());
                tokio::spawn(async move {
                    let url = format!("{base}/v1/Conversations/{}/Messages/{sid}", m.conversation);
                    (m, http.get(&url).await)
                })
            })
            .collect();
        for get in gets {
            let (m, r) = get.await.expect("GET task");
            let r = r.expect("GET a message");
            assert_eq!(r.status, 200, "{}: {}", m.body, r.body);
            assert_eq!(r.body["body"], m.body.as_str(), "{}", r.body);
        }
    }
}

/// A small deterministic generator (splitmix64): the kill moments of a seed replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn seed() -> u64 {
    std::env::var("PARLEY_FAULT_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// Answers that are neither a success nor a dropped connection, e.g. "POST … 500 {…}".
#[derive(Clone, Default)]
struct Unexpected(Arc<Mutex<Vec<String>>>);

impl Unexpected {
    fn push(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The handset of the single-conversation tests.
const HANDSET: &str = "+15558675310";

async fn advance_clock(http: &Http, server: &Server, secs: u64) {
    let r = http
        .post(
            &server.url("/parley/v1/Clock"),
            &[("AdvanceSeconds", &secs.to_string())],
        )
        .await
        .expect("move the clock");
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A conversation with an SMS participant (`HANDSET` through `NUMBER`).
async fn conversation_with_handset(http: &Http, server: &Server) -> String {
    let ch = http
        .post(&server.url("/v1/Conversations"), &[])
        .await
        .expect("conversation")
        .sid();
    let p = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch}/Participants")),
            &[
                ("MessagingBinding.Address", HANDSET),
                ("MessagingBinding.ProxyAddress", NUMBER),
            ],
        )
        .await
        .expect("participant");
    assert_eq!(p.status, 201, "{}", p.body);
    ch
}
