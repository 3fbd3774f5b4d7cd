//! Dead letters: what a consumer parked on `<topic>.DLT`, listed and replayed after a fix.
//!
//! ```text
//!   consumer gives up on a message ──> <topic>.DLT  (payload and key as they were; headers:
//!                                      dlt-error, dlt-original-topic/-partition/-offset,
//!                                      dlt-attempts, dlt-consumer-group)
//!   list    reads every DLT of a topic prefix from its start: parked and replayed letters
//!   replay  re-publishes parked letters to their original topic (same key, same payload, so
//!           the same eventId: a group that did handle it dedupes it in its inbox), then writes
//!           a marker (`dlt-replay-of: <partition>:<offset>`, empty payload) on the DLT itself
//! ```
//!
//! The markers live beside the letters, so "parked" (not yet replayed) needs nothing but the
//! broker, survives restarts of every process and works for any tool that reads the topic. A
//! letter is replayed at most once per `replay` call and is never replayed again after its
//! marker was written; a replay that fails before its marker can publish the letter a second
//! time, which the inbox makes harmless.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::kafka::{self, topic, Topics};

/// The headers of a dead letter: written by the consumer runner (`kit::consumer`), read here.
pub mod header {
    /// Why the consumer gave up.
    pub const ERROR: &str = "dlt-error";
    /// The broker-side topic it was consumed from.
    pub const ORIGINAL_TOPIC: &str = "dlt-original-topic";
    pub const ORIGINAL_PARTITION: &str = "dlt-original-partition";
    pub const ORIGINAL_OFFSET: &str = "dlt-original-offset";
    /// How many times the handler ran.
    pub const ATTEMPTS: &str = "dlt-attempts";
    /// The consumer group that gave up.
    pub const CONSUMER_GROUP: &str = "dlt-consumer-group";
    /// On a replay marker: `<partition>:<offset>` of the letter it replayed.
    pub const REPLAY_OF: &str = "dlt-replay-of";
}

/// How long a read of one DLT may take before it is reported as an error.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One parked (or replayed) message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadLetter {
    /// Broker-side name of the dead-letter topic.
    pub dlt_topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Broker-side topic it was consumed from (`dlt-original-topic`).
    pub original_topic: String,
    /// The consumer group that gave up on it.
    pub consumer_group: String,
    /// Why (`dlt-error`).
    pub error: String,
    pub attempts: u32,
    pub key: Option<String>,
    /// The id the consumer deduplicated it on ([`crate::kafka::message_id`]): the payload's
    /// `messageId`, or derived from topic, key and bytes for a message without one.
    pub message_id: String,
    /// The envelope's `eventType`, when the payload is an envelope.
    pub event_type: Option<String>,
    /// Milliseconds since the epoch the letter was written (broker timestamp).
    pub parked_at_ms: Option<i64>,
    /// A replay marker names this letter.
    pub replayed: bool,
    #[serde(skip)]
    payload: Vec<u8>,
}

/// Every dead letter of the topics under `prefix`, in topic, partition and offset order.
///
/// # Errors
/// When the broker cannot be reached or a DLT cannot be read within 20 s.
pub async fn list(brokers: &str, prefix: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let brokers = brokers.to_string();
    let prefix = prefix.to_string();
    let topics = Topics::new(prefix.clone());
    let dlts: Vec<String> = topic::ALL
        .iter()
        .map(|t| topics.name(&topic::dlt(t)))
        .collect();
    tokio::task::spawn_blocking(move || {
        let consumer = reader(&brokers)?;
        let mut letters = Vec::new();
        for dlt in &dlts {
            letters.extend(read_topic(&consumer, dlt, &prefix)?);
        }
        Ok(letters)
    })
    .await
    .context("the dead-letter reader panicked")?
}

/// Which parked letters a replay takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every letter not replayed yet.
    All,
    /// The letters with this message id ([`DeadLetter::message_id`]).
    MessageId(String),
}

/// What a replay did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Replayed {
    /// Letters re-published to their original topic (and marked).
    pub replayed: Vec<DeadLetter>,
    /// Parked letters the selection left alone.
    pub left_parked: usize,
}

