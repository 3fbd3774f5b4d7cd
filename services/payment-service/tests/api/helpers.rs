//! `spawn_app()`: payment-service on port 0 with its own database and topics, a producer to feed
//! it saga messages, and helpers to observe what it did (rows, topics, HTTP, metrics).

use std::time::Duration;

use kit::kafka::{topic, Envelope};
use kit::messages::PaymentRequested;
use kit::testing::{self, TestService};
use payment_service::domain::{Payment, PaymentStatus, SuccessRate};
use uuid::Uuid;

pub use kit::testing::{assert_error, booking_closed, identity, metric, WAIT};

/// A running payment-service (see [`TestService`]); it stops when this is dropped.
pub struct TestApp {
    service: TestService,
}

kit::deref_test_service!(TestApp);

/// Topics payment-service reads and writes.
const TOPICS: [&str; 4] = [
    topic::PAYMENT_REQUESTED,
    topic::PAYMENT_PROCESSED,
    topic::BOOKING_FAILED,
    topic::BOOKING_CANCELLED,
];

/// payment-service that always succeeds after 10 ms.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(1.0, Duration::from_millis(10)).await
}

/// payment-service with the given processor behaviour.
pub async fn spawn_app_with(success_rate: f64, latency: Duration) -> TestApp {
    let common = testing::fresh_common("ticketflow_payments", &TOPICS).await;
    let settings = payment_service::Settings {
        common: common.clone(),
        success_rate: SuccessRate::parse(success_rate).expect("a probability"),
        latency,
    };
    TestApp {
        service: TestService::build::<payment_service::Application>(settings, &common).await,
    }
}

/// A `payment.requested` envelope with a fresh eventId.
pub fn payment_requested(
    booking_id: Uuid,
    user_id: Uuid,
    amount_cents: i64,
) -> Envelope<PaymentRequested> {
    Envelope::new(
        topic::PAYMENT_REQUESTED,
        PaymentRequested::new(booking_id, user_id, amount_cents),
    )
}

impl TestApp {
    /// The booking's payment row, if any.
    pub async fn payment_for(&self, booking_id: Uuid) -> Option<Payment> {
        sqlx::query_as(&format!(
            "SELECT {} FROM payments WHERE booking_id = $1",
            Payment::COLUMNS
        ))
        .bind(booking_id)
        .fetch_optional(&self.pool)
        .await
        .expect("payments query")
    }

    /// Publishes a `payment.requested` for `booking_id`; returns the envelope sent.
    pub async fn request_payment(
        &self,
        booking_id: Uuid,
        user_id: Uuid,
        amount_cents: i64,
    ) -> Envelope<PaymentRequested> {
        let request = payment_requested(booking_id, user_id, amount_cents);
        self.publish(topic::PAYMENT_REQUESTED, booking_id, &request)
            .await;
        request
    }

    /// Polls until the booking's payment has `status`, or panics after [`WAIT`].
    pub async fn wait_for_status(&self, booking_id: Uuid, status: PaymentStatus) -> Payment {
        self.wait_for_payment(booking_id, |p| p.status == status)
            .await
    }

    /// Polls until the booking's payment satisfies `done`, or panics after [`WAIT`].
    pub async fn wait_for_payment(
        &self,
        booking_id: Uuid,
        done: impl Fn(&Payment) -> bool,
    ) -> Payment {
        testing::eventually(&format!("booking {booking_id}: payment state"), || async {
            match self.payment_for(booking_id).await {
                Some(p) if done(&p) => Ok(p),
                other => Err(other),
            }
        })
        .await
    }

    /// How many payment rows the booking has.
    pub async fn payment_count(&self, booking_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE booking_id = $1")
            .bind(booking_id)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }
}
