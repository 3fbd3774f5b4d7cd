//! One charge per booking, whatever the delivery pattern; the processor's answer is sent back.

use std::sync::Arc;
use std::time::Duration;

use kit::consumer::{Delivery, Outcome};
use kit::kafka::{topic, Envelope};
use kit::messages::PaymentRequested;
use kit::metrics::Metrics;
use payment_service::consumers::{PaymentMetrics, Payments};
use payment_service::domain::{PaymentStatus, SuccessRate};
use payment_service::processor::SimulatedProcessor;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::{metric, payment_requested, spawn_app, spawn_app_with, WAIT};

#[tokio::test]
async fn redelivered_payment_request_charges_once_and_repeats_the_answer() {
    // Arrange
    let app = spawn_app().await;
    let processed = app.reader(topic::PAYMENT_PROCESSED);
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    let request = payment_requested(booking_id, user_id, 4_250);
    let mut resent = request.clone();
    resent.message_id = Some(Uuid::new_v4());

    // Act: the same message twice, then the same request under a new eventId
    app.publish(topic::PAYMENT_REQUESTED, booking_id, &request)
        .await;
    app.publish(topic::PAYMENT_REQUESTED, booking_id, &request)
        .await;
    app.publish(topic::PAYMENT_REQUESTED, booking_id, &resent)
        .await;
    app.wait_until_consumed(resent.message_id.unwrap()).await;

    // Assert
    assert_eq!(app.payment_count(booking_id).await, 1);
    let payment = app.payment_for(booking_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Captured);
    assert_eq!(payment.amount_cents, 4_250);
    assert_eq!(payment.user_id, user_id);
    let first = processed
        .wait_for(WAIT, |m| m["bookingId"] == booking_id.to_string())
        .await
        .expect("payment.processed is published");
    assert_eq!(
        first.0.as_deref(),
        Some(booking_id.to_string().as_str()),
        "keyed by bookingId"
    );
    assert_eq!(first.1["status"], "SUCCESS");
    assert_eq!(first.1["paymentId"], payment.id.to_string());
    assert_eq!(first.1["amountCents"], 4_250);
    assert_eq!(first.1["eventType"], "payment.processed");
    let answers = processed
        .collect(Duration::from_secs(3), |m| {
            m["bookingId"] == booking_id.to_string()
        })
        .await;
    assert!(
        answers
            .iter()
            .all(|m| m["paymentId"] == payment.id.to_string() && m["status"] == "SUCCESS"),
        "every answer repeats the one payment: {answers:?}"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "messages_total",
            &[("outcome", "deduped"), ("topic", topic::PAYMENT_REQUESTED)]
        ),
        Some(1.0),
        "the repeated eventId is deduped:\n{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "payments_charged_total",
            &[("status", "CAPTURED")]
        ),
        Some(1.0),
        "one charge:\n{metrics}"
    );
}

#[tokio::test]
async fn concurrent_duplicate_requests_charge_once() {
    // Arrange: a slow processor so that every duplicate is charging when the first one inserts
    let app = spawn_app_with(1.0, Duration::from_millis(300)).await;
    let metrics = Metrics::new("race");
    // One connection per racer, so that every transaction really runs at once.
    let racers = 8;
    let pool = PgPoolOptions::new()
        .max_connections(racers)
        .connect(&app.database_url)
        .await
        .unwrap();
    let payments = Arc::new(Payments::new(
        pool,
        app.topics.clone(),
        SimulatedProcessor::new(SuccessRate::parse(1.0).unwrap(), Duration::from_millis(300)),
        PaymentMetrics::register(&metrics).unwrap(),
    ));
    let (booking_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    let request = payment_requested(booking_id, user_id, 9_900);
    let mut envelopes: Vec<Envelope<PaymentRequested>> = (0..racers - 2)
        .map(|_| {
            let mut copy = request.clone();
            copy.message_id = Some(Uuid::new_v4());
            copy
        })
        .collect();
    envelopes.push(request.clone());
    envelopes.push(request.clone()); // the same eventId twice, concurrently

    // Act
    let attempts = envelopes.iter().map(|envelope| {
        let payments = payments.clone();
        let delivery = Delivery {
            topic: topic::PAYMENT_REQUESTED,
            key: Some(booking_id.to_string()),
            payload: serde_json::to_vec(envelope).unwrap(),
            message_id: envelope.message_id.unwrap(),
            event_type: envelope.event_type.clone(),
        };
        async move { payments.handle(&delivery).await }
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("handler succeeds"))
        .collect();

    // Assert
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Duplicate)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Processed)
            .count(),
        7,
        "{outcomes:?}"
    );
    assert_eq!(app.payment_count(booking_id).await, 1);
    let payment = app.payment_for(booking_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Captured);
    let text = metrics.render();
    assert_eq!(
        metric(&text, "payments_charged_total", &[("status", "CAPTURED")]),
        Some(1.0),
        "exactly one of the racers charged:\n{text}"
    );
    let processed = app.reader(topic::PAYMENT_PROCESSED);
    let answer = processed
        .wait_for(WAIT, |m| m["bookingId"] == booking_id.to_string())
        .await
        .expect("payment.processed is published");
    assert_eq!(answer.1["status"], "SUCCESS");
    assert_eq!(answer.1["paymentId"], payment.id.to_string());
}

#[tokio::test]
async fn zero_success_rate_declines_the_payment() {
    // Arrange
    let app = spawn_app_with(0.0, Duration::from_millis(10)).await;
    let processed = app.reader(topic::PAYMENT_PROCESSED);
    let booking_id = Uuid::new_v4();

    // Act
    app.request_payment(booking_id, Uuid::new_v4(), 1_000).await;

    // Assert
    let payment = app.wait_for_payment(booking_id, |_| true).await;
    assert_eq!(payment.status, PaymentStatus::Failed);
    assert_eq!(payment.failure_reason.as_deref(), Some("CARD_DECLINED"));
    let answer = processed
        .wait_for(WAIT, |m| m["bookingId"] == booking_id.to_string())
        .await
        .expect("payment.processed is published");
    assert_eq!(answer.1["status"], "FAILED");
    assert_eq!(answer.1["reason"], "CARD_DECLINED");
    assert_eq!(answer.1["paymentId"], payment.id.to_string());
}
