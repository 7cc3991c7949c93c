//! Participants: chat participants (an `Identity`, backed by a User) and messaging
//! participants (an SMS/WhatsApp `Address` talking to a Parley `ProxyAddress`). An
//! address pair belongs to at most one conversation that is not closed (50416): that pair
//! is what routes an inbound text to its conversation.

use parley_store::{
    BindingRow, ConversationRow, Param, ParticipantRow, ServiceRow, StoreError, Tx, UserRow,
};

use super::Op;
use super::events::DomainEvent;
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

pub const MAX_ATTRIBUTES: usize = 4 * 1024;
const MAX_ADDRESS: usize = 256;
/// Twilio's participant limits per conversation.
pub const MAX_PARTICIPANTS: i64 = 1_000;
pub const MAX_NON_CHAT: i64 = 50;

#[derive(Debug, Default, Clone)]
pub struct ParticipantInput {
    pub identity: Option<String>,
    pub address: Option<String>,
    pub proxy_address: Option<Option<String>>,
    pub projected_address: Option<Option<String>>,
    pub attributes: Option<String>,
    pub role_sid: Option<String>,
    pub last_read_message_index: Option<i64>,
    pub last_read_timestamp: Option<String>,
    pub date_created: Option<i64>,
    pub date_updated: Option<i64>,
}

/// `null` (the literal string) removes a binding field on update, as Twilio documents.
fn nullable(p: &Params, name: &str) -> Option<Option<String>> {
    p.str(name).map(|v| {
        if v == "null" {
            None
        } else {
            Some(v.to_string())
        }
    })
}

impl ParticipantInput {
    pub fn parse(p: &Params) -> Result<ParticipantInput> {
        let input = ParticipantInput {
            identity: p.owned("Identity"),
            address: p.owned("MessagingBinding.Address"),
            proxy_address: nullable(p, "MessagingBinding.ProxyAddress"),
            projected_address: nullable(p, "MessagingBinding.ProjectedAddress"),
            attributes: p.json_text("Attributes")?,
            role_sid: p.owned("RoleSid").filter(|s| !s.is_empty()),
            last_read_message_index: p.int("LastReadMessageIndex")?,
            last_read_timestamp: p.owned("LastReadTimestamp").filter(|s| !s.is_empty()),
            date_created: p.date("DateCreated")?,
            date_updated: p.date("DateUpdated")?,
        };
        if let Some(a) = &input.attributes {
            super::check_attributes("Attributes", a, MAX_ATTRIBUTES)?;
        }
        if let Some(i) = &input.identity
            && i.chars().count() > MAX_ADDRESS
        {
            return Err(Error::invalid("Identity is longer than 256 characters"));
        }
        if let Some(a) = &input.address {
            if a.is_empty() {
                return Err(Error::api(
                    codes::EMPTY_ADDRESS,
                    "MessagingBinding.Address must not be empty",
                ));
            }
            if a.chars().count() > MAX_ADDRESS {
                return Err(Error::api(
                    codes::BAD_ADDRESS,
                    "MessagingBinding.Address is longer than 256 characters",
                ));
            }
        }
        if let Some(Some(a)) = &input.proxy_address {
            if a.is_empty() {
                return Err(Error::api(
                    codes::EMPTY_PROXY_ADDRESS,
                    "MessagingBinding.ProxyAddress must not be empty",
                ));
            }
            if a.chars().count() > MAX_ADDRESS {
                return Err(Error::api(
                    codes::BAD_PROXY_ADDRESS,
                    "MessagingBinding.ProxyAddress is longer than 256 characters",
                ));
            }
        }
        if let Some(r) = &input.role_sid
            && !is_sid(r, "RL")
        {
            return Err(Error::invalid(format!(
                "RoleSid '{r}' is not a Role SID (RL…)"
            )));
        }
        Ok(input)
    }
}

/// The channel of a messaging address: `whatsapp:+1…` → whatsapp, `+1…` → sms.
pub fn channel_type(address: &str) -> &'static str {
    match address.split_once(':') {
        Some(("whatsapp", _)) => "whatsapp",
        Some(("messenger", _)) => "messenger",
        Some(("gbm", _)) => "gbm",
        Some(("rcs", _)) => "rcs",
        Some(("email", _)) => "email",
        _ => "sms",
    }
}

pub fn find(
    tx: &mut Tx<'_>,
    conversation_sid: &str,
    sid_or_identity: &str,
) -> Result<Option<ParticipantRow>> {
    let filter = if is_sid(sid_or_identity, "MB") {
        "conversation_sid = ?1 AND sid = ?2"
    } else {
        "conversation_sid = ?1 AND identity = ?2"
    };
    Ok(tx.find::<ParticipantRow>(
        filter,
        &[Param::Text(conversation_sid), Param::Text(sid_or_identity)],
    )?)
}

