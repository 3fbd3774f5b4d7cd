//! payment-service's part of the saga: charge once per booking, refund or void when the booking
//! closes.
//!
//! ```text
//!   payment.requested ──> row for the booking?
//!       no  ──> processor.charge (sleeps, outside any tx)
//!               tx: inbox claim; INSERT .. ON CONFLICT (booking_id) DO NOTHING
//!                   inserted ──> outbox payment.processed {SUCCESS|FAILED}
//!                   lost the race ──┐
//!       yes ──> tx: inbox claim ────┴─> stored row: CAPTURED/FAILED ──> re-emit the stored result
//!                                                   VOIDED/REFUNDED ──> nothing (Ignored)
//!   booking.failed | booking.cancelled ──> tx: inbox claim;
//!       no row   ──> INSERT VOIDED (amount 0): a later request charges nothing
//!       CAPTURED ──> REFUNDED (refunded_at = now), payments_refunded_total += 1
//!       other    ──> nothing (Ignored)
//! ```
//!
//! The unique `booking_id` decides every race: two deliveries of one request (same or different
//! eventIds, concurrent or not) insert one row; a request and a close racing each other end either
//! VOIDED (close first) or CAPTURED then REFUNDED (request first).

use std::sync::Arc;

use anyhow::Context;
use kit::app::Infra;
use kit::bug_variants::BugVariant;
use kit::consumer::{Delivery, HandlerError, Outcome};
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::{PaymentProcessed, PaymentRequested};
use kit::metrics::Metrics;
use prometheus::{IntCounter, IntCounterVec, Opts};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Payment, PaymentStatus};
use crate::processor::{Charge, SimulatedProcessor};

/// The topics payment-service consumes.
pub const TOPICS: [&str; 3] = [
    topic::PAYMENT_REQUESTED,
    topic::BOOKING_FAILED,
    topic::BOOKING_CANCELLED,
];

/// `booking.failed` / `booking.cancelled` (`reason`: `LOCK_FAILED`, `PAYMENT_FAILED`, `EXPIRED`,
/// `CANCELLED`).
pub type ClosedBooking = kit::messages::BookingClosed;

/// payment-service's own series, registered on the service's registry.
#[derive(Clone)]
pub struct PaymentMetrics {
    /// `payments_charged_total{status}`: charges by result (CAPTURED, FAILED).
    charged: IntCounterVec,
    /// `payments_refunded_total`: captured payments given back because their booking closed.
    refunded: IntCounter,
}

impl PaymentMetrics {
    /// # Errors
    /// When the series are registered twice on `metrics`.
    pub fn register(metrics: &Metrics) -> anyhow::Result<Self> {
        let charged = metrics.register(IntCounterVec::new(
            Opts::new("payments_charged_total", "Charges by result"),
            &["status"],
        )?)?;
        let refunded = metrics.register(IntCounter::new(
            "payments_refunded_total",
            "Captured payments refunded",
        )?)?;
        Ok(Self { charged, refunded })
    }
}

/// The handlers, with what they need. Public so tests can race deliveries against each other.
pub struct Payments {
    pool: PgPool,
    topics: Topics,
    processor: SimulatedProcessor,
    metrics: PaymentMetrics,
    /// The deliberately broken behaviour switched on, if any (`kit::bug_variants`).
    bug_variant: Option<BugVariant>,
}

impl Payments {
    pub fn new(
        pool: PgPool,
        topics: Topics,
        processor: SimulatedProcessor,
        metrics: PaymentMetrics,
    ) -> Self {
        Self {
            pool,
            topics,
            processor,
            metrics,
            bug_variant: None,
        }
    }

    /// The same handlers with `variant` switched on (a no-op in builds without the variants).
    pub fn with_bug_variant(mut self, variant: Option<BugVariant>) -> Self {
        self.bug_variant = variant;
        self
    }

    /// Whether the bug variant inbox-off is on: no inbox and no unique `booking_id`.
    fn inbox_off(&self) -> bool {
        kit::bug_variants::is_on(self.bug_variant, BugVariant::InboxOff)
    }

