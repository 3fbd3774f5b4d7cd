//! `spawn_app()`: payment-service on port 0 with its own database and topics, a producer to feed
//! it saga messages, and helpers to observe what it did (rows, topics, HTTP, metrics).

use std::time::Duration;

use kit::config::Secret;
use kit::identity::{Identity, IdentityKeys, IDENTITY_HEADER};
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::PaymentRequested;
use kit::testing::{self, TopicReader, TEST_INTERNAL_SECRET};
use payment_service::domain::{Payment, SuccessRate};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long any wait for an asynchronous effect may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running payment-service; it stops when this is dropped.
pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub pool: PgPool,
    pub topics: Topics,
    pub producer: FutureProducer,
    pub client: reqwest::Client,
    pub keys: IdentityKeys,
    stop: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// payment-service that always succeeds after 10 ms.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(1.0, Duration::from_millis(10)).await
}

/// payment-service with the given processor behaviour.
pub async fn spawn_app_with(success_rate: f64, latency: Duration) -> TestApp {
    kit::telemetry::init_for_tests();
    let prefix = format!("t{}.", testing::unique_suffix());
    testing::create_topics(
        &prefix,
        &[
            topic::PAYMENT_REQUESTED,
            topic::PAYMENT_PROCESSED,
            topic::BOOKING_FAILED,
            topic::BOOKING_CANCELLED,
        ],
    )
    .await;
    let common = testing::common_settings("ticketflow_payments", &prefix);
    let database_url = common.database_url.clone();
    let settings = payment_service::Settings {
        common,
        success_rate: SuccessRate::parse(success_rate).expect("a probability"),
        latency,
    };
    let app = payment_service::Application::build(settings)
        .await
        .expect("payment-service builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(app.run_until_stopped(async move { token.cancelled().await }));
    // Two connections: Postgres allows 100 and every service under test already holds a pool.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .expect("test database is reachable");
    TestApp {
        address,
        database_url,
        pool,
        topics: Topics::new(prefix),
        producer: kit::kafka::producer(&testing::brokers()).expect("producer config is valid"),
        client: reqwest::Client::new(),
        keys: IdentityKeys::new(&Secret::new(TEST_INTERNAL_SECRET)),
        stop,
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
        PaymentRequested {
            booking_id,
            user_id,
            amount_cents,
        },
    )
}

impl TestApp {
    /// Publishes `envelope` on the prefixed `logical_topic`, keyed by `key` (the bookingId),
    /// serialized as the outbox does (through a JSON value).
    pub async fn publish<T: Serialize>(
        &self,
        logical_topic: &str,
        key: Uuid,
        envelope: &Envelope<T>,
    ) {
        let value = serde_json::to_value(envelope).expect("envelopes serialize");
        let body = serde_json::to_vec(&value).expect("JSON values serialize");
        self.publish_raw(logical_topic, key, &body).await;
    }

    /// Publishes raw bytes (poison messages).
    pub async fn publish_raw(&self, logical_topic: &str, key: Uuid, body: &[u8]) {
        let name = self.topics.name(logical_topic);
        let key = key.to_string();
        self.producer
            .send(
                FutureRecord::to(&name).key(&key).payload(body),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("cannot publish to {name}: {e}"));
    }

    /// A reader of the prefixed `logical_topic` from its beginning.
    pub fn reader(&self, logical_topic: &str) -> TopicReader {
        TopicReader::new(&self.topics.name(logical_topic))
    }

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

    /// Polls until the booking's payment satisfies `done`, or panics after [`WAIT`].
    pub async fn wait_for_payment(
        &self,
        booking_id: Uuid,
        done: impl Fn(&Payment) -> bool,
    ) -> Payment {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let payment = self.payment_for(booking_id).await;
            match payment {
                Some(p) if done(&p) => return p,
                _ if tokio::time::Instant::now() > deadline => {
                    panic!("booking {booking_id}: payment did not reach the expected state; last {payment:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Polls until the service has committed the message with `event_id` (its inbox row), or
    /// panics after [`WAIT`].
    pub async fn wait_until_consumed(&self, event_id: Uuid) {
        testing::wait_until_consumed(&self.pool, event_id, WAIT).await;
    }

    /// How many payment rows the booking has.
    pub async fn payment_count(&self, booking_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE booking_id = $1")
            .bind(booking_id)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }

    /// `GET path`, with the gateway's proof of `identity` when given.
    pub async fn get(&self, path: &str, identity: Option<&Identity>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(identity) = identity {
            request = request.header(IDENTITY_HEADER, self.keys.sign(identity));
        }
        request.send().await.expect("payment-service answers")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics are text")
    }
}

/// Every message on `reader` whose JSON satisfies `matches`, collected for `period`.
pub async fn collect(
    reader: &TopicReader,
    period: Duration,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let seen = std::sync::Mutex::new(Vec::new());
    reader
        .wait_for(period, |message| {
            if matches(message) {
                // The lock is never poisoned: nothing panics while holding it.
                seen.lock().unwrap().push(message.clone());
            }
            false
        })
        .await;
    seen.into_inner().unwrap()
}

/// Asserts the response is the error envelope with `status` and `code`.
pub async fn assert_error(response: reqwest::Response, status: reqwest::StatusCode, code: &str) {
    assert_eq!(response.status(), status, "status");
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "envelope: {body}");
}

pub use kit::testing::{booking_closed, identity, metric};
