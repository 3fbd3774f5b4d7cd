//! inventory-service's side of the saga: one handler per topic, each idempotent (inbox) and
//! guarded (owner and state checks in SQL).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kit::consumer::{Delivery, HandlerError, Outcome};
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::{
    BookingInitiated, EventCreated, SeatsCommand, SeatsLockFailed, SeatsLocked, SEATS_LOST,
    SEATS_UNAVAILABLE,
};
use prometheus::IntCounter;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::locks::{LockOutcome, LockStrategy, SeatLocks};
use crate::seats;

/// Topics inventory-service consumes.
pub const TOPICS: [&str; 4] = [
    topic::EVENT_CREATED,
    topic::BOOKING_INITIATED,
    topic::SEATS_CONFIRM,
    topic::SEATS_RELEASE,
];

/// The event a seats command is about: named by Stampede's booking-service, looked up from the
/// seats for TicketFlow's (which does not name it); `None` when no seat of it is known here.
async fn event_of(
    tx: &mut PgConnection,
    command: &SeatsCommand,
) -> Result<Option<Uuid>, HandlerError> {
    match command.event_id {
        Some(event_id) => Ok(Some(event_id)),
        None => Ok(seats::event_of(tx, &command.seat_ids).await?),
    }
}

/// Counters specific to seat locking.
#[derive(Clone)]
pub struct InventoryMetrics {
    pub redis_fallbacks: IntCounter,
    pub lock_conflicts: IntCounter,
    pub confirm_conflicts: IntCounter,
    pub seats_swept: IntCounter,
}