    /// Shapes the schema for the bug variant switched on: inbox-off drops the unique
    /// `booking_id` that would otherwise still make a redelivered request charge nothing.
    /// Nothing for the correct build.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prepare_bug_variant(&self) -> Result<(), sqlx::Error> {
        if self.inbox_off() {
            sqlx::query("ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_booking_id_key")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Dispatches a delivery by topic.
    ///
    /// # Errors
    /// [`HandlerError::Poison`] for an unparseable message or a topic this service does not
    /// consume; [`HandlerError::Retryable`] for database trouble.
    pub async fn handle(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        match delivery.topic {
            topic::PAYMENT_REQUESTED => self.on_payment_requested(delivery).await,
            topic::BOOKING_FAILED | topic::BOOKING_CANCELLED => {
                self.on_booking_closed(delivery).await
            }
            other => Err(HandlerError::Poison(anyhow::anyhow!(
                "payment-service does not consume {other}"
            ))),
        }
    }

    /// `payment.requested`: charge once per booking, answer with `payment.processed`.
    ///
    /// # Errors
    /// As [`Payments::handle`].
    #[tracing::instrument(skip_all, fields(message_id = %delivery.message_id, booking_id))]
    pub async fn on_payment_requested(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let request = delivery.parse::<PaymentRequested>()?.payload;
        tracing::Span::current().record("booking_id", tracing::field::display(request.booking_id));
        // Only a booking without a row is charged; the insert below still decides races. (The
        // bug variant inbox-off charges on every delivery.)
        let inbox_off = self.inbox_off();
        let charge = if !inbox_off && payment_exists(&self.pool, request.booking_id).await? {
            None
        } else {
            Some(self.processor.charge(request.amount_cents()).await)
        };
        let Some(mut tx) =
            kit::bug_variants::inbox_begin(&self.pool, delivery, self.bug_variant).await?
        else {
            return Ok(Outcome::Duplicate);
        };
        let inserted = match &charge {
            Some(charge) => insert_charge(&mut tx, &request, charge, !inbox_off).await?,
            None => None,
        };
        let charged = inserted.is_some();
        let payment = match inserted {
            Some(payment) => payment,
            None => lock_payment(&mut tx, request.booking_id)
                .await?
                .context("a payment row conflicted but cannot be read")?,
        };
        let Some(status) = payment.status.processed_status() else {
            kit::outbox::commit(tx).await?;
            tracing::info!(status = %payment.status, "payment request for a closed booking; nothing charged");
            return Ok(Outcome::Ignored);
        };
        let answer = Envelope::new(
            topic::PAYMENT_PROCESSED,
            PaymentProcessed {
                booking_id: payment.booking_id,
                payment_id: Some(payment.id),
                status: status.to_string(),
                amount_cents: Some(payment.amount_cents),
                reason: payment.failure_reason.clone(),
            },
        );
        kit::outbox::enqueue(
            &mut tx,
            &self.topics,
            topic::PAYMENT_PROCESSED,
            &payment.booking_id.to_string(),
            &answer,
        )
        .await?;
        kit::outbox::commit(tx).await?;
        if charged {
            self.metrics
                .charged
                .with_label_values(&[payment.status.as_str()])
                .inc();
            tracing::info!(payment_id = %payment.id, status = %payment.status, "payment charged");
        } else {
            tracing::info!(payment_id = %payment.id, status = %payment.status, "payment request repeated; stored result re-sent");
        }
        Ok(Outcome::Processed)
    }

    /// `booking.failed` / `booking.cancelled`: refund a captured payment, or void the booking's
    /// payment before it is ever charged.
    ///
    /// # Errors
    /// As [`Payments::handle`].
    #[tracing::instrument(skip_all, fields(message_id = %delivery.message_id, booking_id))]
    pub async fn on_booking_closed(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        let closed = delivery.parse::<ClosedBooking>()?.payload;
        tracing::Span::current().record("booking_id", tracing::field::display(closed.booking_id));
        let Some(mut tx) =
            kit::bug_variants::inbox_begin(&self.pool, delivery, self.bug_variant).await?
        else {
            return Ok(Outcome::Duplicate);
        };
        if insert_void(&mut tx, &closed, !self.inbox_off()).await? {
            kit::outbox::commit(tx).await?;
            tracing::info!(reason = %closed.reason, "booking closed before any charge; payment voided");
            return Ok(Outcome::Processed);
        }
        if kit::bug_variants::is_on(self.bug_variant, BugVariant::NoRefund) {
            // The bug: the booking is gone, the money stays.
            kit::outbox::commit(tx).await?;
            return Ok(Outcome::Ignored);
        }
        let refunded = refund_captured(&mut tx, closed.booking_id).await?;
        kit::outbox::commit(tx).await?;
        match refunded {
            Some((payment_id, amount_cents)) => {
                self.metrics.refunded.inc();
                tracing::info!(%payment_id, amount_cents, reason = %closed.reason, "payment refunded");
                Ok(Outcome::Processed)
            }
            None => Ok(Outcome::Ignored),
        }
    }
}

async fn payment_exists(pool: &PgPool, booking_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM payments WHERE booking_id = $1)")
        .bind(booking_id)
        .fetch_one(pool)
        .await
}

