//! notification-service's part of the saga: tell the user once per thing that happened.
//!
//! ```text
//!   user.registered     ─┐
//!   booking.confirmed   ─┤ tx: inbox claim
//!   booking.failed      ─┤     (user.registered: upsert the users directory)
//!   booking.cancelled   ─┘     INSERT notification (recipient = directory email)
//!                                ON CONFLICT DO NOTHING   <- one per (booking, kind), one WELCOME per user
//!                            commit
//!                            inserted, SMTP_URL set, recipient known ──> send (<= 10 s)
//!                                                                        ──> SENT | SEND_FAILED
//! ```
//!
//! The inbox drops a redelivered message; the unique indexes drop a second message about the
//! same thing (another eventId, or the same booking closed twice).

use std::sync::Arc;

use kit::app::Infra;
use kit::bug_variants::BugVariant;
use kit::consumer::{Delivery, HandlerError, Outcome};
use kit::kafka::topic;
use kit::messages::UserRegistered;
use kit::metrics::Metrics;
use prometheus::{IntCounterVec, Opts};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Draft, NotificationKind, NotificationStatus};
use crate::mailer::{Mail, Mailer, SEND_TIMEOUT};

/// The topics notification-service consumes.
pub const TOPICS: [&str; 4] = [
    topic::USER_REGISTERED,
    topic::BOOKING_CONFIRMED,
    topic::BOOKING_FAILED,
    topic::BOOKING_CANCELLED,
];

/// The messages this service reads, under the names its handlers use.
pub type ConfirmedBooking = kit::messages::BookingConfirmed;
pub type ClosedBooking = kit::messages::BookingClosed;

/// notification-service's own series, registered on the service's registry.
#[derive(Clone)]
pub struct NotificationMetrics {
    /// `notifications_recorded_total{kind}`.
    recorded: IntCounterVec,
    /// `notification_mails_total{outcome}`: `sent` or `failed`.
    mails: IntCounterVec,
}

impl NotificationMetrics {
    /// # Errors
    /// When the series are registered twice on `metrics`.
    pub fn register(metrics: &Metrics) -> anyhow::Result<Self> {
        let recorded = metrics.register(IntCounterVec::new(
            Opts::new(
                "notifications_recorded_total",
                "Notifications recorded by kind",
            ),
            &["kind"],
        )?)?;
        let mails = metrics.register(IntCounterVec::new(
            Opts::new("notification_mails_total", "Notification mails by outcome"),
            &["outcome"],
        )?)?;
        Ok(Self { recorded, mails })
    }
}

/// A notification just stored, to be mailed.
#[derive(Debug, sqlx::FromRow)]
struct Recorded {
    id: Uuid,
    recipient: Option<String>,
}

/// The handlers, with what they need.
pub struct Notifications {
    pool: PgPool,
    /// `None` without `SMTP_URL`: notifications are recorded only.
    mailer: Option<Arc<dyn Mailer>>,
    metrics: NotificationMetrics,
    /// The deliberately broken behaviour switched on, if any (`kit::bug_variants`).
    bug_variant: Option<BugVariant>,
}

impl Notifications {
    pub fn new(
        pool: PgPool,
        mailer: Option<Arc<dyn Mailer>>,
        metrics: NotificationMetrics,
    ) -> Self {
        Self {
            pool,
            mailer,
            metrics,
            bug_variant: None,
        }
    }

    /// The same handlers with `variant` switched on (a no-op in builds without the variants).
    pub fn with_bug_variant(mut self, variant: Option<BugVariant>) -> Self {
        self.bug_variant = variant;
        self
    }

