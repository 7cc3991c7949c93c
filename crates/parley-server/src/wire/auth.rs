//! HTTP Basic auth as Twilio does it: `AccountSid:AuthToken`, or `ApiKeySid:Secret` for an
//! API key of the account. Anything else is 401 with code 20003. Credentials are cached
//! briefly in memory so the hot path does not read the database on every request.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::{Error, Result};

/// The authenticated account of a request.
#[derive(Debug, Clone)]
pub struct Account {
    pub sid: String,
    /// The API key used, if any (SK…).
    pub key_sid: Option<String>,
}

/// What a username (account SID or key SID) authenticates with.
#[derive(Clone)]
struct Credential {
    account_sid: String,
    /// SHA-256 of the token or secret: the cache never holds a secret in clear.
    secret_hash: [u8; 32],
    cached_at_ms: i64,
}

/// How long a cached credential is trusted before it is read again. A revoked key stops
/// working on other nodes within this time; on the node that revoked it, at once.
const CACHE_TTL_MS: i64 = 2_000;

#[derive(Default)]
pub struct AuthCache {
    by_user: RwLock<HashMap<String, Credential>>,
}

impl AuthCache {
    pub fn forget(&self, user: &str) {
        self.by_user
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
    }

    pub fn forget_all(&self) {
        self.by_user
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

pub fn sha256_hex(s: &str) -> String {
    sha256(s).iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_basic(parts: &Parts) -> Option<(String, String)> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Checks `user:pass` against the store (through the cache). Used by the API extractor
/// and by the console's login.
pub async fn authenticate(app: &App, user: &str, pass: &str) -> Result<Account> {
    let now = app.now_ms();
    let cached = app
        .auth_cache()
        .by_user
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(user)
        .filter(|c| now - c.cached_at_ms < CACHE_TTL_MS)
        .cloned();
    let cred = match cached {
        Some(c) => Some(c),
        None => {
            let loaded = load_credential(app, user, now).await?;
            if let Some(c) = &loaded {
                app.auth_cache()
                    .by_user
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(user.to_string(), c.clone());
            }
            loaded
        }
    };
    let Some(cred) = cred else {
        return Err(Error::unauthorized());
    };
    if bool::from(sha256(pass).ct_eq(&cred.secret_hash)) {
        Ok(Account {
            sid: cred.account_sid,
            key_sid: user.starts_with("SK").then(|| user.to_string()),
        })
    } else {
        Err(Error::unauthorized())
    }
}

async fn load_credential(app: &App, user: &str, now: i64) -> Result<Option<Credential>> {
    let user = user.to_string();
    app.store()
        .read(move |tx| -> Result<Option<Credential>> {
            if user.starts_with("AC") {
                let acct = tx.get::<parley_store::AccountRow>(&user)?;
                Ok(acct.filter(|a| a.status == "active").map(|a| Credential {
                    secret_hash: sha256(&a.auth_token),
                    account_sid: a.sid,
                    cached_at_ms: now,
                }))
            } else if user.starts_with("SK") {
                let Some(key) = tx.get::<parley_store::ApiKeyRow>(&user)? else {
                    return Ok(None);
                };
                let active = tx
                    .get::<parley_store::AccountRow>(&key.account_sid)?
                    .is_some_and(|a| a.status == "active");
                if !active {
                    return Ok(None);
                }
                let mut hash = [0u8; 32];
                for (i, chunk) in key.secret_hash.as_bytes().chunks(2).enumerate().take(32) {
                    let s = std::str::from_utf8(chunk).unwrap_or("00");
                    hash[i] = u8::from_str_radix(s, 16).unwrap_or(0);
                }
                Ok(Some(Credential {
                    account_sid: key.account_sid,
                    secret_hash: hash,
                    cached_at_ms: now,
                }))
            } else {
                Ok(None)
            }
        })
        .await
}

impl FromRequestParts<App> for Account {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self> {
        if let Some(acct) = parts.extensions.get::<Account>() {
            return Ok(acct.clone());
        }
        let (user, pass) = parse_basic(parts).ok_or_else(Error::unauthorized)?;
        let acct = authenticate(app, &user, &pass).await?;
        parts.extensions.insert(acct.clone());
        Ok(acct)
    }
}
