//! With `SMTP_URL` set, each new notification is mailed once and its status says how it went.

use std::time::Duration;

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{booking_confirmed, metric, resent, spawn_app, user_registered, SmtpSink};

#[tokio::test]
async fn notifications_are_mailed_once_to_the_user() {
    // Arrange
    let sink = SmtpSink::start().await;
    let app = spawn_app(Some(&sink.url)).await;
    let user_id = Uuid::new_v4();
    let booking_id = Uuid::new_v4();
    let registered = user_registered(user_id, "Dee", "dee@stampede.test");
    let confirmed = booking_confirmed(booking_id, user_id);

    // Act
    app.publish(topic::USER_REGISTERED, user_id, &registered)
        .await;
    app.wait_until_consumed(registered.message_id.unwrap())
        .await;
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &confirmed)
        .await;
    app.publish(topic::BOOKING_CONFIRMED, booking_id, &resent(&confirmed))
        .await;

    // Assert
    let welcome = sink
        .next_mail(Duration::from_secs(15))
        .await
        .expect("the welcome is mailed");
    assert_eq!(welcome.from, "<noreply@stampede.local>");
    assert_eq!(welcome.to, ["<dee@stampede.test>"]);
    assert!(
        welcome.data.contains("Subject: Welcome to TicketFlow, Dee"),
        "{}",
        welcome.data
    );
    assert!(
        welcome
            .data
            .contains("From: Stampede <noreply@stampede.local>"),
        "{}",
        welcome.data
    );
    let confirmation = sink
        .next_mail(Duration::from_secs(15))
        .await
        .expect("the confirmation is mailed");
    assert_eq!(confirmation.to, ["<dee@stampede.test>"]);
    assert!(
        confirmation
            .data
            .contains("Subject: Booking confirmed: Test Fest"),
        "{}",
        confirmation.data
    );
    let notifications = app
        .wait_for_status(|| app.notifications_for_booking(booking_id), "SENT")
        .await;
    assert_eq!(notifications.len(), 1);
    assert!(notifications[0].sent_at.is_some());
    assert!(
        sink.next_mail(Duration::from_secs(2)).await.is_none(),
        "the resent confirmation is not mailed again"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "notification_mails_total", &[("outcome", "sent")]),
        Some(2.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn unreachable_smtp_server_marks_the_notification_send_failed() {
    // Arrange: a port nobody listens on
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app(Some(&url)).await;
    let user_id = Uuid::new_v4();

    // Act
    app.publish(
        topic::USER_REGISTERED,
        user_id,
        &user_registered(user_id, "Eve", "eve@stampede.test"),
    )
    .await;

    // Assert
    let welcomes = app
        .wait_for_status(|| app.welcomes_for(user_id), "SEND_FAILED")
        .await;
    assert!(welcomes[0].sent_at.is_none());
    let metrics = app.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "notification_mails_total",
            &[("outcome", "failed")]
        ),
        Some(1.0),
        "{metrics}"
    );
}
