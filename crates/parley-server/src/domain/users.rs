//! Users of a Conversation Service: the identities behind chat participants.

use parley_store::{Param, ServiceRow, StoreError, Tx, UserRow};

use super::Op;
use super::events::DomainEvent;
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

#[derive(Debug, Default, Clone)]
pub struct UserInput {
    pub identity: Option<String>,
    pub friendly_name: Option<String>,
    pub attributes: Option<String>,
    pub role_sid: Option<String>,
}

impl UserInput {
    pub fn parse(p: &Params, creating: bool) -> Result<UserInput> {
        let input = UserInput {
            identity: if creating {
                Some(p.required("Identity")?.to_string())
            } else {
                None
            },
            friendly_name: p.owned("FriendlyName"),
            attributes: p.json_text("Attributes")?,
            role_sid: p.owned("RoleSid").filter(|s| !s.is_empty()),
        };
        if let Some(i) = &input.identity
            && i.chars().count() > 256
        {
            return Err(Error::invalid("Identity is longer than 256 characters"));
        }
        if let Some(a) = &input.attributes {
            super::check_attributes("Attributes", a, 16 * 1024)?;
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

pub fn find(tx: &mut Tx<'_>, service_sid: &str, sid_or_identity: &str) -> Result<Option<UserRow>> {
    let filter = if is_sid(sid_or_identity, "US") {
        "service_sid = ?1 AND sid = ?2"
    } else {
        "service_sid = ?1 AND identity = ?2"
    };
    Ok(tx.find::<UserRow>(
        filter,
        &[Param::Text(service_sid), Param::Text(sid_or_identity)],
    )?)
}

pub fn get(tx: &mut Tx<'_>, service_sid: &str, sid_or_identity: &str) -> Result<UserRow> {
    find(tx, service_sid, sid_or_identity)?
        .ok_or_else(|| Error::not_found(&format!("/Users/{sid_or_identity}")))
}

pub fn create(op: &mut Op<'_, '_>, service: &ServiceRow, input: UserInput) -> Result<UserRow> {
    let identity = input.identity.unwrap_or_default();
    let mut user = UserRow {
        seq: 0,
        sid: op.sid("US"),
        account_sid: op.account_sid.to_string(),
        service_sid: service.sid.clone(),
        identity: identity.clone(),
        friendly_name: input.friendly_name,
        attributes: input.attributes.unwrap_or_else(|| "{}".into()),
        role_sid: input
            .role_sid
            .or_else(|| service.default_chat_service_role_sid.clone()),
        date_created: op.now,
        date_updated: op.now,
    };
    user.seq = op.tx.insert(&user).map_err(|e| match e {
        StoreError::Unique(ix) if ix == parley_store::schema::USER_IDENTITY => Error::api(
            codes::CONFLICT,
            format!("A user with identity '{identity}' already exists in this service"),
        ),
        other => other.into(),
    })?;
    op.emit(DomainEvent::UserAdded { user: user.clone() });
    Ok(user)
}

pub fn update(op: &mut Op<'_, '_>, mut user: UserRow, input: UserInput) -> Result<UserRow> {
    if let Some(v) = input.friendly_name {
        user.friendly_name = Some(v);
    }
    if let Some(v) = input.attributes {
        user.attributes = v;
    }
    if let Some(v) = input.role_sid {
        user.role_sid = Some(v);
    }
    user.date_updated = op.now;
    op.tx.update(&user)?;
    op.emit(DomainEvent::UserUpdated { user: user.clone() });
    Ok(user)
}

pub fn delete(op: &mut Op<'_, '_>, user: UserRow) -> Result<()> {
    op.tx.delete::<UserRow>(&user.sid)?;
    Ok(())
}
