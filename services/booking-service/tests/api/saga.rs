//! The booking's side of the saga, driven by the replies inventory and payment would publish:
//! each transition's status and the messages it writes, and the guards that keep a closed
//! booking closed.

use std::time::Duration;

use kit::kafka::topic;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, expect_json, header, id_of, identity, messages_about, spawn_app, spawn_app_with,
    FLOOR_CENTS, WAIT,
};

#[tokio::test]
async fn locked_seats_request_payment_and_a_captured_payment_confirms_the_booking() {
    // Arrange
    let app = spawn_app().await;
    let requested = app.reader(topic::PAYMENT_REQUESTED);
    let confirmed = app.reader(topic::BOOKING_CONFIRMED);
    let confirm = app.reader(topic::SEATS_CONFIRM);
    let user = identity("user");
    let seats = [app.seats[4], app.seats[5]];
    let id = id_of(&app.book_ok(&user, &seats).await);

    // Act 1: inventory locked the seats
    app.seats_locked(id, &seats).await;

    // Assert 1: payment is asked for the server's price
    let (key, request) = requested
        .wait_for(WAIT, |m| m["bookingId"] == id.to_string())
        .await
        .expect("payment.requested is published");
    assert_eq!(key, Some(id.to_string()));
    assert_eq!(request["userId"], user.user_id.to_string());
    assert_eq!(request["amountCents"], 2 * FLOOR_CENTS);
    let row = app.row(id).await;
    assert_eq!(
        (row.status.as_str(), row.stage.as_str()),
        ("PENDING", "AWAITING_PAYMENT")
    );

    // Act 2: a client long-polls while payment answers
    let poll_path = format!("/api/bookings/{id}?waitMs=5000");
    let poll = app.get(&poll_path, Some(&user));
    let pay = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.payment_processed(id, "SUCCESS", 2 * FLOOR_CENTS).await
    };
    let (polled, (_, payment_id)) = tokio::join!(poll, pay);

    // Assert 2: the poll wakes with the confirmation; inventory and the user are told
    assert_eq!(header(&polled, "x-long-poll-max-ms"), Some("5000"));
    let polled = expect_json(polled, StatusCode::OK).await;
    assert_eq!(
        polled["status"], "CONFIRMED",
        "the long poll ends on the change: {polled}"
    );
    assert_eq!(polled["paymentId"], payment_id.to_string());
    let (_, message) = confirmed
        .wait_for(WAIT, |m| m["bookingId"] == id.to_string())
        .await
        .expect("booking.confirmed is published");
    assert_eq!(message["seatIds"], json!(seats));
    assert_eq!(message["eventName"], "Test Fest");
    let (_, command) = confirm
        .wait_for(WAIT, |m| m["bookingId"] == id.to_string())
        .await
        .expect("seats.confirm is published");
    assert_eq!(command["seatIds"], json!(seats));
    assert_eq!(app.row(id).await.payment_id, Some(payment_id));
}

