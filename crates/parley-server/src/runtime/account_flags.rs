//! What an account has switched on that the hot path must look for: pre-event webhooks,
//! post-event webhooks, real carriers. Most accounts have none of them; knowing that from
//! memory saves several reads per inbound message. Entries live one second (so a change
//! made on another node is seen within a second) and are dropped at once when this node
//! commits a change to them.

use std::collections::HashMap;
use std::sync::RwLock;

use parley_store::{Param, Tx};

use crate::app::App;
use crate::domain::Op;
use crate::error::Result;

const TTL_MS: i64 = 1_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountFlags {
    /// The account or one of its services has a pre-event webhook URL.
    pub pre_hooks: bool,
    /// The account or one of its services has a post-event webhook URL.
    pub post_hooks: bool,
    /// Some address of the account uses a real carrier (not the simulator).
    pub real_carriers: bool,
}

#[derive(Default)]
pub struct FlagsCache {
    entries: RwLock<HashMap<String, (AccountFlags, i64)>>,
}

impl FlagsCache {
    fn cached(&self, account: &str, now: i64) -> Option<AccountFlags> {
        let map = self.entries.read().unwrap_or_else(|p| p.into_inner());
        map.get(account)
            .filter(|(_, at)| now - at < TTL_MS)
            .map(|(f, _)| *f)
    }

    fn put(&self, account: &str, flags: AccountFlags, now: i64) {
        let mut map = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(account.to_string(), (flags, now));
    }

    pub fn forget(&self, account: &str) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
    }
}

fn exists(tx: &mut Tx<'_>, sql: &str, account: &str) -> Result<bool> {
    Ok(tx.query_i64(sql, &[Param::Text(account)])?.unwrap_or(0) > 0)
}

fn load(tx: &mut Tx<'_>, account: &str) -> Result<AccountFlags> {
    Ok(AccountFlags {
        pre_hooks: exists(
            tx,
            "SELECT (SELECT COUNT(*) FROM account_configs WHERE account_sid = ?1 AND webhook_pre_url IS NOT NULL) + (SELECT COUNT(*) FROM services WHERE account_sid = ?1 AND webhook_pre_url IS NOT NULL)",
            account,
        )?,
        post_hooks: exists(
            tx,
            "SELECT (SELECT COUNT(*) FROM account_configs WHERE account_sid = ?1 AND webhook_post_url IS NOT NULL) + (SELECT COUNT(*) FROM services WHERE account_sid = ?1 AND webhook_post_url IS NOT NULL)",
            account,
        )?,
        real_carriers: exists(
            tx,
            "SELECT COUNT(*) FROM phone_numbers WHERE account_sid = ?1 AND carrier <> 'simulator'",
            account,
        )?,
    })
}

/// The flags, inside an operation.
pub fn flags(op: &mut Op<'_, '_>) -> Result<AccountFlags> {
    if let Some(f) = op.app.account_flags().cached(op.account_sid, op.now) {
        return Ok(f);
    }
    let f = load(op.tx, op.account_sid)?;
    op.app.account_flags().put(op.account_sid, f, op.now);
    Ok(f)
}

/// The flags, before an operation (e.g. to decide whether to ask pre-event webhooks).
pub async fn flags_now(app: &App, account: &str) -> Result<AccountFlags> {
    let now = app.now_ms();
    if let Some(f) = app.account_flags().cached(account, now) {
        return Ok(f);
    }
    let a = account.to_string();
    let f = app.store().read(move |tx| load(tx, &a)).await?;
    app.account_flags().put(account, f, now);
    Ok(f)
}

/// Call from an operation that changes webhook or carrier settings: the cached flags of the
/// account are dropped when it commits.
pub fn changed(op: &mut Op<'_, '_>) {
    let (app, account) = (op.app.clone(), op.account_sid.to_string());
    op.tx
        .on_commit(move || app.account_flags().forget(&account));
}
