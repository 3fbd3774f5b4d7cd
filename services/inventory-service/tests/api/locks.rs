//! Seat locks: however `booking.initiated` messages race, no seat is ever locked for two
//! bookings, a booking gets all its seats or none, and every booking gets one answer.

use std::collections::HashSet;

use inventory_service::locks::LockStrategy;
use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{metric, spawn_app, spawn_app_with, LockOptions};

/// Nine bookings race for four seats: six want {S1, S2}, three want {S2, S3}; S4 nobody.
async fn no_seat_is_locked_for_two_bookings(strategy: LockStrategy) {
    // Arrange
    let app = spawn_app_with(LockOptions {
        strategy,
        ..LockOptions::default()
    })
    .await;
    let (event, seats) = app.seat_map(&[("VIP", 10_000, &[("A", 4)])]).await;
    let wants: Vec<(Uuid, Vec<Uuid>)> = (0..9)
        .map(|i| {
            let wanted = if i % 3 == 2 {
                vec![seats[1], seats[2]]
            } else {
                vec![seats[0], seats[1]]
            };
            (Uuid::new_v4(), wanted)
        })
        .collect();

    // Act: all at once, spread over the partitions by their keys
    let published = wants
        .iter()
        .map(|(booking, wanted)| app.initiate(event.event_id, *booking, wanted));
    let mut message_ids = Vec::new();
    for id in futures::future::join_all(published).await {
        message_ids.push(id);
    }
    for id in &message_ids {
        app.wait_until_consumed(*id).await;
    }

    // Assert: one answer per booking
    let bookings: Vec<Uuid> = wants.iter().map(|(b, _)| *b).collect();
    let answers = app.answers(&bookings).await;
    let mut winners = Vec::new();
    for (booking, wanted) in &wants {
        let answer = answers.get(booking).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            answer.len(),
            1,
            "{strategy:?}: booking {booking} answered once: {answer:?}"
        );
        let (answered_on, message) = &answer[0];
        if *answered_on == topic::SEATS_LOCKED {
            winners.push((*booking, wanted.clone()));
        } else {
            assert_eq!(
                message["reason"], "SEATS_UNAVAILABLE",
                "{strategy:?}: {message}"
            );
            let conflicting = message["conflictingSeatIds"]
                .as_array()
                .expect("conflicting seats");
            assert!(
                !conflicting.is_empty(),
                "{strategy:?}: a refusal names a taken seat"
            );
        }
    }
    // the winners' seats do not overlap, and there is one for S1's contenders at least
    assert!(!winners.is_empty(), "{strategy:?}: someone gets seats");
    let mut held = HashSet::new();
    for (booking, wanted) in &winners {
        for seat in wanted {
            assert!(
                held.insert(*seat),
                "{strategy:?}: seat {seat} locked twice (again by {booking})"
            );
        }
    }
    // Postgres and Redis agree seat by seat: a winner's seat is LOCKED for it, others are free
    let rows = app.rows(&seats).await;
    let holders = app.redis_holders(event.event_id, &seats).await;
    for (i, seat) in seats.iter().enumerate() {
        let winner = winners
            .iter()
            .find(|(_, w)| w.contains(seat))
            .map(|(b, _)| *b);
        match winner {
            Some(booking) => assert_eq!(
                (rows[i].status.as_str(), rows[i].booking_id, holders[i]),
                ("LOCKED", Some(booking), Some(booking)),
                "{strategy:?}: seat {i}"
            ),
            None => assert_eq!(
                (rows[i].status.as_str(), rows[i].booking_id, holders[i]),
                ("AVAILABLE", None, None),
                "{strategy:?}: seat {i} belongs to no winner, so a loser holds nothing"
            ),
        }
    }
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "inventory_lock_conflicts_total", &[]),
        Some((wants.len() - winners.len()) as f64),
        "{strategy:?}: every refusal is counted:\n{metrics}"
    );
}

#[tokio::test]
async fn no_seat_is_locked_for_two_bookings_with_lua_locks() {
    no_seat_is_locked_for_two_bookings(LockStrategy::Lua).await;
}

#[tokio::test]
async fn no_seat_is_locked_for_two_bookings_with_setnx_locks() {
    no_seat_is_locked_for_two_bookings(LockStrategy::SetNx).await;
}

#[tokio::test]
async fn a_redelivered_booking_keeps_its_seats_and_unknown_seats_lock_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (event, seats) = app.seat_map(&[("FLOOR", 5_000, &[("C", 3)])]).await;
    let (booking, unknown_seat_booking) = (Uuid::new_v4(), Uuid::new_v4());

    // Act: one booking twice under two message ids; another names a seat of no map
    let first = app.initiate(event.event_id, booking, &seats[..2]).await;
    app.wait_until_consumed(first).await;
    let again = app.initiate(event.event_id, booking, &seats[..2]).await;
    let stray = app
        .initiate(
            event.event_id,
            unknown_seat_booking,
            &[seats[2], Uuid::new_v4()],
        )
        .await;
    app.wait_until_consumed(again).await;
    app.wait_until_consumed(stray).await;

    // Assert
    let answers = app.answers(&[booking, unknown_seat_booking]).await;
    let mine = &answers[&booking];
    assert_eq!(mine.len(), 2, "each delivery is answered: {mine:?}");
    assert!(
        mine.iter().all(|(t, _)| *t == topic::SEATS_LOCKED),
        "{mine:?}"
    );
    let stray_answer = &answers[&unknown_seat_booking];
    assert_eq!(stray_answer.len(), 1, "{stray_answer:?}");
    assert_eq!(stray_answer[0].0, topic::SEATS_LOCK_FAILED);
    assert_eq!(stray_answer[0].1["reason"], "UNKNOWN_SEATS");
    let rows = app.rows(&seats).await;
    assert_eq!(rows[0].booking_id, Some(booking));
    assert_eq!(rows[1].booking_id, Some(booking));
    assert_eq!(
        rows[2].status, "AVAILABLE",
        "a refused booking takes no seat"
    );
    assert_eq!(app.redis_holders(event.event_id, &seats[2..]).await, [None]);
}
