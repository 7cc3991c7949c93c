//! Accounts and API keys. Creating an account also creates what a new Twilio account has:
//! a default Conversation Service with its default roles, and the account configuration.

use parley_store::{AccountConfigRow, AccountRow, ApiKeyRow, Param, Tx};

use crate::core::SidGen;
use crate::error::{Error, Result};
use crate::wire::auth::sha256_hex;

pub struct NewAccount {
    pub sid: Option<String>,
    pub auth_token: Option<String>,
    pub friendly_name: String,
    pub owner_account_sid: Option<String>,
}

pub fn create_account(
    tx: &mut Tx<'_>,
    sids: &dyn SidGen,
    now: i64,
    new: NewAccount,
) -> Result<AccountRow> {
    let mut account = AccountRow {
        seq: 0,
        sid: new.sid.unwrap_or_else(|| sids.sid("AC")),
        auth_token: new.auth_token.unwrap_or_else(|| sids.secret()),
        friendly_name: new.friendly_name,
        status: "active".into(),
        owner_account_sid: new.owner_account_sid,
        date_created: now,
        date_updated: now,
    };
    account.seq = tx.insert(&account)?;
    let service = super::services::create_service(
        tx,
        sids,
        now,
        &account.sid,
        "Default Conversations Service",
    )?;
    let config = AccountConfigRow {
        seq: 0,
        account_sid: account.sid.clone(),
        default_chat_service_sid: service.sid.clone(),
        default_messaging_service_sid: sids.sid("MG"),
        default_inactive_timer: None,
        default_closed_timer: None,
        webhook_method: "POST".into(),
        webhook_filters: "[]".into(),
        webhook_pre_url: None,
        webhook_post_url: None,
        webhook_target: "webhook".into(),
        date_updated: now,
        webhook_signing_algorithm: "HMAC_SHA1".into(),
        webhook_signing_key_id: None,
        webhook_signing_secret: None,
    };
    tx.insert(&config)?;
    Ok(account)
}

/// Makes sure an account with this SID and token exists (the `PARLEY_ACCOUNT_SID` /
/// `PARLEY_AUTH_TOKEN` bootstrap). Returns it and whether it was created.
pub fn ensure_account(
    tx: &mut Tx<'_>,
    sids: &dyn SidGen,
    now: i64,
    sid: &str,
    token: &str,
) -> Result<(AccountRow, bool)> {
    if let Some(mut acct) = tx.get::<AccountRow>(sid)? {
        if acct.auth_token != token {
            acct.auth_token = token.to_string();
            acct.date_updated = now;
            tx.update(&acct)?;
        }
        return Ok((acct, false));
    }
    let acct = create_account(
        tx,
        sids,
        now,
        NewAccount {
            sid: Some(sid.to_string()),
            auth_token: Some(token.to_string()),
            friendly_name: "Parley account".into(),
            owner_account_sid: None,
        },
    )?;
    Ok((acct, true))
}

pub fn first_account(tx: &mut Tx<'_>) -> Result<Option<AccountRow>> {
    Ok(tx.find::<AccountRow>("status = 'active' ORDER BY seq", &[])?)
}

pub fn all_accounts(tx: &mut Tx<'_>) -> Result<Vec<AccountRow>> {
    Ok(tx.find_all::<AccountRow>("1 = 1", &[])?)
}

/// Creates an API key; the secret is returned here once and only its hash is kept.
pub fn create_key(
    tx: &mut Tx<'_>,
    sids: &dyn SidGen,
    now: i64,
    account_sid: &str,
    friendly_name: &str,
) -> Result<(ApiKeyRow, String)> {
    let secret = sids.secret();
    let mut key = ApiKeyRow {
        seq: 0,
        sid: sids.sid("SK"),
        account_sid: account_sid.to_string(),
        secret_hash: sha256_hex(&secret),
        friendly_name: friendly_name.to_string(),
        date_created: now,
        date_updated: now,
    };
    key.seq = tx.insert(&key)?;
    Ok((key, secret))
}

pub fn account_key(tx: &mut Tx<'_>, account_sid: &str, key_sid: &str) -> Result<ApiKeyRow> {
    tx.find::<ApiKeyRow>(
        "sid = ?1 AND account_sid = ?2",
        &[Param::Text(key_sid), Param::Text(account_sid)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Accounts/{account_sid}/Keys/{key_sid}")))
}