/// Re-publishes the parked letters `selection` names to their original topics, marking each.
///
/// # Errors
/// When the broker cannot be reached, or a publish fails (letters before it stay replayed).
pub async fn replay(
    brokers: &str,
    prefix: &str,
    selection: &Selection,
) -> anyhow::Result<Replayed> {
    let parked: Vec<DeadLetter> = list(brokers, prefix)
        .await?
        .into_iter()
        .filter(|l| !l.replayed)
        .collect();
    let producer = kafka::producer(brokers)?;
    let mut report = Replayed::default();
    for letter in parked {
        let chosen = match selection {
            Selection::All => true,
            Selection::MessageId(id) => letter.message_id.eq_ignore_ascii_case(id),
        };
        if !chosen {
            report.left_parked += 1;
            continue;
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&letter.original_topic).payload(&letter.payload);
        if let Some(key) = &letter.key {
            record = record.key(key.as_bytes());
        }
        send(&producer, record, || {
            format!(
                "cannot re-publish the dead letter {}:{}:{} to {}",
                letter.dlt_topic, letter.partition, letter.offset, letter.original_topic
            )
        })
        .await?;
        let at = format!("{}:{}", letter.partition, letter.offset);
        let marker: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&letter.dlt_topic)
            .payload(&[][..])
            .headers(OwnedHeaders::new().insert(Header {
                key: header::REPLAY_OF,
                value: Some(&at),
            }));
        send(&producer, marker, || {
            format!(
                "re-published {}:{at}, but cannot mark it replayed on its DLT",
                letter.dlt_topic
            )
        })
        .await?;
        report.replayed.push(DeadLetter {
            replayed: true,
            ..letter
        });
    }
    Ok(report)
}

/// Sends one record (10 s queue timeout); an error says what `what` describes.
async fn send(
    producer: &FutureProducer,
    record: FutureRecord<'_, [u8], [u8]>,
    what: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
        .with_context(what)
}

/// A consumer that reads by assignment only: it joins no group and commits nothing.
fn reader(brokers: &str) -> anyhow::Result<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // librdkafka wants a group id for a consumer; assign() never joins it.
        .set("group.id", "stampede-dead-letter-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .context("cannot create the dead-letter reader")
}

/// Every letter on `dlt` from its start to its end now, with replay markers applied.
fn read_topic(consumer: &BaseConsumer, dlt: &str, prefix: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let metadata = consumer
        .fetch_metadata(Some(dlt), READ_TIMEOUT)
        .with_context(|| format!("cannot read the metadata of {dlt}"))?;
    let Some(described) = metadata.topics().iter().find(|t| t.name() == dlt) else {
        return Ok(Vec::new());
    };
    if described.error().is_some() {
        // Unknown topic (this prefix never made it): nothing parked there.
        return Ok(Vec::new());
    }
    let mut assignment = TopicPartitionList::new();
    let mut unread = BTreeSet::new();
    let mut ends = HashMap::new();
    for partition in described.partitions() {
        let id = partition.id();
        let (low, high) = consumer
            .fetch_watermarks(dlt, id, READ_TIMEOUT)
            .with_context(|| format!("cannot read the offsets of {dlt} [{id}]"))?;
        if high > low {
            assignment.add_partition_offset(dlt, id, Offset::Offset(low))?;
            unread.insert(id);
            ends.insert(id, high);
        }
    }
    if unread.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&assignment)?;
    let deadline = std::time::Instant::now() + READ_TIMEOUT;
    let mut letters = Vec::new();
    let mut replayed = BTreeSet::new();
    while !unread.is_empty() {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "reading {dlt} took over {READ_TIMEOUT:?} (partitions {unread:?} unread)"
        );
        let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = match polled {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(partition)) => {
                unread.remove(&partition);
                continue;
            }
            Err(KafkaError::MessageConsumption(RDKafkaErrorCode::PartitionEOF)) => continue,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {dlt}"))),
        };
        let partition = message.partition();
        if message.offset() + 1 >= ends.get(&partition).copied().unwrap_or(0) {
            unread.remove(&partition);
        }
        let headers: HashMap<String, String> = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(of) = headers.get(header::REPLAY_OF) {
            replayed.insert(of.clone());
            continue;
        }
        let payload = message.payload().unwrap_or_default().to_vec();
        let head: Option<serde_json::Value> = serde_json::from_slice(&payload).ok();
        let field = |name: &str| {
            head.as_ref()
                .and_then(|h| h.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let original_topic = headers
            .get(header::ORIGINAL_TOPIC)
            .cloned()
            .unwrap_or_else(|| dlt.trim_end_matches(".DLT").to_string());
        let logical = original_topic
            .strip_prefix(prefix)
            .unwrap_or(&original_topic);
        let message_id = crate::kafka::message_id(logical, message.key(), &payload).to_string();
        letters.push(DeadLetter {
            dlt_topic: dlt.to_string(),
            partition,
            offset: message.offset(),
            original_topic,
            consumer_group: headers
                .get(header::CONSUMER_GROUP)
                .cloned()
                .unwrap_or_default(),
            error: headers.get(header::ERROR).cloned().unwrap_or_default(),
            attempts: headers
                .get(header::ATTEMPTS)
                .and_then(|a| a.parse().ok())
                .unwrap_or(0),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            message_id,
            event_type: field("eventType"),
            parked_at_ms: message.timestamp().to_millis(),
            replayed: false,
            payload,
        });
    }
    consumer.unassign()?;
    for letter in &mut letters {
        letter.replayed = replayed.contains(&format!("{}:{}", letter.partition, letter.offset));
    }
    Ok(letters)
}
