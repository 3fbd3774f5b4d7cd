//! `chaos collect` end to end: temporary databases built from the services' migrations, the
//! binary run on them, the final state file read back; bad and unreachable databases exit 2 with
//! one line.

use std::path::Path;
use std::process::{Command, Output};

use futures::FutureExt;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use chaos::checker::{
    check, BookingRow, BookingStatus, History, NotificationKind, NotificationRow, Opts, PaymentRow,
    PaymentStatus, SeatRow, SeatStatus, Validity,
};
use chaos::collect::{collect_from_databases, DatabaseUrls};

use super::{assert_one_line_error, id, run_chaos, CHAOS};

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
    let mut db = PgConnection::connect(&url).await.unwrap();
    for file in files {
        sqlx::raw_sql(&std::fs::read_to_string(&file).unwrap())
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    db.close().await.unwrap();
    url
}

/// Events 100 (booking 1 CONFIRMED, seat 11 RESERVED) and 200 (booking 2 FAILED, seat 21
/// AVAILABLE), with booking 1's payment and notification.
async fn insert_rows(bookings: &str, inventory: &str, payments: &str, notifications: &str) {
    let user = Uuid::from_u128(900);
    let mut db = PgConnection::connect(bookings).await.unwrap();
    for (booking, event, seat, status) in [(1, 100, 11, "CONFIRMED"), (2, 200, 21, "FAILED")] {
        sqlx::query(
            "INSERT INTO bookings (id, user_id, event_id, event_name, seat_ids, amount_cents, \
             status, expires_at) VALUES ($1, $2, $3, 'Show', $4, 5000, $5, now())",
        )
        .bind(Uuid::from_u128(booking))
        .bind(user)
        .bind(Uuid::from_u128(event))
        .bind(vec![Uuid::from_u128(seat)])
        .bind(status)
        .execute(&mut db)
        .await
        .unwrap();
    }
    let mut db = PgConnection::connect(inventory).await.unwrap();
    for (seat, event, status, holder) in
        [(11, 100, "RESERVED", Some(1)), (21, 200, "AVAILABLE", None)]
    {
        sqlx::query(
            "INSERT INTO seats (id, event_id, position, section, row_label, seat_number, \
             price_cents, status, booking_id) VALUES ($1, $2, 1, 'VIP', 'A', '1', 5000, $3, $4)",
        )
        .bind(Uuid::from_u128(seat))
        .bind(Uuid::from_u128(event))
        .bind(status)
        .bind(holder.map(Uuid::from_u128))
        .execute(&mut db)
        .await
        .unwrap();
    }
    let mut db = PgConnection::connect(payments).await.unwrap();
    sqlx::query(
        "INSERT INTO payments (id, booking_id, user_id, amount_cents, status) \
         VALUES ($1, $2, $3, 5000, 'CAPTURED')",
    )
    .bind(Uuid::new_v4())
    .bind(Uuid::from_u128(1))
    .bind(user)
    .execute(&mut db)
    .await
    .unwrap();
    let mut db = PgConnection::connect(notifications).await.unwrap();
    sqlx::query(
        "INSERT INTO notifications (id, user_id, booking_id, kind, subject, body) \
         VALUES ($1, $2, $3, 'CONFIRMED', 's', 'b')",
    )
    .bind(Uuid::new_v4())
    .bind(user)
    .bind(Uuid::from_u128(1))
    .execute(&mut db)
    .await
    .unwrap();
}

fn collect(args: &[&str]) -> Output {
    run_chaos(Command::new(CHAOS).arg("collect").args(args))
}

