//! A test harness for in-process HTTP tests (axum's `oneshot`): a fresh database (a SQLite
//! file, or a PostgreSQL schema of its own when `PARLEY_TEST_PG` is set), a manual clock,
//! predictable SIDs, one account, and helpers to drain due jobs instead of sleeping. Also a
//! local webhook receiver. Used by the crate's tests and benchmarks.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use parley_store::{DbUrl, Durability, Store};
use serde_json::Value;
use tower::ServiceExt;

use crate::app::{App, Config};
use crate::core::{ManualClock, SeededSids, SidGen};

pub const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const AUTH_TOKEN: &str = "test_auth_token_0123456789abcdef";
/// 2024-01-01T00:00:00Z
pub const START_MS: i64 = 1_704_067_200_000;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh database for one test, removed when the last holder drops it: a SQLite file, or
/// (when `PARLEY_TEST_PG` names a PostgreSQL server) a schema of its own on that server,
/// so the whole suite runs on either backend unchanged.
pub struct TempDb {
    url: DbUrl,
    /// Keeps the PostgreSQL schema alive; dropping it drops the schema.
    _pg: Option<parley_store::testing::PgSchema>,
}

impl TempDb {
    pub fn new() -> TempDb {
        if let Some(schema) = parley_store::testing::PgSchema::from_env() {
            let schema = schema.expect("PARLEY_TEST_PG is set but its server cannot be reached");
            // A test needs few connections; many tests run at once on one server.
            let url = DbUrl::Postgres(schema.url().clone().with_pool_size(4));
            return TempDb {
                url,
                _pg: Some(schema),
            };
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        TempDb {
            url: DbUrl::Sqlite(
                std::env::temp_dir()
                    .join(format!("parley-test-{}-{n}-{nanos}.db", std::process::id())),
            ),
            _pg: None,
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }
}

impl Default for TempDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let DbUrl::Sqlite(path) = &self.url {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub router: Router,
    pub db: Arc<TempDb>,
    auth: String,
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
}

impl Response {
    pub fn sid(&self) -> String {
        self.body["sid"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::open(Arc::new(TempDb::new()), START_MS, 1).await
    }

    /// A fresh app on the same database: what a restart of the server sees.
    pub async fn restart(self) -> TestApp {
        let now = self.clock.now_ms_value();
        let db = self.db.clone();
        drop(self);
        // The old writer thread stops once its last handle is gone.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Self::open(db, now, 2).await
    }

    async fn open(db: Arc<TempDb>, now: i64, seed: u64) -> TestApp {
        let store = Store::open(db.url(), Durability::Normal).expect("open store");
        let clock = Arc::new(ManualClock::new(now));
        let sids: Arc<dyn SidGen> = Arc::new(SeededSids::new(seed));
        let app = App::with_manual_clock(
            store,
            clock.clone(),
            sids,
            Config {
                public_url: Some("http://parley.test".into()),
                ..Config::default()
            },
        );
        let a2 = app.clone();
        app.store()
            .write(move |tx| -> crate::error::Result<()> {
                crate::domain::accounts::ensure_account(
                    tx,
                    a2.sids().as_ref(),
                    a2.now_ms(),
                    ACCOUNT_SID,
                    AUTH_TOKEN,
                )?;
                Ok(())
            })
            .await
            .expect("bootstrap account");
        let router = crate::api::router(app.clone());
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
        );
        TestApp {
            app,
            clock,
            router,
            db,
            auth,
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        auth: Option<&str>,
    ) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Response { status, body }
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.request("POST", path, form, Some(&self.auth.clone()))
            .await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], Some(&self.auth.clone()))
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, &[], Some(&self.auth.clone()))
            .await
    }

    /// Runs every due job (timers, deliveries) to completion.
    pub async fn drain(&self) -> usize {
        crate::runtime::jobs::drain(&self.app)
            .await
            .expect("drain jobs")
    }

    /// Moves the clock, then runs what became due.
    pub async fn advance_secs(&self, secs: i64) -> usize {
        self.clock.advance_ms(secs * 1000);
        self.drain().await
    }

    /// A handset texts a Parley address through the simulator.
    pub async fn text(&self, from: &str, to: &str, body: &str) -> Response {
        self.post(
            "/sim/v1/Messages",
            &[("From", from), ("To", to), ("Body", body)],
        )
        .await
    }

    /// What a handset has received, oldest first.
    pub async fn received(&self, handset: &str) -> Vec<String> {
        let path = format!(
            "/sim/v1/Messages?PageSize=1000&Address={}",
            form_urlencoded::byte_serialize(handset.as_bytes()).collect::<String>()
        );
        let r = self.get(&path).await;
        r.body["messages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|m| m["direction"] == "outbound")
                    .map(|m| m["body"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Creates a published flow from a definition file's JSON text.
    pub async fn publish_flow(&self, definition: &str) -> String {
        let r = self
            .post(
                "/v2/Flows",
                &[
                    ("FriendlyName", "test flow"),
                    ("Status", "published"),
                    ("Definition", definition),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.sid()
    }
}

impl ManualClock {
    pub fn now_ms_value(&self) -> i64 {
        crate::core::Clock::now_ms(self)
    }
}

/// A local HTTP server that records the requests it gets: a webhook target for tests.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
    body: Arc<Mutex<String>>,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path_and_query: String,
    pub signature: Option<String>,
    pub form: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200u16));
        let body = Arc::new(Mutex::new(String::new()));
        let (r2, s2, b2) = (requests.clone(), status.clone(), body.clone());
        let handler = move |req: Request<Body>| {
            let (r2, s2, b2) = (r2.clone(), s2.clone(), b2.clone());
            async move {
                let method = req.method().to_string();
                let pq = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let signature = req
                    .headers()
                    .get("x-twilio-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&bytes).into_owned();
                let form = form_urlencoded::parse(&bytes)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                r2.lock().unwrap_or_else(|p| p.into_inner()).push(Received {
                    method,
                    path_and_query: pq,
                    signature,
                    form,
                    body,
                });
                let code = *s2.lock().unwrap_or_else(|p| p.into_inner());
                let reply = b2.lock().unwrap_or_else(|p| p.into_inner()).clone();
                (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), reply)
            }
        };
        let router = Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            addr,
            requests,
            status,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn respond_with(&self, status: u16) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// The body of later answers (e.g. a pre-event webhook's JSON changes).
    pub fn respond_body(&self, body: &str) {
        *self.body.lock().unwrap_or_else(|p| p.into_inner()) = body.to_string();
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