/// Records the processor's answer; `None` when the booking has a row already (a concurrent
/// duplicate or a close won: it blocks here until that transaction ends). Without
/// `one_per_booking` (the bug variant inbox-off, whose schema has no unique `booking_id`) every
/// answer is a new row.
async fn insert_charge(
    tx: &mut PgConnection,
    request: &PaymentRequested,
    charge: &Charge,
    one_per_booking: bool,
) -> Result<Option<Payment>, sqlx::Error> {
    let (status, amount_cents, reason) = match charge {
        Charge::Captured { amount_cents } => (PaymentStatus::Captured, *amount_cents, None),
        Charge::Declined { reason } => (
            PaymentStatus::Failed,
            request.amount_cents().max(0),
            Some(*reason),
        ),
    };
    sqlx::query_as(&format!(
        "INSERT INTO payments (id, booking_id, user_id, amount_cents, status, failure_reason)
         VALUES ($1, $2, $3, $4, $5, $6)
         {}
         RETURNING {}",
        if one_per_booking {
            "ON CONFLICT (booking_id) DO NOTHING"
        } else {
            ""
        },
        Payment::COLUMNS
    ))
    .bind(payment_id(request.booking_id, one_per_booking))
    .bind(request.booking_id)
    .bind(request.user_id)
    .bind(amount_cents)
    .bind(status.as_str())
    .bind(reason)
    .fetch_optional(&mut *tx)
    .await
}

/// The booking's payment, locked against a concurrent refund until the transaction ends.
async fn lock_payment(
    tx: &mut PgConnection,
    booking_id: Uuid,
) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM payments WHERE booking_id = $1 FOR SHARE",
        Payment::COLUMNS
    ))
    .bind(booking_id)
    .fetch_optional(&mut *tx)
    .await
}

/// The id of a new payment row: the booking's own ([`Payment::id_for_booking`], which TicketFlow's
/// checkout hands out before the charge), or a fresh one where a booking may have several rows
/// (the inbox-off bug variant).
fn payment_id(booking_id: Uuid, one_per_booking: bool) -> Uuid {
    if one_per_booking {
        Payment::id_for_booking(booking_id)
    } else {
        Uuid::new_v4()
    }
}

/// Inserts a VOIDED row when the booking has none; true when it did. Without `one_per_booking`
/// (see [`insert_charge`]) the check is a plain `NOT EXISTS`, which a concurrent charge can race.
async fn insert_void(
    tx: &mut PgConnection,
    closed: &ClosedBooking,
    one_per_booking: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if one_per_booking {
        "INSERT INTO payments (id, booking_id, user_id, amount_cents, status, failure_reason)
         VALUES ($1, $2, $3, 0, 'VOIDED', $4)
         ON CONFLICT (booking_id) DO NOTHING"
    } else {
        "INSERT INTO payments (id, booking_id, user_id, amount_cents, status, failure_reason)
         SELECT $1, $2, $3, 0, 'VOIDED', $4
          WHERE NOT EXISTS (SELECT 1 FROM payments WHERE booking_id = $2)"
    };
    let inserted = sqlx::query(sql)
        .bind(payment_id(closed.booking_id, one_per_booking))
        .bind(closed.booking_id)
        .bind(closed.user_id)
        .bind(&closed.reason)
        .execute(&mut *tx)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// CAPTURED -> REFUNDED; the refunded payment's id and amount, or `None` when there was nothing
/// captured to refund.
async fn refund_captured(
    tx: &mut PgConnection,
    booking_id: Uuid,
) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE payments SET status = 'REFUNDED', refunded_at = now(), updated_at = now()
          WHERE booking_id = $1 AND status = 'CAPTURED'
          RETURNING id, amount_cents",
    )
    .bind(booking_id)
    .fetch_optional(&mut *tx)
    .await
}

/// Consumes [`TOPICS`] until `token` is cancelled; logs (does not return) a consumer that cannot
/// start.
pub async fn run(infra: Infra, payments: Arc<Payments>, token: CancellationToken) {
    let handler = kit::consumer::handler(move |delivery| {
        let payments = payments.clone();
        async move { payments.handle(&delivery).await }
    });
    infra.run_consumer(&TOPICS, handler, token).await
}