async fn collect_writes_the_final_state(urls: [String; 4]) {
    let [bookings, inventory, payments, notifications] = &urls;
    insert_rows(bookings, inventory, payments, notifications).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("final-state.json");
    let out_arg = out.to_str().unwrap();

    // Everything, one event.
    let output = tokio::task::block_in_place(|| {
        collect(&[
            "--bookings-db",
            bookings,
            "--inventory-db",
            inventory,
            "--payments-db",
            payments,
            "--notifications-db",
            notifications,
            "--event",
            &id(100),
            "--out",
            out_arg,
        ])
    });
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("collected 1 bookings, 1 seats, 1 payments, 1 notifications, 1 events"),
        "{stdout}"
    );
    let state: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(state["bookings"][0]["id"], json!(id(1)));
    assert_eq!(state["bookings"][0]["status"], json!("CONFIRMED"));
    assert_eq!(state["seats"][0]["bookingId"], json!(id(1)));
    assert_eq!(state["payments"][0]["status"], json!("CAPTURED"));
    assert_eq!(state["notifications"][0]["kind"], json!("CONFIRMED"));
    assert_eq!(state["capacity"], json!({id(100): 1}));

    // Only the required databases, every event: payments and notifications unobserved, and
    // `chaos check` takes the file (unknown: payments not observed).
    let output = tokio::task::block_in_place(|| {
        collect(&[
            "--bookings-db",
            bookings,
            "--inventory-db",
            inventory,
            "--out",
            out_arg,
        ])
    });
    assert_eq!(output.status.code(), Some(0));
    let state: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(state["bookings"].as_array().unwrap().len(), 2);
    assert_eq!(state["payments"], Value::Null);
    assert_eq!(state["notifications"], Value::Null);
    let history = dir.path().join("history.jsonl");
    std::fs::write(&history, "").unwrap();
    let check = Command::new(CHAOS)
        .args([
            "check",
            "--history",
            history.to_str().unwrap(),
            "--state",
            out_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// Makes the four service databases (with `prefix` and a unique suffix in their names), runs
/// `test` on their URLs (bookings, inventory, payments, notifications), drops them.
async fn with_service_databases<F, Fut>(prefix: &str, test: F)
where
    F: FnOnce([String; 4]) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut admin = PgConnection::connect(&format!("{}/postgres", server()))
        .await
        .expect("Postgres at TEST_POSTGRES_URL or 127.0.0.1:5432 (run infra/local/up)");
    let suffix = Uuid::new_v4().simple().to_string()[..12].to_string();
    let services = [
        "booking-service",
        "inventory-service",
        "payment-service",
        "notification-service",
    ];
    let names: Vec<String> = services
        .iter()
        .map(|s| format!("{prefix}_{}_{suffix}", s.trim_end_matches("-service")))
        .collect();
    let mut urls = Vec::new();
    for (name, service) in names.iter().zip(services) {
        urls.push(create_database(&mut admin, name, service).await);
    }
    let urls: [String; 4] = urls.try_into().unwrap();
    let outcome = std::panic::AssertUnwindSafe(test(urls))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_reads_the_service_databases_into_a_final_state_file() {
    with_service_databases("chaos_collect", collect_writes_the_final_state).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_reads_each_table_and_filters_by_event() {
    with_service_databases(
        "chaos_checker",
        |[bookings, inventory, payments, notifications]| {
            collect_reads_each_table(DatabaseUrls {
                bookings,
                inventory,
                payments: Some(payments),
                notifications: Some(notifications),
            })
        },
    )
    .await;
}

fn id_of(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Two events: A (seats 11, 12; bookings 1 CONFIRMED, 2 FAILED) and B (seat 21; booking 3
/// CONFIRMED), with their payments and notifications and one WELCOME.
async fn insert_two_events(urls: &DatabaseUrls) {
    let (user, a, b) = (id_of(900), id_of(100), id_of(200));
    let mut db = PgConnection::connect(&urls.bookings).await.unwrap();
    for (booking, event, seat, status, reason) in [
        (id_of(1), a, id_of(11), "CONFIRMED", None),
        (id_of(2), a, id_of(12), "FAILED", Some("payment declined")),
        (id_of(3), b, id_of(21), "CONFIRMED", None),
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
        (id_of(11), a, 1, "RESERVED", Some(id_of(1))),
        (id_of(12), a, 2, "AVAILABLE", None),
        (id_of(21), b, 1, "RESERVED", Some(id_of(3))),
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
    for (booking, status) in [
        (id_of(1), "CAPTURED"),
        (id_of(2), "FAILED"),
        (id_of(3), "CAPTURED"),
    ] {
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
        (Some(id_of(1)), "CONFIRMED"),
        (Some(id_of(2)), "FAILED"),
        (Some(id_of(3)), "CONFIRMED"),
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
    insert_two_events(&urls).await;
    let (a, b) = (id_of(100), id_of(200));

    let mut state = collect_from_databases(&urls, Some(&[a])).await.unwrap();
    state.bookings.sort_by_key(|b| b.id);
    assert_eq!(
        state.bookings,
        vec![
            BookingRow::new(
                id_of(1),
                id_of(900),
                a,
                vec![id_of(11)],
                BookingStatus::Confirmed
            ),
            BookingRow {
                failure_reason: Some("payment declined".into()),
                ..BookingRow::new(
                    id_of(2),
                    id_of(900),
                    a,
                    vec![id_of(12)],
                    BookingStatus::Failed
                )
            },
        ]
    );
    assert_eq!(
        state.seats,
        vec![
            SeatRow::new(id_of(11), a, SeatStatus::Reserved, Some(id_of(1))),
            SeatRow::new(id_of(12), a, SeatStatus::Available, None),
        ]
    );
    let mut payments = state.payments.clone().unwrap();
    payments.sort_by_key(|p| p.booking_id);
    assert_eq!(
        payments,
        vec![
            PaymentRow::new(id_of(1), PaymentStatus::Captured, 5000),
            PaymentRow::new(id_of(2), PaymentStatus::Failed, 5000),
        ]
    );
    let mut notifications = state.notifications.clone().unwrap();
    notifications.sort_by_key(|n| n.booking_id);
    assert_eq!(
        notifications,
        vec![
            NotificationRow::new(id_of(1), NotificationKind::Confirmed),
            NotificationRow::new(id_of(2), NotificationKind::Failed),
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

#[test]
fn an_unreachable_database_exits_2_with_one_line_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("final-state.json");
    let output = collect(&[
        "--bookings-db",
        "postgres://postgres:hunter2@127.0.0.1:1/nowhere",
        "--inventory-db",
        "postgres://postgres@127.0.0.1:1/nowhere",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &output,
        &["cannot connect to postgres://postgres:***@127.0.0.1:1/nowhere"],
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
    assert!(!out.exists());
}

#[test]
fn a_malformed_database_url_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = collect(&[
        "--bookings-db",
        "not a url",
        "--inventory-db",
        "postgres://postgres@127.0.0.1:5432/x",
        "--out",
        dir.path().join("f.json").to_str().unwrap(),
    ]);
    assert_one_line_error(&output, &["cannot connect to not a url"]);
}

#[test]
fn a_bad_event_id_is_a_usage_error() {
    let output = collect(&[
        "--bookings-db",
        "postgres://x",
        "--inventory-db",
        "postgres://y",
        "--event",
        "seven",
        "--out",
        "/tmp/never.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--event"));
}