    /// Shapes the schema for the bug variant switched on: inbox-off drops the unique
    /// `(booking_id, kind)` that would otherwise still drop a redelivered message. Nothing for
    /// the correct build.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prepare_bug_variant(&self) -> Result<(), sqlx::Error> {
        if kit::bug_variants::is_on(self.bug_variant, BugVariant::InboxOff) {
            sqlx::query("DROP INDEX IF EXISTS notifications_one_per_booking_and_kind")
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
    #[tracing::instrument(skip_all, fields(topic = delivery.topic, message_id = %delivery.message_id))]
    pub async fn handle(&self, delivery: &Delivery) -> Result<Outcome, HandlerError> {
        match delivery.topic {
            topic::USER_REGISTERED => {
                let user = delivery.parse::<UserRegistered>()?.payload;
                self.record(
                    delivery,
                    None,
                    user.user_id,
                    Some(&user),
                    None,
                    Draft::welcome(&user.name, &user.email),
                )
                .await
            }
            topic::BOOKING_CONFIRMED | topic::BOOKING_FAILED | topic::BOOKING_CANCELLED => {
                let (booking_id, user_id, email, draft) =
                    if delivery.topic == topic::BOOKING_CONFIRMED {
                        let booking = delivery.parse::<ConfirmedBooking>()?.payload;
                        let draft = Draft::confirmed(
                            booking.booking_id,
                            &booking.event_name,
                            booking.seat_ids.len(),
                            booking.amount_cents(),
                        );
                        (
                            booking.booking_id,
                            booking.user_id,
                            booking.user_email,
                            draft,
                        )
                    } else {
                        let booking = delivery.parse::<ClosedBooking>()?.payload;
                        let kind = if delivery.topic == topic::BOOKING_CANCELLED {
                            NotificationKind::Cancelled
                        } else {
                            NotificationKind::for_failure(&booking.reason)
                        };
                        let draft = Draft::closed(
                            kind,
                            booking.booking_id,
                            &booking.event_name,
                            &booking.reason,
                        );
                        (
                            booking.booking_id,
                            booking.user_id,
                            booking.user_email,
                            draft,
                        )
                    };
                self.record(
                    delivery,
                    Some(booking_id),
                    user_id,
                    None,
                    Some(&email),
                    draft,
                )
                .await
            }
            other => Err(HandlerError::Poison(anyhow::anyhow!(
                "notification-service does not consume {other}"
            ))),
        }
    }

    /// Stores the notification once (and the user, for `user.registered`), then mails it.
    async fn record(
        &self,
        delivery: &Delivery,
        booking_id: Option<Uuid>,
        user_id: Uuid,
        registered: Option<&UserRegistered>,
        email_in_message: Option<&str>,
        draft: Draft,
    ) -> Result<Outcome, HandlerError> {
        let Some(mut tx) =
            kit::bug_variants::inbox_begin(&self.pool, delivery, self.bug_variant).await?
        else {
            return Ok(Outcome::Duplicate);
        };
        if let Some(user) = registered {
            upsert_user(&mut tx, user).await?;
        }
        let recorded =
            insert_notification(&mut tx, user_id, booking_id, &draft, email_in_message).await?;
        kit::outbox::commit(tx).await?;
        let Some(recorded) = recorded else {
            tracing::info!(kind = %draft.kind, %user_id, ?booking_id, "already notified; nothing recorded");
            return Ok(Outcome::Ignored);
        };
        self.metrics
            .recorded
            .with_label_values(&[draft.kind.as_str()])
            .inc();
        tracing::info!(notification_id = %recorded.id, kind = %draft.kind, %user_id, ?booking_id, "notification recorded");
        if let (Some(mailer), Some(to)) = (&self.mailer, recorded.recipient) {
            let mail = Mail {
                to,
                subject: draft.subject,
                body: draft.body,
            };
            self.deliver(mailer.as_ref(), recorded.id, &mail).await;
        }
        Ok(Outcome::Processed)
    }

    /// Sends `mail` (at most [`SEND_TIMEOUT`]) and records the result. Failures are logged and
    /// counted, never retried through the consumer: the notification itself is stored.
    async fn deliver(&self, mailer: &dyn Mailer, notification_id: Uuid, mail: &Mail) {
        let sent = match tokio::time::timeout(SEND_TIMEOUT, mailer.send(mail)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(anyhow::anyhow!(
                "no answer from the SMTP server within {SEND_TIMEOUT:?}"
            )),
        };
        let status = match sent {
            Ok(()) => {
                self.metrics.mails.with_label_values(&["sent"]).inc();
                NotificationStatus::Sent
            }
            Err(error) => {
                self.metrics.mails.with_label_values(&["failed"]).inc();
                tracing::warn!(%notification_id, error = ?error, "notification mail not sent");
                NotificationStatus::SendFailed
            }
        };
        if let Err(error) = mark(&self.pool, notification_id, status).await {
            tracing::warn!(%notification_id, %status, error = ?error, "cannot record the mail outcome");
        }
    }
}

async fn upsert_user(tx: &mut PgConnection, user: &UserRegistered) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, updated_at = now()",
    )
    .bind(user.user_id)
    .bind(&user.email)
    .bind(&user.name)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts the notification addressed to the user's known email; `None` when one of its kind
/// exists already for the booking (or, for WELCOME, the user).
/// Records the notification, addressed to the user's email as user.registered gave it, else to
/// the message's own `userEmail` (TicketFlow's booking messages carry one; its user-service may
/// not share our broker); none when neither is known.
async fn insert_notification(
    tx: &mut PgConnection,
    user_id: Uuid,
    booking_id: Option<Uuid>,
    draft: &Draft,
    email_in_message: Option<&str>,
) -> Result<Option<Recorded>, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO notifications (id, user_id, booking_id, kind, subject, body, recipient)
         SELECT $1, $2, $3, $4, $5, $6, COALESCE((SELECT email FROM users WHERE id = $2), $7)
         ON CONFLICT DO NOTHING
         RETURNING id, recipient",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(booking_id)
    .bind(draft.kind.as_str())
    .bind(&draft.subject)
    .bind(&draft.body)
    .bind(email_in_message.filter(|e| !e.is_empty()))
    .fetch_optional(&mut *tx)
    .await
}

async fn mark(
    pool: &PgPool,
    notification_id: Uuid,
    status: NotificationStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET status = $2, sent_at = CASE WHEN $2::text = 'SENT' THEN now() END WHERE id = $1",
    )
    .bind(notification_id)
    .bind(status.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Consumes [`TOPICS`] until `token` is cancelled; logs (does not return) a consumer that cannot
/// start.
pub async fn run(infra: Infra, notifications: Arc<Notifications>, token: CancellationToken) {
    let handler = kit::consumer::handler(move |delivery| {
        let notifications = notifications.clone();
        async move { notifications.handle(&delivery).await }
    });
    infra.run_consumer(&TOPICS, handler, token).await
}
