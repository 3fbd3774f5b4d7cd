//! Kafka: topic names, the message envelope, and rdkafka clients configured the same way everywhere.
//!
//! ```text
//!   envelope = { "messageId": uuid, "eventType": "booking.initiated", ...domain fields, "timestamp": rfc3339 }
//!   key      = aggregate id (bookingId, eventId, userId): ordering per aggregate
//!   topic    = <prefix>ticketflow.<domain>.<event>   dead letters: <topic>.DLT
//! ```
//!
//! TicketFlow's producers write the same topics, keys and payload fields, with `eventType` and
//! `timestamp` but no message id (`eventId` there is the ticketed event). Stampede adds
//! `messageId` (the inbox's dedupe key) and never renames or drops a TicketFlow field, so a
//! TicketFlow service and a Stampede service can stand in for each other on one broker. A message
//! without `messageId` is deduplicated on [`message_id`]: a UUID v5 of its topic, key and bytes.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consumer_watch::ConsumerWatch;

/// Every topic of the saga, unprefixed (ARCHITECTURE.md section 3).
pub mod topic {
    pub const USER_REGISTERED: &str = "ticketflow.user.registered";
    pub const EVENT_CREATED: &str = "ticketflow.event.created";
    /// Not in TicketFlow (its events have no status): an event's name or sale status changed.
    pub const EVENT_UPDATED: &str = "ticketflow.event.updated";
    pub const BOOKING_INITIATED: &str = "ticketflow.booking.initiated";
    pub const SEATS_LOCKED: &str = "ticketflow.seats.locked";
    pub const SEATS_LOCK_FAILED: &str = "ticketflow.seats.lock-failed";
    pub const SEATS_CONFIRM: &str = "ticketflow.seats.confirm";
    pub const SEATS_RELEASE: &str = "ticketflow.seats.release";
    pub const PAYMENT_REQUESTED: &str = "ticketflow.payment.requested";
    pub const PAYMENT_PROCESSED: &str = "ticketflow.payment.processed";
    pub const BOOKING_CONFIRMED: &str = "ticketflow.booking.confirmed";
    pub const BOOKING_FAILED: &str = "ticketflow.booking.failed";
    pub const BOOKING_CANCELLED: &str = "ticketflow.booking.cancelled";

    /// All of them, in the order of the saga.
    pub const ALL: [&str; 13] = [
        USER_REGISTERED,
        EVENT_CREATED,
        EVENT_UPDATED,
        BOOKING_INITIATED,
        SEATS_LOCKED,
        SEATS_LOCK_FAILED,
        SEATS_CONFIRM,
        SEATS_RELEASE,
        PAYMENT_REQUESTED,
        PAYMENT_PROCESSED,
        BOOKING_CONFIRMED,
        BOOKING_FAILED,
        BOOKING_CANCELLED,
    ];

    /// The dead-letter topic of `topic`.
    pub fn dlt(topic: &str) -> String {
        format!("{topic}.DLT")
    }
}

/// Maps logical topic names to the names on the broker (a prefix isolates tests and stacks).
#[derive(Debug, Clone, Default)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The broker-side name of a logical topic.
    pub fn name(&self, logical: &str) -> String {
        format!("{}{logical}", self.prefix)
    }

    /// The consumer group id of `service`, prefixed like the topics so parallel stacks (and tests)
    /// never join each other's groups.
    pub fn group(&self, service: &str) -> String {
        format!("{}{service}", self.prefix)
    }

    /// Every topic and its dead-letter topic, broker-side names.
    pub fn all_with_dlt(&self) -> Vec<String> {
        topic::ALL
            .iter()
            .flat_map(|t| [self.name(t), self.name(&topic::dlt(t))])
            .collect()
    }
}

/// A message on the wire: unique id for dedupe, type, domain payload flattened, timestamp.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    /// Stampede's message id; absent from TicketFlow's messages (see [`message_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
    #[serde(default)]
    pub event_type: String,
    #[serde(flatten)]
    pub payload: T,
    /// RFC 3339; TicketFlow's Python services write a naive ISO time (read as UTC), and a message
    /// without one is read as of now.
    #[serde(default = "Utc::now", deserialize_with = "lenient_time::deserialize")]
    pub timestamp: DateTime<Utc>,
}

