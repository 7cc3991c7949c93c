//! Messages: numbered per conversation (`index`, one index seek or one counter update, so
//! numbering stays flat however many messages exist), authored by a participant, by an
//! address, or by `system`.

use parley_store::{BackendKind, ConversationRow, MessageRow, Param, ParticipantRow, Tx};

use super::Op;
use super::events::DomainEvent;
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

pub const MAX_ATTRIBUTES: usize = 4 * 1024;
/// Twilio accepts up to 32 KB for chat and inbound bodies.
pub const MAX_BODY: usize = 32 * 1024;

#[derive(Debug, Default, Clone)]
pub struct MessageInput {
    pub author: Option<String>,
    pub body: Option<String>,
    pub attributes: Option<String>,
    /// JSON array of media objects (from `MediaSid`, or inbound `MediaUrl`s).
    pub media: Option<String>,
    pub content_sid: Option<String>,
    pub subject: Option<String>,
    pub date_created: Option<i64>,
    pub date_updated: Option<i64>,
}

impl MessageInput {
    pub fn parse(p: &Params, creating: bool) -> Result<MessageInput> {
        let media_sids = p.all("MediaSid");
        for m in &media_sids {
            if !is_sid(m, "ME") {
                return Err(Error::invalid(format!(
                    "MediaSid '{m}' is not a Media SID (ME…)"
                )));
            }
        }
        let media = (!media_sids.is_empty()).then(|| {
            let items: Vec<_> = media_sids
                .iter()
                .map(|s| serde_json::json!({"sid": s, "size": null, "content_type": null, "filename": null}))
                .collect();
            serde_json::Value::Array(items).to_string()
        });
        let content_sid = p.owned("ContentSid").filter(|s| !s.is_empty());
        if let Some(c) = &content_sid
            && !is_sid(c, "HX")
        {
            return Err(Error::invalid(format!(
                "ContentSid '{c}' is not a Content SID (HX…)"
            )));
        }
        if let Some(v) = p.json_text("ContentVariables")? {
            let parsed: serde_json::Value = serde_json::from_str(&v).unwrap_or_default();
            if let Some(map) = parsed.as_object()
                && map
                    .values()
                    .any(|v| v.as_str().map_or(v.to_string().len(), str::len) > 256)
            {
                return Err(Error::api(
                    50541,
                    "A ContentVariables value is longer than 256 characters",
                ));
            }
        }
        let input = MessageInput {
            author: p.owned("Author").filter(|s| !s.is_empty()),
            body: p.owned("Body"),
            attributes: p.json_text("Attributes")?,
            media,
            content_sid,
            subject: p.owned("Subject"),
            date_created: p.date("DateCreated")?,
            date_updated: p.date("DateUpdated")?,
        };
        if creating
            && input.body.as_deref().is_none_or(str::is_empty)
            && input.media.is_none()
            && input.content_sid.is_none()
        {
            return Err(Error::api(
                codes::MESSAGE_BODY_MISSING,
                "Missing required parameter Body (or MediaSid, or ContentSid) in the post body",
            ));
        }
        input.check()?;
        Ok(input)
    }

    pub fn check(&self) -> Result<()> {
        if let Some(b) = &self.body
            && b.len() > MAX_BODY
        {
            return Err(Error::api(
                codes::MESSAGE_BODY_TOO_LONG,
                format!("Body is {} bytes; the limit is {MAX_BODY} bytes", b.len()),
            ));
        }
        if let Some(a) = &self.attributes {
            super::check_attributes("Attributes", a, MAX_ATTRIBUTES)?;
        }
        if let Some(s) = &self.subject
            && s.chars().count() > 256
        {
            return Err(Error::invalid("Subject is longer than 256 characters"));
        }
        Ok(())
    }
}

