//! Cluster: a node killed under load loses nothing.

use super::*;

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