impl<T> Envelope<T> {
    /// A new envelope with a fresh `messageId`; `event_type` is the topic without `ticketflow.`.
    pub fn new(logical_topic: &str, payload: T) -> Self {
        Self {
            message_id: Some(Uuid::new_v4()),
            event_type: logical_topic
                .strip_prefix("ticketflow.")
                .unwrap_or(logical_topic)
                .to_string(),
            payload,
            timestamp: Utc::now(),
        }
    }
}

impl<T: DeserializeOwned> Envelope<T> {
    /// Parses a message body.
    ///
    /// # Errors
    /// When the bytes are not a JSON envelope with this payload (a poison message).
    pub fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The namespace of derived message ids (a fixed random UUID: changing it would make every
/// TicketFlow message already in an inbox look new).
const DERIVED_MESSAGE_ID: Uuid = Uuid::from_u128(0x6b1c_1f0e_58a4_4a53_9d0e_2f7c_44d1_90a3);

/// The id the inbox deduplicates a message on: its `messageId` when it has one (Stampede's
/// producers), else a UUID v5 of the logical topic, the key and the payload bytes (TicketFlow's
/// producers write none). A redelivered message has the same bytes, so the same id; two
/// TicketFlow messages differ at least in their `timestamp`.
pub fn message_id(logical_topic: &str, key: Option<&[u8]>, payload: &[u8]) -> Uuid {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        message_id: Option<Uuid>,
    }
    let stated = serde_json::from_slice::<Head>(payload)
        .ok()
        .and_then(|head| head.message_id);
    stated.unwrap_or_else(|| derived_message_id(logical_topic, key, payload))
}

/// The id of a message without `messageId` (see [`message_id`]), for a caller that has read the
/// payload's head already (the consumer runner).
pub fn derived_message_id(logical_topic: &str, key: Option<&[u8]>, payload: &[u8]) -> Uuid {
    let mut name = Vec::with_capacity(logical_topic.len() + payload.len() + 64);
    name.extend_from_slice(logical_topic.as_bytes());
    name.push(0);
    name.extend_from_slice(key.unwrap_or_default());
    name.push(0);
    name.extend_from_slice(payload);
    Uuid::new_v5(&DERIVED_MESSAGE_ID, &name)
}

/// Times in messages: RFC 3339 (Stampede, TicketFlow's Java and TypeScript services), or a naive
/// ISO time such as Python's `datetime.utcnow().isoformat()` (TicketFlow's Python services), read
/// as UTC.
pub mod lenient_time {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::{Deserialize, Deserializer};

    /// Parses one time; `None` when it is neither form.
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            })
    }

    /// serde `deserialize_with` for a required time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is neither an RFC 3339 time nor a naive ISO time"
            ))
        })
    }

    /// serde `deserialize_with` for an optional time (use with `#[serde(default)]`).
    pub fn deserialize_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is neither an RFC 3339 time nor a naive ISO time"
                ))
            }),
        }
    }
}

/// A producer for the outbox relay: idempotent, acks=all, low linger for saga latency.
///
/// # Errors
/// When librdkafka refuses the configuration.
pub fn producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    producer_config(brokers)
        .create()
        .context("cannot create Kafka producer")
}

/// The settings of [`producer`] (the broker bench measures with exactly these).
pub fn producer_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "15000")
        .set("socket.keepalive.enable", "true");
    config
}

/// A consumer in `group` starting from the earliest offset when the group is new (so a service
/// that starts late still sees every message). Offsets are committed only once stored
/// explicitly after processing (`enable.auto.offset.store=false`), every 500 ms.
///
/// # Errors
/// When librdkafka refuses the configuration.
pub fn consumer(brokers: &str, group: &str) -> anyhow::Result<GroupConsumer> {
    consumer_config(brokers, group)
        .create_with_context(WatchContext { watch: None })
        .context("cannot create Kafka consumer")
        .map(|c| GroupConsumer(Some(c)))
}

/// [`consumer`] whose librdkafka statistics (every 5 s) report the group's lag to `watch`.
///
/// # Errors
/// When librdkafka refuses the configuration.
pub fn watched_consumer(
    brokers: &str,
    group: &str,
    watch: ConsumerWatch,
) -> anyhow::Result<GroupConsumer> {
    consumer_config(brokers, group)
        .set("statistics.interval.ms", "5000")
        .create_with_context(WatchContext {
            watch: Some((watch, group.to_string())),
        })
        .context("cannot create Kafka consumer")
        .map(|c| GroupConsumer(Some(c)))
}

