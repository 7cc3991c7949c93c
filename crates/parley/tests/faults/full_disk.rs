//! Faults: a full disk.

use super::*;

const QUOTA_MB: &str = "2";
/// Bodies big enough to fill 2 MiB in a second or two, small enough for many per page run.
const FILL_BODY: usize = 1_500;

/// What the fill wrote, as acknowledged.
#[derive(Clone, Default)]
struct Filled {
    /// Conversations whose creation was acknowledged.
    conversations: Vec<String>,
    messages: Vec<RestMessage>,
    /// Per renamed conversation: the last acknowledged FriendlyName and Attributes.
    renamed: HashMap<String, (String, Value)>,
    statuses: HashMap<u16, usize>,
}

/// Checks an answer during the fill: a success, or 503 with code 20503 — anything else is
/// recorded as unexpected. True for a success.
fn judge(
    r: &Reply,
    what: &str,
    filled: &Mutex<Filled>,
    full: &AtomicBool,
    unexpected: &Unexpected,
) -> bool {
    *filled.lock().unwrap().statuses.entry(r.status).or_default() += 1;
    if r.ok() {
        return true;
    }
    if r.status == 503 && r.body["code"] == 20503 {
        full.store(true, Ordering::SeqCst);
    } else {
        unexpected.push(format!("{what}: {} {}", r.status, r.body));
    }
    false
}

/// Creates conversations with a few messages each, until `stop`.
async fn fill_conversations(
    http: Http,
    base: String,
    task: usize,
    filled: Arc<Mutex<Filled>>,
    full: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    unexpected: Unexpected,
) {
    let pad = "x".repeat(FILL_BODY);
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let Ok(c) = http
            .post(
                &format!("{base}/v1/Conversations"),
                &[("FriendlyName", &format!("fill-{task}-{n}"))],
            )
            .await
        else {
            unexpected.push("POST /v1/Conversations: no answer".into());
            return;
        };
        if !judge(&c, "create a conversation", &filled, &full, &unexpected) {
            continue;
        }
        let ch = c.sid();
        filled.lock().unwrap().conversations.push(ch.clone());
        for k in 0..4 {
            let body = format!("fill {task}-{n}-{k} {pad}");
            let Ok(r) = http
                .post(
                    &format!("{base}/v1/Conversations/{ch}/Messages"),
                    &[("Author", "filler"), ("Body", &body)],
                )
                .await
            else {
                unexpected.push("POST a message: no answer".into());
                return;
            };
            let acked = judge(&r, "add a message", &filled, &full, &unexpected)
                .then(|| (r.sid(), r.body["index"].as_i64().unwrap_or(-1)));
            filled.lock().unwrap().messages.push(RestMessage {
                conversation: ch.clone(),
                body,
                acked,
            });
        }
    }
}

/// Renames one conversation and rewrites its attributes (growing, then shrinking) until
/// `stop`: same-size updates that fit in a full file, batched with ones that do not.
async fn rename_conversation(
    http: Http,
    base: String,
    ch: String,
    filled: Arc<Mutex<Filled>>,
    full: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    unexpected: Unexpected,
) {
    let url = format!("{base}/v1/Conversations/{ch}");
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let name = format!("renamed {n:06}");
        let Ok(r) = http.post(&url, &[("FriendlyName", &name)]).await else {
            unexpected.push("rename: no answer".into());
            return;
        };
        if judge(&r, "rename", &filled, &full, &unexpected) {
            filled.lock().unwrap().renamed.get_mut(&ch).unwrap().0 = name;
        }
        let attributes = json!({"n": n, "pad": "y".repeat((n * 700) % 12_000)});
        let Ok(r) = http
            .post(&url, &[("Attributes", &attributes.to_string())])
            .await
        else {
            unexpected.push("attributes: no answer".into());
            return;
        };
        if judge(&r, "attributes", &filled, &full, &unexpected) {
            filled.lock().unwrap().renamed.get_mut(&ch).unwrap().1 = attributes;
        }
    }
}

/// A handset texting the tutorial until `stop` (each text also schedules the flow's
/// reply timer: an upsert into the jobs table).
async fn text_until_stopped(
    http: Http,
    base: String,
    handset: Arc<Mutex<Handset>>,
    filled: Arc<Mutex<Filled>>,
    full: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    unexpected: Unexpected,
) {
    let url = format!("{base}/sim/v1/Messages");
    while !stop.load(Ordering::SeqCst) {
        let (number, body, n) = handset.lock().unwrap().next_text();
        let Ok(r) = http
            .post(&url, &[("From", &number), ("To", NUMBER), ("Body", body)])
            .await
        else {
            unexpected.push("text: no answer".into());
            return;
        };
        if judge(&r, "text", &filled, &full, &unexpected) {
            handset.lock().unwrap().sent[n].acked = Some(r.sid());
        }
    }
}

