//! One notification per booking and kind, whichever message (and how many) says so.

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{booking_closed, booking_confirmed, resent, spawn_app};

#[tokio::test]
async fn confirmation_delivered_twice_notifies_once() {
    // Arrange
    let app = spawn_app(None).await;
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    let confirmed = booking_confirmed(booking_id, user_id);
    let again = resent(&confirmed);

    // Act
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &confirmed)
        .await;
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &confirmed)
        .await;
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &again)
        .await;
    app.wait_until_consumed(again.message_id.unwrap()).await;

    // Assert
    let notifications = app.notifications_for_booking(booking_id).await;
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    let notification = &notifications[0];
    assert_eq!(notification.kind, "CONFIRMED");
    assert_eq!(notification.subject, "Booking confirmed: Test Fest");
    assert!(
        notification.body.contains("2 seats, 150.00 paid"),
        "{}",
        notification.body
    );
    assert_eq!(notification.status, "RECORDED");
    assert!(
        notification.recipient.is_none(),
        "the user never registered here"
    );
}

#[tokio::test]
async fn closed_bookings_are_notified_by_reason() {
    // Arrange
    let app = spawn_app(None).await;
    let user_id = Uuid::new_v4();
    let cases = [
        (
            topic::BOOKING_FAILED,
            "EXPIRED",
            "EXPIRED",
            "Booking expired: Test Fest",
        ),
        (
            topic::BOOKING_FAILED,
            "PAYMENT_FAILED",
            "FAILED",
            "Booking failed: Test Fest",
        ),
        (
            topic::BOOKING_FAILED,
            "LOCK_FAILED",
            "FAILED",
            "Booking failed: Test Fest",
        ),
        (
            topic::BOOKING_CANCELLED,
            "CANCELLED",
            "CANCELLED",
            "Booking cancelled: Test Fest",
        ),
    ];
    let mut published = Vec::new();
    for (logical_topic, reason, _, _) in cases {
        let booking_id = Uuid::new_v4();
        let message = booking_closed(logical_topic, booking_id, user_id, reason);
        app.publish(logical_topic, booking_id, &message).await;
        published.push((booking_id, message.message_id.unwrap()));
    }

    // Assert
    for ((booking_id, event_id), (_, reason, kind, subject)) in published.into_iter().zip(cases) {
        app.wait_until_consumed(event_id).await;
        let notifications = app.notifications_for_booking(booking_id).await;
        assert_eq!(notifications.len(), 1, "{reason}: {notifications:?}");
        assert_eq!(notifications[0].kind, kind, "{reason}");
        assert_eq!(notifications[0].subject, subject, "{reason}");
    }
}

#[tokio::test]
async fn a_booking_closed_by_two_messages_is_notified_once() {
    // Arrange: two different messages (eventIds) both say the booking expired
    let app = spawn_app(None).await;
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    let first = booking_closed(topic::BOOKING_FAILED, booking_id, user_id, "EXPIRED");
    let second = booking_closed(topic::BOOKING_FAILED, booking_id, user_id, "EXPIRED");

    // Act
    app.publish(topic::BOOKING_FAILED, booking_id, &first).await;
    app.publish(topic::BOOKING_FAILED, booking_id, &second)
        .await;
    app.wait_until_consumed(second.message_id.unwrap()).await;

    // Assert
    let notifications = app.notifications_for_booking(booking_id).await;
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    assert_eq!(notifications[0].kind, "EXPIRED");
}