/// The settings of every service consumer in `group` (the broker bench measures with exactly
/// these).
pub fn consumer_config(brokers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", "500")
        .set("auto.offset.reset", "earliest")
        // tansu 0.6.0 expires a member that stopped heartbeating only after this (and only when
        // another request for the group arrives): a process killed with -9 holds its partitions
        // that long. 6 s = 6 missed heartbeats. tansu keeps the value the group was created with.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1000")
        // With the patched broker (infra/local/build-tansu) a fetch answers as soon as a message
        // is produced, so this bounds only how often an idle consumer asks: 500 (librdkafka's
        // default) costs the idle broker ~0.02 core for 4 groups where 50 cost ~0.6. Against a
        // stock tansu 0.6.0 every hop would wait up to this long.
        .set("fetch.wait.max.ms", "500")
        .set("socket.keepalive.enable", "true");
    config
}

/// librdkafka callbacks of a consumer: its statistics feed a [`ConsumerWatch`] when it has one.
pub struct WatchContext {
    watch: Option<(ConsumerWatch, String)>,
}

impl ClientContext for WatchContext {
    fn stats(&self, statistics: Statistics) {
        let Some((watch, group)) = &self.watch else {
            return;
        };
        let lag = statistics
            .topics
            .iter()
            .map(|(topic, stats)| {
                // Partition -1 is librdkafka's internal one; -1 lag means unknown yet.
                let lag = stats
                    .partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.consumer_lag_stored >= 0)
                    .map(|p| p.consumer_lag_stored)
                    .sum();
                (topic.clone(), lag)
            })
            .collect();
        watch.lag(group, lag);
    }
}

impl ConsumerContext for WatchContext {}

/// The consumer type every service and test reader uses.
pub type ServiceConsumer = StreamConsumer<WatchContext>;

/// A group consumer whose drop never blocks its caller.
///
/// Dropping a librdkafka group consumer leaves the group first, and rust-rdkafka polls until it
/// has: while the broker accepts connections but does not answer (stalled, wedged, or behind a
/// link that drops packets) that is forever (librdkafka#4519, rust-rdkafka#509). A service
/// stopped during such a stall, or a test whose runtime drops its consumers then, hung there.
/// (A broker that refuses connections is fine: the close gives up at once.) A drop closes on
/// its own thread instead; [`GroupConsumer::close`] does the same and waits a bounded time for
/// the group to be left, which a clean shutdown must do (see [`crate::consumer`]: a member that
/// vanishes without leaving can wedge tansu 0.6.0's group).
pub struct GroupConsumer(Option<ServiceConsumer>);

impl std::ops::Deref for GroupConsumer {
    type Target = ServiceConsumer;
    fn deref(&self) -> &ServiceConsumer {
        self.0
            .as_ref()
            .expect("a GroupConsumer holds its consumer until dropped")
    }
}

impl GroupConsumer {
    /// Leaves the group, commits what is stored and closes, waiting at most `within`. True when
    /// the close finished in time; otherwise it goes on on its own thread (the drain of the
    /// revoke takes at most [`UNSUBSCRIBE_DRAIN`] of that).
    pub async fn close(mut self, within: Duration) -> bool {
        let Some(closed) = self.0.take().and_then(close_on_thread) else {
            return false;
        };
        matches!(tokio::time::timeout(within, closed).await, Ok(Ok(())))
    }
}

/// Leaves the group and drops `consumer` (final commit, close) on a thread of its own; the
/// receiver fires when that is done. `None` when no thread could be started: then it was
/// dropped here.
fn close_on_thread(consumer: ServiceConsumer) -> Option<tokio::sync::oneshot::Receiver<()>> {
    let (done, closed) = tokio::sync::oneshot::channel();
    let closing = std::thread::Builder::new()
        .name("kafka-consumer-close".into())
        .spawn(move || {
            unsubscribe_and_drain(&consumer, UNSUBSCRIBE_DRAIN);
            drop(consumer);
            let _ = done.send(());
        });
    match closing {
        Ok(_) => Some(closed),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a thread to close the Kafka consumer; closed it here");
            None
        }
    }
}

/// How long a close waits for the revoke its unsubscribe raises before it closes anyway.
const UNSUBSCRIBE_DRAIN: Duration = Duration::from_secs(2);

