//! `POST /api/bookings`: the server prices the booking from its catalog, answers 202 PENDING,
//! and announces it once as `booking.initiated`; bad requests are 4xx envelopes and book nothing.

use kit::kafka::topic;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{
    assert_error, expect_json, id_of, identity, messages_about, spawn_app, FLOOR_CENTS, VIP_CENTS,
    WAIT,
};

#[tokio::test]
async fn a_booking_is_priced_by_the_server_and_announced_once_as_booking_initiated() {
    // Arrange
    let app = spawn_app().await;
    let initiated = app.reader(topic::BOOKING_INITIATED);
    let user = identity("user");
    let seats = [app.seats[0], app.seats[4]]; // A1 (VIP) and C1 (FLOOR)

    // Act: the client also claims a price and a name; neither is the client's to decide
    let response = app
        .book_body(
            &user,
            &json!({"eventId": app.event.event_id, "seatIds": seats, "amountCents": 1,
                    "totalAmount": 0.01, "eventName": "Free Stuff"}),
            None,
        )
        .await;

    // Assert: the answer
    let booking = expect_json(response, StatusCode::ACCEPTED).await;
    let id = id_of(&booking);
    assert_eq!(booking["status"], "PENDING");
    assert_eq!(booking["userId"], user.user_id.to_string());
    assert_eq!(booking["eventId"], app.event.event_id.to_string());
    assert_eq!(booking["eventName"], "Test Fest");
    assert_eq!(booking["seatIds"], json!(seats));
    assert_eq!(booking["amountCents"], VIP_CENTS + FLOOR_CENTS);
    assert_eq!(booking["totalAmount"], 230.0);
    assert!(booking["paymentId"].is_null() && booking["failureReason"].is_null());
    let time = |field: &str| {
        booking[field]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .unwrap_or_else(|| panic!("{field} is a time: {booking}"))
    };
    let timeout = (time("expiresAt") - time("createdAt")).num_milliseconds();
    assert!(
        (59_000..=61_000).contains(&timeout),
        "expires after BOOKING_TIMEOUT: {timeout} ms"
    );
    // the row, awaiting its seats
    let row = app.row(id).await;
    assert_eq!(
        (row.status.as_str(), row.stage.as_str()),
        ("PENDING", "AWAITING_SEATS")
    );
    // the message, through the outbox, keyed by the booking, once
    let (key, message) = initiated
        .wait_for(WAIT, |m| m["bookingId"] == id.to_string())
        .await
        .expect("booking.initiated is published");
    assert_eq!(key, Some(id.to_string()));
    assert_eq!(message["eventType"], "booking.initiated");
    assert_eq!(message["userId"], user.user_id.to_string());
    assert_eq!(message["eventId"], app.event.event_id.to_string());
    assert_eq!(message["eventName"], app.event.name);
    assert_eq!(message["userEmail"], user.email);
    assert_eq!(
        message["totalAmount"],
        (VIP_CENTS + FLOOR_CENTS) as f64 / 100.0
    );
    assert_eq!(message["seatIds"], json!(seats));
    assert_eq!(message["amountCents"], VIP_CENTS + FLOOR_CENTS);
    let all = messages_about(&app.reader(topic::BOOKING_INITIATED), id).await;
    assert_eq!(all.len(), 1, "{all:?}");
}

