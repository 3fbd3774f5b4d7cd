//! `spawn_app()`: booking-service on port 0 with its own database and topics and one event in
//! its catalog (eight seats: VIP row A at 150.00, FLOOR row C at 80.00), plus helpers to book,
//! to answer for inventory and payment, and to read bookings back.

use std::time::Duration;

use chrono::Utc;
use kit::identity::Identity;
use kit::kafka::{topic, Envelope};
use kit::messages::{EventCreated, EventUpdated, PaymentProcessed, SeatsLockFailed, SeatsLocked};
use kit::testing::{self, TestService};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

pub use kit::testing::{assert_error, expect_json, header, identity, WAIT};

/// Seat prices of the test event, in cents.
pub const VIP_CENTS: i64 = 15_000;
pub const FLOOR_CENTS: i64 = 8_000;

/// Topics booking-service reads and writes.
const TOPICS: [&str; 12] = [
    topic::EVENT_CREATED,
    topic::EVENT_UPDATED,
    topic::SEATS_LOCKED,
    topic::SEATS_LOCK_FAILED,
    topic::PAYMENT_PROCESSED,
    topic::BOOKING_INITIATED,
    topic::PAYMENT_REQUESTED,
    topic::BOOKING_CONFIRMED,
    topic::BOOKING_FAILED,
    topic::BOOKING_CANCELLED,
    topic::SEATS_CONFIRM,
    topic::SEATS_RELEASE,
];

/// A running booking-service (see [`TestService`]) and the event in its catalog.
pub struct TestApp {
    service: TestService,
    pub event: EventCreated,
    /// The event's seats in layout order: A1..A4 (VIP), then C1..C4 (FLOOR).
    pub seats: Vec<Uuid>,
}

kit::deref_test_service!(TestApp);

/// booking-service with a 60 s booking timeout.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Duration::from_secs(60)).await
}

/// booking-service whose PENDING bookings expire after `booking_timeout`.
pub async fn spawn_app_with(booking_timeout: Duration) -> TestApp {
    spawn_app_configured(booking_timeout, None).await
}

/// booking-service with a cap of `max_open_bookings` PENDING bookings per user.
pub async fn spawn_app_configured(
    booking_timeout: Duration,
    max_open_bookings: Option<u32>,
) -> TestApp {
    let common = testing::fresh_common("ticketflow_bookings", &TOPICS).await;
    let settings = booking_service::Settings {
        common: common.clone(),
        booking_timeout,
        expiry_scan_interval: Duration::from_millis(100),
        max_seats: 4,
        max_open_bookings,
    };
    let service = TestService::build::<booking_service::Application>(settings, &common).await;
    let created = testing::event_created(
        "Test Fest",
        &[
            ("VIP", VIP_CENTS, &[("A", 4)]),
            ("FLOOR", FLOOR_CENTS, &[("C", 4)]),
        ],
    );
    service
        .publish(topic::EVENT_CREATED, created.payload.event_id, &created)
        .await;
    service
        .wait_until_consumed(created.message_id.unwrap())
        .await;
    TestApp {
        seats: testing::seat_ids(&created.payload),
        event: created.payload,
        service,
    }
}

/// A booking row's saga fields.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Row {
    pub status: String,
    pub stage: String,
    pub failure_reason: Option<String>,
    pub payment_id: Option<Uuid>,
}

impl TestApp {
    /// `POST /api/bookings` for `seats` of the test event, with an `Idempotency-Key` when given.
    pub async fn book(
        &self,
        user: &Identity,
        seats: &[Uuid],
        key: Option<&str>,
    ) -> reqwest::Response {
        self.book_body(
            user,
            &json!({"eventId": self.event.event_id, "seatIds": seats}),
            key,
        )
        .await
    }

    /// `POST /api/bookings` with any body.
    pub async fn book_body(
        &self,
        user: &Identity,
        body: &Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .request(reqwest::Method::POST, "/api/bookings", Some(user))
            .json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.expect("booking-service answers")
    }

