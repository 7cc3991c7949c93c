//! Channels: how a message reaches a handset. The phone simulator (virtual handsets, the
//! default) delivers into the handset's mailbox in the same transaction; real carriers
//! (Twilio, an HTTP relay) are durable delivery jobs run after the commit.

pub mod carriers;
pub mod simulator;

use crate::domain::Op;

/// An SMS/WhatsApp message leaving Parley.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    /// The message's SID (SM… for flow messages, IM… echoes of conversation messages).
    pub sid: String,
    /// The Parley address it is sent from.
    pub from: String,
    /// The handset.
    pub to: String,
    pub body: Option<String>,
    pub media_urls: Vec<String>,
    pub conversation_sid: Option<String>,
    /// The flow execution that sent it, so a carrier's failure report reaches the flow.
    pub execution_sid: Option<String>,
}

/// Sends a message through the carrier of its `from` address. Errors are reasons a person
/// can read; the caller decides whether the failure is the sender's (a flow's
/// `failed`/`deliveryFailure`) or a receipt's.
/// What became of a message handed to a carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// On the handset already (the simulator).
    Delivered,
    /// Accepted; a delivery job will hand it to the carrier after the commit.
    Queued,
}

pub fn send_sms(op: &mut Op<'_, '_>, msg: OutboundSms) -> Result<Sent, String> {
    if msg.to.trim().is_empty() {
        return Err("the message has no recipient ('to' is empty)".into());
    }
    if msg.from.trim().is_empty() {
        return Err("the message has no sender address ('from' is empty)".into());
    }
    // Most accounts use only the simulator: then there is no sender row to look up.
    let real_carriers = crate::runtime::account_flags::flags(op)
        .map_err(|e| e.to_string())?
        .real_carriers;
    let carrier = if real_carriers {
        carriers::sender(op, &msg.from)
            .map_err(|e| e.to_string())?
            .map(|s| s.carrier)
    } else {
        None
    };
    match carrier.as_deref() {
        Some(c @ ("twilio" | "relay")) => carriers::enqueue(op, c, &msg)
            .map(|_| Sent::Queued)
            .map_err(|e| e.to_string()),
        _ => simulator::deliver_to_handset(op, &msg)
            .map(|_| Sent::Delivered)
            .map_err(|e| e.to_string()),
    }
}

/// Media objects (Twilio's `{sid, size, content_type, filename}`) for URLs; Parley keeps
/// the URL too, since it has no media service to resolve a SID.
pub fn media_json(urls: &[String]) -> String {
    let items: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            serde_json::json!({
                "sid": crate::core::sid::stable_sid("ME", &format!("{i}:{u}")),
                "size": null,
                "content_type": null,
                "filename": u.rsplit('/').next().unwrap_or(""),
                "url": u,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}
