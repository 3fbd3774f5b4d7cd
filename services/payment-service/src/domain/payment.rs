//! A row of `payments`: one per booking.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PaymentStatus;

/// The namespace of [`Payment::id_for_booking`] (a fixed random UUID).
const PAYMENT_IDS: Uuid = Uuid::from_u128(0x0c2f_6a55_3d1e_4b7a_8f43_91d2_7e5a_c0b1);

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

    /// The simulated processor's reference of a charge that went through (TicketFlow's
    /// `providerRef`, its mock processor's `mock-txn-<12 hex>` form): derived from the id, so
    /// nothing more is stored. None for a payment never captured.
    pub fn provider_ref(&self) -> Option<String> {
        match self.status {
            PaymentStatus::Captured | PaymentStatus::Refunded => {
                Some(format!("mock-txn-{}", &self.id.simple().to_string()[..12]))
            }
            PaymentStatus::Failed | PaymentStatus::Voided => None,
        }
    }

    /// The id of a booking's payment (a UUID v5 of the booking): known before the processor
    /// settles it, so TicketFlow's `create-order` can name the payment `verify` will ask about.
    pub fn id_for_booking(booking_id: Uuid) -> Uuid {
        Uuid::new_v5(&PAYMENT_IDS, booking_id.as_bytes())
    }

    /// The order TicketFlow's checkout (`create-order`, `verify`) knows payment `id` by: derived
    /// from it, as there is no payment gateway to issue one.
    pub fn order_id(id: Uuid) -> String {
        format!("order_{}", &id.simple().to_string()[..14])
    }
}