    /// Books `seats`, asserting the 202; returns the booking as answered.
    pub async fn book_ok(&self, user: &Identity, seats: &[Uuid]) -> Value {
        expect_json(self.book(user, seats, None).await, StatusCode::ACCEPTED).await
    }

    /// The booking's row.
    pub async fn row(&self, booking: Uuid) -> Row {
        sqlx::query_as(
            "SELECT status, stage, failure_reason, payment_id FROM bookings WHERE id = $1",
        )
        .bind(booking)
        .fetch_one(&self.pool)
        .await
        .expect("booking row")
    }

    /// Polls until the booking's row has `status`, or panics after [`WAIT`].
    pub async fn wait_status(&self, booking: Uuid, status: &str) -> Row {
        testing::eventually(&format!("booking {booking} {status}"), || async {
            let row = self.row(booking).await;
            if row.status == status {
                Ok(row)
            } else {
                Err(row)
            }
        })
        .await
    }

    /// How many bookings the table holds.
    pub async fn booking_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bookings")
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }

    /// event-service's `event.updated` for the test event: `status` as of `updated_at`;
    /// returns once booking-service consumed it.
    pub async fn event_updated(&self, status: &str, updated_at: chrono::DateTime<Utc>) {
        let message = Envelope::new(
            topic::EVENT_UPDATED,
            EventUpdated {
                event_id: self.event.event_id,
                name: self.event.name.clone(),
                status: status.into(),
                updated_at,
            },
        );
        self.publish(topic::EVENT_UPDATED, self.event.event_id, &message)
            .await;
        self.wait_until_consumed(message.message_id.unwrap()).await;
    }

    /// Inventory's answer: every seat of the booking is locked for five minutes.
    pub async fn seats_locked(&self, booking: Uuid, seats: &[Uuid]) -> Uuid {
        let message = Envelope::new(
            topic::SEATS_LOCKED,
            SeatsLocked {
                booking_id: booking,
                event_id: Some(self.event.event_id),
                seat_ids: seats.to_vec(),
                locked_until: Some(Utc::now() + chrono::Duration::minutes(5)),
            },
        );
        self.publish(topic::SEATS_LOCKED, booking, &message).await;
        message.message_id.unwrap()
    }

    /// Inventory's answer: a seat was taken.
    pub async fn seats_lock_failed(&self, booking: Uuid, seats: &[Uuid]) -> Uuid {
        let message = Envelope::new(
            topic::SEATS_LOCK_FAILED,
            SeatsLockFailed {
                booking_id: booking,
                event_id: Some(self.event.event_id),
                seat_ids: seats.to_vec(),
                reason: kit::messages::SEATS_UNAVAILABLE.into(),
                conflicting_seat_ids: seats[..1].to_vec(),
            },
        );
        self.publish(topic::SEATS_LOCK_FAILED, booking, &message)
            .await;
        message.message_id.unwrap()
    }

    /// Payment's answer; returns the message id and the payment id.
    pub async fn payment_processed(
        &self,
        booking: Uuid,
        status: &str,
        amount_cents: i64,
    ) -> (Uuid, Uuid) {
        let payment_id = Uuid::new_v4();
        let message = Envelope::new(
            topic::PAYMENT_PROCESSED,
            PaymentProcessed {
                booking_id: booking,
                payment_id: Some(payment_id),
                status: status.into(),
                amount_cents: Some(amount_cents),
                reason: None,
            },
        );
        self.publish(topic::PAYMENT_PROCESSED, booking, &message)
            .await;
        (message.message_id.unwrap(), payment_id)
    }
}

/// The `id` of a booking as answered.
pub fn id_of(booking: &Value) -> Uuid {
    booking["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a booking with an id: {booking}"))
}

/// Messages about `booking` on a topic, collected for a few seconds.
pub async fn messages_about(reader: &testing::TopicReader, booking: Uuid) -> Vec<Value> {
    reader
        .collect(Duration::from_secs(3), |m| {
            m["bookingId"] == booking.to_string()
        })
        .await
}
