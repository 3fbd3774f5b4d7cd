//! Confirm, release and the sweeper act only on what the booking owns: another booking's
//! command, a confirm that comes after the release, and an expired lock never take a seat from
//! its holder.

use std::time::Duration;

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{metric, spawn_app, spawn_app_with, LockOptions, SeatRow, TestApp};

fn row(status: &str, booking: Option<Uuid>) -> SeatRow {
    SeatRow {
        status: status.into(),
        booking_id: booking,
    }
}

/// Asserts every one of `seats` is `status` for `holder` in Postgres, and `holder`'s in Redis.
async fn assert_seats(
    app: &TestApp,
    event: Uuid,
    seats: &[Uuid],
    status: &str,
    holder: Option<Uuid>,
) {
    assert_eq!(
        app.rows(seats).await,
        vec![row(status, holder); seats.len()]
    );
    assert_eq!(
        app.redis_holders(event, seats).await,
        vec![holder; seats.len()]
    );
}

#[tokio::test]
async fn release_and_confirm_act_only_for_the_owning_booking() {
    // Arrange: booking A holds both seats
    let app = spawn_app().await;
    let (event, seats) = app.seat_map(&[("VIP", 9_000, &[("A", 2)])]).await;
    let event_id = event.event_id;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let locked = app.initiate(event_id, a, &seats).await;
    app.wait_until_consumed(locked).await;

    // Act + Assert: B confirms, then releases, A's seats; nothing moves (in this order: once
    // released, a booking's confirm is ignored altogether)
    app.command(topic::SEATS_CONFIRM, event_id, b, &seats).await;
    app.command(topic::SEATS_RELEASE, event_id, b, &seats).await;
    assert_seats(&app, event_id, &seats, "LOCKED", Some(a)).await;
    let answers = app.answers(&[b]).await;
    let lost = &answers[&b];
    assert_eq!(lost.len(), 1, "B's confirm is reported: {lost:?}");
    assert_eq!(
        (lost[0].0, lost[0].1["reason"].as_str()),
        (topic::SEATS_LOCK_FAILED, Some("SEATS_LOST"))
    );

    // A confirms: sold to A, in Postgres and for good in Redis
    app.command(topic::SEATS_CONFIRM, event_id, a, &seats).await;
    assert_seats(&app, event_id, &seats, "RESERVED", Some(a)).await;

    // A is cancelled: released; a confirm of A arriving after that takes nothing back
    app.command(topic::SEATS_RELEASE, event_id, a, &seats).await;
    assert_seats(&app, event_id, &seats, "AVAILABLE", None).await;
    app.command(topic::SEATS_CONFIRM, event_id, a, &seats).await;
    assert_eq!(
        app.rows(&seats).await,
        [row("AVAILABLE", None), row("AVAILABLE", None)]
    );

    // and the seats are free for C
    let c = Uuid::new_v4();
    let relocked = app.initiate(event_id, c, &seats).await;
    app.wait_until_consumed(relocked).await;
    assert_eq!(
        app.rows(&seats).await,
        [row("LOCKED", Some(c)), row("LOCKED", Some(c))]
    );
}

#[tokio::test]
async fn an_expired_lock_is_swept_and_its_late_confirm_does_not_take_the_seat_back() {
    // Arrange: locks last one second
    let app = spawn_app_with(LockOptions {
        lock_ttl: Duration::from_secs(1),
        sweep_interval: Duration::from_millis(100),
        ..LockOptions::default()
    })
    .await;
    let (event, seats) = app.seat_map(&[("BALCONY", 3_000, &[("G", 1)])]).await;
    let event_id = event.event_id;
    let (slow, next) = (Uuid::new_v4(), Uuid::new_v4());
    let locked = app.initiate(event_id, slow, &seats).await;
    app.wait_until_consumed(locked).await;
    assert_eq!(app.rows(&seats).await, [row("LOCKED", Some(slow))]);

    // Act 1: the lock runs out
    kit::testing::eventually("the expired lock is swept", || async {
        match app.rows(&seats).await.pop() {
            Some(seat) if seat.status == "AVAILABLE" => Ok(()),
            other => Err(other),
        }
    })
    .await;

    // Assert 1: free in Postgres and Redis, counted
    assert_seats(&app, event_id, &seats, "AVAILABLE", None).await;
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "inventory_seats_swept_total", &[]),
        Some(1.0),
        "{metrics}"
    );

    // Act 2: another booking takes the seat, then the slow booking's confirm arrives
    let taken = app.initiate(event_id, next, &seats).await;
    app.wait_until_consumed(taken).await;
    app.command(topic::SEATS_CONFIRM, event_id, slow, &seats)
        .await;

    // Assert 2: the seat stays with its holder; the slow booking is told it lost it
    assert_eq!(app.rows(&seats).await, [row("LOCKED", Some(next))]);
    let answers = app.answers(&[slow]).await;
    let lost: Vec<_> = answers[&slow]
        .iter()
        .filter(|(t, _)| *t == topic::SEATS_LOCK_FAILED)
        .collect();
    assert_eq!(lost.len(), 1, "{answers:?}");
    assert_eq!(lost[0].1["reason"], "SEATS_LOST");
    assert_eq!(lost[0].1["conflictingSeatIds"], serde_json::json!(seats));
}
