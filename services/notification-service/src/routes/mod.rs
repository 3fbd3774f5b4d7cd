//! HTTP routes of notification-service.

mod notifications;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use sqlx::PgPool;

pub use notifications::{router, NotificationDto};

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub identity: IdentityKeys,
}
