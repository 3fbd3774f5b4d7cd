//! Reads the final state straight from the service databases (bookings, inventory, payments,
//! notifications), after the stack quiesced.
//!
//! ```text
//!   ticketflow_bookings.bookings ──┐ event filter
//!   ticketflow_inventory.seats   ──┤ event filter; capacity = seats per event
//!   ticketflow_payments.payments ──┤ the collected bookings' payments        (optional)
//!   ticketflow_notifications     ──┘ the collected bookings' notifications   (optional)
//!                                   ─▶ FinalState
//! ```
//!
//! With an event filter, payments and notifications are restricted to the bookings collected,
//! so every row the checker sees belongs to the same bookings. Without one, every row is read
//! (WELCOME notifications included; the checker ignores them).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use checker::{BookingRow, FinalState, NotificationRow, PaymentRow, SeatRow};

/// Where the service databases are. Payments and notifications are optional: `None` leaves
/// them unobserved (the invariants that need them answer Unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseUrls {
    /// booking-service's database (`bookings`).
    pub bookings: String,
    /// inventory-service's database (`seats`).
    pub inventory: String,
    /// payment-service's database (`payments`).
    pub payments: Option<String>,
    /// notification-service's database (`notifications`).
    pub notifications: Option<String>,
}

impl DatabaseUrls {
    /// The local stack's databases (`postgres://postgres@127.0.0.1:5432/ticketflow_*`).
    pub fn local() -> Self {
        Self::on_server("postgres://postgres@127.0.0.1:5432")
    }

    /// The four `ticketflow_*` databases on one server (`postgres://user:password@host:port`).
    pub fn on_server(server: &str) -> Self {
        let server = server.trim_end_matches('/');
        let url = |db: &str| format!("{server}/{db}");
        Self {
            bookings: url("ticketflow_bookings"),
            inventory: url("ticketflow_inventory"),
            payments: Some(url("ticketflow_payments")),
            notifications: Some(url("ticketflow_notifications")),
        }
    }
}

/// id, user_id, event_id, seat_ids, status, failure_reason.
type BookingTuple = (Uuid, Uuid, Uuid, Vec<Uuid>, String, Option<String>);

/// Reads the final state; `event_ids` restricts it to those events (and their bookings'
/// payments and notifications).
///
/// # Errors
/// A database that cannot be reached or read, naming it (password hidden).
pub async fn collect_from_databases(
    urls: &DatabaseUrls,
    event_ids: Option<&[Uuid]>,
) -> anyhow::Result<FinalState> {
    let events: Option<Vec<Uuid>> = event_ids.map(<[Uuid]>::to_vec);

    let mut db = connect(&urls.bookings).await?;
    let rows: Vec<BookingTuple> = sqlx::query_as(
        "SELECT id, user_id, event_id, seat_ids, status, failure_reason FROM bookings \
         WHERE $1::uuid[] IS NULL OR event_id = ANY($1) ORDER BY created_at, id",
    )
    .bind(&events)
    .fetch_all(&mut db)
    .await
    .with_context(|| format!("cannot read bookings from {}", redact(&urls.bookings)))?;
    db.close().await.ok();
    let bookings: Vec<BookingRow> = rows
        .into_iter()
        .map(
            |(id, user_id, event_id, seat_ids, status, failure_reason)| BookingRow {
                id,
                user_id,
                event_id,
                seat_ids,
                status: status.into(),
                failure_reason,
            },
        )
        .collect();
    // The rows payments and notifications are restricted to, when filtering by event.
    let booking_ids: Option<Vec<Uuid>> = events
        .as_ref()
        .map(|_| bookings.iter().map(|b| b.id).collect());

    let mut db = connect(&urls.inventory).await?;
    let rows: Vec<(Uuid, Uuid, String, Option<Uuid>)> = sqlx::query_as(
        "SELECT id, event_id, status, booking_id FROM seats \
         WHERE $1::uuid[] IS NULL OR event_id = ANY($1) ORDER BY event_id, position",
    )
    .bind(&events)
    .fetch_all(&mut db)
    .await
    .with_context(|| format!("cannot read seats from {}", redact(&urls.inventory)))?;
    let seats: Vec<SeatRow> = rows
        .into_iter()
        .map(|(id, event_id, status, booking_id)| SeatRow {
            id,
            event_id,
            status: status.into(),
            booking_id,
        })
        .collect();
    let capacity: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT event_id, count(*) FROM seats \
         WHERE $1::uuid[] IS NULL OR event_id = ANY($1) GROUP BY event_id",
    )
    .bind(&events)
    .fetch_all(&mut db)
    .await
    .with_context(|| format!("cannot count seats in {}", redact(&urls.inventory)))?;
    db.close().await.ok();

    let payments = match &urls.payments {
        None => None,
        Some(url) => {
            let mut db = connect(url).await?;
            let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
                "SELECT booking_id, status, amount_cents FROM payments \
                 WHERE $1::uuid[] IS NULL OR booking_id = ANY($1) ORDER BY created_at, booking_id",
            )
            .bind(&booking_ids)
            .fetch_all(&mut db)
            .await
            .with_context(|| format!("cannot read payments from {}", redact(url)))?;
            db.close().await.ok();
            Some(
                rows.into_iter()
                    .map(|(booking_id, status, amount_cents)| PaymentRow {
                        booking_id,
                        status: status.into(),
                        amount_cents,
                    })
                    .collect(),
            )
        }
    };

    let notifications = match &urls.notifications {
        None => None,
        Some(url) => {
            let mut db = connect(url).await?;
            let rows: Vec<(Option<Uuid>, String)> = sqlx::query_as(
                "SELECT booking_id, kind FROM notifications \
                 WHERE $1::uuid[] IS NULL OR booking_id = ANY($1) ORDER BY created_at, id",
            )
            .bind(&booking_ids)
            .fetch_all(&mut db)
            .await
            .with_context(|| format!("cannot read notifications from {}", redact(url)))?;
            db.close().await.ok();
            Some(
                rows.into_iter()
                    .map(|(booking_id, kind)| NotificationRow {
                        booking_id,
                        kind: kind.into(),
                    })
                    .collect(),
            )
        }
    };

    Ok(FinalState {
        bookings,
        seats,
        payments,
        notifications,
        capacity: capacity
            .into_iter()
            .map(|(event, n)| (event, u64::try_from(n).unwrap_or(0)))
            .collect(),
        // From the broker, not the databases: the runner adds them (`runner::dead_letters`).
        dead_letters: None,
    })
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    redact(url)
}

/// The URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgres://postgres@h/db"),
            "postgres://postgres@h/db"
        );
        assert_eq!(redact("not a url"), "not a url");
    }

    #[tokio::test]
    async fn an_unreachable_database_is_named_without_its_password() {
        let urls = DatabaseUrls {
            bookings: "postgres://postgres:hunter2@127.0.0.1:1/nowhere".into(),
            ..DatabaseUrls::local()
        };
        let err = format!(
            "{:#}",
            collect_from_databases(&urls, None).await.unwrap_err()
        );
        assert!(err.contains("127.0.0.1:1/nowhere"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
