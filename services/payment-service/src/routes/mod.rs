//! HTTP routes of payment-service.

mod checkout;
mod payments;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use sqlx::PgPool;

pub use checkout::{OrderCreated, Verified, SIMULATED_KEY_ID};
pub use payments::PaymentDto;

/// Every route of the service, each with its OpenAPI description.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    payments::router().merge(checkout::router())
}

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub identity: IdentityKeys,
}
