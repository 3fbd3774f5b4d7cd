//! Running a service's Kafka consumer: ordered per partition, parallel across partitions, bounded
//! retries, dead letters that are really written.
//!
//! ```text
//!   recv ──> per (topic, partition) worker ──> handler(Delivery)   (up to `concurrency` at once,
//!                                               one key at a time, offsets stored up to the
//!                                               oldest unfinished message)
//!                                               ├─ Ok(Processed|Duplicate|Ignored) ─> store offset
//!                                               ├─ Err(Retryable) ─> backoff, retry (max_attempts)
//!                                               │                    └─ exhausted ─> <topic>.DLT ─> store offset
//!                                               ├─ Err(Retryable), a dependency unreachable (Postgres/Redis
//!                                               │   connection refused, reset, timed out) ─> backoff, retry
//!                                               │   until it is back: never counted, never dead-lettered
//!                                               ├─ panic ─> caught, counted (outcome="panicked"), as Err(Retryable)
//!                                               └─ Err(Poison) (unparseable) ────────> <topic>.DLT ─> store offset
//!   stored offsets are committed every 500 ms and at shutdown (at-least-once; handlers dedupe
//!   by message id through `inbox::claim`: `messageId`, or derived for TicketFlow's messages)
//! ```
//!
//! # Membership: leave on stop, rejoin when assigned nothing
//!
//! tansu 0.6.0's group coordinator can freeze a group with an empty assignment: when a member
//! that vanished without leaving (a process that exited before its close finished, or one killed
//! with -9) is still within its session timeout while a new member joins, the coordinator ends
//! the rebalance by accepting the new member's empty SyncGroup as the leader's
//! (`Forming::sync` in tansu-broker's `coordinator/group/administrator.rs`; fixed upstream only
//! in 0.7.0 pre-releases). Heartbeats then succeed and nothing is ever assigned: messages wait
//! on the broker and every booking expires. Two defences, each enough for its case:
//!
//! - on shutdown the consumer leaves its group and the runner waits for that (bounded), so the
//!   next process finds an empty group and leads it: an immediate restart just works;
//! - a member that holds no partition for `rejoin_after` closes (leaving the group, which makes
//!   it empty again) and joins anew: the recovery after a `kill -9` and an immediate restart.
//!   Do not run more consumers of one group than there are partitions with it on: the idle
//!   ones would rejoin (and rebalance the group) every `rejoin_after`.
//!
//! Assignment, lag (librdkafka statistics) and progress go to a [`ConsumerWatch`]: `/metrics`
//! and `/health` show a stalled group.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::consumer::Consumer;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::consumer_watch::ConsumerWatch;
use crate::dead_letters::header;
use crate::kafka::{Envelope, GroupConsumer, Topics};
use crate::metrics::Metrics;

/// One message handed to a handler.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The logical topic (`ticketflow.seats.locked`), whatever the prefix.
    pub topic: &'static str,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    /// What the inbox deduplicates on ([`crate::kafka::message_id`]).
    pub message_id: Uuid,
    /// The payload's `eventType` (empty when it has none).
    pub event_type: String,
}

impl Delivery {
    /// The typed envelope.
    ///
    /// # Errors
    /// [`HandlerError::Poison`] when the payload does not fit `T`: retrying cannot help.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<Envelope<T>, HandlerError> {
        Envelope::parse(&self.payload).map_err(|e| {
            // The envelope flattens its payload, and serde's flatten loses the field's name; the
            // payload read alone (its fields ignore the envelope's) names it for the dead letter.
            let field = serde_path_to_error::deserialize::<_, T>(
                &mut serde_json::Deserializer::from_slice(&self.payload),
            )
            .err()
            .map(|e| e.path().to_string())
            .filter(|path| path != ".");
            HandlerError::Poison(match field {
                Some(field) => anyhow::anyhow!(
                    "{} payload does not parse: field `{field}`: {e}",
                    self.topic
                ),
                None => anyhow::anyhow!("{} payload does not parse: {e}", self.topic),
            })
        })
    }
}