#[tokio::test]
async fn bad_booking_requests_are_4xx_envelopes_and_book_nothing() {
    // Arrange
    let app = spawn_app().await;
    let user = identity("user");
    let event = app.event.event_id;
    let seat = app.seats[0];
    let elsewhere = Uuid::new_v4();
    let cases = [
        (
            "no seats",
            json!({"eventId": event, "seatIds": []}),
            "seatIds",
        ),
        (
            "more than MAX_SEATS_PER_BOOKING",
            json!({"eventId": event, "seatIds": app.seats[..5]}),
            "seatIds",
        ),
        (
            "a seat twice",
            json!({"eventId": event, "seatIds": [seat, seat]}),
            "twice",
        ),
        (
            "seat not a UUID",
            json!({"eventId": event, "seatIds": ["A1"]}),
            "A1",
        ),
        (
            "event not a UUID",
            json!({"eventId": "fest", "seatIds": [seat]}),
            "eventId",
        ),
        (
            "seat of no event here",
            json!({"eventId": event, "seatIds": [seat, elsewhere]}),
            "not in this event",
        ),
        ("seatIds missing", json!({"eventId": event}), "seatIds"),
    ];

    for (case, body, mentions) in cases {
        // Act
        let response = app.book_body(&user, &body, None).await;

        // Assert
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(mentions), "{case}: {message}");
    }
    let unknown_event = app
        .book_body(
            &user,
            &json!({"eventId": Uuid::new_v4(), "seatIds": [seat]}),
            None,
        )
        .await;
    assert_error(unknown_event, StatusCode::NOT_FOUND, "EVENT_NOT_FOUND").await;
    let long_key = app.book(&user, &[seat], Some(&"k".repeat(201))).await;
    let message = assert_error(long_key, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    assert!(message.contains("Idempotency-Key"), "{message}");
    let not_json = app
        .post_raw(
            "/api/bookings",
            Some("application/json"),
            "{\"eventId\":",
            Some(&user),
        )
        .await;
    assert_error(not_json, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    let anonymous = app
        .post_json(
            "/api/bookings",
            &json!({"eventId": event, "seatIds": [seat]}),
            None,
        )
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(app.booking_count().await, 0, "nothing was booked");
}

/// With a cap of two open bookings per user, five concurrent requests of one user book exactly
/// two; the rest are 429 envelopes that book nothing, and another user is not affected.
#[tokio::test]
async fn a_user_holds_at_most_the_capped_number_of_open_bookings_even_under_concurrency() {
    let app =
        crate::helpers::spawn_app_configured(std::time::Duration::from_secs(60), Some(2)).await;
    let greedy = identity("user");
    let seats: Vec<[Uuid; 1]> = app.seats[..5].iter().map(|s| [*s]).collect();
    let attempts = seats.iter().map(|seat| app.book(&greedy, seat, None));
    let answers = futures::future::join_all(attempts).await;
    let mut accepted = 0;
    for answer in answers {
        if answer.status() == StatusCode::ACCEPTED {
            accepted += 1;
        } else {
            let message = assert_error(
                answer,
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_OPEN_BOOKINGS",
            )
            .await;
            assert!(message.contains("at most 2"), "{message}");
        }
    }
    assert_eq!(accepted, 2, "exactly the cap is booked");
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bookings WHERE user_id = $1 AND status = 'PENDING'",
    )
    .bind(greedy.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(pending, 2, "nothing refused was written");

    let other = identity("user");
    let answer = app.book(&other, &[app.seats[0]], None).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn only_events_on_sale_are_bookable_and_an_older_update_never_wins() {
    // Arrange
    let app = spawn_app().await;
    let user = identity("user");
    let t0 = chrono::Utc::now();

    // Act + Assert: the admin takes the event off sale (DRAFT): a 409 envelope, nothing written
    app.event_updated("DRAFT", t0).await;
    let refused = app.book(&user, &app.seats[..1], None).await;
    assert_error(refused, StatusCode::CONFLICT, "EVENT_NOT_ON_SALE").await;
    assert_eq!(app.booking_count().await, 0);

    // back on sale: bookable again
    app.event_updated("ON_SALE", t0 + chrono::Duration::seconds(1))
        .await;
    app.book_ok(&user, &app.seats[..1]).await;

    // an older update (redelivered, replayed from a dead-letter topic) changes nothing
    app.event_updated("CANCELLED", t0 + chrono::Duration::milliseconds(500))
        .await;
    app.book_ok(&user, &app.seats[1..2]).await;

    // a newer cancellation closes the sale
    app.event_updated("CANCELLED", t0 + chrono::Duration::seconds(2))
        .await;
    let refused = app.book(&user, &app.seats[2..3], None).await;
    assert_error(refused, StatusCode::CONFLICT, "EVENT_NOT_ON_SALE").await;
    assert_eq!(app.booking_count().await, 2);
}
