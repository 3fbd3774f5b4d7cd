//! The booking, its states, and the transitions every path shares (so a cancel, an expiry and a
//! failed payment close a booking the same way).

use chrono::{DateTime, Utc};
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::{BookingClosed, BookingDetails, SeatsCommand};
use prometheus::IntCounterVec;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A booking row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Booking {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The booker's email when the booking was made ('' before it was recorded): TicketFlow's
    /// booking messages carry it.
    pub user_email: String,
    pub event_id: Uuid,
    pub event_name: String,
    pub seat_ids: Vec<Uuid>,
    pub amount_cents: i64,
    pub status: String,
    pub stage: String,
    pub failure_reason: Option<String>,
    pub request_hash: Option<String>,
    pub payment_id: Option<Uuid>,
    pub lock_expires_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const COLUMNS: &str =
    "id, user_id, user_email, event_id, event_name, seat_ids, amount_cents, status, stage,
    failure_reason, request_hash, payment_id, lock_expires_at, expires_at, created_at, updated_at";

impl Booking {
    pub fn is_pending(&self) -> bool {
        self.status == "PENDING"
    }

    /// FAILED, EXPIRED or CANCELLED: the booking holds nothing and never changes again.
    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "FAILED" | "EXPIRED" | "CANCELLED")
    }

    /// The payload of its `booking.initiated` and `booking.confirmed` (TicketFlow's fields, and
    /// the exact amount in cents).
    pub fn details(&self) -> BookingDetails {
        BookingDetails {
            booking_id: self.id,
            user_id: self.user_id,
            user_email: self.user_email.clone(),
            event_id: self.event_id,
            event_name: self.event_name.clone(),
            seat_ids: self.seat_ids.clone(),
            total_amount: kit::messages::units(self.amount_cents),
            exact_cents: Some(self.amount_cents),
        }
    }
}

/// A booking as the API shows it.
// Kept apart from the row `Booking`: the API adds `totalAmount` and never shows stage or hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub event_name: String,
    pub seat_ids: Vec<Uuid>,
    /// In currency units.
    pub total_amount: f64,
    pub amount_cents: i64,
    pub status: String,
    pub failure_reason: Option<String>,
    pub payment_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Booking> for BookingDto {
    fn from(b: Booking) -> Self {
        Self {
            id: b.id,
            user_id: b.user_id,
            event_id: b.event_id,
            event_name: b.event_name,
            seat_ids: b.seat_ids,
            total_amount: b.amount_cents as f64 / 100.0,
            amount_cents: b.amount_cents,
            status: b.status,
            failure_reason: b.failure_reason,
            payment_id: b.payment_id,
            expires_at: b.expires_at,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// Locks and reads one booking inside a transaction.
///
/// # Errors
/// When the query fails.
pub async fn lock_booking(tx: &mut PgConnection, id: Uuid) -> Result<Option<Booking>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// Shared by the HTTP handlers, the saga and the expiry worker.
#[derive(Clone)]
pub struct Transitions {
    pub topics: Topics,
    /// `booking_outcomes_total{outcome}`.
    pub outcomes: IntCounterVec,
    /// Long-polling clients, woken on every status change.
    pub watchers: crate::watchers::StatusWatchers,
}

impl Transitions {
    pub fn new(topics: Topics, registry: &prometheus::Registry) -> Self {
        let outcomes = IntCounterVec::new(
            prometheus::Opts::new("booking_outcomes_total", "Bookings by terminal status"),
            &["outcome"],
        )
        .expect("metric definition is valid");
        registry
            .register(Box::new(outcomes.clone()))
            .expect("registered once");
        Self {
            topics,
            outcomes,
            watchers: crate::watchers::StatusWatchers::default(),
        }
    }

    async fn publish<T: Serialize>(
        &self,
        tx: &mut PgConnection,
        logical: &str,
        booking: Uuid,
        payload: T,
    ) -> anyhow::Result<()> {
        kit::outbox::enqueue(
            tx,
            &self.topics,
            logical,
            &booking.to_string(),
            &Envelope::new(logical, payload),
        )
        .await
    }

    async fn set_status(
        &self,
        tx: &mut PgConnection,
        booking: &Booking,
        status: &str,
        reason: Option<&str>,
        payment_id: Option<Uuid>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE bookings SET status = $2, stage = 'DONE', failure_reason = COALESCE($3, failure_reason),
                    payment_id = COALESCE($4, payment_id), updated_at = now() WHERE id = $1",
        )
        .bind(booking.id)
        .bind(status)
        .bind(reason)
        .bind(payment_id)
        .execute(&mut *tx)
        .await?;
        self.outcomes.with_label_values(&[status]).inc();
        // Before the commit: a woken waiter reads FOR SHARE, which waits for this transaction.
        self.watchers.changed(booking.id);
        Ok(())
    }

    /// PENDING -> CONFIRMED: booking.confirmed + seats.confirm.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn confirm(
        &self,
        tx: &mut PgConnection,
        booking: &Booking,
        payment_id: Option<Uuid>,
    ) -> anyhow::Result<()> {
        self.set_status(tx, booking, "CONFIRMED", None, payment_id)
            .await?;
        self.publish(tx, topic::BOOKING_CONFIRMED, booking.id, booking.details())
            .await?;
        self.seats_command(tx, booking, topic::SEATS_CONFIRM, None)
            .await
    }

    /// PENDING|CONFIRMED -> FAILED / EXPIRED / CANCELLED: the closing message and, unless the
    /// seats were never locked, seats.release (owner-checked by inventory, so always safe).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn close(
        &self,
        tx: &mut PgConnection,
        booking: &Booking,
        status: &str,
        reason: &str,
    ) -> anyhow::Result<()> {
        self.set_status(tx, booking, status, Some(reason), None)
            .await?;
        self.announce_close(tx, booking, status, reason).await?;
        if reason != "LOCK_FAILED" {
            self.seats_command(tx, booking, topic::SEATS_RELEASE, Some(reason))
                .await?;
        }
        Ok(())
    }

    /// The closing message of an already closed booking (again): payment-service refunds a
    /// capture that arrived after the close.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn announce_close(
        &self,
        tx: &mut PgConnection,
        booking: &Booking,
        status: &str,
        reason: &str,
    ) -> anyhow::Result<()> {
        let closed = BookingClosed {
            booking_id: booking.id,
            user_id: booking.user_id,
            user_email: booking.user_email.clone(),
            event_id: Some(booking.event_id),
            event_name: booking.event_name.clone(),
            seat_ids: booking.seat_ids.clone(),
            reason: reason.to_string(),
        };
        let logical = if status == "CANCELLED" {
            topic::BOOKING_CANCELLED
        } else {
            topic::BOOKING_FAILED
        };
        self.publish(tx, logical, booking.id, closed).await
    }

    /// seats.confirm or seats.release for the booking's seats.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn seats_command(
        &self,
        tx: &mut PgConnection,
        booking: &Booking,
        logical: &str,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let command = SeatsCommand {
            booking_id: booking.id,
            event_id: Some(booking.event_id),
            seat_ids: booking.seat_ids.clone(),
            reason: reason.map(str::to_string),
        };
        self.publish(tx, logical, booking.id, command).await
    }
}
