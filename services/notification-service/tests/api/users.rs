//! The users directory: one welcome per user, and booking notifications addressed to the email it
//! knows.

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{booking_confirmed, spawn_app, user_registered};

#[tokio::test]
async fn registered_user_is_welcomed_once_at_their_email() {
    // Arrange
    let app = spawn_app(None).await;
    let user_id = Uuid::new_v4();
    let registered = user_registered(user_id, "Ann", "ann@stampede.test");
    let again = user_registered(user_id, "Ann", "ann@stampede.test");

    // Act
    app.publish(topic::USER_REGISTERED, user_id, &registered)
        .await;
    app.publish(topic::USER_REGISTERED, user_id, &again).await;
    app.wait_until_consumed(again.message_id.unwrap()).await;

    // Assert
    let welcomes = app.welcomes_for(user_id).await;
    assert_eq!(welcomes.len(), 1, "{welcomes:?}");
    let welcome = &welcomes[0];
    assert_eq!(welcome.recipient.as_deref(), Some("ann@stampede.test"));
    assert!(welcome.booking_id.is_none());
    assert_eq!(welcome.subject, "Welcome to TicketFlow, Ann");
    assert_eq!(welcome.status, "RECORDED", "no SMTP_URL: recorded only");
    let directory: (String, String) = sqlx::query_as("SELECT email, name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        directory,
        ("ann@stampede.test".to_string(), "Ann".to_string())
    );
}

#[tokio::test]
async fn booking_notifications_are_addressed_to_the_known_email() {
    // Arrange
    let app = spawn_app(None).await;
    let user_id = Uuid::new_v4();
    let registered = user_registered(user_id, "Bo", "bo@stampede.test");
    app.publish(topic::USER_REGISTERED, user_id, &registered)
        .await;
    app.wait_until_consumed(registered.message_id.unwrap())
        .await;
    let booking_id = Uuid::new_v4();

    // Act
    let confirmed = booking_confirmed(booking_id, user_id);
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &confirmed)
        .await;
    app.wait_until_consumed(confirmed.message_id.unwrap()).await;

    // Assert
    let notifications = app.notifications_for_booking(booking_id).await;
    assert_eq!(notifications.len(), 1);
    assert_eq!(
        notifications[0].recipient.as_deref(),
        Some("bo@stampede.test")
    );
}
