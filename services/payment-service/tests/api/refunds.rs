//! Closing a booking refunds what was captured, or voids the payment before any charge.

use std::time::Duration;

use kit::kafka::topic;
use payment_service::domain::PaymentStatus;
use uuid::Uuid;

use crate::helpers::{booking_closed, metric, spawn_app, spawn_app_with};

#[tokio::test]
async fn cancelled_booking_gets_its_captured_payment_refunded() {
    // Arrange
    let app = spawn_app().await;
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    app.request_payment(booking_id, user_id, 2_000).await;
    let captured = app
        .wait_for_status(booking_id, PaymentStatus::Captured)
        .await;
    assert!(captured.refunded_at.is_none());

    // Act
    let cancelled = booking_closed(topic::BOOKING_CANCELLED, booking_id, user_id, "CANCELLED");
    app.publish(topic::BOOKING_CANCELLED, booking_id, &cancelled)
        .await;
    app.publish(topic::BOOKING_CANCELLED, booking_id, &cancelled)
        .await; // redelivered

    // Assert
    let refunded = app
        .wait_for_status(booking_id, PaymentStatus::Refunded)
        .await;
    assert_eq!(refunded.id, captured.id);
    assert_eq!(refunded.amount_cents, 2_000);
    assert!(refunded.refunded_at.is_some());
    assert!(refunded.updated_at >= captured.updated_at);
    let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
    loop {
        let metrics = app.metrics().await;
        let deduped = metric(
            &metrics,
            "messages_total",
            &[("outcome", "deduped"), ("topic", topic::BOOKING_CANCELLED)],
        );
        if deduped == Some(1.0) {
            assert_eq!(
                metric(&metrics, "payments_refunded_total", &[]),
                Some(1.0),
                "one refund:\n{metrics}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "redelivery not deduped:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn booking_failed_before_the_request_voids_the_payment_and_the_request_charges_nothing() {
    // Arrange
    let app = spawn_app().await;
    let processed = app.reader(topic::PAYMENT_PROCESSED);
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish(
        topic::BOOKING_FAILED,
        booking_id,
        &booking_closed(topic::BOOKING_FAILED, booking_id, user_id, "EXPIRED"),
    )
    .await;
    let voided = app.wait_for_status(booking_id, PaymentStatus::Voided).await;
    assert_eq!(voided.amount_cents, 0);
    assert_eq!(voided.failure_reason.as_deref(), Some("EXPIRED"));

    // Act: the request arrives late (topics are not ordered with each other)
    let late = app.request_payment(booking_id, user_id, 5_000).await;
    app.wait_until_consumed(late.message_id.unwrap()).await;

    // Assert
    assert_eq!(app.payment_count(booking_id).await, 1);
    let after = app.payment_for(booking_id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Voided);
    assert_eq!(after.amount_cents, 0);
    let answers = processed
        .collect(Duration::from_secs(3), |m| {
            m["bookingId"] == booking_id.to_string()
        })
        .await;
    assert!(
        answers.is_empty(),
        "a voided payment answers nothing: {answers:?}"
    );
}

#[tokio::test]
async fn closing_a_booking_whose_payment_was_declined_changes_nothing() {
    // Arrange
    let app = spawn_app_with(0.0, Duration::from_millis(10)).await;
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    app.request_payment(booking_id, user_id, 700).await;
    let declined = app.wait_for_status(booking_id, PaymentStatus::Failed).await;

    // Act
    let failed = booking_closed(topic::BOOKING_FAILED, booking_id, user_id, "PAYMENT_FAILED");
    app.publish(topic::BOOKING_FAILED, booking_id, &failed)
        .await;
    app.wait_until_consumed(failed.message_id.unwrap()).await;

    // Assert
    let after = app.payment_for(booking_id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Failed);
    assert!(after.refunded_at.is_none());
    assert_eq!(after.updated_at, declined.updated_at);
}
