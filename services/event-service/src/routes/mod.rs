//! HTTP routes of event-service.

mod events;
mod venues;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use kit::kafka::Topics;
use sqlx::PgPool;

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub topics: Topics,
    pub identity: IdentityKeys,
    pub limits: Limits,
}

/// Request limits from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_event_seats: u32,
}

/// Every route of the service, with its OpenAPI description (`kit::openapi`).
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    events::router().merge(venues::router())
}
