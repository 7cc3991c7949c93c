//! `App`: what every handler, worker and runtime step shares: the store, the clock, the SID
//! generator, the configuration and a few in-memory caches. Cheap to clone.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use parley_store::Store;

use crate::core::{Clock, ManualClock, SidGen};
use crate::wire::auth::AuthCache;

/// Server settings that the HTTP layer and the runtime read.
#[derive(Debug, Clone)]
pub struct Config {
    /// When set, every absolute URL uses this origin instead of the request's Host.
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-Proto` from a reverse proxy for the scheme of absolute URLs.
    pub trust_forwarded_proto: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Expose `POST /parley/v1/Clock` to move a manual clock (tests and demos only).
    pub dev_clock: bool,
    pub bound_addr: Arc<OnceLock<SocketAddr>>,
    /// How long a webhook receiver (post- or pre-event) gets to answer; Twilio's is 5 s.
    pub webhook_timeout_ms: u64,
    /// Cap the SQLite database at this many MiB (a disk quota; writes beyond it get 503).
    pub storage_quota_mb: Option<u64>,
    /// What outbound calls (webhooks, HTTP widgets, carriers) may reach.
    pub outbound: crate::webhooks::guard::OutboundPolicy,
    /// The flow engine's safety limits (steps, loops, Liquid caps, HTTP widget bounds).
    pub flow_limits: parley_flow::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: None,
            trust_forwarded_proto: false,
            max_body_bytes: 2 * 1024 * 1024,
            dev_clock: false,
            bound_addr: Arc::new(OnceLock::new()),
            webhook_timeout_ms: crate::webhooks::delivery::TIMEOUT_MS,
            storage_quota_mb: None,
            outbound: Default::default(),
            flow_limits: parley_flow::Limits::default(),
        }
    }
}

impl Config {
    pub fn bound_addr_string(&self) -> String {
        self.bound_addr
            .get()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "127.0.0.1".to_string())
    }
}

pub struct AppInner {
    store: Store,
    clock: Arc<dyn Clock>,
    manual_clock: Option<Arc<ManualClock>>,
    sids: Arc<dyn SidGen>,
    config: Config,
    auth_cache: AuthCache,
    /// Woken after a commit that scheduled jobs, so workers do not wait for their poll.
    jobs_wake: crate::runtime::jobs::JobWake,
    flows: crate::runtime::flow_cache::FlowCache,
    limits: parley_flow::Limits,
    /// The one HTTP client for outbound calls (connection pooling across calls).
    http: reqwest::Client,
    live: crate::runtime::live::LiveBus,
    account_flags: crate::runtime::account_flags::FlagsCache,
}

#[derive(Clone)]
pub struct App(Arc<AppInner>);

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, sids: Arc<dyn SidGen>, config: Config) -> App {
        App(Arc::new(AppInner {
            store,
            clock,
            manual_clock: None,
            sids,
            config: config.clone(),
            auth_cache: AuthCache::default(),
            jobs_wake: Default::default(),
            flows: Default::default(),
            limits: config.flow_limits.clone(),
            http: http_client(config.outbound),
            live: Default::default(),
            account_flags: Default::default(),
        }))
    }

    /// An app whose clock only moves when told (tests, `--dev-clock`).
    pub fn with_manual_clock(
        store: Store,
        clock: Arc<ManualClock>,
        sids: Arc<dyn SidGen>,
        config: Config,
    ) -> App {
        App(Arc::new(AppInner {
            store,
            clock: clock.clone(),
            manual_clock: Some(clock),
            sids,
            config: config.clone(),
            auth_cache: AuthCache::default(),
            jobs_wake: Default::default(),
            flows: Default::default(),
            limits: config.flow_limits.clone(),
            http: http_client(config.outbound),
            live: Default::default(),
            account_flags: Default::default(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn now_ms(&self) -> i64 {
        self.0.clock.now_ms()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }

    pub fn manual_clock(&self) -> Option<&Arc<ManualClock>> {
        self.0.manual_clock.as_ref()
    }

    pub fn sids(&self) -> &Arc<dyn SidGen> {
        &self.0.sids
    }

    pub fn sid(&self, prefix: &str) -> String {
        self.0.sids.sid(prefix)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn auth_cache(&self) -> &AuthCache {
        &self.0.auth_cache
    }

    pub fn jobs_wake(&self) -> &crate::runtime::jobs::JobWake {
        &self.0.jobs_wake
    }

    pub fn flows(&self) -> &crate::runtime::flow_cache::FlowCache {
        &self.0.flows
    }

    pub fn account_flags(&self) -> &crate::runtime::account_flags::FlagsCache {
        &self.0.account_flags
    }

    pub fn live(&self) -> &crate::runtime::live::LiveBus {
        &self.0.live
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub fn flow_limits(&self) -> &parley_flow::Limits {
        &self.0.limits
    }
}

/// The client for every outbound call: the guard checks each address it connects to and
/// each redirect it follows.
fn http_client(policy: crate::webhooks::guard::OutboundPolicy) -> reqwest::Client {
    use crate::webhooks::guard;
    reqwest::Client::builder()
        .user_agent(concat!("Parley/", env!("CARGO_PKG_VERSION")))
        .redirect(guard::redirect_policy(policy))
        .dns_resolver(guard::resolver(policy))
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
