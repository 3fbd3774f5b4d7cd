//! Running a service's Kafka consumer: ordered per partition, parallel across partitions, bounded
//! retries, dead letters that are really written.
//!
//! ```text
//!   recv ──> per (topic, partition) worker ──> handler(Delivery)
//!                                               ├─ Ok(Processed|Duplicate|Ignored) ─> store offset
//!                                               ├─ Err(Retryable) ─> backoff, retry (max_attempts)
//!                                               │                    └─ exhausted ─> <topic>.DLT ─> store offset
//!                                               └─ Err(Poison) (unparseable) ────────> <topic>.DLT ─> store offset
//!   stored offsets are committed every 500 ms and at shutdown (at-least-once; handlers dedupe
//!   by eventId through `inbox::claim`)
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::kafka::{Envelope, Topics};
use crate::metrics::Metrics;

/// One message handed to a handler.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The logical topic (`ticketflow.seats.locked`), whatever the prefix.
    pub topic: &'static str,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub event_id: Uuid,
    pub event_type: String,
}

impl Delivery {
    /// The typed envelope.
    ///
    /// # Errors
    /// [`HandlerError::Poison`] when the payload does not fit `T`: retrying cannot help.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<Envelope<T>, HandlerError> {
        Envelope::parse(&self.payload).map_err(|e| {
            HandlerError::Poison(anyhow::anyhow!("{} payload does not parse: {e}", self.topic))
        })
    }
}

/// What a handler did with a message (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The state changed.
    Processed,
    /// The eventId was processed before; nothing changed.
    Duplicate,
    /// A guard refused the change (e.g. a message for a booking that is already terminal).
    Ignored,
}

/// Why a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might work later (database or broker trouble): retried with backoff.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// Will never work (malformed message): straight to the dead-letter topic.
    #[error("{0:#}")]
    Poison(anyhow::Error),
}

impl From<anyhow::Error> for HandlerError {
    fn from(e: anyhow::Error) -> Self {
        Self::Retryable(e)
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Retryable(e.into())
    }
}

/// A message handler.
pub type Handler = Arc<dyn Fn(Delivery) -> BoxFuture<'static, Result<Outcome, HandlerError>> + Send + Sync>;

/// Wraps an async fn as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Outcome, HandlerError>> + Send + 'static,
{
    Arc::new(move |d| Box::pin(f(d)))
}

