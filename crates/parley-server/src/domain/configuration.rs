//! Account and service configuration: the default service and timers, the global and
//! per-service webhooks, the service's role defaults and push notification settings.

use parley_store::{AccountConfigRow, ServiceRow};

use super::Op;
use super::webhooks::{check_filters, check_url};
use crate::core::sid::is_sid;
use crate::error::{Error, Result, codes};
use crate::wire::Params;

fn timer(
    p: &Params,
    name: &str,
    min_ms: i64,
    bad: u32,
    short: u32,
    min_text: &str,
) -> Result<Option<String>> {
    let Some(v) = p.text(name) else {
        return Ok(None);
    };
    let ms = super::duration::parse_ms(v)
        .ok_or_else(|| Error::api(bad, format!("{name} '{v}' is not an ISO 8601 duration")))?;
    if ms != 0 && ms < min_ms {
        return Err(Error::api(
            short,
            format!("{name} must be at least {min_text} (or PT0S to disable it)"),
        ));
    }
    Ok(Some(v.to_string()))
}

pub fn update_account(op: &mut Op<'_, '_>, p: &Params) -> Result<AccountConfigRow> {
    let mut cfg = super::services::account_config(op.tx, op.account_sid)?;
    if let Some(s) = p.text("DefaultChatServiceSid") {
        super::services::get_service(op.tx, op.account_sid, s)?;
        cfg.default_chat_service_sid = s.to_string();
    }
    if let Some(s) = p.text("DefaultMessagingServiceSid") {
        if !is_sid(s, "MG") {
            return Err(Error::invalid(format!(
                "DefaultMessagingServiceSid '{s}' is not a Messaging Service SID (MG…)"
            )));
        }
        cfg.default_messaging_service_sid = s.to_string();
    }
    if let Some(t) = timer(
        p,
        "DefaultInactiveTimer",
        60_000,
        codes::BAD_INACTIVE_TIMER,
        codes::INACTIVE_TIMER_TOO_SHORT,
        "PT1M",
    )? {
        cfg.default_inactive_timer = Some(t);
    }
    if let Some(t) = timer(
        p,
        "DefaultClosedTimer",
        600_000,
        codes::BAD_CLOSED_TIMER,
        codes::CLOSED_TIMER_TOO_SHORT,
        "PT10M",
    )? {
        cfg.default_closed_timer = Some(t);
    }
    cfg.date_updated = op.now;
    op.tx.update(&cfg)?;
    Ok(cfg)
}

struct WebhookSettings {
    method: Option<String>,
    filters: Option<String>,
    pre: Option<String>,
    post: Option<String>,
}

fn webhook_settings(p: &Params) -> Result<WebhookSettings> {
    let method = p.one_of("Method", &["GET", "POST"])?.map(str::to_string);
    let filters = if p.has("Filters") {
        let f = check_filters(
            &p.all("Filters")
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
            true,
        )?;
        Some(serde_json::to_string(&f).unwrap_or_else(|_| "[]".into()))
    } else {
        None
    };
    let pre = p.owned("PreWebhookUrl");
    let post = p.owned("PostWebhookUrl");
    for u in [&pre, &post]
        .into_iter()
        .flatten()
        .filter(|u| !u.is_empty())
    {
        check_url(u)?;
    }
    Ok(WebhookSettings {
        method,
        filters,
        pre,
        post,
    })
}

/// An empty URL clears it.
fn url_field(v: Option<String>, current: Option<String>) -> Option<String> {
    match v {
        Some(u) if u.is_empty() => None,
        Some(u) => Some(u),
        None => current,
    }
}

pub fn update_global_webhooks(op: &mut Op<'_, '_>, p: &Params) -> Result<AccountConfigRow> {
    crate::runtime::account_flags::changed(op);
    let mut cfg = super::services::account_config(op.tx, op.account_sid)?;
    let s = webhook_settings(p)?;
    if let Some(t) = p.one_of("Target", &["webhook", "flex"])? {
        cfg.webhook_target = t.to_string();
    }
    if let Some(m) = s.method {
        cfg.webhook_method = m;
    }
    if let Some(f) = s.filters {
        cfg.webhook_filters = f;
    }
    cfg.webhook_pre_url = url_field(s.pre, cfg.webhook_pre_url);
    cfg.webhook_post_url = url_field(s.post, cfg.webhook_post_url);
    cfg.date_updated = op.now;
    op.tx.update(&cfg)?;
    Ok(cfg)
}

pub fn update_service_webhooks(
    op: &mut Op<'_, '_>,
    mut service: ServiceRow,
    p: &Params,
) -> Result<ServiceRow> {
    crate::runtime::account_flags::changed(op);
    let s = webhook_settings(p)?;
    if let Some(m) = s.method {
        service.webhook_method = m;
    }
    if let Some(f) = s.filters {
        service.webhook_filters = f;
    }
    service.webhook_pre_url = url_field(s.pre, service.webhook_pre_url);
    service.webhook_post_url = url_field(s.post, service.webhook_post_url);
    service.date_updated = op.now;
    op.tx.update(&service)?;
    Ok(service)
}

