//! Messages that can never be handled end up on the dead-letter topic instead of blocking the
//! partition.

use kit::kafka::topic;
use uuid::Uuid;

use crate::helpers::{payment_requested, spawn_app, WAIT};

#[tokio::test]
async fn poison_payment_requests_go_to_the_dead_letter_topic() {
    // Arrange
    let app = spawn_app().await;
    let dead_letters = app.reader(&topic::dlt(topic::PAYMENT_REQUESTED));
    let booking_id = Uuid::new_v4();
    let not_an_envelope = br#"{"hello":1}"#;
    let wrong_payload = serde_json::json!({
        "eventId": Uuid::new_v4(),
        "eventType": "payment.requested",
        "bookingId": "not-a-uuid",
        "timestamp": "2026-01-01T00:00:00Z",
    });

    // Act
    app.publish_raw(topic::PAYMENT_REQUESTED, booking_id, not_an_envelope)
        .await;
    app.publish_raw(
        topic::PAYMENT_REQUESTED,
        booking_id,
        wrong_payload.to_string().as_bytes(),
    )
    .await;
    let healthy = payment_requested(booking_id, Uuid::new_v4(), 100);
    app.publish(topic::PAYMENT_REQUESTED, booking_id, &healthy)
        .await;

    // Assert: both poison messages are dead-lettered and the partition moves on
    let first = dead_letters.wait_for(WAIT, |m| m["hello"] == 1).await;
    assert!(first.is_some(), "the non-envelope is dead-lettered");
    let second = dead_letters
        .wait_for(WAIT, |m| m["bookingId"] == "not-a-uuid")
        .await;
    assert!(
        second.is_some(),
        "the malformed payment request is dead-lettered"
    );
    app.wait_until_consumed(healthy.message_id.unwrap()).await;
    assert_eq!(app.payment_count(booking_id).await, 1);
}
