//! HTTP routes of booking-service.

mod bookings;

use axum::extract::FromRef;
use kit::identity::IdentityKeys;
use sqlx::PgPool;

use crate::state::Transitions;

pub use bookings::router;

/// Shared handles for the handlers.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub identity: IdentityKeys,
    pub transitions: Transitions,
    pub limits: Limits,
    /// The deliberately broken behaviour switched on, if any (`kit::bug_variants`).
    pub bug_variant: Option<kit::bug_variants::BugVariant>,
    /// The broker, for the `dual-write` variant only; every correct path goes through the outbox.
    pub producer: rdkafka::producer::FutureProducer,
}

/// Request rules from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_seats: usize,
    /// Most PENDING bookings per user; `None`: no cap.
    pub max_open_bookings: Option<u32>,
    pub booking_timeout: std::time::Duration,
}