/// Checks everything acknowledged is there: messages of the conversations not deleted,
/// the last acknowledged name and attributes, the handsets' screens; deleted conversations
/// are gone.
async fn check_filled(
    http: &Http,
    base: &str,
    filled: &Filled,
    deleted: &HashSet<String>,
    handsets: &[Arc<Mutex<Handset>>],
) -> usize {
    let mut present = 0;
    for ch in &filled.conversations {
        if deleted.contains(ch) {
            let r = http
                .get(&format!("{base}/v1/Conversations/{ch}"))
                .await
                .expect("GET");
            assert_eq!(r.status, 404, "deleted {ch}: {}", r.body);
            continue;
        }
        let written: Vec<&RestMessage> = filled
            .messages
            .iter()
            .filter(|m| &m.conversation == ch)
            .collect();
        present += check_conversation(http, base, ch, &written)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (ch, (name, attributes)) in &filled.renamed {
        let r = http
            .get(&format!("{base}/v1/Conversations/{ch}"))
            .await
            .expect("GET");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["friendly_name"], name.as_str(), "{ch}");
        let got: Value =
            serde_json::from_str(r.body["attributes"].as_str().unwrap_or("{}")).expect("JSON");
        assert_eq!(&got, attributes, "{ch}: attributes");
    }
    for h in handsets {
        let h = h.lock().unwrap().clone();
        let got = screen(http, base, &h.number).await;
        if let Err(e) = check_screen(&h, &got) {
            panic!("{e}\nscreen: {got:#?}");
        }
    }
    present
}

