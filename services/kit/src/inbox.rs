//! Idempotent consumers: a message's id ([`crate::kafka::message_id`]) is recorded in the same
//! transaction as the state change it causes, so a redelivered message changes nothing the second
//! time. (The column is still called `event_id`, the envelope field's name before TicketFlow's
//! `eventId` took it back.)

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::consumer::Delivery;

/// Opens a transaction on `pool` and [`claim`]s `delivery` in it. `None` means a duplicate:
/// nothing to do but acknowledge it.
///
/// # Errors
/// When the database fails.
pub async fn begin(
    pool: &PgPool,
    delivery: &Delivery,
) -> Result<Option<Transaction<'static, Postgres>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let first = claim(&mut tx, delivery.message_id, delivery.topic).await?;
    Ok(first.then_some(tx))
}

/// Whether this transaction is the first to process `message_id`. `false` means a duplicate: the
/// caller rolls back (or commits nothing) and acknowledges the message.
///
/// A concurrent duplicate blocks on the primary key until the first transaction ends, then sees
/// the row: exactly one of them processes the message.
///
/// # Errors
/// When the insert fails.
pub async fn claim(
    tx: &mut PgConnection,
    message_id: Uuid,
    topic: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO processed_messages (event_id, topic) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(topic)
    .execute(&mut *tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
