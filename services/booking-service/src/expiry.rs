//! The expiry worker: a PENDING booking past its deadline becomes EXPIRED and releases its seats,
//! so no saga waits forever on a lost message or a dead service.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::state::{Booking, Transitions, COLUMNS};

/// Expires overdue bookings every `interval` until cancelled.
pub async fn run(
    pool: PgPool,
    transitions: Transitions,
    interval: Duration,
    token: CancellationToken,
) {
    let (pool, transitions) = (&pool, &transitions);
    kit::app::every(interval, token, move || async move {
        loop {
            match expire_batch(pool, transitions).await {
                Ok(n) if n == BATCH as usize => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "expiry scan failed; will retry");
                    break;
                }
            }
        }
    })
    .await;
}

const BATCH: i64 = 200;

/// Expires up to `BATCH` overdue bookings in one transaction; returns how many.
///
/// # Errors
/// When the database fails.
pub async fn expire_batch(pool: &PgPool, transitions: &Transitions) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let overdue: Vec<Booking> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE status = 'PENDING' AND expires_at < now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for booking in &overdue {
        transitions
            .close(&mut tx, booking, "EXPIRED", "EXPIRED")
            .await?;
    }
    kit::outbox::commit(tx).await?;
    if !overdue.is_empty() {
        tracing::info!(bookings = overdue.len(), "expired overdue bookings");
    }
    Ok(overdue.len())
}
