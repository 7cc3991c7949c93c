//! Live events: what the console and agent apps watch without reloading. Published after
//! the transaction that caused them commits, on an in-process bus; `GET /parley/v1/Events`
//! streams them as server-sent events, filtered to the caller's account.

use serde::Serialize;
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
}

impl Default for LiveBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BUS_CAPACITY);
        LiveBus {
            sender,
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }
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

    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }
}

/// Queues a live event to be published when the operation commits.
pub fn after_commit(
    op: &mut crate::domain::Op<'_, '_>,
    event: &str,
    conversation_sid: Option<String>,
    data: Value,
) {
    if !op.app.live().has_subscribers() {
        return;
    }
    let app = op.app.clone();
    let account = op.account_sid.to_string();
    let event = event.to_string();
    op.tx
        .on_commit(move || app.live().publish(&account, &event, conversation_sid, data));
}
