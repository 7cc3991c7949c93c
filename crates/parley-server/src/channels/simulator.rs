//! The phone simulator: virtual handsets. Every message a handset sends or receives is a
//! row of `sim_messages`, so a test, the console or `parley chat` can read the handset's
//! screen.

use parley_store::SimMessageRow;
use serde_json::{Value, json};

use super::OutboundSms;
use crate::domain::Op;
use crate::error::Result;

/// Parley → handset: the message lands on the handset at once (the simulator never loses
/// one), so its status is `delivered`.
pub fn deliver_to_handset(op: &mut Op<'_, '_>, msg: &OutboundSms) -> Result<SimMessageRow> {
    let mut row = SimMessageRow {
        seq: 0,
        sid: msg.sid.clone(),
        account_sid: op.account_sid.to_string(),
        handset: msg.to.clone(),
        parley_address: msg.from.clone(),
        direction: "outbound".into(),
        body: msg.body.clone(),
        media: (!msg.media_urls.is_empty()).then(|| super::media_json(&msg.media_urls)),
        status: "delivered".into(),
        conversation_sid: msg.conversation_sid.clone(),
        date_created: op.now,
    };
    row.seq = op.tx.insert(&row)?;
    crate::runtime::live::after_commit(op, "onSimMessage", row.conversation_sid.clone(), || {
        view(&row)
    });
    Ok(row)
}

/// Handset → Parley: records what the handset sent.
pub fn record_inbound(
    op: &mut Op<'_, '_>,
    sid: &str,
    handset: &str,
    parley_address: &str,
    body: Option<&str>,
    media: Option<String>,
) -> Result<SimMessageRow> {
    let mut row = SimMessageRow {
        seq: 0,
        sid: sid.to_string(),
        account_sid: op.account_sid.to_string(),
        handset: handset.to_string(),
        parley_address: parley_address.to_string(),
        direction: "inbound".into(),
        body: body.map(str::to_string),
        media,
        status: "received".into(),
        conversation_sid: None,
        date_created: op.now,
    };
    row.seq = op.tx.insert(&row)?;
    crate::runtime::live::after_commit(op, "onSimMessage", row.conversation_sid.clone(), || {
        view(&row)
    });
    Ok(row)
}

/// A handset's message as the simulator API shows it: `from`/`to` from the handset's
/// point of view of the direction.
pub fn view(m: &SimMessageRow) -> Value {
    let (from, to) = if m.direction == "inbound" {
        (&m.handset, &m.parley_address)
    } else {
        (&m.parley_address, &m.handset)
    };
    json!({
        "sid": m.sid,
        "account_sid": m.account_sid,
        "direction": m.direction,
        "from": from,
        "to": to,
        "body": m.body,
        "media": m.media.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()),
        "status": m.status,
        "conversation_sid": m.conversation_sid,
        "date_created": crate::wire::dates::iso(m.date_created),
    })
}