/// What a handler did with a message (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The state changed.
    Processed,
    /// The message id was processed before; nothing changed.
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
pub type Handler =
    Arc<dyn Fn(Delivery) -> BoxFuture<'static, Result<Outcome, HandlerError>> + Send + Sync>;

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
    /// Messages of one partition handled at once (different keys only; one key's messages run in
    /// offset order). 1 = strictly one after another.
    pub concurrency: usize,
    /// Leave and rejoin the group after holding no partition this long (`None`: never). See
    /// the module docs.
    pub rejoin_after: Option<Duration>,
    /// The `dead-letters-dropped` bug variant: a message given up on is logged and dropped
    /// instead of parked (only ever set in builds with `kit::bug_variants`).
    pub drop_dead_letters: bool,
}

impl ConsumerOptions {
    pub fn new(group: &str, topics: &[&'static str]) -> Self {
        Self {
            group: group.to_string(),
            topics: topics.to_vec(),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            rejoin_after: Some(Duration::from_secs(5)),
            concurrency: 1,
            drop_dead_letters: false,
        }
    }
}

/// What the runner reads of every message before its handler does: a JSON object, its
/// `messageId` (Stampede's; TicketFlow's have none) and its `eventType` when it has one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeHead {
    #[serde(default)]
    message_id: Option<Uuid>,
    #[serde(default)]
    event_type: String,
}

struct Shared {
    consumer: GroupConsumer,
    producer: FutureProducer,
    metrics: Metrics,
    watch: ConsumerWatch,
    handler: Handler,
    options: ConsumerOptions,
    /// Broker-side name -> logical name.
    logical: HashMap<String, &'static str>,
    token: CancellationToken,
}

/// How one membership in the group ended.
enum Ended {
    /// The token was cancelled: the service stops.
    Stopped,
    /// Held no partition for this long: leave and join again.
    Rejoin(Duration),
}

/// Consumes until `token` is cancelled. Connection trouble is logged and retried by librdkafka;
/// a membership that is assigned nothing is renewed (see the module docs).
///
/// # Errors
/// When the consumer cannot be created or subscribe.
#[allow(clippy::too_many_arguments)] // each is a distinct handle the caller owns; a struct would only rename them
pub async fn run(
    brokers: &str,
    topics: &Topics,
    producer: FutureProducer,
    metrics: Metrics,
    watch: ConsumerWatch,
    options: ConsumerOptions,
    handler: Handler,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let logical: HashMap<String, &'static str> = options
        .topics
        .iter()
        .map(|t| (topics.name(t), *t))
        .collect();
    let names: Vec<String> = logical.keys().cloned().collect();
    let group = options.group.clone();
    let result = loop {
        let consumer = match crate::kafka::watched_consumer(brokers, &group, watch.clone()) {
            Ok(consumer) => consumer,
            Err(e) => break Err(e),
        };
        let subscription: Vec<&str> = names.iter().map(String::as_str).collect();
        if let Err(e) = consumer.subscribe(&subscription) {
            break Err(anyhow::Error::new(e)
                .context(format!("cannot subscribe group {group} to {names:?}")));
        }
        watch.subscribed(&group, &names);
        let shared = Arc::new(Shared {
            consumer,
            producer: producer.clone(),
            metrics: metrics.clone(),
            watch: watch.clone(),
            handler: handler.clone(),
            options: options.clone(),
            logical: logical.clone(),
            token: token.clone(),
        });
        match membership(shared, &token).await {
            Ended::Stopped => break Ok(()),
            Ended::Rejoin(unassigned) => {
                watch.rejoining(&group);
                tracing::warn!(
                    group = %group,
                    unassigned_secs = unassigned.as_secs_f64(),
                    "consumer holds no partition; leaving the group and joining again"
                );
            }
        }
    };
    watch.stopped(&group);
    result
}

