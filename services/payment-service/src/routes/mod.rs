//! HTTP routes of payment-service.

mod payments;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use sqlx::PgPool;

pub use payments::{router, PaymentDto};

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub identity: IdentityKeys,
}