/// Consumer group, topics and retry policy.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub group: String,
    /// Logical topic names.
    pub topics: Vec<&'static str>,
    /// Attempts before a message goes to its DLT.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl ConsumerOptions {
    pub fn new(group: &str, topics: &[&'static str]) -> Self {
        Self {
            group: group.to_string(),
            topics: topics.to_vec(),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeHead {
    event_id: Uuid,
    event_type: String,
}

struct Shared {
    consumer: crate::kafka::GroupConsumer,
    producer: FutureProducer,
    metrics: Metrics,
    handler: Handler,
    options: ConsumerOptions,
    /// Broker-side name -> logical name.
    logical: HashMap<String, &'static str>,
    token: CancellationToken,
}

/// Consumes until `token` is cancelled. Connection trouble is logged and retried by librdkafka.
///
/// # Errors
/// When the consumer cannot be created or subscribe.
pub async fn run(
    brokers: &str,
    topics: &Topics,
    producer: FutureProducer,
    metrics: Metrics,
    options: ConsumerOptions,
    handler: Handler,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let consumer = crate::kafka::consumer(brokers, &options.group)?;
    let logical: HashMap<String, &'static str> = options
        .topics
        .iter()
        .map(|t| (topics.name(t), *t))
        .collect();
    let names: Vec<&str> = logical.keys().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    let shared = Arc::new(Shared {
        consumer,
        producer,
        metrics,
        handler,
        options,
        logical,
        token: token.clone(),
    });
    let mut workers: HashMap<(String, i32), mpsc::Sender<OwnedMessage>> = HashMap::new();
    let mut handles = Vec::new();
    loop {
        let message = tokio::select! {
            m = shared.consumer.recv() => m,
            _ = token.cancelled() => break,
        };
        let message = match message {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(group = %shared.options.group, error = %e, "Kafka receive failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let slot = (message.topic().to_string(), message.partition());
        let sender = workers.entry(slot).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(256);
            handles.push(tokio::spawn(partition_worker(shared.clone(), rx)));
            tx
        });
        if sender.send(message).await.is_err() {
            break;
        }
    }
    drop(workers);
    for handle in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
    // Async: a sync commit waits for the coordinator, forever while the broker is unreachable.
    // Closing the consumer (on its own thread, see GroupConsumer) commits what is still stored.
    let _ = shared.consumer.commit_consumer_state(CommitMode::Async);
    Ok(())
}

async fn partition_worker(shared: Arc<Shared>, mut inbox: mpsc::Receiver<OwnedMessage>) {
    while let Some(message) = inbox.recv().await {
        if shared.token.is_cancelled() {
            return; // not stored: redelivered after restart
        }
        if process(&shared, &message).await {
            let _ = shared
                .consumer
                .store_offset(message.topic(), message.partition(), message.offset());
        } else {
            return;
        }
    }
}

/// Handles one message with retries; true when its offset may be stored (handled or
/// dead-lettered), false when shutdown interrupted it.
async fn process(shared: &Shared, message: &OwnedMessage) -> bool {
    let topic = message.topic();
    let logical = shared.logical.get(topic).copied().unwrap_or("unknown");
    let payload = message.payload().unwrap_or_default().to_vec();
    let head = match serde_json::from_slice::<EnvelopeHead>(&payload) {
        Ok(head) => head,
        Err(e) => {
            return dead_letter(shared, message, &format!("not a message envelope: {e}"), 1).await;
        }
    };
    let delivery = Delivery {
        topic: logical,
        key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        payload,
        event_id: head.event_id,
        event_type: head.event_type,
    };
    let mut backoff = shared.options.initial_backoff;
    for attempt in 1..=shared.options.max_attempts {
        match (shared.handler)(delivery.clone()).await {
            Ok(outcome) => {
                let label = match outcome {
                    Outcome::Processed => "consumed",
                    Outcome::Duplicate => "deduped",
                    Outcome::Ignored => "ignored",
                };
                shared.metrics.message(logical, label);
                return true;
            }
            Err(HandlerError::Poison(e)) => {
                return dead_letter(shared, message, &format!("{e:#}"), attempt).await;
            }
            Err(HandlerError::Retryable(e)) if attempt == shared.options.max_attempts => {
                return dead_letter(shared, message, &format!("{e:#}"), attempt).await;
            }
            Err(HandlerError::Retryable(e)) => {
                shared.metrics.message(logical, "retried");
                tracing::warn!(topic = logical, event_id = %delivery.event_id, attempt, error = %format!("{e:#}"), "handler failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {},
                    _ = shared.token.cancelled() => return false,
                }
                backoff = (backoff * 2).min(shared.options.max_backoff);
            }
        }
    }
    true
}

/// Writes the message to `<topic>.DLT` with the error in headers; retries until the broker takes
/// it (or shutdown: then false and the message is redelivered later). Never drops it.
async fn dead_letter(shared: &Shared, message: &OwnedMessage, error: &str, attempts: u32) -> bool {
    let topic = message.topic();
    let dlt = format!("{topic}.DLT");
    let logical = shared.logical.get(topic).copied().unwrap_or("unknown");
    tracing::error!(topic = logical, partition = message.partition(), offset = message.offset(), attempts, error, "message dead-lettered");
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    let attempts_text = attempts.to_string();
    let headers = OwnedHeaders::new()
        .insert(Header { key: "dlt-error", value: Some(error) })
        .insert(Header { key: "dlt-original-topic", value: Some(topic) })
        .insert(Header { key: "dlt-original-partition", value: Some(&partition) })
        .insert(Header { key: "dlt-original-offset", value: Some(&offset) })
        .insert(Header { key: "dlt-attempts", value: Some(&attempts_text) })
        .insert(Header { key: "dlt-consumer-group", value: Some(&shared.options.group) });
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&dlt)
            .payload(message.payload().unwrap_or_default())
            .headers(headers.clone());
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        match shared.producer.send(record, Duration::from_secs(10)).await {
            Ok(_) => {
                shared.metrics.message(logical, "dead_lettered");
                return true;
            }
            Err((e, _)) => {
                tracing::warn!(dlt = %dlt, error = %e, "cannot write dead letter; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {},
                    _ = shared.token.cancelled() => return false,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The `dlt-error` header of a dead letter (tests).
pub fn dlt_error(message: &impl Message) -> Option<String> {
    message.headers().and_then(|headers| {
        headers
            .iter()
            .find(|h| h.key == "dlt-error")
            .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
    })
}