/// One membership of the group: receive and dispatch until stopped or assigned nothing too
/// long, then drain the workers and leave the group.
async fn membership(shared: Arc<Shared>, token: &CancellationToken) -> Ended {
    let group = shared.options.group.clone();
    let mut workers: HashMap<(String, i32), mpsc::Sender<OwnedMessage>> = HashMap::new();
    let mut handles = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stalled = false;
    let ended = loop {
        let message = tokio::select! {
            m = shared.consumer.recv() => m,
            _ = tick.tick() => {
                observe_assignment(&shared);
                let stalls = shared.watch.stalls();
                let stall = stalls.iter().find(|s| s.group() == group);
                match (stall, stalled) {
                    (Some(stall), false) => tracing::error!(group = %group, "consumer stalled: {stall}"),
                    (None, true) => tracing::info!(group = %group, "consumer makes progress again"),
                    _ => {}
                }
                stalled = stall.is_some();
                if let (Some(limit), Some(unassigned)) = (shared.options.rejoin_after, shared.watch.unassigned_for(&group)) {
                    if unassigned > limit {
                        break Ended::Rejoin(unassigned);
                    }
                }
                continue;
            }
            _ = token.cancelled() => break Ended::Stopped,
        };
        let message = match message {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(group = %group, error = %e, "Kafka receive failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let slot = (message.topic().to_string(), message.partition());
        let sender = workers
            .entry(slot)
            .or_insert_with_key(|(topic, partition)| {
                let (tx, rx) = mpsc::channel(256);
                handles.push(tokio::spawn(partition_worker(
                    shared.clone(),
                    topic.clone(),
                    *partition,
                    rx,
                )));
                tx
            });
        if sender.send(message).await.is_err() {
            break Ended::Stopped;
        }
    };
    drop(workers);
    for handle in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
    // No commit here: the close's unassign commits what is stored, and a commit issued just
    // before a close is one more operation in flight while librdkafka terminates the group (see
    // `kit::kafka::GroupConsumer`). A sync one would also wait forever for an unreachable broker.
    match Arc::try_unwrap(shared) {
        Ok(shared) => {
            if !shared.consumer.close(Duration::from_secs(5)).await {
                tracing::warn!(group = %group, "consumer did not leave its group within 5 s; the broker drops it after its session timeout");
            }
        }
        Err(_) => {
            tracing::warn!(group = %group, "a partition worker still runs; the consumer closes when it ends")
        }
    }
    ended
}

/// Tells the watch which partitions the group holds now.
fn observe_assignment(shared: &Shared) {
    match shared.consumer.assignment() {
        Ok(list) => {
            let partitions: Vec<(String, i32)> = list
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            shared.watch.assigned(&shared.options.group, &partitions);
        }
        Err(e) => {
            tracing::debug!(group = %shared.options.group, error = %e, "cannot read the assignment")
        }
    }
}

/// Handles one partition: up to `concurrency` messages at once, those with the same key one
/// after another in offset order, and stores only the offset below the oldest message not yet
/// handled, so a crash redelivers whatever was unfinished and never skips a message.
///
/// ```text
///   offsets  10 11 12 13 14      done: 10 12 13    outstanding: 11 14
///   stored   10 (commits 11)      11 done -> stored 13 (commits 14)
/// ```
async fn partition_worker(
    shared: Arc<Shared>,
    topic: String,
    partition: i32,
    mut inbox: mpsc::Receiver<OwnedMessage>,
) {
    let limit = shared.options.concurrency.max(1);
    let mut running = FuturesUnordered::new();
    // Keys with a message running, and the messages of that key waiting behind it.
    let mut busy: HashMap<Option<Vec<u8>>, VecDeque<OwnedMessage>> = HashMap::new();
    let mut offsets = OffsetTracker::default();
    let mut open = true;
    loop {
        tokio::select! {
            message = inbox.recv(), if open && offsets.outstanding() < limit => {
                let Some(message) = message else {
                    open = false;
                    continue;
                };
                if shared.token.is_cancelled() {
                    return; // not stored: redelivered after restart
                }
                offsets.received(message.offset());
                let key = message.key().map(<[u8]>::to_vec);
                match busy.get_mut(&key) {
                    Some(waiting) => waiting.push_back(message),
                    None => {
                        busy.insert(key.clone(), VecDeque::new());
                        running.push(handle(shared.clone(), message, key));
                    }
                }
            }
            Some((offset, key, handled)) = running.next() => {
                if !handled {
                    return; // shutdown interrupted it: nothing from here on is stored
                }
                shared.watch.progressed(&shared.options.group);
                if let Some(safe) = offsets.handled(offset) {
                    let _ = shared.consumer.store_offset(&topic, partition, safe);
                }
                match busy.get_mut(&key).and_then(VecDeque::pop_front) {
                    Some(next) => running.push(handle(shared.clone(), next, key)),
                    None => {
                        busy.remove(&key);
                    }
                }
            }
            else => return,
        }
    }
}

/// Which offset of a partition may be stored while messages finish out of order: the one just
/// below the oldest message still unfinished (librdkafka commits stored + 1, the next to read).
#[derive(Debug, Default)]
struct OffsetTracker {
    /// Received and not yet handled.
    outstanding: BTreeSet<i64>,
    highest_handled: Option<i64>,
    stored: Option<i64>,
}

impl OffsetTracker {
    fn received(&mut self, offset: i64) {
        self.outstanding.insert(offset);
    }

    fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// `offset` is handled; the offset to store now, if it moved forward.
    fn handled(&mut self, offset: i64) -> Option<i64> {
        self.outstanding.remove(&offset);
        self.highest_handled = self.highest_handled.max(Some(offset));
        let safe = match self.outstanding.first() {
            Some(first) => Some(first - 1),
            None => self.highest_handled,
        };
        let safe = safe.filter(|s| Some(*s) > self.stored)?;
        self.stored = Some(safe);
        Some(safe)
    }
}

/// One message through [`process`], with what the worker needs to know afterwards.
async fn handle(
    shared: Arc<Shared>,
    message: OwnedMessage,
    key: Option<Vec<u8>>,
) -> (i64, Option<Vec<u8>>, bool) {
    let handled = process(&shared, &message).await;
    (message.offset(), key, handled)
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
            return dead_letter(
                shared,
                message,
                &format!("not a JSON message object: {e}"),
                1,
            )
            .await;
        }
    };
    let delivery = Delivery {
        topic: logical,
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        message_id: head
            .message_id
            .unwrap_or_else(|| crate::kafka::derived_message_id(logical, message.key(), &payload)),
        payload,
        event_type: head.event_type,
    };
    let mut backoff = shared.options.initial_backoff;
    // Failures that count towards max_attempts: a dependency that could not be reached does not
    // (see `is_unavailable`).
    let mut attempt = 1;
    let mut unavailable_since: Option<std::time::Instant> = None;
    loop {
        match call_handler(shared, &delivery).await {
            Ok(outcome) => {
                let label = match outcome {
                    Outcome::Processed => "consumed",
                    Outcome::Duplicate => "deduped",
                    Outcome::Ignored => "ignored",
                };
                shared.metrics.message(logical, label);
                if let Some(since) = unavailable_since {
                    tracing::info!(topic = logical, message_id = %delivery.message_id, waited_ms = since.elapsed().as_millis() as u64, "handled once its dependency was back");
                }
                return true;
            }
            Err(HandlerError::Poison(e)) => {
                return dead_letter(shared, message, &format!("{e:#}"), attempt).await;
            }
            Err(HandlerError::Retryable(e)) if is_unavailable(&e) => {
                // Postgres or Redis down, reset or cut: the message is not at fault, so it is
                // never dead-lettered for it. The partition waits (its order is kept) and the
                // handler runs again until the dependency answers, or the service stops (the
                // offset is then not stored, and the message is redelivered).
                shared.metrics.message(logical, "retried");
                if unavailable_since.is_none() {
                    unavailable_since = Some(std::time::Instant::now());
                    tracing::warn!(topic = logical, message_id = %delivery.message_id, error = %format!("{e:#}"), "a dependency is unavailable; retrying until it is back");
                }
            }
            Err(HandlerError::Retryable(e)) if attempt >= shared.options.max_attempts => {
                return dead_letter(shared, message, &format!("{e:#}"), attempt).await;
            }
            Err(HandlerError::Retryable(e)) => {
                shared.metrics.message(logical, "retried");
                tracing::warn!(topic = logical, message_id = %delivery.message_id, attempt, error = %format!("{e:#}"), "handler failed; retrying");
                attempt += 1;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {},
            _ = shared.token.cancelled() => return false,
        }
        backoff = (backoff * 2).min(shared.options.max_backoff);
    }
}

/// Whether a handler's error says a dependency could not be reached (Postgres or Redis refused,
/// reset, timed out or cut a connection) rather than that the message cannot be handled.
fn is_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
            return crate::db::is_unavailable(e);
        }
        if let Some(e) = cause.downcast_ref::<redis::RedisError>() {
            return e.is_io_error()
                || e.is_connection_refusal()
                || e.is_connection_dropped()
                || e.is_timeout();
        }
        cause.downcast_ref::<std::io::Error>().is_some()
    })
}

