//! Conversations v1, one module per Twilio resource. Service-scoped resources are served
//! twice: under `/v1` (the account's default service) and under
//! `/v1/Services/{ChatServiceSid}`.

pub mod address_configs;
pub mod configuration;
pub mod conversation_with_participants;
// The Conversation resource inside the Conversations API: the name is Twilio's.
#[allow(clippy::module_inception)]
pub mod conversations;
pub mod credentials;
pub mod messages;
pub mod participant_conversations;
pub mod participants;
pub mod roles;
pub mod services;
pub mod users;
pub mod views;
pub mod webhooks;

use axum::Router;

use crate::app::App;

/// Resources that live in a service, with paths relative to the service.
fn service_scoped() -> Router<App> {
    Router::new()
        .merge(conversations::routes())
        .merge(participants::routes())
        .merge(messages::routes())
        .merge(webhooks::routes())
        .merge(users::routes())
        .merge(roles::routes())
        .merge(participant_conversations::routes())
        .merge(conversation_with_participants::routes())
}

pub fn routes() -> Router<App> {
    Router::new()
        .nest("/v1", service_scoped())
        .nest("/v1/Services/{ChatServiceSid}", service_scoped())
        .merge(services::routes())
        .merge(configuration::routes())
        .merge(address_configs::routes())
        .merge(credentials::routes())
}
