//! booking-service's consumers: the seat map catalog and the saga's replies.

use std::sync::Arc;

use kit::consumer::{Delivery, HandlerError, Outcome};
use kit::kafka::{topic, Envelope};
use kit::messages::{
    seat_id, EventCreated, EventUpdated, PaymentProcessed, PaymentRequested, SeatsLockFailed,
    SeatsLocked, SEATS_LOST,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::state::{lock_booking, Booking, Transitions};

/// When the seats of `locked` stop being held: its `lockedUntil`, or for a TicketFlow inventory's
/// message (none) TicketFlow's lock lifetime from now.
fn locked_until(locked: &SeatsLocked) -> chrono::DateTime<chrono::Utc> {
    locked.locked_until.unwrap_or_else(|| {
        chrono::Utc::now() + chrono::Duration::seconds(kit::messages::TICKETFLOW_LOCK_SECS)
    })
}

/// Topics booking-service consumes.
pub const TOPICS: [&str; 5] = [
    topic::EVENT_CREATED,
    topic::EVENT_UPDATED,
    topic::SEATS_LOCKED,
    topic::SEATS_LOCK_FAILED,
    topic::PAYMENT_PROCESSED,
];

/// What the handlers share.
pub struct Saga {
    pub pool: PgPool,
    pub transitions: Transitions,
    /// The deliberately broken behaviour switched on, if any (`kit::bug_variants`).
    pub bug_variant: Option<kit::bug_variants::BugVariant>,
}

impl Saga {
    /// Dispatches a delivery to its handler.
    pub async fn handle(self: Arc<Self>, delivery: Delivery) -> Result<Outcome, HandlerError> {
        match delivery.topic {
            topic::EVENT_CREATED => self.on_event_created(&delivery).await,
            topic::EVENT_UPDATED => self.on_event_updated(&delivery).await,
            topic::SEATS_LOCKED => self.on_seats_locked(&delivery).await,
            topic::SEATS_LOCK_FAILED => self.on_lock_failed(&delivery).await,
            topic::PAYMENT_PROCESSED => self.on_payment_processed(&delivery).await,
            other => Err(HandlerError::Poison(anyhow::anyhow!(
                "unexpected topic {other}"
            ))),
        }
    }

    async fn on_event_created(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let event = delivery.parse::<EventCreated>()?.payload;
        let (ids, prices): (Vec<_>, Vec<_>) = event
            .seats()
            .map(|s| {
                (
                    seat_id(event.event_id, &s.section, &s.seat_number),
                    s.price_cents,
                )
            })
            .unzip();
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        // An event.updated applied before (it travels on another topic, so it may overtake
        // event.created) holds a newer name: keep it.
        sqlx::query(
            "INSERT INTO events (event_id, name) VALUES ($1, $2)
             ON CONFLICT (event_id) DO UPDATE SET name = $2 WHERE events.status_updated_at IS NULL",
        )
        .bind(event.event_id)
        .bind(&event.name)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO seat_catalog (seat_id, event_id, price_cents)
             SELECT s, $1, p FROM UNNEST($2::uuid[], $3::bigint[]) AS t(s, p)
             ON CONFLICT (seat_id) DO NOTHING",
        )
        .bind(event.event_id)
        .bind(&ids)
        .bind(&prices)
        .execute(&mut *tx)
        .await?;
        kit::outbox::commit(tx).await?;
        Ok(Outcome::Processed)
    }

    /// Name and sale status of an event, applied only over an older state (`updated_at` is
    /// event-service's clock, one writer per event). An update that overtook its event.created
    /// makes the row; the seat prices follow with event.created, and until then a booking of
    /// that event is refused as naming unknown seats.
    async fn on_event_updated(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let event = delivery.parse::<EventUpdated>()?.payload;
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        let applied = sqlx::query(
            "INSERT INTO events (event_id, name, status, status_updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (event_id) DO UPDATE SET name = $2, status = $3, status_updated_at = $4
             WHERE events.status_updated_at IS NULL OR events.status_updated_at < $4",
        )
        .bind(event.event_id)
        .bind(&event.name)
        .bind(&event.status)
        .bind(event.updated_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        kit::outbox::commit(tx).await?;
        Ok(if applied == 1 {
            Outcome::Processed
        } else {
            Outcome::Ignored
        })
    }

    /// Opens the handler's transaction, claims `delivery` in the inbox and locks the booking's
    /// row; `None` when the delivery was handled before.
    ///
    /// # Errors
    /// Poison for a booking this service does not know.
    async fn claim_booking(
        &self,
        delivery: &Delivery,
        booking_id: Uuid,
    ) -> Result<Option<(Transaction<'static, Postgres>, Booking)>, HandlerError> {
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(None);
        };
        let Some(booking) = lock_booking(&mut tx, booking_id).await? else {
            return Err(HandlerError::Poison(anyhow::anyhow!(
                "unknown booking {booking_id}"
            )));
        };
        Ok(Some((tx, booking)))
    }

    async fn on_seats_locked(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let locked = delivery.parse::<SeatsLocked>()?.payload;
        let Some((mut tx, booking)) = self.claim_booking(delivery, locked.booking_id).await? else {
            return Ok(Outcome::Duplicate);
        };
        let outcome = if booking.is_pending() && booking.stage == "AWAITING_SEATS" {
            sqlx::query(
                "UPDATE bookings SET stage = 'AWAITING_PAYMENT', lock_expires_at = $2, updated_at = now() WHERE id = $1",
            )
            .bind(booking.id)
            .bind(locked_until(&locked))
            .execute(&mut *tx)
            .await?;
            let request = PaymentRequested::new(booking.id, booking.user_id, booking.amount_cents);
            kit::outbox::enqueue(
                &mut tx,
                &self.transitions.topics,
                topic::PAYMENT_REQUESTED,
                &booking.id.to_string(),
                &Envelope::new(topic::PAYMENT_REQUESTED, request),
            )
            .await?;
            Outcome::Processed
        } else if booking.is_closed() {
            // The booking ended (expired, cancelled) before its seats were locked: give them back.
            self.transitions
                .seats_command(&mut tx, &booking, topic::SEATS_RELEASE, Some("LATE_LOCK"))
                .await?;
            Outcome::Processed
        } else {
            Outcome::Ignored
        };
        kit::outbox::commit(tx).await?;
        Ok(outcome)
    }

    async fn on_lock_failed(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let failed = delivery.parse::<SeatsLockFailed>()?.payload;
        let Some((mut tx, booking)) = self.claim_booking(delivery, failed.booking_id).await? else {
            return Ok(Outcome::Duplicate);
        };
        let outcome = if booking.is_pending() && booking.stage == "AWAITING_SEATS" {
            self.transitions
                .close(&mut tx, &booking, "FAILED", "LOCK_FAILED")
                .await?;
            Outcome::Processed
        } else if failed.reason == SEATS_LOST && booking.status == "CONFIRMED" {
            // Confirmed, then inventory found seats of it held by another booking: a booking
            // without its seats must not stay CONFIRMED. Failing it publishes booking.failed
            // (payment-service refunds the capture, the user is told) and seats.release (the
            // seats it did keep; inventory's owner check leaves the other booking's alone).
            tracing::error!(booking_id = %booking.id, lost = ?failed.conflicting_seat_ids, "confirmed booking lost seats to another booking; failing and refunding it");
            self.transitions
                .close(&mut tx, &booking, "FAILED", SEATS_LOST)
                .await?;
            Outcome::Processed
        } else {
            Outcome::Ignored
        };
        kit::outbox::commit(tx).await?;
        Ok(outcome)
    }

    async fn on_payment_processed(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let payment = delivery.parse::<PaymentProcessed>()?.payload;
        let Some((mut tx, booking)) = self.claim_booking(delivery, payment.booking_id).await?
        else {
            return Ok(Outcome::Duplicate);
        };
        let success = payment.status == "SUCCESS";
        let lock_still_held = booking
            .lock_expires_at
            .is_some_and(|until| until > chrono::Utc::now());
        let no_guard = kit::bug_variants::is_on(
            self.bug_variant,
            kit::bug_variants::BugVariant::NoStatusGuard,
        );
        let outcome = match (booking.status.as_str(), success) {
            ("PENDING" | "FAILED" | "EXPIRED" | "CANCELLED", true) if no_guard => {
                // The bug: a capture confirms the booking whatever became of it and its seats.
                self.transitions
                    .confirm(&mut tx, &booking, payment.payment_id)
                    .await?;
                Outcome::Processed
            }
            ("PENDING", true) if lock_still_held => {
                self.transitions
                    .confirm(&mut tx, &booking, payment.payment_id)
                    .await?;
                Outcome::Processed
            }
            ("PENDING", true) => {
                // Paid, but the seat lock may already be swept: never confirm seats we may not hold.
                self.transitions
                    .close(&mut tx, &booking, "EXPIRED", "EXPIRED")
                    .await?;
                Outcome::Processed
            }
            ("PENDING", false) => {
                self.transitions
                    .close(&mut tx, &booking, "FAILED", "PAYMENT_FAILED")
                    .await?;
                Outcome::Processed
            }
            (status @ ("FAILED" | "EXPIRED" | "CANCELLED"), true) => {
                // A capture after the booking closed: announce the close again so it is refunded.
                let reason = booking
                    .failure_reason
                    .clone()
                    .unwrap_or_else(|| status.to_string());
                self.transitions
                    .announce_close(&mut tx, &booking, status, &reason)
                    .await?;
                Outcome::Processed
            }
            _ => Outcome::Ignored,
        };
        kit::outbox::commit(tx).await?;
        Ok(outcome)
    }
}