#[tokio::test]
async fn a_lock_failure_fails_the_booking_and_a_late_capture_never_confirms_it() {
    // Arrange
    let app = spawn_app().await;
    let failed = app.reader(topic::BOOKING_FAILED);
    let user = identity("user");
    let seats = [app.seats[0]];
    let id = id_of(&app.book_ok(&user, &seats).await);

    // Act 1
    app.seats_lock_failed(id, &seats).await;

    // Assert 1: FAILED(LOCK_FAILED), told once, and no release (nothing was locked for it)
    let row = app.wait_status(id, "FAILED").await;
    assert_eq!(row.failure_reason.as_deref(), Some("LOCK_FAILED"));
    let (_, message) = failed
        .wait_for(WAIT, |m| m["bookingId"] == id.to_string())
        .await
        .expect("booking.failed is published");
    assert_eq!(message["reason"], "LOCK_FAILED");

    // Act 2: a capture arrives anyway (a payment that raced the failure), then inventory's lock
    let (capture, _) = app.payment_processed(id, "SUCCESS", 15_000).await;
    app.wait_until_consumed(capture).await;
    let late_lock = app.seats_locked(id, &seats).await;
    app.wait_until_consumed(late_lock).await;

    // Assert 2: still FAILED; the close is announced again (so the capture is refunded) and the
    // late lock is given back
    let row = app.row(id).await;
    assert_eq!(
        (row.status.as_str(), row.failure_reason.as_deref()),
        ("FAILED", Some("LOCK_FAILED"))
    );
    assert!(
        row.payment_id.is_none(),
        "no payment is attached to a failed booking"
    );
    let (failed, released, confirmed) = (
        app.reader(topic::BOOKING_FAILED),
        app.reader(topic::SEATS_RELEASE),
        app.reader(topic::BOOKING_CONFIRMED),
    );
    let (announcements, releases, confirmations) = tokio::join!(
        messages_about(&failed, id),
        messages_about(&released, id),
        messages_about(&confirmed, id),
    );
    assert_eq!(announcements.len(), 2, "{announcements:?}");
    assert_eq!(
        releases.len(),
        1,
        "only the late lock is released: {releases:?}"
    );
    assert_eq!(releases[0]["reason"], "LATE_LOCK");
    assert!(confirmations.is_empty(), "{confirmations:?}");
}

#[tokio::test]
async fn cancelling_closes_a_booking_once_and_releases_its_seats() {
    // Arrange
    let app = spawn_app().await;
    let user = identity("user");
    let seats = [app.seats[2], app.seats[3]];
    let id = id_of(&app.book_ok(&user, &seats).await);
    let path = format!("/api/bookings/{id}/cancel");

    // Act
    let cancelled = app.post_json(&path, &Value::Null, Some(&user)).await;
    let again = app.post_json(&path, &Value::Null, Some(&user)).await;

    // Assert
    let cancelled = expect_json(cancelled, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["failureReason"], "CANCELLED");
    // TicketFlow's refusal: 400 BAD_REQUEST "Cannot cancel booking in status: CANCELLED".
    let message = assert_error(again, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert_eq!(message, "Cannot cancel booking in status: CANCELLED");
    let (cancellations, released) = (
        app.reader(topic::BOOKING_CANCELLED),
        app.reader(topic::SEATS_RELEASE),
    );
    let (closed, releases) = tokio::join!(
        messages_about(&cancellations, id),
        messages_about(&released, id)
    );
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0]["seatIds"], json!(seats));
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0]["reason"], "CANCELLED");
    assert_eq!(releases[0]["seatIds"], json!(seats));
    // a capture after the cancel does not revive it
    let (capture, _) = app.payment_processed(id, "SUCCESS", 30_000).await;
    app.wait_until_consumed(capture).await;
    assert_eq!(app.row(id).await.status, "CANCELLED");
}

#[tokio::test]
async fn a_booking_not_confirmed_in_time_expires_and_releases_its_seats() {
    // Arrange: bookings expire after one second
    let app = spawn_app_with(Duration::from_secs(1)).await;
    let user = identity("user");
    let seats = [app.seats[6]];
    let id = id_of(&app.book_ok(&user, &seats).await);

    // Act: no answer from inventory or payment
    let row = app.wait_status(id, "EXPIRED").await;

    // Assert
    assert_eq!(row.failure_reason.as_deref(), Some("EXPIRED"));
    let (failures, released) = (
        app.reader(topic::BOOKING_FAILED),
        app.reader(topic::SEATS_RELEASE),
    );
    let (failed, releases) =
        tokio::join!(messages_about(&failures, id), messages_about(&released, id));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["reason"], "EXPIRED");
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0]["reason"], "EXPIRED");
    let path = format!("/api/bookings/{id}");
    let shown = expect_json(app.get(&path, Some(&user)).await, StatusCode::OK).await;
    assert_eq!(shown["status"], "EXPIRED");
}