pub fn get(
    tx: &mut Tx<'_>,
    conversation_sid: &str,
    sid_or_identity: &str,
) -> Result<ParticipantRow> {
    find(tx, conversation_sid, sid_or_identity)?.ok_or_else(|| {
        Error::not_found(&format!(
            "/Conversations/{conversation_sid}/Participants/{sid_or_identity}"
        ))
    })
}

/// The user with this identity in the service, created if needed (chat participants are
/// backed by users, as in Twilio).
pub fn ensure_user(op: &mut Op<'_, '_>, service: &ServiceRow, identity: &str) -> Result<UserRow> {
    if let Some(u) = op.tx.find::<UserRow>(
        "service_sid = ?1 AND identity = ?2",
        &[Param::Text(&service.sid), Param::Text(identity)],
    )? {
        return Ok(u);
    }
    let mut user = UserRow {
        seq: 0,
        sid: op.sid("US"),
        account_sid: op.account_sid.to_string(),
        service_sid: service.sid.clone(),
        identity: identity.to_string(),
        friendly_name: None,
        attributes: "{}".into(),
        role_sid: service.default_chat_service_role_sid.clone(),
        date_created: op.now,
        date_updated: op.now,
    };
    user.seq = op.tx.insert(&user)?;
    op.emit(DomainEvent::UserAdded { user: user.clone() });
    Ok(user)
}

fn binding_taken(tx: &mut Tx<'_>, account_sid: &str, address: &str, proxy: &str) -> Result<Error> {
    let holder = tx.find::<BindingRow>(
        "account_sid = ?1 AND address = ?2 AND proxy_address = ?3",
        &[
            Param::Text(account_sid),
            Param::Text(address),
            Param::Text(proxy),
        ],
    )?;
    let where_ = holder
        .map(|b| format!(" in Conversation {}", b.conversation_sid))
        .unwrap_or_default();
    Ok(Error::api(
        codes::BINDING_EXISTS,
        format!("A binding for this participant and proxy address already exists{where_}"),
    ))
}

