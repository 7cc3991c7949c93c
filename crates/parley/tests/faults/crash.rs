//! Faults: kill -9 at random moments under load.

use super::*;

const KILL_ROUNDS: usize = 8;
const KILL_HANDSETS: usize = 12;
const KILL_CONVERSATIONS: usize = 3;
/// REST writers per conversation (concurrent writers race for the next index).
const WRITERS_PER_CONVERSATION: usize = 2;

/// One handset texting as fast as the server answers until the server dies or `stop`.
async fn run_handset(
    http: Http,
    base: String,
    handset: Arc<Mutex<Handset>>,
    stop: Arc<AtomicBool>,
    unexpected: Unexpected,
) {
    let url = format!("{base}/sim/v1/Messages");
    while !stop.load(Ordering::SeqCst) {
        let (number, body, n) = handset.lock().unwrap().next_text();
        match http
            .post(&url, &[("From", &number), ("To", NUMBER), ("Body", body)])
            .await
        {
            Ok(r) if r.status == 201 => {
                handset.lock().unwrap().sent[n].acked = Some(r.sid());
            }
            Ok(r) => {
                unexpected.push(format!(
                    "{number} texting {body:?}: {} {}",
                    r.status, r.body
                ));
                return;
            }
            // The server died under the request: not acknowledged, maybe committed.
            Err(_) => return,
        }
    }
}

/// One REST writer adding messages to a conversation until the server dies or `stop`.
async fn run_writer(
    http: Http,
    base: String,
    writer: usize,
    log: Arc<Mutex<Vec<RestMessage>>>,
    conversation: String,
    stop: Arc<AtomicBool>,
    unexpected: Unexpected,
) {
    let url = format!("{base}/v1/Conversations/{conversation}/Messages");
    let author = format!("agent{writer}");
    while !stop.load(Ordering::SeqCst) {
        let n = {
            let mut log = log.lock().unwrap();
            let body = format!("writer {writer} message {}", log.len());
            log.push(RestMessage {
                conversation: conversation.clone(),
                body,
                acked: None,
            });
            log.len() - 1
        };
        let body = log.lock().unwrap()[n].body.clone();
        match http
            .post(&url, &[("Author", &author), ("Body", &body)])
            .await
        {
            Ok(r) if r.status == 201 => {
                let index = r.body["index"].as_i64().expect("index");
                log.lock().unwrap()[n].acked = Some((r.sid(), index));
            }
            Ok(r) => {
                unexpected.push(format!("POST {body:?}: {} {}", r.status, r.body));
                return;
            }
            Err(_) => return,
        }
    }
}

/// SIGKILL at random moments (50–800 ms into the load) of a server that handsets text
/// and agents write to, restarted on the same file each time. After the last round, on a
/// clean start: every acknowledged REST message is there exactly once (listed and fetched
/// by SID), every acknowledged text is on its handset once with exactly one reply (and no
/// reply is there twice), and the file passes `PRAGMA integrity_check` after every kill
/// and at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_at_random_moments_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let seed = seed();
    eprintln!("kill -9 loop: seed {seed} (replay with PARLEY_FAULT_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = TempDir::new();
    let path = dir.path("parley.db");
    let db = format!("sqlite://{}", path.display());
    let log = dir.path("server.log");
    let http = Http::new();

    let mut server = Server::start(&db, &log, &[]);
    set_up_tutorial(&http, &server.base).await;
    let mut conversations = Vec::new();
    for i in 0..KILL_CONVERSATIONS {
        let c = http
            .post(
                &server.url("/v1/Conversations"),
                &[("FriendlyName", &format!("kill-{i}"))],
            )
            .await
            .expect("create a conversation");
        assert_eq!(c.status, 201, "{}", c.body);
        conversations.push(c.sid());
    }

    let handsets: Vec<Arc<Mutex<Handset>>> = (0..KILL_HANDSETS)
        .map(|i| Arc::new(Mutex::new(Handset::new(format!("+1555400{i:04}")))))
        .collect();
    let writers: Vec<Arc<Mutex<Vec<RestMessage>>>> = (0..KILL_CONVERSATIONS
        * WRITERS_PER_CONVERSATION)
        .map(|_| Arc::new(Mutex::new(Vec::new())))
        .collect();
    let unexpected = Unexpected::default();

    for round in 1..=KILL_ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for h in &handsets {
            tasks.push(tokio::spawn(run_handset(
                http.clone(),
                server.base.clone(),
                h.clone(),
                stop.clone(),
                unexpected.clone(),
            )));
        }
        for (w, log) in writers.iter().enumerate() {
            tasks.push(tokio::spawn(run_writer(
                http.clone(),
                server.base.clone(),
                w,
                log.clone(),
                conversations[w % KILL_CONVERSATIONS].clone(),
                stop.clone(),
                unexpected.clone(),
            )));
        }
        let delay = rng.between(50, 800);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            t.await.expect("load task");
        }
        let check = integrity_check(&path);
        assert_eq!(check, "ok", "round {round}: the file after kill -9");
        let texts: usize = handsets.iter().map(|h| h.lock().unwrap().acked()).sum();
        let written: usize = writers
            .iter()
            .map(|w| {
                w.lock()
                    .unwrap()
                    .iter()
                    .filter(|m| m.acked.is_some())
                    .count()
            })
            .sum();
        eprintln!(
            "round {round}: killed after {delay} ms; acknowledged so far: {texts} texts, {written} REST messages"
        );
        server = Server::start(&db, &log, &[]);
    }

    // The last start is a clean one: check everything on it.
    let bad = unexpected.take();
    assert!(bad.is_empty(), "unexpected answers:\n{}", bad.join("\n"));
    let base = server.base.clone();
    let (mut on_screens, mut sent_texts, mut acked_texts) = (0, 0, 0);
    for h in &handsets {
        let h = h.lock().unwrap().clone();
        let got = screen(&http, &base, &h.number).await;
        match check_screen(&h, &got) {
            Ok(n) => on_screens += n,
            Err(e) => panic!("{e}\nscreen: {got:#?}\nseed {seed}"),
        }
        sent_texts += h.sent.len();
        acked_texts += h.acked();
    }
    let all: Vec<RestMessage> = writers
        .iter()
        .flat_map(|w| w.lock().unwrap().clone())
        .collect();
    let mut listed = 0;
    for c in &conversations {
        let written: Vec<&RestMessage> = all.iter().filter(|m| &m.conversation == c).collect();
        match check_conversation(&http, &base, c, &written).await {
            Ok(n) => listed += n,
            Err(e) => panic!("{e}\nseed {seed}"),
        }
    }
    fetch_each(&http, &base, &all).await;
    let acked_rest = all.iter().filter(|m| m.acked.is_some()).count();
    eprintln!(
        "{KILL_ROUNDS} kills: texts sent {sent_texts}, acknowledged {acked_texts}, on screens {on_screens}; \
         REST messages sent {}, acknowledged {acked_rest}, listed {listed}",
        all.len()
    );
    assert!(
        acked_texts > 0 && acked_rest > 0,
        "the load never got going"
    );

    assert!(
        server.stop(Duration::from_secs(10)),
        "graceful stop\n{}",
        server.tail(20)
    );
    assert_eq!(integrity_check(&path), "ok", "the file at the end");
    assert_no_panics(&log);
    eprintln!("kill -9 loop took {:?}", started.elapsed());
}