/// `--storage-quota-mb 2`: conversations, messages, renames, growing attributes and
/// handset texts fill the file until writes answer 503 (code 20503) — never 500, and a
/// 503 changes nothing; reads and `/healthz` keep working; deleting conversations frees
/// pages that new writes reuse (no larger quota needed); after a restart the file passes
/// `PRAGMA integrity_check` and every acknowledged write is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_recovers() {
    let started = Instant::now();
    let dir = TempDir::new();
    let path = dir.path("parley.db");
    let db = format!("sqlite://{}", path.display());
    let log = dir.path("server.log");
    let quota = ["--storage-quota-mb", QUOTA_MB];
    let mut server = Server::start(&db, &log, &quota);
    let http = Http::new();
    let base = server.base.clone();
    set_up_tutorial(&http, &base).await;

    let filled = Arc::new(Mutex::new(Filled::default()));
    let mut renamed = Vec::new();
    for i in 0..2 {
        let c = http
            .post(
                &server.url("/v1/Conversations"),
                &[("FriendlyName", &format!("start {i}"))],
            )
            .await
            .expect("conversation");
        assert_eq!(c.status, 201, "{}", c.body);
        filled
            .lock()
            .unwrap()
            .renamed
            .insert(c.sid(), (format!("start {i}"), json!({})));
        renamed.push(c.sid());
    }
    let handsets: Vec<Arc<Mutex<Handset>>> = (0..3)
        .map(|i| Arc::new(Mutex::new(Handset::new(format!("+1555500{i:04}")))))
        .collect();

    // Fill until the first 503, then keep writing a little longer at the limit.
    let full = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let unexpected = Unexpected::default();
    let mut tasks = Vec::new();
    for task in 0..4 {
        tasks.push(tokio::spawn(fill_conversations(
            http.clone(),
            base.clone(),
            task,
            filled.clone(),
            full.clone(),
            stop.clone(),
            unexpected.clone(),
        )));
    }
    for ch in &renamed {
        tasks.push(tokio::spawn(rename_conversation(
            http.clone(),
            base.clone(),
            ch.clone(),
            filled.clone(),
            full.clone(),
            stop.clone(),
            unexpected.clone(),
        )));
    }
    for h in &handsets {
        tasks.push(tokio::spawn(text_until_stopped(
            http.clone(),
            base.clone(),
            h.clone(),
            filled.clone(),
            full.clone(),
            stop.clone(),
            unexpected.clone(),
        )));
    }
    let until = Instant::now() + Duration::from_secs(40);
    while !full.load(Ordering::SeqCst) {
        assert!(Instant::now() < until, "the database never filled up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let filled_after = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("fill task");
    }
    let bad = unexpected.take();
    assert!(
        bad.is_empty(),
        "answers other than 2xx and 503:\n{}\nlog:\n{}",
        bad.join("\n"),
        server.tail(30)
    );
    let statuses = filled.lock().unwrap().statuses.clone();
    eprintln!("full after {filled_after:?}; answers while filling: {statuses:?}");

    // Full: a big write is refused, and says why; reads and the health check still work.
    let ch0 = renamed[0].clone();
    let big = http
        .post(
            &server.url(&format!("/v1/Conversations/{ch0}/Messages")),
            &[("Author", "filler"), ("Body", &"z".repeat(30_000))],
        )
        .await
        .expect("a big message");
    assert_eq!(big.status, 503, "{}", big.body);
    assert_eq!(big.body["code"], 20503, "{}", big.body);
    assert!(
        big.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("storage is full"),
        "{}",
        big.body
    );
    let health = http.get(&server.url("/healthz")).await.expect("healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    let list = http
        .get(&server.url("/v1/Conversations?PageSize=50"))
        .await
        .expect("list");
    assert_eq!(list.status, 200, "{}", list.body);
    let first_acked = filled
        .lock()
        .unwrap()
        .messages
        .iter()
        .find(|m| m.acked.is_some())
        .cloned()
        .expect("some message was acknowledged");
    fetch_each(&http, &base, std::slice::from_ref(&first_acked)).await;
    let number = handsets[0].lock().unwrap().number.clone();
    assert!(!screen(&http, &base, &number).await.is_empty());

    // Deleting conversations frees pages; writes succeed again in the same file.
    let conversations = filled.lock().unwrap().conversations.clone();
    let mut deleted = HashSet::new();
    for ch in conversations.iter().step_by(2) {
        let r = http
            .delete(&server.url(&format!("/v1/Conversations/{ch}")))
            .await
            .expect("delete");
        assert_eq!(r.status, 204, "delete {ch} in a full database: {}", r.body);
        deleted.insert(ch.clone());
    }
    let again = http
        .post(
            &server.url("/v1/Conversations"),
            &[("FriendlyName", "after the delete")],
        )
        .await
        .expect("conversation");
    assert_eq!(
        again.status,
        201,
        "a write after deleting {} conversations: {}",
        deleted.len(),
        again.body
    );
    let again_sid = again.sid();
    {
        let mut f = filled.lock().unwrap();
        f.conversations.push(again_sid.clone());
    }
    for k in 0..5 {
        let body = format!("after the delete {k} {}", "w".repeat(FILL_BODY));
        let r = http
            .post(
                &server.url(&format!("/v1/Conversations/{again_sid}/Messages")),
                &[("Author", "filler"), ("Body", &body)],
            )
            .await
            .expect("message");
        assert_eq!(r.status, 201, "{}", r.body);
        filled.lock().unwrap().messages.push(RestMessage {
            conversation: again_sid.clone(),
            body,
            acked: Some((r.sid(), r.body["index"].as_i64().unwrap_or(-1))),
        });
    }

    // Restart on the same file and quota: sound, and everything acknowledged is there.
    assert!(
        server.stop(Duration::from_secs(10)),
        "graceful stop\n{}",
        server.tail(20)
    );
    assert_eq!(integrity_check(&path), "ok");
    let file_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    server = Server::start(&db, &log, &quota);
    let snapshot = filled.lock().unwrap().clone();
    let present = check_filled(&http, &server.base, &snapshot, &deleted, &handsets).await;
    let (acked_messages, acked_texts) = {
        let f = filled.lock().unwrap();
        (
            f.messages.iter().filter(|m| m.acked.is_some()).count(),
            handsets
                .iter()
                .map(|h| h.lock().unwrap().acked())
                .sum::<usize>(),
        )
    };
    let r = http
        .post(
            &server.url("/v1/Conversations"),
            &[("FriendlyName", "after the restart")],
        )
        .await
        .expect("conversation");
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        server.stop(Duration::from_secs(10)),
        "graceful stop\n{}",
        server.tail(20)
    );
    assert_eq!(integrity_check(&path), "ok");
    assert_no_panics(&log);
    eprintln!(
        "full disk: {acked_messages} messages and {acked_texts} texts acknowledged, {} conversations deleted, \
         {present} messages present after the restart; file {file_mb:.2} MiB; took {:?}",
        deleted.len(),
        started.elapsed()
    );
}
