//! Address Configurations (`/v1/Configuration/Addresses`): per Parley address, whether an
//! inbound message from a new sender auto-creates a conversation, and what it attaches
//! (a Studio flow, a webhook, or nothing). Deleting the configuration turns it off.

use parley_store::{AddressConfigRow, Param, StoreError, Tx};

use super::Op;
use super::webhooks::{check_filters, check_url};
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

pub const TYPES: &[&str] = &[
    "sms",
    "whatsapp",
    "messenger",
    "gbm",
    "email",
    "rcs",
    "apple",
    "chat",
];

#[derive(Debug, Default, Clone)]
pub struct AddressConfigInput {
    pub address_type: Option<&'static str>,
    pub address: Option<String>,
    pub friendly_name: Option<String>,
    pub address_country: Option<String>,
    pub enabled: Option<bool>,
    pub auto_type: Option<&'static str>,
    pub service_sid: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_method: Option<String>,
    pub webhook_filters: Option<Vec<String>>,
    pub studio_flow_sid: Option<String>,
    pub studio_retry_count: Option<i64>,
}

impl AddressConfigInput {
    pub fn parse(p: &Params, creating: bool) -> Result<AddressConfigInput> {
        let input = AddressConfigInput {
            address_type: if creating {
                p.required("Type")?;
                p.one_of("Type", TYPES)?
            } else {
                None
            },
            address: if creating {
                Some(p.required("Address")?.to_string())
            } else {
                None
            },
            friendly_name: p.owned("FriendlyName"),
            address_country: p.owned("AddressCountry").filter(|s| !s.is_empty()),
            enabled: p.bool("AutoCreation.Enabled")?,
            auto_type: p.one_of("AutoCreation.Type", &["webhook", "studio", "default"])?,
            service_sid: p
                .owned("AutoCreation.ConversationServiceSid")
                .filter(|s| !s.is_empty()),
            webhook_url: p.owned("AutoCreation.WebhookUrl").filter(|s| !s.is_empty()),
            webhook_method: p
                .one_of("AutoCreation.WebhookMethod", &["get", "post"])?
                .map(str::to_string),
            webhook_filters: if p.has("AutoCreation.WebhookFilters") {
                Some(check_filters(
                    &p.all("AutoCreation.WebhookFilters")
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>(),
                    false,
                )?)
            } else {
                None
            },
            studio_flow_sid: p
                .owned("AutoCreation.StudioFlowSid")
                .filter(|s| !s.is_empty()),
            studio_retry_count: p.int("AutoCreation.StudioRetryCount")?,
        };
        if let Some(f) = &input.friendly_name
            && f.chars().count() > 256
        {
            return Err(Error::invalid("FriendlyName is longer than 256 characters"));
        }
        if let Some(u) = &input.webhook_url {
            check_url(u)?;
        }
        if let Some(f) = &input.studio_flow_sid
            && !is_sid(f, "FW")
        {
            return Err(Error::invalid(format!(
                "AutoCreation.StudioFlowSid '{f}' is not a Flow SID (FW…)"
            )));
        }
        if let Some(s) = &input.service_sid
            && !is_sid(s, "IS")
        {
            return Err(Error::invalid(format!(
                "AutoCreation.ConversationServiceSid '{s}' is not a Conversation Service SID (IS…)"
            )));
        }
        if input
            .studio_retry_count
            .is_some_and(|n| !(0..=5).contains(&n))
        {
            return Err(Error::invalid(
                "AutoCreation.StudioRetryCount must be between 0 and 5",
            ));
        }
        Ok(input)
    }
}

pub fn find(
    tx: &mut Tx<'_>,
    account_sid: &str,
    sid_or_address: &str,
) -> Result<Option<AddressConfigRow>> {
    let filter = if is_sid(sid_or_address, "IG") {
        "account_sid = ?1 AND sid = ?2"
    } else {
        "account_sid = ?1 AND address = ?2"
    };
    Ok(tx.find::<AddressConfigRow>(
        filter,
        &[Param::Text(account_sid), Param::Text(sid_or_address)],
    )?)
}

pub fn get(tx: &mut Tx<'_>, account_sid: &str, sid_or_address: &str) -> Result<AddressConfigRow> {
    find(tx, account_sid, sid_or_address)?
        .ok_or_else(|| Error::not_found(&format!("/Configuration/Addresses/{sid_or_address}")))
}

fn apply(op: &mut Op<'_, '_>, row: &mut AddressConfigRow, input: AddressConfigInput) -> Result<()> {
    if let Some(v) = input.friendly_name {
        row.friendly_name = Some(v);
    }
    if let Some(v) = input.address_country {
        row.address_country = Some(v);
    }
    if let Some(v) = input.enabled {
        row.auto_enabled = v;
    }
    if let Some(v) = input.auto_type {
        row.auto_type = Some(v.to_string());
    }
    if let Some(v) = input.service_sid {
        super::services::get_service(op.tx, op.account_sid, &v)?;
        row.auto_service_sid = Some(v);
    }
    if let Some(v) = input.webhook_url {
        row.webhook_url = Some(v);
    }
    if let Some(v) = input.webhook_method {
        row.webhook_method = Some(v);
    }
    if let Some(v) = input.webhook_filters {
        row.webhook_filters = serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    }
    if let Some(v) = input.studio_flow_sid {
        row.studio_flow_sid = Some(v);
    }
    if let Some(v) = input.studio_retry_count {
        row.studio_retry_count = Some(v);
    }
    if row.auto_enabled {
        match row.auto_type.as_deref() {
            Some("studio") if row.studio_flow_sid.is_none() => {
                return Err(Error::invalid(
                    "AutoCreation.StudioFlowSid is required when AutoCreation.Type is studio",
                ));
            }
            Some("webhook") if row.webhook_url.is_none() => {
                return Err(Error::invalid(
                    "AutoCreation.WebhookUrl is required when AutoCreation.Type is webhook",
                ));
            }
            None => {
                return Err(Error::invalid(
                    "AutoCreation.Type is required when auto-creation is enabled",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn create(op: &mut Op<'_, '_>, input: AddressConfigInput) -> Result<AddressConfigRow> {
    let mut row = AddressConfigRow {
        seq: 0,
        sid: op.sid("IG"),
        account_sid: op.account_sid.to_string(),
        address_type: input.address_type.unwrap_or("sms").to_string(),
        address: input.address.clone().unwrap_or_default(),
        friendly_name: None,
        address_country: None,
        auto_enabled: false,
        auto_type: None,
        auto_service_sid: None,
        webhook_url: None,
        webhook_method: None,
        webhook_filters: "[]".into(),
        studio_flow_sid: None,
        studio_retry_count: None,
        date_created: op.now,
        date_updated: op.now,
    };
    apply(op, &mut row, input)?;
    row.seq = op.tx.insert(&row).map_err(|e| match e {
        StoreError::Unique(ix) if ix == parley_store::schema::ADDRESS_CONFIG_ADDRESS => Error::api(
            codes::CONFLICT,
            format!(
                "An address configuration for '{}' already exists; update or delete it",
                row.address
            ),
        ),
        other => other.into(),
    })?;
    Ok(row)
}

pub fn update(
    op: &mut Op<'_, '_>,
    mut row: AddressConfigRow,
    input: AddressConfigInput,
) -> Result<AddressConfigRow> {
    apply(op, &mut row, input)?;
    row.date_updated = op.now;
    op.tx.update(&row)?;
    Ok(row)
}
