//! The sweeper: seats whose lock expired (their booking never confirmed) go back to AVAILABLE, and
//! Redis deletes that failed during a Redis fault are retried.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::consumers::Inventory;
use crate::seats;

/// Sweeps every `interval` until cancelled.
pub async fn run(
    inventory: Arc<Inventory>,
    interval: std::time::Duration,
    token: CancellationToken,
) {
    let inventory = &inventory;
    kit::app::every(interval, token, move || async move {
        if let Err(e) = sweep_once(inventory).await {
            tracing::warn!(error = format!("{e:#}"), "sweep failed; will retry");
        }
    })
    .await;
}

/// One pass: expired locks, then deferred Redis deletes.
///
/// # Errors
/// When Postgres fails.
pub async fn sweep_once(inventory: &Inventory) -> anyhow::Result<()> {
    loop {
        let swept = seats::sweep_expired(&inventory.pool, 500).await?;
        if swept.is_empty() {
            break;
        }
        inventory.metrics.seats_swept.inc_by(swept.len() as u64);
        tracing::info!(
            seats = swept.len(),
            "expired seat locks returned to AVAILABLE"
        );
        for seat in &swept {
            // Redis expires these on its own TTL; deleting now just frees them sooner.
            let _ = inventory
                .locks
                .release(seat.event_id, seat.booking_id, &[seat.id])
                .await;
        }
    }
    let pending: Vec<(i64, uuid::Uuid, uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "SELECT id, event_id, seat_id, booking_id FROM redis_cleanup ORDER BY id LIMIT 500",
    )
    .fetch_all(&inventory.pool)
    .await?;
    let mut done = Vec::new();
    for (id, event_id, seat_id, booking_id) in pending {
        if inventory
            .locks
            .release(event_id, booking_id, &[seat_id])
            .await
            .is_ok()
        {
            done.push(id);
        } else {
            break; // Redis still down
        }
    }
    if !done.is_empty() {
        sqlx::query("DELETE FROM redis_cleanup WHERE id = ANY($1)")
            .bind(&done)
            .execute(&inventory.pool)
            .await?;
    }
    Ok(())
}
