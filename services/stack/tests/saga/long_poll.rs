//! `GET /api/bookings/{id}?waitMs=N`: the answer comes when the booking leaves PENDING, not after
//! a client's next poll; a booking that stays PENDING is answered after the hold; bad values get
//! the error envelope.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

async fn long_poll(
    stack: &SagaStack,
    token: &str,
    booking: Uuid,
    wait: &str,
) -> (StatusCode, Option<String>, Value, Duration) {
    let started = Instant::now();
    let response = stack
        .request(
            Method::GET,
            &format!("/api/bookings/{booking}?waitMs={wait}"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let header = response
        .headers()
        .get("x-long-poll-max-ms")
        .map(|v| v.to_str().unwrap().to_string());
    (
        status,
        header,
        response.json().await.unwrap(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_the_booking_is_confirmed() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (_, token) = stack.user_token();
    let booking = stack.book_ok(&token, event, &seats[..1]).await;
    let (status, header, body, took) = long_poll(&stack, &token, booking, "5000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["status"], "CONFIRMED",
        "one request, held until the saga ended: {body}"
    );
    assert_eq!(
        header.as_deref(),
        Some("5000"),
        "the server says it long-polls"
    );
    assert!(
        took < Duration::from_millis(4500),
        "answered on the change, not at the end of the hold ({took:?})"
    );
}

#[tokio::test]
async fn a_booking_that_stays_pending_is_answered_pending_after_the_hold() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        payment_latency_ms: 4_000,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.user_token();
    let booking = stack.book_ok(&token, event, &seats[..1]).await;
    let (status, _, body, took) = long_poll(&stack, &token, booking, "300").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "PENDING", "{body}");
    assert!(
        took >= Duration::from_millis(290),
        "held for the wait asked ({took:?})"
    );
    // Someone else's booking is still refused, long poll or not.
    let (_, stranger) = stack.user_token();
    let (status, _, body, _) = long_poll(&stack, &stranger, booking, "300").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_bad_wait_gets_the_error_envelope() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let (_, token) = stack.user_token();
    for bad in ["soon", "-1", "60001", "1.5"] {
        let (status, _, body, _) = long_poll(&stack, &token, Uuid::new_v4(), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "waitMs={bad}: {body}");
        assert_eq!(
            body["error"]["code"], "VALIDATION_ERROR",
            "waitMs={bad}: {body}"
        );
    }
}
