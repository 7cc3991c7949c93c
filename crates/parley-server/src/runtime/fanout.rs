//! Fan-out: a conversation message goes to every messaging participant except its author,
//! as an SMS/WhatsApp from that participant's proxy address, with a delivery receipt per
//! recipient. Chat participants read it through the API and the live stream.

use parley_store::{ConversationRow, MessageRow, ParticipantRow, ReceiptRow};

use crate::channels::{self, OutboundSms};
use crate::domain::Op;
use crate::domain::events::DomainEvent;
use crate::error::Result;

/// A conversation's messaging participants (an address and a proxy address: SMS,
/// WhatsApp), in the order they joined. Remembered for the unit on SQLite: an inbound
/// text's routing finds its sender here, then the text and the flow's reply fan out to
/// the same set, all from one read.
pub fn messaging_participants(
    op: &mut Op<'_, '_>,
    conversation_sid: &str,
) -> Result<std::sync::Arc<[ParticipantRow]>> {
    Ok(op.tx.find_all_memo::<ParticipantRow>(
        "conversation_sid = ?1 AND address IS NOT NULL AND proxy_address IS NOT NULL",
        conversation_sid,
    )?)
}

pub fn deliver(op: &mut Op<'_, '_>, conv: &ConversationRow, message: &MessageRow) -> Result<()> {
    let recipients = messaging_participants(op, &conv.sid)?;
    for p in recipients.iter() {
        if message.participant_sid.as_deref() == Some(p.sid.as_str()) {
            continue;
        }
        let (Some(address), Some(proxy)) = (p.address.clone(), p.proxy_address.clone()) else {
            continue;
        };
        let media_urls: Vec<String> = message
            .media
            .as_deref()
            .and_then(|m| serde_json::from_str::<Vec<serde_json::Value>>(m).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.get("url").and_then(|u| u.as_str()).map(str::to_string))
            .collect();
        let channel_sid = op.sid("SM");
        let sent = channels::send_sms(
            op,
            OutboundSms {
                sid: channel_sid.clone(),
                from: proxy,
                to: address,
                body: message.body.clone(),
                media_urls,
                conversation_sid: Some(conv.sid.clone()),
                execution_sid: None,
            },
        );
        let (status, error_code) = match &sent {
            Ok(channels::Sent::Delivered) => ("delivered", 0),
            Ok(channels::Sent::Queued) => ("sent", 0),
            Err(reason) => {
                tracing::warn!(conversation = %conv.sid, participant = %p.sid, %reason, "fan-out failed");
                ("failed", 30008)
            }
        };
        let mut receipt = ReceiptRow {
            seq: 0,
            sid: op.sid("DY"),
            account_sid: conv.account_sid.clone(),
            service_sid: conv.service_sid.clone(),
            conversation_sid: conv.sid.clone(),
            message_sid: message.sid.clone(),
            participant_sid: Some(p.sid.clone()),
            channel_message_sid: channel_sid,
            status: status.into(),
            error_code,
            date_created: op.now,
            date_updated: op.now,
        };
        receipt.seq = op.tx.insert(&receipt)?;
        op.emit(DomainEvent::DeliveryUpdated {
            receipt,
            conversation: Some(conv.clone()),
        });
    }
    Ok(())
}
