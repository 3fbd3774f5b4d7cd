//! A row of `payments`: one per booking.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PaymentStatus;

/// A booking's payment as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub user_id: Uuid,
    pub amount_cents: i64,
    #[sqlx(try_from = "String")]
    pub status: PaymentStatus,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl Payment {
    /// Every column, in the order of the struct (for `SELECT`/`RETURNING`).
    pub const COLUMNS: &'static str =
        "id, booking_id, user_id, amount_cents, status, failure_reason, created_at, updated_at, refunded_at";

    /// The amount in currency units, as the API shows it.
    pub fn amount(&self) -> f64 {
        self.amount_cents as f64 / 100.0
    }
}
