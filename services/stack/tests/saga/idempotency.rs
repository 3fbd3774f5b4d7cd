//! Idempotency-Key and request validation.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

#[tokio::test]
async fn fifty_concurrent_posts_with_one_key_make_one_booking() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (user, token) = stack.user_token();
    let key = format!("key-{}", Uuid::new_v4());
    let posts = (0..50).map(|_| stack.book(&token, event, &seats[7..9], Some(&key)));
    let responses = futures::future::join_all(posts).await;
    let mut ids = std::collections::HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every response names the same booking");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE user_id = $1")
        .bind(user)
        .fetch_one(stack.pool("booking-service"))
        .await
        .unwrap();
    assert_eq!(rows, 1);

    // The same key for a different request is refused.
    let other = stack.book(&token, event, &seats[10..11], Some(&key)).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test]
async fn bad_booking_requests_are_refused_with_envelopes() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (_, token) = stack.user_token();
    let eleven: Vec<Uuid> = seats[..11].to_vec();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"eventId": event, "seatIds": []}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
        (
            json!({"eventId": event, "seatIds": eleven}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
        (
            json!({"eventId": event, "seatIds": [seats[0], seats[0]]}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
        (
            json!({"eventId": event, "seatIds": [Uuid::new_v4()]}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
        (
            json!({"eventId": event, "seatIds": ["nope"]}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
        (
            json!({"eventId": Uuid::new_v4(), "seatIds": [seats[0]]}),
            StatusCode::NOT_FOUND,
            "EVENT_NOT_FOUND",
        ),
        (
            json!({"seatIds": [seats[0]]}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        ),
    ];
    for (body, status, code) in cases {
        let response = stack
            .client
            .post(stack.url("/api/bookings"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}: {error}");
    }
    let anonymous = stack
        .client
        .post(stack.url("/api/bookings"))
        .json(&json!({"eventId": event, "seatIds": [seats[0]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
