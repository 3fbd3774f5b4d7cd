//! `spawn_app()`: inventory-service on port 0 with its own database, Redis prefix and topics,
//! helpers that publish what event-service and booking-service would, and readers of the seats
//! in Postgres and Redis.

use std::collections::HashMap;
use std::time::Duration;

use inventory_service::locks::{LockStrategy, SeatLocks};
use kit::kafka::{topic, Envelope};
use kit::messages::{BookingInitiated, EventCreated, SeatsCommand};
use kit::testing::{self, Section, TestService};
use serde_json::Value;
use uuid::Uuid;

pub use kit::testing::{assert_error, metric, strings};

/// Topics inventory-service reads and writes.
const TOPICS: [&str; 6] = [
    topic::EVENT_CREATED,
    topic::BOOKING_INITIATED,
    topic::SEATS_CONFIRM,
    topic::SEATS_RELEASE,
    topic::SEATS_LOCKED,
    topic::SEATS_LOCK_FAILED,
];

/// How a test's inventory-service locks and expires seats.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    pub strategy: LockStrategy,
    pub lock_ttl: Duration,
    pub sweep_interval: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            strategy: LockStrategy::Lua,
            lock_ttl: Duration::from_secs(300),
            sweep_interval: Duration::from_millis(200),
        }
    }
}

/// A running inventory-service (see [`TestService`]) and a view of its Redis keys.
pub struct TestApp {
    service: TestService,
    pub locks: SeatLocks,
}

kit::deref_test_service!(TestApp);

pub async fn spawn_app() -> TestApp {
    spawn_app_with(LockOptions::default()).await
}

pub async fn spawn_app_with(options: LockOptions) -> TestApp {
    let common = testing::fresh_common("ticketflow_inventory", &TOPICS).await;
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis_prefix = format!("test:{}:", testing::unique_suffix());
    let settings = inventory_service::Settings {
        common: common.clone(),
        redis_url: redis_url.clone(),
        redis_prefix: redis_prefix.clone(),
        lock_strategy: options.strategy,
        lock_ttl: options.lock_ttl,
        sweep_interval: options.sweep_interval,
        unsafe_race_window: Duration::from_millis(5),
    };
    // Redis at REDIS_URL is required.
    let service = TestService::build::<inventory_service::Application>(settings, &common).await;
    let locks = SeatLocks::connect(&redis_url, &redis_prefix, options.strategy, Duration::ZERO)
        .await
        .expect("Redis is reachable");
    TestApp { service, locks }
}

/// A seat as Postgres holds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SeatRow {
    pub status: String,
    pub booking_id: Option<Uuid>,
}

impl TestApp {
    /// Publishes a seat map of `sections` (`(name, price_cents, rows)`) and waits until it is
    /// built; returns the event and its seat ids in layout order.
    pub async fn seat_map(&self, sections: &[Section<'_>]) -> (EventCreated, Vec<Uuid>) {
        let created = testing::event_created("Test Fest", sections);
        self.publish(topic::EVENT_CREATED, created.payload.event_id, &created)
            .await;
        self.wait_until_consumed(created.message_id.unwrap()).await;
        let seats = testing::seat_ids(&created.payload);
        (created.payload, seats)
    }

    /// Publishes `booking.initiated` for `booking`; returns the message id.
    pub async fn initiate(&self, event: Uuid, booking: Uuid, seats: &[Uuid]) -> Uuid {
        let message = Envelope::new(
            topic::BOOKING_INITIATED,
            BookingInitiated {
                booking_id: booking,
                user_id: Uuid::new_v4(),
                user_email: "inventory-test@example.com".into(),
                event_id: event,
                event_name: "Test Fest".into(),
                seat_ids: seats.to_vec(),
                total_amount: 10.0,
                exact_cents: Some(1_000),
            },
        );
        self.publish(topic::BOOKING_INITIATED, booking, &message)
            .await;
        message.message_id.unwrap()
    }

    /// Publishes `seats.confirm` or `seats.release` (`logical`) for `booking` and waits until it
    /// is handled.
    pub async fn command(&self, logical: &str, event: Uuid, booking: Uuid, seats: &[Uuid]) {
        let message = Envelope::new(
            logical,
            SeatsCommand {
                booking_id: booking,
                event_id: Some(event),
                seat_ids: seats.to_vec(),
                reason: Some("TEST".into()),
            },
        );
        self.publish(logical, booking, &message).await;
        self.wait_until_consumed(message.message_id.unwrap()).await;
    }

    /// Each seat's row, in the order asked.
    pub async fn rows(&self, seats: &[Uuid]) -> Vec<SeatRow> {
        let mut rows = Vec::with_capacity(seats.len());
        for seat in seats {
            rows.push(
                sqlx::query_as("SELECT status, booking_id FROM seats WHERE id = $1")
                    .bind(seat)
                    .fetch_one(&self.pool)
                    .await
                    .expect("seat row"),
            );
        }
        rows
    }

    /// The booking holding each seat in Redis, in the order asked.
    pub async fn redis_holders(&self, event: Uuid, seats: &[Uuid]) -> Vec<Option<Uuid>> {
        let mut holders = Vec::with_capacity(seats.len());
        for seat in seats {
            let holder = self.locks.holder(event, *seat).await.expect("Redis GET");
            holders.push(holder.map(|h| h.parse().expect("a booking id")));
        }
        holders
    }

    /// Polls until the outbox is empty, so every answer committed so far is on the broker.
    pub async fn wait_outbox_drained(&self) {
        testing::eventually("outbox drained", || async {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(&self.pool)
                .await
                .expect("outbox query");
            if left == 0 {
                Ok(())
            } else {
                Err(left)
            }
        })
        .await;
    }

    /// The answers (`seats.locked` or `seats.lock-failed`) published about each of `bookings`,
    /// once every message up to now has been handled and published.
    pub async fn answers(&self, bookings: &[Uuid]) -> HashMap<Uuid, Vec<(&'static str, Value)>> {
        self.wait_outbox_drained().await;
        let (locked, failed) = (
            self.reader(topic::SEATS_LOCKED),
            self.reader(topic::SEATS_LOCK_FAILED),
        );
        let about = |m: &Value| bookings.iter().any(|b| m["bookingId"] == b.to_string());
        let (locked, failed) = tokio::join!(
            locked.collect(Duration::from_secs(3), about),
            failed.collect(Duration::from_secs(3), about),
        );
        let mut answers: HashMap<Uuid, Vec<(&'static str, Value)>> = HashMap::new();
        let tagged = locked
            .into_iter()
            .map(|m| (topic::SEATS_LOCKED, m))
            .chain(failed.into_iter().map(|m| (topic::SEATS_LOCK_FAILED, m)));
        for (topic, message) in tagged {
            let booking = message["bookingId"]
                .as_str()
                .and_then(|b| b.parse().ok())
                .expect("an answer names its booking");
            answers.entry(booking).or_default().push((topic, message));
        }
        answers
    }

    /// `GET /api/inventory/events/{event}/seats?{query}` as JSON, asserting a 200.
    pub async fn seats_api(&self, event: Uuid, query: &str) -> Value {
        self.get_ok(&format!("/api/inventory/events/{event}/seats?{query}"))
            .await
    }
}
