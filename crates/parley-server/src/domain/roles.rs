//! Roles: named permission sets for service users and conversation participants.

use parley_store::{Param, RoleRow, ServiceRow, Tx};

use super::Op;
use crate::error::{Error, Result};
use crate::wire::Params;

#[derive(Debug, Default, Clone)]
pub struct RoleInput {
    pub friendly_name: Option<String>,
    pub role_type: Option<&'static str>,
    pub permissions: Vec<String>,
}

impl RoleInput {
    pub fn parse(p: &Params, creating: bool) -> Result<RoleInput> {
        let friendly_name = if creating {
            Some(p.required("FriendlyName")?.to_string())
        } else {
            None
        };
        if friendly_name
            .as_ref()
            .is_some_and(|f| f.chars().count() > 64)
        {
            return Err(Error::invalid("FriendlyName is longer than 64 characters"));
        }
        let role_type = if creating {
            p.required("Type")?;
            p.one_of("Type", &["conversation", "service"])?
        } else {
            None
        };
        let permissions: Vec<String> = p
            .all("Permission")
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if permissions.is_empty() {
            return Err(Error::missing("Permission"));
        }
        Ok(RoleInput {
            friendly_name,
            role_type,
            permissions,
        })
    }
}

pub fn get(tx: &mut Tx<'_>, service_sid: &str, sid: &str) -> Result<RoleRow> {
    tx.find::<RoleRow>(
        "sid = ?1 AND service_sid = ?2",
        &[Param::Text(sid), Param::Text(service_sid)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Roles/{sid}")))
}

pub fn create(op: &mut Op<'_, '_>, service: &ServiceRow, input: RoleInput) -> Result<RoleRow> {
    let mut role = RoleRow {
        seq: 0,
        sid: op.sid("RL"),
        account_sid: op.account_sid.to_string(),
        service_sid: service.sid.clone(),
        friendly_name: input.friendly_name.unwrap_or_default(),
        role_type: input.role_type.unwrap_or("conversation").to_string(),
        permissions: serde_json::to_string(&input.permissions).unwrap_or_else(|_| "[]".into()),
        date_created: op.now,
        date_updated: op.now,
    };
    role.seq = op.tx.insert(&role)?;
    Ok(role)
}

/// Replaces the permission set (Twilio's update semantics).
pub fn update(op: &mut Op<'_, '_>, mut role: RoleRow, input: RoleInput) -> Result<RoleRow> {
    role.permissions = serde_json::to_string(&input.permissions).unwrap_or_else(|_| "[]".into());
    role.date_updated = op.now;
    op.tx.update(&role)?;
    Ok(role)
}