/// Unsubscribes and serves the revoke that raises until nothing is assigned (at most `within`).
///
/// Why: librdkafka 2.12.1 aborts the whole process (`rd_kafka_cgrp_terminated: assert:
/// !rd_kafka_assignment_in_progress`) when an assignment operation starts between its group
/// termination's last check and its end; a CI run of the saga tests died of it while the
/// restart tests closed consumers mid-rebalance. Terminating a consumer that has already
/// handed its partitions back (stored offsets committed by the unassign) and left its group
/// leaves that window nothing to start. Messages received meanwhile are not stored, so the
/// next member gets them again (at-least-once, as for any close).
fn unsubscribe_and_drain(consumer: &ServiceConsumer, within: Duration) {
    let assigned = || consumer.assignment().is_ok_and(|list| list.count() > 0);
    consumer.unsubscribe();
    if !assigned() {
        return;
    }
    // Only a receive serves the rebalance events of a stream consumer; this thread has no
    // runtime, so it makes a small one.
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + within;
        while assigned() && tokio::time::Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(50), consumer.recv()).await;
        }
    });
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            let _ = close_on_thread(consumer);
        }
    }
}

/// Creates `topics` with `partitions` partitions each; topics that exist already are fine.
///
/// # Errors
/// When the broker is unreachable or refuses a topic for another reason.
pub async fn ensure_topics(
    brokers: &str,
    topics: &[String],
    partitions: i32,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .context("cannot create Kafka admin client")?;
    let new_topics: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .with_context(|| format!("cannot reach Kafka at {brokers} to create topics"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("cannot create topic {name}: {code}"),
        }
    }
    Ok(())
}

/// Whether the broker answers a metadata request within `timeout` (for /health).
pub async fn ping(producer: &FutureProducer, timeout: Duration) -> anyhow::Result<()> {
    use rdkafka::producer::Producer;
    // fetch_metadata blocks; keep it off the async workers.
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .context("Kafka metadata request failed")
    })
    .await
    .context("Kafka ping task panicked")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Registered {
        user_id: Uuid,
        email: String,
    }

    #[test]
    fn envelope_flattens_payload_in_camel_case() {
        let user_id = Uuid::new_v4();
        let envelope = Envelope::new(
            topic::USER_REGISTERED,
            Registered {
                user_id,
                email: "a@b.c".into(),
            },
        );
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["eventType"], "user.registered");
        assert_eq!(json["userId"], user_id.to_string());
        assert!(json["messageId"].is_string());
        assert!(
            json.get("eventId").is_none(),
            "eventId is TicketFlow's ticketed event"
        );
        assert!(json["timestamp"].is_string());
        let back: Envelope<Registered> =
            Envelope::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(back, envelope);
    }

    #[test]
    fn a_message_without_message_id_gets_a_stable_derived_one() {
        let fms = br#"{"eventType":"seats.locked","bookingId":"b","seatIds":[],"timestamp":"2026-12-07T10:00:00.123456"}"#;
        let id = message_id(topic::SEATS_LOCKED, Some(b"b"), fms);
        assert_eq!(id, message_id(topic::SEATS_LOCKED, Some(b"b"), fms));
        assert_ne!(id, message_id(topic::SEATS_LOCK_FAILED, Some(b"b"), fms));
        assert_ne!(id, message_id(topic::SEATS_LOCKED, Some(b"c"), fms));
        let own = Envelope::new(
            topic::SEATS_LOCKED,
            Registered {
                user_id: Uuid::new_v4(),
                email: "a@b.c".into(),
            },
        );
        let bytes = serde_json::to_vec(&own).unwrap();
        assert_eq!(
            Some(message_id(topic::SEATS_LOCKED, None, &bytes)),
            own.message_id
        );
    }

    #[test]
    fn naive_and_offset_times_are_both_read() {
        let naive = lenient_time::parse("2026-12-07T10:00:00.123456").unwrap();
        let zulu = lenient_time::parse("2026-12-07T10:00:00.123456Z").unwrap();
        assert_eq!(naive, zulu);
        assert!(lenient_time::parse("yesterday").is_none());
    }

    #[test]
    fn topics_are_prefixed_and_have_dead_letters() {
        let topics = Topics::new("t1.");
        let all = topics.all_with_dlt();
        assert_eq!(all.len(), 26);
        assert!(all.contains(&"t1.ticketflow.booking.initiated.DLT".to_string()));
    }
}

#[cfg(test)]
mod topic_list_tests {
    /// infra/local/up creates the topics listed in infra/kafka-topics.txt; they must be the code's.
    #[test]
    fn infra_topic_list_matches_the_code() {
        let listed = include_str!("../../../infra/kafka-topics.txt");
        let listed: Vec<&str> = listed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(listed, super::topic::ALL.to_vec());
    }
}
