//! `Idempotency-Key`: a retried request answers the booking it made, however often and however
//! concurrently it is retried; the key is the caller's own.

use kit::kafka::topic;
use reqwest::StatusCode;

use crate::helpers::{
    assert_error, expect_json, header, id_of, identity, messages_about, spawn_app,
};

#[tokio::test]
async fn the_same_key_answers_the_same_booking_and_a_different_request_under_it_is_422() {
    // Arrange
    let app = spawn_app().await;
    let user = identity("user");
    let seats = [app.seats[1], app.seats[2]];

    // Act
    let first = app.book(&user, &seats, Some("order-1")).await;
    let retried = app
        .book(&user, &[seats[1], seats[0]], Some("order-1"))
        .await;
    let changed = app.book(&user, &[app.seats[3]], Some("order-1")).await;
    let other_user = app.book(&identity("user"), &seats, Some("order-1")).await;

    // Assert
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let first = expect_json(first, StatusCode::ACCEPTED).await;
    assert_eq!(header(&retried, "idempotent-replayed"), Some("true"));
    let retried = expect_json(retried, StatusCode::ACCEPTED).await;
    assert_eq!(retried, first, "the same booking, seat order aside");
    assert_error(
        changed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    let other = expect_json(other_user, StatusCode::ACCEPTED).await;
    assert_ne!(id_of(&other), id_of(&first), "keys are per user");
    assert_eq!(app.booking_count().await, 2);
    let initiated = messages_about(&app.reader(topic::BOOKING_INITIATED), id_of(&first)).await;
    assert_eq!(initiated.len(), 1, "one booking.initiated: {initiated:?}");
}

#[tokio::test]
async fn concurrent_retries_with_one_key_make_one_booking() {
    // Arrange
    let app = spawn_app().await;
    let user = identity("user");
    let seats = vec![app.seats[5]];

    // Act: six copies of one request at once
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = app
            .request(reqwest::Method::POST, "/api/bookings", Some(&user))
            .header("idempotency-key", "double-click")
            .json(&serde_json::json!({"eventId": app.event.event_id, "seatIds": seats}));
        racers.spawn(async move { request.send().await.expect("booking-service answers") });
    }
    let mut ids = Vec::new();
    while let Some(response) = racers.join_next().await {
        ids.push(id_of(
            &expect_json(response.unwrap(), StatusCode::ACCEPTED).await,
        ));
    }

    // Assert
    ids.dedup();
    assert_eq!(ids.len(), 1, "every racer answers the one booking: {ids:?}");
    assert_eq!(app.booking_count().await, 1);
    let initiated = messages_about(&app.reader(topic::BOOKING_INITIATED), ids[0]).await;
    assert_eq!(initiated.len(), 1, "one booking.initiated: {initiated:?}");
}
