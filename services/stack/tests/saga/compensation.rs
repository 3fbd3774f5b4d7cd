//! Failures and cancellations give every seat back and every charge back.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{all_free, SagaStack, StackOptions};

/// Waits until the booking's one payment is REFUNDED.
async fn wait_refunded(stack: &SagaStack, booking: Uuid) {
    stack
        .eventually("the capture refunded", || async {
            stack
                .payments(booking)
                .await
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                == ["REFUNDED"]
        })
        .await;
}

#[tokio::test]
async fn payment_failure_fails_the_booking_and_frees_its_seats() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        payment_success_rate: 0.0,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.register("unlucky").await;
    let (booking, done) = stack
        .book_until_terminal(&token, event, &seats[3..5], Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["failureReason"], "PAYMENT_FAILED");
    stack.wait_seats_free(&seats[3..5]).await;
    assert_eq!(
        stack.payments(booking).await,
        [("FAILED".to_string(), 10_000)],
        "two VIP seats"
    );
    stack.wait_notifications(booking, &["FAILED"]).await;
}

#[tokio::test]
async fn cancel_after_confirm_frees_seats_and_refunds() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (_, token) = stack.register("canceller").await;
    let booking = stack.book_confirmed(&token, event, &seats[30..33]).await;

    let (_, stranger) = stack.user_token();
    let response = stack.cancel(&stranger, booking).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "only the owner cancels"
    );

    let response = stack.cancel(&token, booking).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");

    stack.wait_seats_free(&seats[30..33]).await;
    wait_refunded(&stack, booking).await;
    stack
        .wait_notifications(booking, &["CANCELLED", "CONFIRMED"])
        .await;

    let again = stack.cancel(&token, booking).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn timeout_with_payment_down_expires_frees_seats_and_never_keeps_a_late_charge() {
    let (mut stack, event, seats) = SagaStack::start_with_event(StackOptions {
        booking_timeout_ms: 3_000,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.register("patient").await;
    stack.stop_service("payment-service");
    let (booking, done) = stack
        .book_until_terminal(&token, event, &seats[50..52], Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "EXPIRED", "{done}");
    stack.wait_seats_free(&seats[50..52]).await;

    // The payment service comes back and finds the old payment request.
    stack.start_service("payment-service").await;
    stack
        .eventually(
            "the late payment request handled without a lasting charge",
            || async {
                let payments = stack.payments(booking).await;
                !payments.is_empty()
                    && payments
                        .iter()
                        .all(|(status, _)| status == "REFUNDED" || status == "VOIDED")
            },
        )
        .await;
    // And the booking stays EXPIRED whatever the payment said.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = stack
        .wait_terminal(&token, booking, Duration::from_secs(5))
        .await;
    assert_eq!(after["status"], "EXPIRED");
    stack.wait_notifications(booking, &["EXPIRED"]).await;
}

/// seats.confirm and seats.release travel on different topics: a cancel's release can reach
/// inventory before the confirm it follows. The late confirm must not reserve the freed seats for
/// the cancelled booking (the chaos checker found exactly that: a seat RESERVED for a CANCELLED
/// booking).
#[tokio::test]
async fn a_release_that_overtakes_its_confirm_leaves_the_seats_free() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        payment_latency_ms: 5_000,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.user_token();
    let held = &seats[..2];
    let booking = stack.book_ok(&token, event, held).await;
    stack.wait_seats_held(held, "LOCKED", booking).await;
    let command = |kind: &str| {
        serde_json::json!({"messageId": Uuid::new_v4(), "eventType": kind, "timestamp": "2027-01-01T00:00:00Z",
                           "bookingId": booking, "eventId": event, "seatIds": held, "reason": "CANCELLED"})
        .to_string()
    };
    stack
        .publish_raw(
            topic::SEATS_RELEASE,
            &booking.to_string(),
            command("seats.release").as_bytes(),
        )
        .await;
    stack.wait_seats_free(held).await;
    stack
        .publish_raw(
            topic::SEATS_CONFIRM,
            &booking.to_string(),
            command("seats.confirm").as_bytes(),
        )
        .await;
    // The confirm is consumed (it shows in the inbox) and changes nothing.
    stack
        .eventually("the late confirm consumed", || async {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM processed_messages WHERE topic LIKE '%seats.confirm'",
            )
            .fetch_one(stack.pool("inventory-service"))
            .await
            .unwrap();
            n >= 1
        })
        .await;
    let rows = stack.seat_rows(held).await;
    assert!(
        all_free(&rows),
        "a confirm after the release took the seats back: {rows:?}"
    );
}

/// A CONFIRMED booking whose seat another booking holds by the time its seats.confirm arrives
/// (as after its lock was swept and the seat taken) is failed with SEATS_LOST, its capture is
/// refunded, its owner is told, the seat it kept is freed and the other booking keeps its seat.
#[tokio::test]
async fn a_confirmed_booking_whose_seat_was_taken_is_failed_refunded_and_notified() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        // Time to hand the seat to another booking between the lock and the confirm.
        payment_latency_ms: 1_500,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.register("outbid").await;
    let booking = stack.book_ok(&token, event, &seats[40..42]).await;
    stack
        .wait_seats_held(&seats[40..42], "LOCKED", booking)
        .await;
    // Another booking takes the first seat, as if the lock had been swept and the seat resold.
    let other = Uuid::new_v4();
    sqlx::query(
        "UPDATE seats SET status = 'RESERVED', booking_id = $1, locked_until = NULL WHERE id = $2",
    )
    .bind(other)
    .bind(seats[40])
    .execute(stack.pool("inventory-service"))
    .await
    .unwrap();

    let path = format!("/api/bookings/{booking}");
    let status_of = || stack.get_json(&path, Some(&token));
    stack
        .eventually("the booking failed", || async {
            status_of().await["status"] == "FAILED"
        })
        .await;
    let status = status_of().await;
    assert_eq!(status["failureReason"], "SEATS_LOST", "{status}");
    stack
        .wait_seats(
            &seats[40..42],
            "one kept by the other booking, one free",
            |rows| {
                rows.iter()
                    .any(|(id, s, h)| *id == seats[40] && s == "RESERVED" && *h == Some(other))
                    && rows
                        .iter()
                        .any(|(id, s, h)| *id == seats[41] && s == "AVAILABLE" && h.is_none())
            },
        )
        .await;
    wait_refunded(&stack, booking).await;
    stack
        .wait_notifications(booking, &["CONFIRMED", "FAILED"])
        .await;
}
