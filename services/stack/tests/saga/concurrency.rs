//! Many users, one seat: exactly one wins with `lua` and `setnx`; `unsafe` is caught selling twice.

use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

/// `n` different users book `seat` at once; returns the terminal statuses.
async fn race(stack: &SagaStack, event: Uuid, seat: Uuid, n: usize) -> Vec<(Uuid, String)> {
    let users: Vec<(Uuid, String)> = (0..n).map(|_| stack.user_token()).collect();
    let posts = users
        .iter()
        .map(|(_, token)| stack.book_ok(token, event, std::slice::from_ref(&seat)));
    let bookings: Vec<Uuid> = futures::future::join_all(posts).await;
    let waits = bookings.iter().zip(&users).map(|(booking, (_, token))| {
        stack.wait_terminal(token, *booking, Duration::from_secs(120))
    });
    futures::future::join_all(waits)
        .await
        .into_iter()
        .zip(&bookings)
        .map(|(body, id)| (*id, body["status"].as_str().unwrap().to_string()))
        .collect()
}

async fn exactly_one_wins(strategy: &'static str) {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        lock_strategy: strategy,
        ..StackOptions::default()
    })
    .await;
    let outcomes = race(&stack, event, seats[0], 200).await;
    let winners: Vec<Uuid> = outcomes
        .iter()
        .filter(|(_, s)| s == "CONFIRMED")
        .map(|(id, _)| *id)
        .collect();
    let failed = outcomes.iter().filter(|(_, s)| s == "FAILED").count();
    assert_eq!(
        winners.len(),
        1,
        "{strategy}: exactly one CONFIRMED, got {}",
        winners.len()
    );
    assert_eq!(failed, 199, "{strategy}: every other booking FAILED");
    stack
        .wait_seats(&seats[..1], "RESERVED for the winner", |rows| {
            rows.len() == 1 && rows[0].1 == "RESERVED" && rows[0].2 == Some(winners[0])
        })
        .await;
    let captured: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'CAPTURED'")
            .fetch_one(stack.pool("payment-service"))
            .await
            .unwrap();
    assert_eq!(captured, 1, "{strategy}: one payment captured");
}

#[tokio::test]
async fn two_hundred_bookings_for_one_seat_confirm_exactly_one_with_lua() {
    exactly_one_wins("lua").await;
}

#[tokio::test]
async fn two_hundred_bookings_for_one_seat_confirm_exactly_one_with_setnx() {
    exactly_one_wins("setnx").await;
}

/// Proves the race the checker must catch is real and certain: with no atomic guard, bookings of
/// one seat that meet between check and set (inventory's `race` module) both win it.
#[tokio::test]
async fn unsafe_strategy_double_books_a_contested_seat_in_one_attempt() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        lock_strategy: "unsafe",
        ..StackOptions::default()
    })
    .await;
    let outcomes = race(&stack, event, seats[0], 40).await;
    let confirmed = outcomes.iter().filter(|(_, s)| s == "CONFIRMED").count();
    println!("unsafe: {confirmed} of 40 bookings CONFIRMED for one seat");
    assert!(
        confirmed > 1,
        "unsafe confirmed {confirmed} of 40 bookings for one seat: its race did not happen"
    );
}
