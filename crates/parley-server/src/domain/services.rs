//! Conversation Services: containers of conversations, users and roles. Each account has a
//! default one, which the short `/v1/Conversations…` paths act on.

use parley_store::{AccountConfigRow, ConversationRow, Param, RoleRow, ServiceRow, Tx};

use crate::core::SidGen;
use crate::error::{Error, Result};

/// Twilio's default roles and their permissions.
const DEFAULT_ROLES: &[(&str, &str, &[&str])] = &[
    (
        "service admin",
        "service",
        &[
            "createConversation",
            "joinConversation",
            "destroyConversation",
            "editAnyUserInfo",
            "editOwnUserInfo",
        ],
    ),
    (
        "service user",
        "service",
        &["createConversation", "joinConversation", "editOwnUserInfo"],
    ),
    (
        "channel admin",
        "conversation",
        &[
            "sendMessage",
            "sendMediaMessage",
            "leaveConversation",
            "editConversationName",
            "editConversationAttributes",
            "addParticipant",
            "removeParticipant",
            "editAnyMessage",
            "editAnyMessageAttributes",
            "deleteAnyMessage",
            "editAnyParticipantAttributes",
            "editNotificationLevel",
        ],
    ),
    (
        "channel user",
        "conversation",
        &[
            "sendMessage",
            "sendMediaMessage",
            "leaveConversation",
            "editOwnMessage",
            "editOwnMessageAttributes",
            "deleteOwnMessage",
            "editOwnParticipantAttributes",
            "editNotificationLevel",
        ],
    ),
];

pub const DEFAULT_NOTIFICATIONS: &str = r#"{"log_enabled":false,"new_message":{"enabled":false,"template":null,"sound":null,"badge_count_enabled":false,"with_media":{"enabled":false,"template":null}},"added_to_conversation":{"enabled":false,"template":null,"sound":null},"removed_from_conversation":{"enabled":false,"template":null,"sound":null}}"#;

pub fn create_service(
    tx: &mut Tx<'_>,
    sids: &dyn SidGen,
    now: i64,
    account_sid: &str,
    friendly_name: &str,
) -> Result<ServiceRow> {
    let mut service = ServiceRow {
        seq: 0,
        sid: sids.sid("IS"),
        account_sid: account_sid.to_string(),
        friendly_name: friendly_name.to_string(),
        default_conversation_creator_role_sid: None,
        default_conversation_role_sid: None,
        default_chat_service_role_sid: None,
        reachability_enabled: false,
        notifications: DEFAULT_NOTIFICATIONS.to_string(),
        webhook_method: "POST".into(),
        webhook_filters: "[]".into(),
        webhook_pre_url: None,
        webhook_post_url: None,
        date_created: now,
        date_updated: now,
    };
    let mut role_sids = Vec::new();
    for (name, kind, perms) in DEFAULT_ROLES {
        let role = RoleRow {
            seq: 0,
            sid: sids.sid("RL"),
            account_sid: account_sid.to_string(),
            service_sid: service.sid.clone(),
            friendly_name: (*name).to_string(),
            role_type: (*kind).to_string(),
            permissions: serde_json::to_string(perms).unwrap_or_else(|_| "[]".into()),
            date_created: now,
            date_updated: now,
        };
        tx.insert(&role)?;
        role_sids.push(role.sid);
    }
    service.default_chat_service_role_sid = role_sids.get(1).cloned();
    service.default_conversation_creator_role_sid = role_sids.get(2).cloned();
    service.default_conversation_role_sid = role_sids.get(3).cloned();
    service.seq = tx.insert(&service)?;
    Ok(service)
}

pub fn get_service(tx: &mut Tx<'_>, account_sid: &str, sid: &str) -> Result<ServiceRow> {
    tx.find::<ServiceRow>(
        "sid = ?1 AND account_sid = ?2",
        &[Param::Text(sid), Param::Text(account_sid)],
    )?
    .ok_or_else(|| Error::not_found(&format!("/Services/{sid}")))
}

pub fn account_config(tx: &mut Tx<'_>, account_sid: &str) -> Result<AccountConfigRow> {
    tx.get::<AccountConfigRow>(account_sid)?
        .ok_or_else(|| Error::not_found("/Configuration"))
}

/// The service a request acts on: the one in the path, or the account's default.
pub fn resolve_service(
    tx: &mut Tx<'_>,
    account_sid: &str,
    path_service: Option<&str>,
) -> Result<ServiceRow> {
    match path_service {
        Some(sid) => get_service(tx, account_sid, sid),
        None => {
            // One statement on the hot path (every short-path request comes here); the
            // two-step lookup below only runs to say precisely what is missing.
            let default = tx.find::<ServiceRow>(
                "sid = (SELECT default_chat_service_sid FROM account_configs WHERE account_sid = ?1) \
                 AND account_sid = ?1",
                &[Param::Text(account_sid)],
            )?;
            match default {
                Some(service) => Ok(service),
                None => {
                    let cfg = account_config(tx, account_sid)?;
                    get_service(tx, account_sid, &cfg.default_chat_service_sid)
                }
            }
        }
    }
}

/// Deletes a service and everything in it. The default service cannot be deleted while it
/// is the default: the short paths would have nothing to act on.
pub fn delete_service(tx: &mut Tx<'_>, account_sid: &str, sid: &str) -> Result<()> {
    let service = get_service(tx, account_sid, sid)?;
    let cfg = account_config(tx, account_sid)?;
    if cfg.default_chat_service_sid == service.sid {
        return Err(Error::invalid(
            "The default Conversation Service cannot be deleted; make another service the default first (POST /v1/Configuration DefaultChatServiceSid)",
        ));
    }
    let conversations =
        tx.find_all::<ConversationRow>("service_sid = ?1", &[Param::Text(&service.sid)])?;
    for c in conversations {
        super::conversations::delete_rows(tx, &c)?;
    }
    for table in ["users", "roles", "participants"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE service_sid = ?1"),
            &[Param::Text(&service.sid)],
        )?;
    }
    tx.delete::<ServiceRow>(&service.sid)?;
    Ok(())
}
