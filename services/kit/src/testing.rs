//! Test support shared by every service's tests (feature `testing`): isolated databases and topic
//! names per test, and a reader that waits for a message on a real topic.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use crate::config::{CommonSettings, Secret};
use crate::kafka::{self, Topics};

/// The internal secret tests run services with.
pub const TEST_INTERNAL_SECRET: &str = "stampede-test-internal-secret";
/// The JWT secret tests run services with.
pub const TEST_JWT_SECRET: &str = "stampede-test-jwt-secret-0123456";

/// A short unique suffix for database, topic and key names.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Postgres server for tests (`TEST_POSTGRES_URL`, default the local trust-auth server).
pub fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Kafka brokers for tests (`KAFKA_BROKERS`, default the local broker).
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Settings for one service in one test: port 0, its own database and topic prefix.
pub fn common_settings(database_base: &str, topic_prefix: &str) -> CommonSettings {
    CommonSettings {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: format!("{}/{database_base}_{}", postgres_server(), unique_suffix()),
        kafka_brokers: brokers(),
        topic_prefix: topic_prefix.to_string(),
        internal_secret: Secret::new(TEST_INTERNAL_SECRET),
        // Two tests at a time, several services each, one Postgres with 100 connections.
        database_pool_size: 5,
    }
}

/// Creates the prefixed topics (and their dead-letter topics) a test needs.
///
/// # Panics
/// When the broker is unreachable: the test cannot mean anything without it.
pub async fn create_topics(prefix: &str, logical: &[&str]) {
    let topics = Topics::new(prefix);
    let names: Vec<String> = logical
        .iter()
        .flat_map(|t| [topics.name(t), topics.name(&kafka::topic::dlt(t))])
        .collect();
    kafka::ensure_topics(&brokers(), &names, 3)
        .await
        .unwrap_or_else(|e| panic!("Kafka broker at {} is required (run infra/local/up): {e:#}", brokers()));
}

/// Reads a topic from its beginning in a fresh consumer group.
pub struct TopicReader {
    consumer: StreamConsumer,
}

impl TopicReader {
    /// Subscribes to the broker-side topic name.
    ///
    /// # Panics
    /// When the consumer cannot be created or subscribe.
    pub fn new(topic: &str) -> Self {
        let consumer = kafka::consumer(&brokers(), &format!("test-reader-{}", unique_suffix()))
            .expect("consumer config is valid");
        consumer.subscribe(&[topic]).expect("subscribe");
        Self { consumer }
    }

    /// The first message whose JSON body satisfies `matches`, or `None` after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<(Option<String>, serde_json::Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return None;
            }
            let Ok(Ok(message)) = tokio::time::timeout(remaining, self.consumer.recv()).await else {
                continue;
            };
            let Some(body) = message.payload() else { continue };
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { continue };
            if matches(&json) {
                let key = message.key().map(|k| String::from_utf8_lossy(k).into_owned());
                return Some((key, json));
            }
        }
    }
}

/// A user identity with a fresh id (role `user` or `admin`), for signing `x-stampede-identity`.
pub fn identity(role: &str) -> crate::identity::Identity {
    crate::identity::Identity {
        user_id: uuid::Uuid::new_v4(),
        email: format!("{}@stampede.test", unique_suffix()),
        role: role.into(),
    }
}

/// A `booking.failed` or `booking.cancelled` envelope with a fresh eventId.
pub fn booking_closed(
    logical_topic: &str,
    booking_id: uuid::Uuid,
    user_id: uuid::Uuid,
    reason: &str,
) -> crate::kafka::Envelope<crate::messages::BookingClosed> {
    crate::kafka::Envelope::new(
        logical_topic,
        crate::messages::BookingClosed {
            booking_id,
            user_id,
            event_id: uuid::Uuid::new_v4(),
            event_name: "Test Fest".into(),
            seat_ids: vec![uuid::Uuid::new_v4()],
            reason: reason.into(),
        },
    )
}

/// Polls the service's inbox until `event_id` has been processed.
///
/// # Panics
/// After `timeout`, naming the message.
pub async fn wait_until_consumed(pool: &sqlx::PgPool, event_id: uuid::Uuid, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM processed_messages WHERE event_id = $1)")
            .bind(event_id)
            .fetch_one(pool)
            .await
            .expect("inbox query");
        if seen {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {event_id} was not consumed within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the Prometheus series `name` whose labels include all of `labels`, whatever
/// their order in the exposition.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let all_match = labels
            .iter()
            .all(|(k, v)| label_text.split(',').any(|pair| pair == format!("{k}=\"{v}\"")));
        all_match.then(|| value.trim().parse().ok()).flatten()
    })
}