fn insert_binding(op: &mut Op<'_, '_>, conv: &ConversationRow, p: &ParticipantRow) -> Result<()> {
    let (Some(address), Some(proxy)) = (&p.address, &p.proxy_address) else {
        return Ok(());
    };
    let binding = BindingRow {
        seq: 0,
        account_sid: op.account_sid.to_string(),
        address: address.clone(),
        proxy_address: proxy.clone(),
        conversation_sid: conv.sid.clone(),
        participant_sid: p.sid.clone(),
    };
    match op.tx.insert(&binding) {
        Ok(_) => Ok(()),
        Err(StoreError::Unique(ix)) if ix == parley_store::schema::BINDING_PAIR => {
            Err(binding_taken(op.tx, op.account_sid, address, proxy)?)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn create(
    op: &mut Op<'_, '_>,
    service: &ServiceRow,
    conv: &mut ConversationRow,
    input: ParticipantInput,
) -> Result<ParticipantRow> {
    if conv.state == "closed" {
        return Err(super::conversations::closed_error(&conv.sid));
    }
    let proxy = input.proxy_address.clone().flatten();
    let projected = input.projected_address.clone().flatten();
    if input.identity.as_deref().is_some_and(|i| !i.is_empty())
        && (input.address.is_some() || proxy.is_some())
    {
        return Err(Error::api(
            codes::IDENTITY_WITH_BINDING,
            "A participant has either an Identity or a MessagingBinding.Address/ProxyAddress pair, not both",
        ));
    }
    let identity = input.identity.clone().filter(|s| !s.is_empty());
    if identity.is_none() && input.address.is_none() {
        return Err(Error::invalid(
            "Missing required parameter: give Identity (chat) or MessagingBinding.Address with MessagingBinding.ProxyAddress (SMS, WhatsApp)",
        ));
    }
    if let (Some(a), Some(pa)) = (&input.address, &proxy)
        && a == pa
    {
        return Err(Error::api(
            codes::ADDRESS_EQUALS_PROXY,
            "MessagingBinding.Address and MessagingBinding.ProxyAddress must differ",
        ));
    }
    let count = op
        .tx
        .count::<ParticipantRow>("conversation_sid = ?1", &[Param::Text(&conv.sid)])?;
    if count >= MAX_PARTICIPANTS {
        return Err(Error::api(
            codes::TOO_MANY_PARTICIPANTS,
            format!("A conversation holds at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    if input.address.is_some() {
        let non_chat = op.tx.count::<ParticipantRow>(
            "conversation_sid = ?1 AND address IS NOT NULL",
            &[Param::Text(&conv.sid)],
        )?;
        if non_chat >= MAX_NON_CHAT {
            return Err(Error::api(
                codes::TOO_MANY_NON_CHAT,
                format!("A conversation holds at most {MAX_NON_CHAT} non-chat participants"),
            ));
        }
    }
    let user_sid = match &identity {
        Some(i) => {
            if find(op.tx, &conv.sid, i)?.is_some() {
                return Err(identity_taken(i));
            }
            Some(ensure_user(op, service, i)?.sid)
        }
        None => None,
    };
    let created = input.date_created.unwrap_or(op.now);
    let mut participant = ParticipantRow {
        seq: 0,
        sid: op.sid("MB"),
        account_sid: op.account_sid.to_string(),
        service_sid: service.sid.clone(),
        conversation_sid: conv.sid.clone(),
        channel_type: Some(match &input.address {
            Some(a) => channel_type(a).to_string(),
            None if projected.is_some() => "sms".to_string(),
            None => "chat".to_string(),
        }),
        identity,
        user_sid,
        address: input.address,
        proxy_address: proxy,
        projected_address: projected,
        attributes: input.attributes.unwrap_or_else(|| "{}".into()),
        role_sid: input
            .role_sid
            .or_else(|| service.default_conversation_role_sid.clone()),
        last_read_message_index: None,
        last_read_timestamp: None,
        notification_level: Some("default".into()),
        date_created: created,
        date_updated: input.date_updated.unwrap_or(created),
    };
    insert_binding(op, conv, &participant)?;
    participant.seq = op.tx.insert(&participant).map_err(|e| match e {
        StoreError::Unique(ix) if ix == parley_store::schema::PARTICIPANT_IDENTITY => {
            identity_taken(participant.identity.as_deref().unwrap_or(""))
        }
        other => other.into(),
    })?;
    super::conversations::touch(op, conv)?;
    op.emit(DomainEvent::ParticipantAdded {
        conversation: conv.clone(),
        participant: participant.clone(),
    });
    Ok(participant)
}

fn identity_taken(identity: &str) -> Error {
    Error::api(
        codes::IDENTITY_EXISTS,
        format!("Participant with identity '{identity}' already exists in this conversation"),
    )
}

pub fn update(
    op: &mut Op<'_, '_>,
    service: &ServiceRow,
    conv: &ConversationRow,
    mut p: ParticipantRow,
    input: ParticipantInput,
) -> Result<ParticipantRow> {
    if conv.state == "closed" {
        return Err(super::conversations::closed_error(&conv.sid));
    }
    if let Some(identity) = input.identity.filter(|s| !s.is_empty())
        && p.identity.as_deref() != Some(identity.as_str())
    {
        if p.identity.is_some() || p.address.is_some() {
            return Err(Error::api(
                codes::CANNOT_ADD_IDENTITY,
                "An identity cannot be added to this participant",
            ));
        }
        if find(op.tx, &conv.sid, &identity)?.is_some() {
            return Err(identity_taken(&identity));
        }
        p.user_sid = Some(ensure_user(op, service, &identity)?.sid);
        p.identity = Some(identity);
    }
    if let Some(proxy) = input.proxy_address {
        if p.address.is_none() && proxy.is_some() {
            return Err(Error::invalid(
                "MessagingBinding.ProxyAddress can only be set on a messaging participant",
            ));
        }
        if p.proxy_address != proxy {
            op.tx.execute(
                "DELETE FROM bindings WHERE participant_sid = ?1",
                &[Param::Text(&p.sid)],
            )?;
            p.proxy_address = proxy;
            insert_binding(op, conv, &p)?;
        }
    }
    if let Some(projected) = input.projected_address {
        p.projected_address = projected;
    }
    if let Some(a) = input.attributes {
        p.attributes = a;
    }
    if let Some(r) = input.role_sid {
        p.role_sid = Some(r);
    }
    if let Some(i) = input.last_read_message_index {
        p.last_read_message_index = Some(i);
    }
    if let Some(t) = input.last_read_timestamp {
        p.last_read_timestamp = Some(t);
    }
    if let Some(d) = input.date_created {
        p.date_created = d;
    }
    p.date_updated = input.date_updated.unwrap_or(op.now);
    op.tx.update(&p)?;
    op.emit(DomainEvent::ParticipantUpdated {
        conversation: conv.clone(),
        participant: p.clone(),
    });
    Ok(p)
}

pub fn delete(op: &mut Op<'_, '_>, conv: &ConversationRow, p: ParticipantRow) -> Result<()> {
    op.tx.execute(
        "DELETE FROM bindings WHERE participant_sid = ?1",
        &[Param::Text(&p.sid)],
    )?;
    op.tx.delete::<ParticipantRow>(&p.sid)?;
    op.emit(DomainEvent::ParticipantRemoved {
        conversation: conv.clone(),
        participant: p,
    });
    Ok(())
}
