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
    use std::path::Path;

    use futures::FutureExt;

    use super::*;
    use checker::{
        check, BookingStatus, History, NotificationKind, Opts, PaymentStatus, SeatStatus, Validity,
    };

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

    fn server() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
    }

    /// Creates a database and applies a service's migrations (every `.sql` file, in name order).
    async fn create_database(admin: &mut PgConnection, name: &str, service: &str) -> String {
        sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut *admin)
            .await
            .unwrap();
        let url = format!("{}/{name}", server());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../services")
            .join(service)
            .join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no migrations in {}", dir.display());
        let mut db = PgConnection::connect(&url).await.unwrap();
        for file in files {
            let sql = std::fs::read_to_string(&file).unwrap();
            sqlx::raw_sql(&sql)
                .execute(&mut db)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        db.close().await.unwrap();
        url
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Two events: A (seats 11, 12; bookings 1 CONFIRMED, 2 FAILED) and B (seat 21; booking 3
    /// CONFIRMED), with their payments and notifications and one WELCOME.
    async fn insert_rows(urls: &DatabaseUrls) {
        let (user, a, b) = (id(900), id(100), id(200));
        let mut db = PgConnection::connect(&urls.bookings).await.unwrap();
        for (booking, event, seat, status, reason) in [
            (id(1), a, id(11), "CONFIRMED", None),
            (id(2), a, id(12), "FAILED", Some("payment declined")),
            (id(3), b, id(21), "CONFIRMED", None),
        ] {
            sqlx::query(
                "INSERT INTO bookings (id, user_id, event_id, event_name, seat_ids, amount_cents, \
                 status, failure_reason, expires_at) VALUES ($1, $2, $3, 'Show', $4, 5000, $5, $6, now())",
            )
            .bind(booking)
            .bind(user)
            .bind(event)
            .bind(vec![seat])
            .bind(status)
            .bind(reason)
            .execute(&mut db)
            .await
            .unwrap();
        }
        let mut db = PgConnection::connect(&urls.inventory).await.unwrap();
        for (seat, event, position, status, holder) in [
            (id(11), a, 1, "RESERVED", Some(id(1))),
            (id(12), a, 2, "AVAILABLE", None),
            (id(21), b, 1, "RESERVED", Some(id(3))),
        ] {
            sqlx::query(
                "INSERT INTO seats (id, event_id, position, section, row_label, seat_number, \
                 price_cents, status, booking_id) VALUES ($1, $2, $3, 'VIP', 'A', $3::text, 5000, $4, $5)",
            )
            .bind(seat)
            .bind(event)
            .bind(position)
            .bind(status)
            .bind(holder)
            .execute(&mut db)
            .await
            .unwrap();
        }
        let mut db = PgConnection::connect(urls.payments.as_ref().unwrap())
            .await
            .unwrap();
        for (booking, status) in [(id(1), "CAPTURED"), (id(2), "FAILED"), (id(3), "CAPTURED")] {
            sqlx::query(
                "INSERT INTO payments (id, booking_id, user_id, amount_cents, status) \
                 VALUES ($1, $2, $3, 5000, $4)",
            )
            .bind(Uuid::new_v4())
            .bind(booking)
            .bind(user)
            .bind(status)
            .execute(&mut db)
            .await
            .unwrap();
        }
        let mut db = PgConnection::connect(urls.notifications.as_ref().unwrap())
            .await
            .unwrap();
        for (booking, kind) in [
            (Some(id(1)), "CONFIRMED"),
            (Some(id(2)), "FAILED"),
            (Some(id(3)), "CONFIRMED"),
            (None, "WELCOME"),
        ] {
            sqlx::query(
                "INSERT INTO notifications (id, user_id, booking_id, kind, subject, body) \
                 VALUES ($1, $2, $3, $4, 's', 'b')",
            )
            .bind(Uuid::new_v4())
            .bind(user)
            .bind(booking)
            .bind(kind)
            .execute(&mut db)
            .await
            .unwrap();
        }
    }

    async fn collect_reads_each_table(urls: DatabaseUrls) {
        insert_rows(&urls).await;
        let (a, b) = (id(100), id(200));

        let mut state = collect_from_databases(&urls, Some(&[a])).await.unwrap();
        state.bookings.sort_by_key(|b| b.id);
        assert_eq!(
            state.bookings,
            vec![
                BookingRow::new(id(1), id(900), a, vec![id(11)], BookingStatus::Confirmed),
                BookingRow {
                    failure_reason: Some("payment declined".into()),
                    ..BookingRow::new(id(2), id(900), a, vec![id(12)], BookingStatus::Failed)
                },
            ]
        );
        assert_eq!(
            state.seats,
            vec![
                SeatRow::new(id(11), a, SeatStatus::Reserved, Some(id(1))),
                SeatRow::new(id(12), a, SeatStatus::Available, None),
            ]
        );
        let mut payments = state.payments.clone().unwrap();
        payments.sort_by_key(|p| p.booking_id);
        assert_eq!(
            payments,
            vec![
                PaymentRow::new(id(1), PaymentStatus::Captured, 5000),
                PaymentRow::new(id(2), PaymentStatus::Failed, 5000),
            ]
        );
        let mut notifications = state.notifications.clone().unwrap();
        notifications.sort_by_key(|n| n.booking_id);
        assert_eq!(
            notifications,
            vec![
                NotificationRow::new(id(1), NotificationKind::Confirmed),
                NotificationRow::new(id(2), NotificationKind::Failed),
            ]
        );
        assert_eq!(state.capacity, [(a, 2)].into());
        let verdict = check(&History::default(), &state, &Opts::default());
        assert_eq!(verdict.valid, Validity::True, "{verdict:#?}");

        let all = collect_from_databases(&urls, None).await.unwrap();
        assert_eq!(all.bookings.len(), 3);
        assert_eq!(all.seats.len(), 3);
        assert_eq!(all.payments.map(|p| p.len()), Some(3));
        assert_eq!(all.notifications.map(|n| n.len()), Some(4));
        assert_eq!(all.capacity, [(a, 2), (b, 1)].into());

        let unobserved = DatabaseUrls {
            payments: None,
            notifications: None,
            ..urls.clone()
        };
        let partial = collect_from_databases(&unobserved, Some(&[b]))
            .await
            .unwrap();
        assert_eq!(partial.bookings.len(), 1);
        assert_eq!((partial.payments, partial.notifications), (None, None));
    }

    #[tokio::test]
    async fn collect_reads_the_service_databases() {
        let mut admin = PgConnection::connect(&format!("{}/postgres", server()))
            .await
            .expect("Postgres at TEST_POSTGRES_URL or 127.0.0.1:5432 (run infra/local/up)");
        let suffix = Uuid::new_v4().simple().to_string()[..12].to_string();
        let names: Vec<String> = ["bookings", "inventory", "payments", "notifications"]
            .iter()
            .map(|db| format!("chaos_checker_{db}_{suffix}"))
            .collect();
        let mut urls = Vec::new();
        for (name, service) in names.iter().zip([
            "booking-service",
            "inventory-service",
            "payment-service",
            "notification-service",
        ]) {
            urls.push(create_database(&mut admin, name, service).await);
        }
        let urls = DatabaseUrls {
            bookings: urls[0].clone(),
            inventory: urls[1].clone(),
            payments: Some(urls[2].clone()),
            notifications: Some(urls[3].clone()),
        };
        let outcome = std::panic::AssertUnwindSafe(collect_reads_each_table(urls))
            .catch_unwind()
            .await;
        for name in &names {
            sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
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
