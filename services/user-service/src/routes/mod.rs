//! HTTP routes of user-service.

mod users;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use kit::kafka::Topics;
use kit::token::TokenKeys;
use sqlx::PgPool;

use crate::lockout::Lockout;
use crate::password::Hashing;

pub use users::{ensure_admin, router, UserDto};

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub topics: Topics,
    pub tokens: TokenKeys,
    pub identity: IdentityKeys,
    pub hashing: Hashing,
    pub lockout: Lockout,
}
