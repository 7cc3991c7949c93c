//! The phone simulator: virtual handsets. Every message a handset sends or receives is a
//! row of `sim_messages`, so a test, the console or `parley chat` can read the handset's
//! screen.

use parley_store::SimMessageRow;

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
    Ok(row)
}
