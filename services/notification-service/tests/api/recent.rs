//! `GET /api/notifications/recent`: the caller's own notifications, newest first, at most 50.

use kit::kafka::topic;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{booking_closed, booking_confirmed, identity, spawn_app, user_registered};

#[tokio::test]
async fn recent_shows_only_the_callers_notifications_newest_first() {
    // Arrange: three notifications for the caller, one at a time, and one for someone else
    let app = spawn_app(None).await;
    let caller = identity("user");
    let other = identity("user");
    let booking_id = Uuid::new_v4();
    let registered = user_registered(caller.user_id, "Cy", &caller.email);
    app.publish(topic::USER_REGISTERED, caller.user_id, &registered)
        .await;
    app.wait_until_consumed(registered.message_id.unwrap())
        .await;
    let confirmed = booking_confirmed(booking_id, caller.user_id);
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &confirmed)
        .await;
    app.wait_until_consumed(confirmed.message_id.unwrap()).await;
    let cancelled = booking_closed(
        topic::BOOKING_CANCELLED,
        booking_id,
        caller.user_id,
        "CANCELLED",
    );
    app.publish(topic::BOOKING_CANCELLED, booking_id, &cancelled)
        .await;
    app.wait_until_consumed(cancelled.message_id.unwrap()).await;
    let others_booking = Uuid::new_v4();
    let theirs = booking_confirmed(others_booking, other.user_id);
    app.publish(topic::BOOKING_CONFIRMED, others_booking, &theirs)
        .await;
    app.wait_until_consumed(theirs.message_id.unwrap()).await;

    // Act
    let response = app.get("/api/notifications/recent", Some(&caller)).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let notifications = body.as_array().expect("a bare array (TicketFlow's shape)");
    let kinds: Vec<&str> = notifications
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CANCELLED", "CONFIRMED", "WELCOME"], "{body}");
    let newest = &notifications[0];
    assert_eq!(newest["bookingId"], booking_id.to_string());
    assert_eq!(newest["recipient"], caller.email.as_str());
    assert_eq!(newest["status"], "RECORDED");
    assert!(
        newest["subject"].is_string()
            && newest["body"].is_string()
            && newest["createdAt"].is_string()
    );
    assert!(newest["sentAt"].is_null());
    // TicketFlow's names beside Stampede's
    assert_eq!(newest["type"], "BOOKING_CANCELLED");
    assert_eq!(notifications[1]["type"], "BOOKING_CONFIRMED");
    assert_eq!(notifications[2]["type"], "WELCOME");
    assert_eq!(newest["recipientEmail"], caller.email.as_str());
    assert_eq!(newest["metadata"]["bookingId"], booking_id.to_string());
    assert_eq!(
        notifications[2]["metadata"]["userId"],
        caller.user_id.to_string()
    );
    assert!(newest["error"].is_null());
    assert!(notifications[2]["bookingId"].is_null());
}

#[tokio::test]
async fn recent_is_capped_at_fifty() {
    // Arrange: 55 stored notifications, one a minute
    let app = spawn_app(None).await;
    let caller = identity("user");
    for minutes_ago in 0..55 {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, booking_id, kind, subject, body, created_at)
             VALUES ($1, $2, $3, 'CONFIRMED', $4, 'b', now() - make_interval(mins => $5))",
        )
        .bind(Uuid::new_v4())
        .bind(caller.user_id)
        .bind(Uuid::new_v4())
        .bind(format!("{minutes_ago} minutes ago"))
        .bind(minutes_ago)
        .execute(&app.pool)
        .await
        .unwrap();
    }

    // Act
    let body: Value = app
        .get("/api/notifications/recent", Some(&caller))
        .await
        .json()
        .await
        .unwrap();

    // Assert
    let subjects: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["subject"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..50).map(|m| format!("{m} minutes ago")).collect();
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn recent_needs_the_gateways_identity() {
    let app = spawn_app(None).await;
    let response = app.get("/api/notifications/recent", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
}
