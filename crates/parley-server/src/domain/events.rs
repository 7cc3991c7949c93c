//! Events a domain operation causes. They name Twilio's post-event webhooks; the
//! runtime decides who hears them.

use parley_store::{
    ConversationRow, ConversationWebhookRow, HandoffRow, MessageRow, ParticipantRow, ReceiptRow,
    UserRow,
};

/// Where an action came from (Twilio's `Source` webhook field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Sdk,
    Sms,
    Whatsapp,
    /// A Studio flow's own message (author `system`).
    Studio,
    /// Parley itself: timers, auto-creation.
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "API",
            Source::Sdk => "SDK",
            Source::Sms => "SMS",
            Source::Whatsapp => "WHATSAPP",
            Source::Studio => "API",
            Source::System => "API",
        }
    }

    /// The message `source` column value.
    pub fn message_source(self) -> &'static str {
        match self {
            Source::Api => "API",
            Source::Sdk => "SDK",
            Source::Sms => "SMS",
            Source::Whatsapp => "WHATSAPP",
            Source::Studio => "STUDIO",
            Source::System => "API",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReason {
    Api,
    Timer,
    Event,
}

impl StateReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::Api => "API",
            StateReason::Timer => "TIMER",
            StateReason::Event => "EVENT",
        }
    }
}

#[derive(Debug, Clone)]
pub enum DomainEvent {
    ConversationAdded {
        conversation: ConversationRow,
    },
    ConversationUpdated {
        conversation: ConversationRow,
    },
    ConversationRemoved {
        conversation: ConversationRow,
    },
    ConversationStateUpdated {
        conversation: ConversationRow,
        from: String,
        to: String,
        reason: StateReason,
    },
    ParticipantAdded {
        conversation: ConversationRow,
        participant: ParticipantRow,
    },
    ParticipantUpdated {
        conversation: ConversationRow,
        participant: ParticipantRow,
    },
    ParticipantRemoved {
        conversation: ConversationRow,
        participant: ParticipantRow,
    },
    MessageAdded {
        conversation: ConversationRow,
        message: MessageRow,
    },
    MessageUpdated {
        conversation: ConversationRow,
        message: MessageRow,
    },
    MessageRemoved {
        conversation: ConversationRow,
        message: MessageRow,
    },
    DeliveryUpdated {
        receipt: ReceiptRow,
        /// The receipt's conversation as it was when the receipt was written, when whoever
        /// emits the event has it at hand (the fan-out does): dispatch then need not read
        /// it again. So a receipt written just before the same operation closed the
        /// conversation is still announced to the conversation's webhooks.
        conversation: Option<ConversationRow>,
    },
    UserAdded {
        user: UserRow,
    },
    UserUpdated {
        user: UserRow,
    },
    /// A new scoped webhook with `ReplayAfter`: existing messages from that index on are
    /// delivered to it (and only to it) once.
    WebhookReplay {
        conversation: ConversationRow,
        webhook: ConversationWebhookRow,
        after_index: i64,
    },
    /// A flow handed its contact to a person (`send-to-flex`). Parley's own event, for an
    /// agent desk listening on the account's or service's post-event webhook.
    FlowHandoff {
        handoff: HandoffRow,
        conversation: Option<ConversationRow>,
    },
}

impl DomainEvent {
    /// Twilio's post-event name.
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::ConversationAdded { .. } => "onConversationAdded",
            DomainEvent::ConversationUpdated { .. } => "onConversationUpdated",
            DomainEvent::ConversationRemoved { .. } => "onConversationRemoved",
            DomainEvent::ConversationStateUpdated { .. } => "onConversationStateUpdated",
            DomainEvent::ParticipantAdded { .. } => "onParticipantAdded",
            DomainEvent::ParticipantUpdated { .. } => "onParticipantUpdated",
            DomainEvent::ParticipantRemoved { .. } => "onParticipantRemoved",
            DomainEvent::MessageAdded { .. } => "onMessageAdded",
            DomainEvent::MessageUpdated { .. } => "onMessageUpdated",
            DomainEvent::MessageRemoved { .. } => "onMessageRemoved",
            DomainEvent::DeliveryUpdated { .. } => "onDeliveryUpdated",
            DomainEvent::UserAdded { .. } => "onUserAdded",
            DomainEvent::UserUpdated { .. } => "onUserUpdated",
            DomainEvent::WebhookReplay { .. } => "onMessageAdded",
            DomainEvent::FlowHandoff { .. } => "onFlowHandoff",
        }
    }

    pub fn conversation(&self) -> Option<&ConversationRow> {
        match self {
            DomainEvent::ConversationAdded { conversation }
            | DomainEvent::ConversationUpdated { conversation }
            | DomainEvent::ConversationRemoved { conversation }
            | DomainEvent::ConversationStateUpdated { conversation, .. }
            | DomainEvent::ParticipantAdded { conversation, .. }
            | DomainEvent::ParticipantUpdated { conversation, .. }
            | DomainEvent::ParticipantRemoved { conversation, .. }
            | DomainEvent::MessageAdded { conversation, .. }
            | DomainEvent::MessageUpdated { conversation, .. }
            | DomainEvent::MessageRemoved { conversation, .. }
            | DomainEvent::WebhookReplay { conversation, .. } => Some(conversation),
            _ => None,
        }
    }
}
