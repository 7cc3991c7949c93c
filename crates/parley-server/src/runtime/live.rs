//! Live events: what the console and agent apps watch without reloading. Published after
//! the transaction that caused them commits, on an in-process bus; `GET /parley/v1/Events`
//! streams them as server-sent events, filtered to the caller's account. When several nodes
//! share a PostgreSQL database, each event is also announced with the commit on
//! `LIVE_CHANNEL` (NOTIFY), and every other node republishes it on its own bus.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// Capacity of the bus: a subscriber that falls this far behind loses the oldest events
/// and is told so (an `overflow` event), rather than slowing the server down.
const BUS_CAPACITY: usize = 4_096;

#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// Monotonic per process, so a client can notice gaps.
    pub id: u64,
    #[serde(skip)]
    pub account_sid: String,
    /// Twilio's event name (`onMessageAdded`, …) or Parley's (`onSimMessage`,
    /// `onExecutionUpdated`, `onInboundRefused`, `onFlowHandoff`).
    pub event: String,
    pub conversation_sid: Option<String>,
    pub data: Value,
}

pub struct LiveBus {
    sender: broadcast::Sender<LiveEvent>,
    next_id: std::sync::atomic::AtomicU64,
    // Cluster mode (scale-out on PostgreSQL): set by `server::serve` when the store is
    // shared; this node then announces its events to the others (whose subscribers it
    // cannot see), and `node_id` lets it skip its own announcements when they come back.
    shared: std::sync::atomic::AtomicBool,
    node_id: String,
}

impl Default for LiveBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BUS_CAPACITY);
        use rand::{Rng, SeedableRng};
        let node_id = format!("{:016x}", rand::rngs::StdRng::from_os_rng().random::<u64>());
        LiveBus {
            sender,
            next_id: std::sync::atomic::AtomicU64::new(1),
            shared: std::sync::atomic::AtomicBool::new(false),
            node_id,
        }
    }
}

/// The NOTIFY channel of live events between nodes.
pub const LIVE_CHANNEL: &str = "parley_live";
/// Largest announcement sent whole (PostgreSQL's limit is 8,000 bytes); a larger event is
/// announced as a stub: its name, conversation and the SID of what changed, with
/// `truncated: true`, for a client to fetch.
const MAX_ANNOUNCED_BYTES: usize = 7_500;

/// An event as announced to the other nodes.
#[derive(Debug, Serialize, Deserialize)]
struct Announced {
    origin: String,
    account_sid: String,
    event: String,
    conversation_sid: Option<String>,
    data: Value,
}

impl LiveBus {
    pub fn publish(
        &self,
        account_sid: &str,
        event: &str,
        conversation_sid: Option<String>,
        data: Value,
    ) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = self.sender.send(LiveEvent {
            id,
            account_sid: account_sid.to_string(),
            event: event.to_string(),
            conversation_sid,
            data,
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    /// Whether an event may be watched: by a subscriber of this node, or (when shared) of
    /// another node.
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0 || self.is_shared()
    }

    pub fn set_shared(&self, shared: bool) {
        self.shared
            .store(shared, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_shared(&self) -> bool {
        self.shared.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The NOTIFY payload announcing an event to the other nodes.
    fn announcement(
        &self,
        account_sid: &str,
        event: &str,
        conversation_sid: Option<&str>,
        data: &Value,
    ) -> String {
        let mut a = Announced {
            origin: self.node_id.clone(),
            account_sid: account_sid.to_string(),
            event: event.to_string(),
            conversation_sid: conversation_sid.map(str::to_string),
            data: data.clone(),
        };
        let whole = serde_json::to_string(&a).unwrap_or_default();
        if whole.len() <= MAX_ANNOUNCED_BYTES {
            return whole;
        }
        let sid = data.get("sid").cloned().unwrap_or(Value::Null);
        a.data = serde_json::json!({ "sid": sid, "truncated": true });
        serde_json::to_string(&a).unwrap_or_default()
    }

    /// Republishes an event announced by another node (ours are skipped: they were
    /// published here already).
    pub fn publish_announced(&self, payload: &str) {
        let Ok(a) = serde_json::from_str::<Announced>(payload) else {
            tracing::debug!("ignored a live event announcement that is not one");
            return;
        };
        if a.origin != self.node_id {
            self.publish(&a.account_sid, &a.event, a.conversation_sid, a.data);
        }
    }
}

/// Queues a live event to be published when the operation commits. `data` is only built
/// when someone listens: it runs on the store's writer thread, the server's bottleneck.
pub fn after_commit(
    op: &mut crate::domain::Op<'_, '_>,
    event: &str,
    conversation_sid: Option<String>,
    data: impl FnOnce() -> Value,
) {
    if !op.app.live().has_subscribers() {
        return;
    }
    let data = data();
    if op.app.live().is_shared() {
        // Sent with the commit, so other nodes hear only of what happened.
        let payload =
            op.app
                .live()
                .announcement(op.account_sid, event, conversation_sid.as_deref(), &data);
        op.tx.notify(LIVE_CHANNEL, payload);
    }
    let app = op.app.clone();
    let account = op.account_sid.to_string();
    let event = event.to_string();
    op.tx
        .on_commit(move || app.live().publish(&account, &event, conversation_sid, data));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_reach_other_nodes_only_and_stay_small() {
        let here = LiveBus::default();
        let there = LiveBus::default();
        let mut rx = there.subscribe();
        let mut own = here.subscribe();
        let small = here.announcement(
            "AC1",
            "onMessageAdded",
            Some("CH1"),
            &serde_json::json!({"sid": "IM1", "body": "hi"}),
        );
        there.publish_announced(&small);
        here.publish_announced(&small);
        let got = rx.try_recv().expect("delivered to the other node");
        assert_eq!(
            (got.account_sid.as_str(), got.event.as_str()),
            ("AC1", "onMessageAdded")
        );
        assert_eq!(got.data["body"], "hi");
        assert!(own.try_recv().is_err(), "not republished where it happened");

        let big = here.announcement(
            "AC1",
            "onMessageAdded",
            Some("CH1"),
            &serde_json::json!({"sid": "IM2", "body": "x".repeat(10_000)}),
        );
        assert!(big.len() <= MAX_ANNOUNCED_BYTES);
        there.publish_announced(&big);
        let got = rx.try_recv().expect("the stub");
        assert_eq!(
            got.data,
            serde_json::json!({"sid": "IM2", "truncated": true})
        );
        assert_eq!(got.conversation_sid.as_deref(), Some("CH1"));
    }
}