/// Runs the handler on `delivery`, turning a panic into a retryable error (counted as
/// `messages_total{outcome="panicked"}`). Uncaught, a panic would end the partition's worker
/// task, and with it the consumer, over one bad message; caught, the message is retried and then
/// dead-lettered like any other failure, and the partition goes on.
async fn call_handler(shared: &Shared, delivery: &Delivery) -> Result<Outcome, HandlerError> {
    // The call sits inside the async block so that a panic before the handler's first await
    // (in the closure that builds its future) is caught too.
    let call = std::panic::AssertUnwindSafe(async { (shared.handler)(delivery.clone()).await });
    match call.catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic payload".into());
            shared.metrics.message(delivery.topic, "panicked");
            Err(HandlerError::Retryable(anyhow::anyhow!(
                "handler panicked: {what}"
            )))
        }
    }
}

/// Writes the message to `<topic>.DLT` with the error in headers; retries until the broker takes
/// it (or shutdown: then false and the message is redelivered later). Never drops it.
async fn dead_letter(shared: &Shared, message: &OwnedMessage, error: &str, attempts: u32) -> bool {
    let topic = message.topic();
    let dlt = format!("{topic}.DLT");
    let logical = shared.logical.get(topic).copied().unwrap_or("unknown");
    if shared.options.drop_dead_letters {
        // The bug variant: acknowledged and gone; nothing is left to replay.
        tracing::error!(
            topic = logical,
            offset = message.offset(),
            error,
            "message dropped"
        );
        return true;
    }
    tracing::error!(
        topic = logical,
        partition = message.partition(),
        offset = message.offset(),
        attempts,
        error,
        "message dead-lettered"
    );
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    let attempts_text = attempts.to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: header::ERROR,
            value: Some(error),
        })
        .insert(Header {
            key: header::ORIGINAL_TOPIC,
            value: Some(topic),
        })
        .insert(Header {
            key: header::ORIGINAL_PARTITION,
            value: Some(&partition),
        })
        .insert(Header {
            key: header::ORIGINAL_OFFSET,
            value: Some(&offset),
        })
        .insert(Header {
            key: header::ATTEMPTS,
            value: Some(&attempts_text),
        })
        .insert(Header {
            key: header::CONSUMER_GROUP,
            value: Some(&shared.options.group),
        });
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

#[cfg(test)]
mod tests {
    use super::OffsetTracker;

    #[test]
    fn offsets_are_stored_only_below_the_oldest_unfinished_message() {
        let mut offsets = OffsetTracker::default();
        for offset in 10..=14 {
            offsets.received(offset);
        }
        assert_eq!(
            offsets.handled(12),
            Some(9),
            "10 and 11 unfinished: nothing past 9"
        );
        assert_eq!(
            offsets.handled(10),
            Some(10),
            "11 unfinished: commit 11, not past it"
        );
        assert_eq!(offsets.handled(13), None);
        assert_eq!(
            offsets.handled(11),
            Some(13),
            "10..=13 done, 14 not: commit 14"
        );
        assert_eq!(offsets.outstanding(), 1);
        assert_eq!(offsets.handled(14), Some(14));
        assert_eq!(offsets.outstanding(), 0);
    }

    #[test]
    fn in_order_handling_stores_every_offset() {
        let mut offsets = OffsetTracker::default();
        offsets.received(0);
        assert_eq!(offsets.handled(0), Some(0));
        offsets.received(1);
        offsets.received(2);
        assert_eq!(offsets.handled(1), Some(1));
        assert_eq!(offsets.handled(2), Some(2));
    }
}
