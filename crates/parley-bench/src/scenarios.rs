//! The scenarios. Each runs for a set time with a set number of connections and returns
//! its figures; `tutorial` also checks that every handset got exactly the right replies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::Mutex;

use crate::client::{Pool, Target, form};
use crate::stats::{Recorder, Summary};

pub const NUMBER: &str = "+12345678900";
const SEED_FLOW: &str = include_str!("../../../examples/flows/seed-flow.json");

pub fn handset(i: usize) -> String {
    format!("+1555{i:07}")
}

/// Prints a progress line every second while `done` is false.
fn progress(name: &'static str, count: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut last = 0;
        while !done.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = count.load(Ordering::Relaxed);
            eprintln!(
                "  {name}: {:>6.1}s  {now:>9} requests  {:>8}/s",
                start.elapsed().as_secs_f64(),
                now - last
            );
            last = now;
        }
    });
}

/// Runs `work(i)` from `workers` tasks as fast as they can for `duration`.
async fn closed_loop<F, Fut>(
    name: &'static str,
    workers: usize,
    duration: Duration,
    work: F,
) -> Result<Summary>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let work = Arc::new(work);
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress(name, count.clone(), done.clone());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (work, count) = (work.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match work(w, n).await {
                    Ok(()) => rec.record(t.elapsed()),
                    Err(e) => {
                        if rec.errors < 3 {
                            eprintln!("  {name}: error: {e:#}");
                        }
                        rec.errors += 1;
                    }
                }
                n += 1;
                count.fetch_add(1, Ordering::Relaxed);
            }
            rec
        }));
    }
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(t.await?);
    }
    done.store(true, Ordering::Relaxed);
    Ok(all.summary(start.elapsed()))
}

pub async fn baseline(pool: Arc<Pool>, workers: usize, duration: Duration) -> Result<Summary> {
    closed_loop("baseline /healthz", workers, duration, move |_, _| {
        let pool = pool.clone();
        async move {
            let r = pool.request("GET", "/healthz", None).await?;
            if r.status != 200 {
                bail!("healthz answered {}", r.status);
            }
            Ok(())
        }
    })
    .await
}