pub fn update_service_config(
    op: &mut Op<'_, '_>,
    mut service: ServiceRow,
    p: &Params,
) -> Result<ServiceRow> {
    for (param, field) in [
        ("DefaultConversationCreatorRoleSid", 0),
        ("DefaultConversationRoleSid", 1),
        ("DefaultChatServiceRoleSid", 2),
    ] {
        if let Some(r) = p.text(param) {
            super::roles::get(op.tx, &service.sid, r)?;
            let slot = match field {
                0 => &mut service.default_conversation_creator_role_sid,
                1 => &mut service.default_conversation_role_sid,
                _ => &mut service.default_chat_service_role_sid,
            };
            *slot = Some(r.to_string());
        }
    }
    if let Some(b) = p.bool("ReachabilityEnabled")? {
        service.reachability_enabled = b;
    }
    service.date_updated = op.now;
    op.tx.update(&service)?;
    Ok(service)
}

/// Push notification settings: stored, returned, not acted on (Parley has no push).
pub fn update_notifications(
    op: &mut Op<'_, '_>,
    mut service: ServiceRow,
    p: &Params,
) -> Result<ServiceRow> {
    let mut n: serde_json::Value =
        serde_json::from_str(&service.notifications).unwrap_or_else(|_| serde_json::json!({}));
    let set = |n: &mut serde_json::Value, path: &[&str], v: serde_json::Value| {
        let mut cur = n;
        for k in &path[..path.len() - 1] {
            if !cur.get(*k).is_some_and(|c| c.is_object()) {
                cur[*k] = serde_json::json!({});
            }
            cur = &mut cur[*k];
        }
        cur[path[path.len() - 1]] = v;
    };
    let bools: &[(&str, &[&str])] = &[
        ("LogEnabled", &["log_enabled"]),
        ("NewMessage.Enabled", &["new_message", "enabled"]),
        (
            "NewMessage.BadgeCountEnabled",
            &["new_message", "badge_count_enabled"],
        ),
        (
            "NewMessage.WithMedia.Enabled",
            &["new_message", "with_media", "enabled"],
        ),
        (
            "AddedToConversation.Enabled",
            &["added_to_conversation", "enabled"],
        ),
        (
            "RemovedFromConversation.Enabled",
            &["removed_from_conversation", "enabled"],
        ),
    ];
    for (param, path) in bools {
        if let Some(b) = p.bool(param)? {
            set(&mut n, path, serde_json::Value::Bool(b));
        }
    }
    let texts: &[(&str, &[&str])] = &[
        ("NewMessage.Template", &["new_message", "template"]),
        ("NewMessage.Sound", &["new_message", "sound"]),
        (
            "NewMessage.WithMedia.Template",
            &["new_message", "with_media", "template"],
        ),
        (
            "AddedToConversation.Template",
            &["added_to_conversation", "template"],
        ),
        (
            "AddedToConversation.Sound",
            &["added_to_conversation", "sound"],
        ),
        (
            "RemovedFromConversation.Template",
            &["removed_from_conversation", "template"],
        ),
        (
            "RemovedFromConversation.Sound",
            &["removed_from_conversation", "sound"],
        ),
    ];
    for (param, path) in texts {
        if let Some(v) = p.str(param) {
            set(&mut n, path, serde_json::Value::String(v.to_string()));
        }
    }
    service.notifications = n.to_string();
    service.date_updated = op.now;
    op.tx.update(&service)?;
    Ok(service)
}

/// Chooses how the account's outbound webhooks are signed. `HMAC_SHA256` creates a new
/// shared key each time it is set (rotating the previous one); the caller shows its secret
/// once. `HMAC_SHA1` goes back to the Auth Token and forgets the shared key.
pub fn set_webhook_signing(op: &mut Op<'_, '_>, algorithm: &str) -> Result<AccountConfigRow> {
    let mut cfg = super::services::account_config(op.tx, op.account_sid)?;
    match algorithm {
        "HMAC_SHA1" => {
            cfg.webhook_signing_key_id = None;
            cfg.webhook_signing_secret = None;
        }
        "HMAC_SHA256" => {
            let sids = op.app.sids();
            cfg.webhook_signing_key_id = Some(format!(
                "webhooks_sharedkey_{}",
                sids.sid("").to_ascii_lowercase()
            ));
            // Two 128-bit secrets: a 256-bit key for a 256-bit MAC.
            cfg.webhook_signing_secret = Some(format!("{}{}", sids.secret(), sids.secret()));
        }
        other => {
            return Err(Error::invalid(format!(
                "Algorithm must be HMAC_SHA1 or HMAC_SHA256, not '{other}'"
            )));
        }
    }
    cfg.webhook_signing_algorithm = algorithm.to_string();
    cfg.date_updated = op.now;
    op.tx.update(&cfg)?;
    Ok(cfg)
}
