//! Names of the unique indexes the server relies on, so that a constraint violation can be
//! turned into the right Twilio error without a read-before-write race.

pub const CONVERSATION_UNIQUE_NAME: &str = "conversations_unique_name";
pub const PARTICIPANT_IDENTITY: &str = "participants_identity";
pub const BINDING_PAIR: &str = "bindings_pair";
pub const ADDRESS_CONFIG_ADDRESS: &str = "address_configs_address";
pub const USER_IDENTITY: &str = "users_identity";
pub const EXECUTION_ACTIVE_CONTACT: &str = "executions_active_contact";
pub const PHONE_NUMBER: &str = "phone_numbers_number";
pub const MESSAGE_INDEX: &str = "messages_index";

/// SQLite reports the columns of a violated unique index, not its name
/// ("UNIQUE constraint failed: bindings.account_sid, bindings.address, ...").
pub(crate) fn unique_index_for_sqlite_message(msg: &str) -> String {
    const BY_COLUMNS: &[(&str, &str)] = &[
        (
            "conversations.service_sid, conversations.unique_name",
            CONVERSATION_UNIQUE_NAME,
        ),
        (
            "participants.conversation_sid, participants.identity",
            PARTICIPANT_IDENTITY,
        ),
        (
            "bindings.account_sid, bindings.address, bindings.proxy_address",
            BINDING_PAIR,
        ),
        (
            "address_configs.account_sid, address_configs.address",
            ADDRESS_CONFIG_ADDRESS,
        ),
        ("users.service_sid, users.identity", USER_IDENTITY),
        (
            "executions.flow_sid, executions.contact_key",
            EXECUTION_ACTIVE_CONTACT,
        ),
        (
            "phone_numbers.account_sid, phone_numbers.phone_number",
            PHONE_NUMBER,
        ),
        ("messages.conversation_sid, messages.idx", MESSAGE_INDEX),
    ];
    BY_COLUMNS
        .iter()
        .find(|(cols, _)| msg.contains(cols))
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| msg.to_string())
}