pub async fn conversation_creates(
    pool: Arc<Pool>,
    workers: usize,
    duration: Duration,
) -> Result<Summary> {
    let body = Arc::new(form(&[("FriendlyName", "bench")]));
    closed_loop(
        "rest: conversation create",
        workers,
        duration,
        move |_, _| {
            let (pool, body) = (pool.clone(), body.clone());
            async move {
                let r = pool
                    .request("POST", "/v1/Conversations", Some(&body))
                    .await?;
                if r.status != 201 {
                    bail!(
                        "create answered {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    );
                }
                Ok(())
            }
        },
    )
    .await
}

pub async fn message_creates(
    pool: Arc<Pool>,
    workers: usize,
    duration: Duration,
) -> Result<Summary> {
    // One conversation per worker: messages to one conversation are serialised anyway.
    let mut paths = Vec::new();
    for _ in 0..workers {
        let r = pool
            .request(
                "POST",
                "/v1/Conversations",
                Some(&form(&[("FriendlyName", "bench messages")])),
            )
            .await?;
        let sid = r.json()?["sid"].as_str().context("no sid")?.to_string();
        paths.push(format!("/v1/Conversations/{sid}/Messages"));
    }
    let paths = Arc::new(paths);
    let body = Arc::new(form(&[
        ("Author", "bench"),
        ("Body", "hello from the benchmark"),
    ]));
    closed_loop("rest: message create", workers, duration, move |w, _| {
        let (pool, body, paths) = (pool.clone(), body.clone(), paths.clone());
        async move {
            let r = pool.request("POST", &paths[w], Some(&body)).await?;
            if r.status != 201 {
                bail!("message create answered {}", r.status);
            }
            Ok(())
        }
    })
    .await
}

pub async fn list_pages(pool: Arc<Pool>, workers: usize, duration: Duration) -> Result<Summary> {
    closed_loop("rest: list page", workers, duration, move |_, _| {
        let pool = pool.clone();
        async move {
            let r = pool
                .request("GET", "/v1/Conversations?PageSize=50", None)
                .await?;
            if r.status != 200 {
                bail!("list answered {}", r.status);
            }
            Ok(())
        }
    })
    .await
}

/// Publishes the seed flow and makes `NUMBER` auto-create conversations with it.
pub async fn setup_tutorial(pool: &Pool) -> Result<()> {
    let r = pool
        .request(
            "POST",
            "/v2/Flows",
            Some(&form(&[
                ("FriendlyName", "bench seed"),
                ("Status", "published"),
                ("Definition", SEED_FLOW),
            ])),
        )
        .await?;
    if r.status != 201 {
        bail!(
            "flow create answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    let flow = r.json()?["sid"]
        .as_str()
        .context("no flow sid")?
        .to_string();
    let r = pool
        .request(
            "POST",
            "/v1/Configuration/Addresses",
            Some(&form(&[
                ("Type", "sms"),
                ("Address", NUMBER),
                ("AutoCreation.Enabled", "true"),
                ("AutoCreation.Type", "studio"),
                ("AutoCreation.StudioFlowSid", &flow),
            ])),
        )
        .await?;
    if r.status != 201 && r.status != 409 {
        bail!("address configuration answered {}", r.status);
    }
    Ok(())
}

const ANSWERS: [(&str, &str); 3] = [("yes", "🤖"), ("no", "👽"), ("maybe", "👻")];

/// What one handset says next, by its step count: "hi", an answer, "hi", …
fn utterance(h: usize, step: u64) -> &'static str {
    if step.is_multiple_of(2) {
        "hi"
    } else {
        ANSWERS[(h + (step / 2) as usize) % 3].0
    }
}

pub struct HandsetState {
    steps: Vec<AtomicU64>,
}

impl HandsetState {
    pub fn new(n: usize) -> Arc<HandsetState> {
        Arc::new(HandsetState {
            steps: (0..n).map(|_| AtomicU64::new(0)).collect(),
        })
    }
}

/// One text from handset `h` through the simulator. The simulator delivers the flow's reply
/// in the same transaction as the text, so when the POST answers, the reply is on the
/// handset: the POST's round trip is the handset-to-reply latency.
async fn text(pool: &Pool, h: usize, body: &str) -> Result<()> {
    let handset = handset(h);
    let r = pool
        .request(
            "POST",
            "/sim/v1/Messages",
            Some(&form(&[("From", &handset), ("To", NUMBER), ("Body", body)])),
        )
        .await?;
    if r.status != 201 {
        bail!(
            "sim answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    Ok(())
}

/// Closed loop: `handsets` virtual handsets, at most `connections` texts in flight, each
/// handset waiting for its reply before it texts again.
pub async fn tutorial(
    pool: Arc<Pool>,
    state: Arc<HandsetState>,
    handsets: usize,
    connections: usize,
    duration: Duration,
) -> Result<Summary> {
    tutorial_range(pool, state, 0, handsets, connections, duration).await
}

/// Open loop at a fixed rate: texts are due on a schedule whatever the server does, and
/// latency counts from when a text was due (no coordinated omission).
pub async fn tutorial_at_rate(
    pool: Arc<Pool>,
    state: Arc<HandsetState>,
    handsets: usize,
    rate: f64,
    duration: Duration,
) -> Result<Summary> {
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress("tutorial (fixed rate)", count.clone(), done.clone());
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let busy: Arc<Vec<AtomicBool>> =
        Arc::new((0..handsets).map(|_| AtomicBool::new(false)).collect());
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let total = (rate * duration.as_secs_f64()) as u64;
    let mut tasks = Vec::new();
    let mut h = 0usize;
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        // The next idle handset (one text in flight per handset). When every handset is
        // waiting for a reply (a stall longer than handsets / rate), wait for one to be
        // free: sending from a busy handset would race its own previous text. The text's
        // latency still counts from when it was due.
        let mut tries = 0;
        while busy[h].swap(true, Ordering::AcqRel) {
            h = (h + 1) % handsets;
            tries += 1;
            if tries % handsets == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let (pool, state, rec, busy, count) = (
            pool.clone(),
            state.clone(),
            rec.clone(),
            busy.clone(),
            count.clone(),
        );
        let this = h;
        h = (h + 1) % handsets;
        tasks.push(tokio::spawn(async move {
            let step = state.steps[this].load(Ordering::Relaxed);
            let result = text(&pool, this, utterance(this, step)).await;
            let mut r = rec.lock().await;
            match result {
                Ok(()) => {
                    state.steps[this].store(step + 1, Ordering::Relaxed);
                    r.record(due.elapsed());
                }
                Err(_) => r.errors += 1,
            }
            busy[this].store(false, Ordering::Release);
            count.fetch_add(1, Ordering::Relaxed);
        }));
    }
    for t in tasks {
        t.await?;
    }
    done.store(true, Ordering::Relaxed);
    let rec = Arc::try_unwrap(rec)
        .map_err(|_| anyhow::anyhow!("recorder still shared"))?
        .into_inner();
    Ok(rec.summary(start.elapsed()))
}

/// Checks that handsets got exactly the replies their texts call for; returns the number
/// of handsets whose screen is wrong.
pub async fn verify(
    pool: &Pool,
    state: &HandsetState,
    sample: impl Iterator<Item = usize>,
) -> Result<u64> {
    let mut wrong = 0;
    for h in sample {
        let steps = state.steps[h].load(Ordering::Relaxed);
        let path = format!(
            "/sim/v1/Messages?PageSize=1000&Address={}",
            form_urlencoded::byte_serialize(handset(h).as_bytes()).collect::<String>()
        );
        let r = pool.request("GET", &path, None).await?;
        let got: Vec<String> = r.json()?["messages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|m| m["direction"] == "outbound")
                    .filter_map(|m| m["body"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<String> = (0..steps)
            .map(|s| {
                if s % 2 == 0 {
                    "Hi, do you like bots?".to_string()
                } else {
                    ANSWERS[(h + (s / 2) as usize) % 3].1.to_string()
                }
            })
            .collect();
        // Pages hold 1,000 messages; compare what the page shows.
        let n = got.len().min(expected.len());
        if got[..n] != expected[..n] || (got.len() < 1000 && got.len() != expected.len()) {
            wrong += 1;
            if wrong <= 3 {
                // From the first difference on, a few replies of each.
                let at = (0..n).find(|&i| got[i] != expected[i]).unwrap_or(n);
                let around = |v: &[String]| v[at.min(v.len())..(at + 4).min(v.len())].to_vec();
                eprintln!(
                    "  handset {}: {} replies expected, {} on the screen; from reply {at}: expected {:?}, got {:?}",
                    handset(h),
                    expected.len(),
                    got.len(),
                    around(&expected),
                    around(&got)
                );
            }
        }
    }
    Ok(wrong)
}

/// Leaves `count` executions waiting for a reply (each handset says "hi" once).
pub async fn park_executions(
    pool: Arc<Pool>,
    first_handset: usize,
    count: usize,
    connections: usize,
) -> Result<Summary> {
    let next = Arc::new(AtomicU64::new(0));
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress("idle: parking executions", counter.clone(), done.clone());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (pool, next, counter) = (pool.clone(), next.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= count {
                    break;
                }
                let t = Instant::now();
                match text(&pool, first_handset + i, "hi").await {
                    Ok(()) => rec.record(t.elapsed()),
                    Err(_) => rec.errors += 1,
                }
                counter.fetch_add(1, Ordering::Relaxed);
            }
            rec
        }));
    }
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(t.await?);
    }
    done.store(true, Ordering::Relaxed);
    Ok(all.summary(start.elapsed()))
}

pub fn target(addr: &str, account_sid: &str, token: &str) -> Target {
    Target::new(addr, account_sid, token)
}

/// The closed loop over handsets `first..first + count` (fresh ones for each measurement).
pub async fn tutorial_range(
    pool: Arc<Pool>,
    state: Arc<HandsetState>,
    first: usize,
    count: usize,
    connections: usize,
    duration: Duration,
) -> Result<Summary> {
    // Each worker owns handsets first+w, first+w+workers, …: a handset never has two texts
    // in flight.
    let workers = connections.min(count).max(1);
    let next = Arc::new((0..workers).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    closed_loop("tutorial (closed loop)", workers, duration, move |w, _| {
        let (pool, state, next) = (pool.clone(), state.clone(), next.clone());
        async move {
            let mine = (count - w).div_ceil(workers);
            let k = next[w].fetch_add(1, Ordering::Relaxed) as usize % mine;
            let h = first + w + k * workers;
            let step = state.steps[h].load(Ordering::Relaxed);
            text(&pool, h, utterance(h, step)).await?;
            state.steps[h].store(step + 1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await
}