pub fn get(tx: &mut Tx<'_>, conversation_sid: &str, sid: &str) -> Result<MessageRow> {
    tx.find::<MessageRow>(
        "sid = ?1 AND conversation_sid = ?2",
        &[Param::Text(sid), Param::Text(conversation_sid)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Conversations/{conversation_sid}/Messages/{sid}")))
}

/// The participant a message's author names: a chat identity or a messaging address.
pub fn author_participant(
    tx: &mut Tx<'_>,
    conversation_sid: &str,
    author: &str,
) -> Result<Option<ParticipantRow>> {
    if author == "system" {
        return Ok(None);
    }
    Ok(tx.find::<ParticipantRow>(
        "conversation_sid = ?1 AND (identity = ?2 OR (address = ?2 AND identity IS NULL))",
        &[Param::Text(conversation_sid), Param::Text(author)],
    )?)
}

/// Adds a message. `participant` may be given by a caller that already knows the author
/// (an inbound text matched by its binding); otherwise the author is looked up.
pub fn create(
    op: &mut Op<'_, '_>,
    conv: &mut ConversationRow,
    input: MessageInput,
    participant: Option<&ParticipantRow>,
) -> Result<MessageRow> {
    create_with_sid(op, conv, input, participant, None)
}

/// As `create`, with a SID chosen by the caller (a flow names its messages before they
/// are written, so the widget's `outbound.Sid` is the message's SID).
pub fn create_with_sid(
    op: &mut Op<'_, '_>,
    conv: &mut ConversationRow,
    input: MessageInput,
    participant: Option<&ParticipantRow>,
    sid: Option<String>,
) -> Result<MessageRow> {
    if conv.state == "closed" {
        return Err(super::conversations::closed_error(&conv.sid));
    }
    let author = input.author.unwrap_or_else(|| "system".into());
    let participant_sid = match participant {
        Some(p) => Some(p.sid.clone()),
        None => author_participant(op.tx, &conv.sid, &author)?.map(|p| p.sid),
    };
    let idx = take_message_index(op.tx, conv)?;
    conv.next_index = idx + 1;
    let created = input.date_created.unwrap_or(op.now);
    let mut message = MessageRow {
        seq: 0,
        sid: sid.unwrap_or_else(|| op.sid("IM")),
        account_sid: conv.account_sid.clone(),
        service_sid: conv.service_sid.clone(),
        conversation_sid: conv.sid.clone(),
        idx,
        author,
        participant_sid,
        body: input.body,
        attributes: input.attributes.unwrap_or_else(|| "{}".into()),
        media: input.media,
        content_sid: input.content_sid,
        subject: input.subject,
        source: op.actor.source.message_source().to_string(),
        date_created: created,
        date_updated: input.date_updated.unwrap_or(created),
    };
    message.seq = op.tx.insert(&message)?;
    // The insert made the index read above stale; this unit knows the next one (a flow's
    // reply in the same unit then takes it without reading the index again).
    op.tx
        .remember::<MessageRow, i64>(NEXT_INDEX, &conv.sid, idx + 1);
    super::conversations::touch(op, conv)?;
    op.emit(DomainEvent::MessageAdded {
        conversation: conv.clone(),
        message: message.clone(),
    });
    Ok(message)
}

/// Takes the conversation's next message index: one past its last message's, and never
/// one a deleted message had (`conversations.next_index` is a floor that deletes raise).
///
/// PostgreSQL keeps `next_index` as the counter itself: the update locks the
/// conversation's row until the commit, so concurrent messages to one conversation from
/// several nodes are numbered one after the other and never collide.
///
/// SQLite has a single writer, so nothing can come between reading the last index and
/// inserting the next one, and it reads the last index from `messages(conversation_sid,
/// idx)` (one seek) instead of updating the conversation; and rarely even that, since
/// `create_with_sid` remembers the next index after its insert and the writer keeps what
/// it remembers across units (a flow's reply to an inbound text, and the next text of the
/// conversation, take it from memory; `parley_store` `memo`). Rewriting the conversation's row
/// made each message dirty one more page (a page holds about twenty conversations), so a
/// message create wrote 2.0 WAL frames instead of 1.8, and the WAL fsync that every
/// acknowledgement waits on grew with it (BENCHMARKS.md, change 12).
fn take_message_index(tx: &mut Tx<'_>, conv: &ConversationRow) -> Result<i64> {
    if tx.backend_kind() == BackendKind::Postgres {
        return Ok(tx
            .query_i64(
                "UPDATE conversations SET next_index = next_index + 1 WHERE sid = ?1 RETURNING next_index - 1",
                &[Param::Text(&conv.sid)],
            )?
            .unwrap_or(conv.next_index));
    }
    let known = tx.derived_memo::<MessageRow, i64>(NEXT_INDEX, &conv.sid, |tx| {
        last_index_plus_one(tx, &conv.sid)
    })?;
    // A delete in this unit may have raised the floor since (it also forgets the memo).
    Ok(known.max(conv.next_index))
}

/// The name of the conversation's next message index among a unit's remembered reads.
const NEXT_INDEX: &str = "next message index";

/// The index the conversation's next message will get (also what a user's unread count
/// is measured against). `conv` must have been read in this transaction.
pub fn next_index(tx: &mut Tx<'_>, conv: &ConversationRow) -> Result<i64> {
    Ok(last_index_plus_one(tx, &conv.sid)?.max(conv.next_index))
}

/// One past the index of the conversation's last message (0 when it has none).
fn last_index_plus_one(tx: &mut Tx<'_>, conversation_sid: &str) -> parley_store::Result<i64> {
    Ok(tx
        .query_i64(
            "SELECT MAX(idx) + 1 FROM messages WHERE conversation_sid = ?1",
            &[Param::Text(conversation_sid)],
        )?
        .unwrap_or(0))
}

pub fn update(
    op: &mut Op<'_, '_>,
    conv: &ConversationRow,
    mut m: MessageRow,
    input: MessageInput,
) -> Result<MessageRow> {
    if conv.state == "closed" {
        return Err(super::conversations::closed_error(&conv.sid));
    }
    if let Some(a) = input.author {
        m.participant_sid = author_participant(op.tx, &conv.sid, &a)?.map(|p| p.sid);
        m.author = a;
    }
    if let Some(b) = input.body {
        m.body = Some(b);
    }
    if let Some(a) = input.attributes {
        m.attributes = a;
    }
    if let Some(s) = input.subject {
        m.subject = Some(s);
    }
    if let Some(d) = input.date_created {
        m.date_created = d;
    }
    m.date_updated = input.date_updated.unwrap_or(op.now);
    op.tx.update(&m)?;
    op.emit(DomainEvent::MessageUpdated {
        conversation: conv.clone(),
        message: m.clone(),
    });
    Ok(m)
}

pub fn delete(op: &mut Op<'_, '_>, conv: &ConversationRow, m: MessageRow) -> Result<()> {
    // The floor that keeps a deleted message's index from being given again (on SQLite
    // numbering reads the last message's index; see `take_message_index`).
    op.tx.execute(
        "UPDATE conversations SET next_index = ?2 WHERE sid = ?1 AND next_index < ?2",
        &[Param::Text(&conv.sid), Param::Int(m.idx + 1)],
    )?;
    op.tx.execute(
        "DELETE FROM receipts WHERE message_sid = ?1",
        &[Param::Text(&m.sid)],
    )?;
    op.tx.delete::<MessageRow>(&m.sid)?;
    op.emit(DomainEvent::MessageRemoved {
        conversation: conv.clone(),
        message: m,
    });
    Ok(())
}
