//! Transactional outbox: a state change and the messages it causes commit together; a relay
//! publishes them afterwards with an idempotent producer. No dual writes.
//!
//! ```text
//!   handler ──tx──> UPDATE state; INSERT outbox ──outbox::commit──> wake (in process) ──┐
//!                                                                                      v
//!   Relay: woken (+ poll for rows of other processes) -> SELECT .. FOR UPDATE SKIP LOCKED
//!          -> produce, await acks -> DELETE the delivered prefix -> commit
//!          (at-least-once; consumers dedupe)
//! ```
//!
//! The wake is in process, after the commit: a `pg_notify` inside the transaction would make
//! Postgres serialise the commit of every notifying transaction in the cluster (a lock taken in
//! PreCommit_Notify and held through the WAL flush), so five notifying commits per booking could
//! not be group-committed. Rows written by another process (another replica) are found by the
//! poll.
//!
//! If the broker is down the rows stay and the relay retries with backoff; if the relay crashes
//! between produce and delete the messages go out twice, which the consumers' eventId dedupe
//! absorbs.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use std::sync::LazyLock;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::watch;

use crate::kafka::{Envelope, Topics};
use crate::metrics::Metrics;

/// Tables kit owns in every service database; created idempotently at connect time.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS outbox (
    id          BIGSERIAL PRIMARY KEY,
    topic       TEXT        NOT NULL,
    message_key TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS processed_messages (
    event_id     UUID PRIMARY KEY,
    topic        TEXT        NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"#;

/// Bumped after every commit that may have written outbox rows; every relay of this process
/// watches it (a version, so a wake while a relay is busy is never lost).
static COMMITTED: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// Tells this process's relays that outbox rows were committed.
pub fn wake_relays() {
    COMMITTED.send_modify(|version| *version = version.wrapping_add(1));
}

/// Commits a transaction that may have [`enqueue`]d messages, then wakes the relays.
///
/// # Errors
/// When the commit fails (nothing was written then, and no relay is woken).
pub async fn commit(tx: Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    tx.commit().await?;
    wake_relays();
    Ok(())
}

/// Appends `envelope` to the outbox inside the caller's transaction.
///
/// # Errors
/// When the insert fails (the caller's transaction then rolls back with its state change).
pub async fn enqueue<T: Serialize>(
    tx: &mut PgConnection,
    topics: &Topics,
    logical_topic: &str,
    key: &str,
    envelope: &Envelope<T>,
) -> anyhow::Result<()> {
    let payload = serde_json::to_value(envelope).context("cannot serialize outbox message")?;
    sqlx::query("INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, $3)")
        .bind(topics.name(logical_topic))
        .bind(key)
        .bind(payload)
        .execute(&mut *tx)
        .await
        .context("cannot insert into outbox")?;
    Ok(())
}

/// Publishes outbox rows to Kafka until shutdown.
pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    /// To rebuild the producer after a fatal error (see [`Relay::recover_producer`]).
    brokers: String,
    metrics: Metrics,
    batch_size: i64,
    poll_interval: Duration,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    topic: String,
    message_key: String,
    payload: serde_json::Value,
}

impl Relay {
    pub fn new(pool: PgPool, producer: FutureProducer, brokers: &str, metrics: Metrics) -> Self {
        Self {
            pool,
            producer,
            brokers: brokers.to_string(),
            metrics,
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Runs until `shutdown` resolves. Errors are logged and retried with backoff; the relay never
    /// gives up on a message (at-least-once).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut committed = COMMITTED.subscribe();
        let mut backoff = Duration::from_millis(100);
        loop {
            // Marked seen before reading, so a commit during the read wakes the next wait.
            committed.borrow_and_update();
            match self.publish_batch().await {
                Ok(sent) => {
                    backoff = Duration::from_millis(100);
                    if sent as i64 == self.batch_size {
                        continue; // more waiting
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        retry_in_ms = backoff.as_millis() as u64,
                        "outbox relay failed; will retry"
                    );
                    if matches!(error, RelayError::Publish(_)) {
                        self.recover_producer();
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut shutdown => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            tokio::select! {
                _ = committed.changed() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = &mut shutdown => return,
            }
        }
    }

    /// After a failed delivery the relay starts over with a new producer. An idempotent producer
    /// whose broker restarted mid-flight can be stuck for good: librdkafka keeps retrying the
    /// old sequence numbers, which a restarted broker (tansu among them) refuses forever, or it
    /// enters a fatal state. A new producer gets a new producer id. Nothing is lost: rows stay in
    /// the outbox until a delivery is acknowledged; the cost is duplicates, which consumers
    /// deduplicate by eventId.
    fn recover_producer(&mut self) {
        use rdkafka::producer::Producer;
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            tracing::warn!(%code, reason, "Kafka producer hit a fatal error");
        }
        match crate::kafka::producer(&self.brokers) {
            Ok(producer) => self.producer = producer,
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                "cannot recreate the Kafka producer"
            ),
        }
    }

    /// Sends one batch in id order and deletes what the broker acknowledged, up to the first
    /// failure so that per-key order holds. Returns how many rows were published.
    async fn publish_batch(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await.context("outbox: cannot begin")?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, topic, message_key, payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await
        .context("outbox: cannot read pending messages")?;
        if rows.is_empty() {
            return Ok(0);
        }
        // A DELETE lost in a crash only sends those messages again, which the consumers'
        // eventId dedupe absorbs: this commit need not wait for the WAL flush. (Only here: an
        // empty pass, most of them when idle, costs no extra round trip.)
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await
            .context("outbox: cannot relax synchronous_commit")?;
        let bodies: Vec<String> = rows.iter().map(|r| r.payload.to_string()).collect();
        // Queue all sends before awaiting any: librdkafka batches them, and with the idempotent
        // producer the order per partition is the order of queueing.
        let deliveries: Vec<_> = rows
            .iter()
            .zip(&bodies)
            .map(|(row, body)| {
                self.producer.send(
                    FutureRecord::to(&row.topic)
                        .key(&row.message_key)
                        .payload(body),
                    Duration::from_secs(10),
                )
            })
            .collect();
        let results = futures::future::join_all(deliveries).await;
        let mut delivered = Vec::with_capacity(rows.len());
        let mut first_error = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(_) => {
                    self.metrics.message(&row.topic, "published");
                    delivered.push(row.id)
                }
                Err((error, _)) => {
                    self.metrics.message(&row.topic, "publish_failed");
                    first_error = Some(
                        anyhow::Error::new(error)
                            .context(format!("cannot publish to {}", row.topic)),
                    );
                    break;
                }
            }
        }
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&delivered)
            .execute(&mut *tx)
            .await
            .context("outbox: cannot delete published messages")?;
        tx.commit().await.context("outbox: cannot commit")?;
        match first_error {
            Some(error) => Err(RelayError::Publish(error)),
            None => Ok(delivered.len()),
        }
    }
}

/// Why a relay pass failed: the database (retry) or a delivery (retry with a new producer).
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Database(#[from] anyhow::Error),
    #[error("{0:#}")]
    Publish(anyhow::Error),
}
