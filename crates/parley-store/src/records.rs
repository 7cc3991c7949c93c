//! The row types, one per table. Field names are column names. See
//! `migrations/sqlite/0001_init.sql` for what each table is for. `memo by row` marks the
//! tables whose memos a write to one row forgets by that row (`crate::memo`): the ones the
//! hot path reads again and again while other rows of them are written.

record! {
    pub struct AccountRow in "accounts" key sid {
        pub sid: String,
        pub auth_token: String,
        pub friendly_name: String,
        pub status: String,
        pub owner_account_sid: Option<String>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ApiKeyRow in "api_keys" key sid {
        pub sid: String,
        pub account_sid: String,
        /// Hex SHA-256 of the secret; the secret itself is shown once, at creation.
        pub secret_hash: String,
        pub friendly_name: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct AccountConfigRow in "account_configs" key account_sid {
        pub account_sid: String,
        pub default_chat_service_sid: String,
        pub default_messaging_service_sid: String,
        pub default_inactive_timer: Option<String>,
        pub default_closed_timer: Option<String>,
        pub webhook_method: String,
        /// JSON array of event names.
        pub webhook_filters: String,
        pub webhook_pre_url: Option<String>,
        pub webhook_post_url: Option<String>,
        pub webhook_target: String,
        pub date_updated: i64,
        /// `HMAC_SHA1` (the Auth Token signs) or `HMAC_SHA256` (the shared key below signs).
        pub webhook_signing_algorithm: String,
        pub webhook_signing_key_id: Option<String>,
        pub webhook_signing_secret: Option<String>,
    }
}

record! {
    pub struct ServiceRow in "services" key sid {
        pub sid: String,
        pub account_sid: String,
        pub friendly_name: String,
        pub default_conversation_creator_role_sid: Option<String>,
        pub default_conversation_role_sid: Option<String>,
        pub default_chat_service_role_sid: Option<String>,
        pub reachability_enabled: bool,
        /// JSON object: the push notification settings.
        pub notifications: String,
        pub webhook_method: String,
        pub webhook_filters: String,
        pub webhook_pre_url: Option<String>,
        pub webhook_post_url: Option<String>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ConversationRow in "conversations" key sid, memo by row {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub messaging_service_sid: Option<String>,
        pub friendly_name: Option<String>,
        pub unique_name: Option<String>,
        pub attributes: String,
        pub state: String,
        /// ISO 8601 durations as given (`PT1M`).
        pub timer_inactive: Option<String>,
        pub timer_closed: Option<String>,
        /// Absolute deadlines (ms) derived from the timers.
        pub date_inactive: Option<i64>,
        pub date_closed: Option<i64>,
        /// JSON object (`Bindings.Email.*`), or null.
        pub bindings: Option<String>,
        /// The index the next message gets; kept here so numbering is O(1).
        pub next_index: i64,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ParticipantRow in "participants" key sid, memo by row and conversation_sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub conversation_sid: String,
        pub identity: Option<String>,
        pub user_sid: Option<String>,
        pub address: Option<String>,
        pub proxy_address: Option<String>,
        pub projected_address: Option<String>,
        /// `chat`, `sms`, `whatsapp`, ...
        pub channel_type: Option<String>,
        pub attributes: String,
        pub role_sid: Option<String>,
        pub last_read_message_index: Option<i64>,
        pub last_read_timestamp: Option<String>,
        pub notification_level: Option<String>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct BindingRow in "bindings" key participant_sid {
        pub account_sid: String,
        pub address: String,
        pub proxy_address: String,
        pub conversation_sid: String,
        pub participant_sid: String,
    }
}

record! {
    pub struct MessageRow in "messages" key sid, memo by row and conversation_sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub conversation_sid: String,
        pub idx: i64,
        pub author: String,
        pub participant_sid: Option<String>,
        pub body: Option<String>,
        pub attributes: String,
        /// JSON array of media objects, or null.
        pub media: Option<String>,
        pub content_sid: Option<String>,
        pub subject: Option<String>,
        /// Where it came from: `API`, `SDK`, `SMS`, `WHATSAPP`, `STUDIO`.
        pub source: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ReceiptRow in "receipts" key sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub conversation_sid: String,
        pub message_sid: String,
        pub participant_sid: Option<String>,
        pub channel_message_sid: String,
        pub status: String,
        pub error_code: i64,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ConversationWebhookRow in "conversation_webhooks" key sid, memo by row and conversation_sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub conversation_sid: String,
        pub target: String,
        pub url: Option<String>,
        pub method: Option<String>,
        pub filters: String,
        pub triggers: String,
        pub flow_sid: Option<String>,
        pub replay_after: Option<i64>,
        pub retry_count: Option<i64>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct AddressConfigRow in "address_configs" key sid {
        pub sid: String,
        pub account_sid: String,
        pub address_type: String,
        pub address: String,
        pub friendly_name: Option<String>,
        pub address_country: Option<String>,
        pub auto_enabled: bool,
        pub auto_type: Option<String>,
        pub auto_service_sid: Option<String>,
        pub webhook_url: Option<String>,
        pub webhook_method: Option<String>,
        pub webhook_filters: String,
        pub studio_flow_sid: Option<String>,
        pub studio_retry_count: Option<i64>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct UserRow in "users" key sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub identity: String,
        pub friendly_name: Option<String>,
        pub attributes: String,
        pub role_sid: Option<String>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct RoleRow in "roles" key sid {
        pub sid: String,
        pub account_sid: String,
        pub service_sid: String,
        pub friendly_name: String,
        pub role_type: String,
        /// JSON array of permission names.
        pub permissions: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct CredentialRow in "credentials" key sid {
        pub sid: String,
        pub account_sid: String,
        pub credential_type: String,
        pub friendly_name: Option<String>,
        pub sandbox: bool,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct FlowRow in "flows" key sid, memo by row {
        pub sid: String,
        pub account_sid: String,
        pub friendly_name: String,
        pub status: String,
        pub revision: i64,
        pub published_revision: Option<i64>,
        pub commit_message: Option<String>,
        /// The definition JSON exactly as accepted.
        pub definition: String,
        pub valid: bool,
        pub errors: String,
        pub warnings: String,
        /// JSON array of identities that run the latest draft.
        pub test_users: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct FlowRevisionRow in "flow_revisions" key rev_key {
        /// `FW…:<revision>`.
        pub rev_key: String,
        pub flow_sid: String,
        pub account_sid: String,
        pub revision: i64,
        pub friendly_name: String,
        pub status: String,
        pub commit_message: Option<String>,
        pub definition: String,
        pub valid: bool,
        pub errors: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct ExecutionRow in "executions" key sid, memo by row and contact_key {
        pub sid: String,
        pub account_sid: String,
        pub flow_sid: String,
        pub flow_revision: i64,
        /// What makes an execution unique while active: the conversation SID, or the
        /// contact and flow addresses.
        pub contact_key: String,
        pub contact_channel_address: String,
        pub flow_channel_address: String,
        pub conversation_sid: Option<String>,
        pub status: String,
        pub initiated_by: String,
        pub waiting_for_reply: bool,
        /// The engine's serialised session.
        pub session: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct StepRow in "steps" key sid {
        pub sid: String,
        pub account_sid: String,
        pub flow_sid: String,
        pub execution_sid: String,
        pub parent_step_sid: Option<String>,
        pub name: String,
        pub transitioned_from: String,
        pub transitioned_to: String,
        pub widget_type: String,
        pub context: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct JobRow in "jobs" key job_key {
        pub job_key: String,
        pub kind: String,
        pub account_sid: String,
        pub run_at: i64,
        pub attempts: i64,
        pub max_attempts: i64,
        pub payload: String,
        pub locked_until: i64,
        pub last_error: Option<String>,
        pub date_created: i64,
    }
}

record! {
    pub struct WebhookDeliveryRow in "webhook_deliveries" key sid {
        pub sid: String,
        pub account_sid: String,
        pub conversation_sid: Option<String>,
        pub webhook_sid: Option<String>,
        pub event_type: String,
        pub url: String,
        pub method: String,
        /// `pending`, `delivered`, `retrying`, `failed` (given up).
        pub status: String,
        pub attempts: i64,
        pub response_status: Option<i64>,
        pub last_error: Option<String>,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct SimMessageRow in "sim_messages" key sid {
        pub sid: String,
        pub account_sid: String,
        pub handset: String,
        pub parley_address: String,
        /// `inbound` (handset → Parley) or `outbound` (Parley → handset).
        pub direction: String,
        pub body: Option<String>,
        pub media: Option<String>,
        pub status: String,
        pub conversation_sid: Option<String>,
        pub date_created: i64,
    }
}

record! {
    pub struct PhoneNumberRow in "phone_numbers" key sid {
        pub sid: String,
        pub account_sid: String,
        pub phone_number: String,
        pub friendly_name: Option<String>,
        pub sms_url: Option<String>,
        pub sms_method: String,
        pub voice_url: Option<String>,
        /// `simulator`, `twilio` or `relay`.
        pub carrier: String,
        /// JSON object with the carrier's settings.
        pub carrier_config: String,
        pub date_created: i64,
        pub date_updated: i64,
    }
}

record! {
    pub struct RefusedMessageRow in "refused_messages" key sid {
        pub sid: String,
        pub account_sid: String,
        pub from_address: String,
        pub to_address: String,
        pub body: Option<String>,
        pub reason: String,
        pub date_created: i64,
    }
}

record! {
    pub struct HandoffRow in "handoffs" key sid {
        pub sid: String,
        pub account_sid: String,
        pub flow_sid: String,
        pub execution_sid: String,
        pub conversation_sid: Option<String>,
        pub workflow: String,
        pub channel: String,
        pub attributes: String,
        pub priority: i64,
        pub timeout: i64,
        pub date_created: i64,
    }
}