impl InventoryMetrics {
    pub fn register(registry: &prometheus::Registry) -> Self {
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric definition is valid");
            registry
                .register(Box::new(c.clone()))
                .expect("registered once");
            c
        };
        Self {
            redis_fallbacks: counter(
                "inventory_redis_fallbacks_total",
                "Lock attempts decided by the Postgres guard alone because Redis failed",
            ),
            lock_conflicts: counter(
                "inventory_lock_conflicts_total",
                "Bookings refused because a seat was taken",
            ),
            confirm_conflicts: counter(
                "inventory_confirm_conflicts_total",
                "Seats a confirmed booking could not reserve (held by another booking)",
            ),
            seats_swept: counter(
                "inventory_seats_swept_total",
                "Expired locks returned to AVAILABLE",
            ),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct Inventory {
    pub pool: PgPool,
    pub topics: Topics,
    pub locks: SeatLocks,
    pub lock_ttl: Duration,
    pub unsafe_race_window: Duration,
    pub metrics: InventoryMetrics,
    /// The deliberately broken behaviour switched on, if any (`kit::bug_variants`).
    pub bug_variant: Option<kit::bug_variants::BugVariant>,
}

impl Inventory {
    /// Dispatches a delivery to its handler.
    pub async fn handle(self: Arc<Self>, delivery: Delivery) -> Result<Outcome, HandlerError> {
        match delivery.topic {
            topic::EVENT_CREATED => self.on_event_created(&delivery).await,
            topic::BOOKING_INITIATED => self.on_booking_initiated(&delivery).await,
            topic::SEATS_CONFIRM => self.on_seats_confirm(&delivery).await,
            topic::SEATS_RELEASE => self.on_seats_release(&delivery).await,
            other => Err(HandlerError::Poison(anyhow::anyhow!(
                "unexpected topic {other}"
            ))),
        }
    }

    async fn on_event_created(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let event = delivery.parse::<EventCreated>()?.payload;
        let started = std::time::Instant::now();
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        let inserted = seats::insert_seat_map(&mut tx, &event).await?;
        kit::outbox::commit(tx).await?;
        tracing::info!(event_id = %event.event_id, seats = inserted, elapsed_ms = started.elapsed().as_millis() as u64, "seat map built");
        Ok(Outcome::Processed)
    }

    async fn on_booking_initiated(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let booking = delivery.parse::<BookingInitiated>()?.payload;
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        let known = seats::count_known(&mut tx, booking.event_id, &booking.seat_ids).await?;
        if known < booking.seat_ids.len() as i64 {
            if !seats::event_known(&mut tx, booking.event_id).await? {
                // event.created has not been applied yet: retry (bounded; then the DLT and the
                // booking's timeout end the saga).
                return Err(HandlerError::Retryable(anyhow::anyhow!(
                    "seat map of event {} not built yet",
                    booking.event_id
                )));
            }
            self.fail_lock(&mut tx, &booking, "UNKNOWN_SEATS", Vec::new())
                .await?;
            kit::outbox::commit(tx).await?;
            return Ok(Outcome::Processed);
        }
        let until = Utc::now()
            + chrono::Duration::from_std(self.lock_ttl).unwrap_or(chrono::Duration::minutes(5));

        // 1. Redis: the fast filter. Unreachable Redis -> the Postgres guard decides alone.
        match self
            .locks
            .lock(
                booking.event_id,
                booking.booking_id,
                &booking.seat_ids,
                self.lock_ttl,
            )
            .await
        {
            Ok(LockOutcome::Acquired) => {}
            Ok(LockOutcome::Conflict(taken)) => {
                self.metrics.lock_conflicts.inc();
                self.fail_lock(&mut tx, &booking, SEATS_UNAVAILABLE, taken)
                    .await?;
                kit::outbox::commit(tx).await?;
                return Ok(Outcome::Processed);
            }
            Err(e) if self.locks.strategy() == LockStrategy::Unsafe => {
                return Err(HandlerError::Retryable(
                    anyhow::Error::new(e).context("Redis lock failed"),
                ));
            }
            Err(e) => {
                self.metrics.redis_fallbacks.inc();
                tracing::warn!(booking_id = %booking.booking_id, error = %e, "Redis unreachable; Postgres guard decides alone");
            }
        }

        // 2. Postgres: the guard (or, for `unsafe`, no guard at all).
        let locked = if self.locks.strategy() == LockStrategy::Unsafe {
            seats::lock_unguarded(
                &mut tx,
                booking.event_id,
                booking.booking_id,
                &booking.seat_ids,
                until,
                self.locks.rendezvous(),
                self.unsafe_race_window,
            )
            .await?
        } else {
            seats::lock_guarded(
                &mut tx,
                booking.event_id,
                booking.booking_id,
                &booking.seat_ids,
                until,
            )
            .await?
        };
        match locked {
            Ok(()) => {
                let message = SeatsLocked {
                    booking_id: booking.booking_id,
                    event_id: Some(booking.event_id),
                    seat_ids: booking.seat_ids.clone(),
                    locked_until: Some(until),
                };
                self.publish(&mut tx, topic::SEATS_LOCKED, booking.booking_id, message)
                    .await?;
            }
            Err(taken) => {
                self.metrics.lock_conflicts.inc();
                self.fail_lock(&mut tx, &booking, SEATS_UNAVAILABLE, taken)
                    .await?;
                // Give back what Redis gave us; if Redis is down the sweeper retries.
                self.release_redis_or_defer(
                    &mut tx,
                    booking.event_id,
                    booking.booking_id,
                    &booking.seat_ids,
                )
                .await?;
            }
        }
        kit::outbox::commit(tx).await?;
        Ok(Outcome::Processed)
    }

    async fn fail_lock(
        &self,
        tx: &mut PgConnection,
        booking: &BookingInitiated,
        reason: &str,
        taken: Vec<Uuid>,
    ) -> Result<(), HandlerError> {
        let message = SeatsLockFailed {
            booking_id: booking.booking_id,
            event_id: Some(booking.event_id),
            seat_ids: booking.seat_ids.clone(),
            reason: reason.to_string(),
            conflicting_seat_ids: taken,
        };
        self.publish(tx, topic::SEATS_LOCK_FAILED, booking.booking_id, message)
            .await
    }

    async fn on_seats_confirm(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let command = delivery.parse::<SeatsCommand>()?.payload;
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        let event_id = event_of(&mut tx, &command).await?;
        let guarded = self.locks.strategy() != LockStrategy::Unsafe;
        let confirmed =
            seats::confirm(&mut tx, command.booking_id, &command.seat_ids, guarded).await?;
        match &confirmed {
            seats::Confirmed::Reserved { lost } if !lost.is_empty() => {
                // The booking is CONFIRMED but another booking holds some of its seats (its lock
                // expired and was swept, then the seat was taken). Tell booking-service in this
                // transaction, so the booking is failed, refunded and its other seats freed
                // instead of staying CONFIRMED without seats.
                self.metrics.confirm_conflicts.inc_by(lost.len() as u64);
                tracing::error!(booking_id = %command.booking_id, seats = ?lost, "confirmed booking's seats are held by another booking; asking booking-service to compensate");
                let lost_seats = SeatsLockFailed {
                    booking_id: command.booking_id,
                    event_id,
                    seat_ids: command.seat_ids.clone(),
                    reason: SEATS_LOST.to_string(),
                    conflicting_seat_ids: lost.clone(),
                };
                self.publish(
                    &mut tx,
                    topic::SEATS_LOCK_FAILED,
                    command.booking_id,
                    lost_seats,
                )
                .await?;
            }
            seats::Confirmed::Reserved { .. } | seats::Confirmed::AfterRelease => {}
        }
        kit::outbox::commit(tx).await?;
        if confirmed == seats::Confirmed::AfterRelease {
            // Expected when a cancel follows a confirm closely; the Redis locks are gone too.
            tracing::info!(booking_id = %command.booking_id, "confirm after the booking's release: nothing reserved");
            return Ok(Outcome::Processed);
        }
        let Some(event_id) = event_id else {
            // None of its seats is known here: there is no Redis lock to keep either.
            return Ok(Outcome::Ignored);
        };
        if let Err(e) = self
            .locks
            .confirm(event_id, command.booking_id, &command.seat_ids)
            .await
        {
            // Postgres already says RESERVED; the Redis key keeps its TTL, which only slows others.
            tracing::warn!(booking_id = %command.booking_id, error = %e, "cannot persist Redis locks");
        }
        Ok(Outcome::Processed)
    }

    async fn on_seats_release(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let command = delivery.parse::<SeatsCommand>()?.payload;
        let Some(mut tx) = kit::inbox::begin(&self.pool, delivery).await? else {
            return Ok(Outcome::Duplicate);
        };
        let owner_checked = !kit::bug_variants::is_on(
            self.bug_variant,
            kit::bug_variants::BugVariant::ReleaseWithoutOwnerCheck,
        );
        let released = seats::release(
            &mut tx,
            command.booking_id,
            &command.seat_ids,
            owner_checked,
        )
        .await?;
        if let Some(event_id) = event_of(&mut tx, &command).await? {
            self.release_redis_or_defer(&mut tx, event_id, command.booking_id, &command.seat_ids)
                .await?;
        }
        kit::outbox::commit(tx).await?;
        tracing::debug!(booking_id = %command.booking_id, released, "seats released");
        Ok(if released > 0 {
            Outcome::Processed
        } else {
            Outcome::Ignored
        })
    }

    /// Deletes the booking's Redis locks; when Redis is down, records them for the sweeper in the
    /// caller's transaction, so a stale Redis lock never outlives the Postgres state for long.
    async fn release_redis_or_defer(
        &self,
        tx: &mut PgConnection,
        event_id: Uuid,
        booking: Uuid,
        seat_ids: &[Uuid],
    ) -> Result<(), HandlerError> {
        if let Err(e) = self.locks.release(event_id, booking, seat_ids).await {
            tracing::warn!(booking_id = %booking, error = %e, "Redis release failed; deferred to the sweeper");
            sqlx::query(
                "INSERT INTO redis_cleanup (event_id, seat_id, booking_id) SELECT $1, s, $2 FROM UNNEST($3::uuid[]) s",
            )
            .bind(event_id)
            .bind(booking)
            .bind(seat_ids)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    async fn publish<T: serde::Serialize>(
        &self,
        tx: &mut PgConnection,
        logical: &str,
        booking: Uuid,
        payload: T,
    ) -> Result<(), HandlerError> {
        let envelope = Envelope::new(logical, payload);
        kit::outbox::enqueue(tx, &self.topics, logical, &booking.to_string(), &envelope).await?;
        Ok(())
    }
}
