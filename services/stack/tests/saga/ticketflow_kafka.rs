//! TicketFlow's services on the same broker: each Stampede consumer is fed the messages a
//! TicketFlow producer writes, byte for byte as the contract's section 5 gives them (no
//! `messageId`, `eventId` = the ticketed event, amounts in currency units, Python's naive
//! timestamps), and what Stampede answers carries the fields TicketFlow's consumers read.

use std::time::Duration;

use kit::kafka::topic;
use kit::testing::TopicReader;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

const WAIT: Duration = Duration::from_secs(30);

/// A Python service's `datetime.utcnow().isoformat()`.
const NAIVE_NOW: &str = "2026-12-07T10:00:00.123456";
/// A Java or TypeScript service's `Instant.now()`.
const ZULU_NOW: &str = "2026-12-07T10:00:00.123Z";

fn bytes(message: &Value) -> Vec<u8> {
    serde_json::to_vec(message).unwrap()
}

impl SagaStack {
    fn reader_of(&self, logical: &str) -> TopicReader {
        TopicReader::new(&format!("{}{logical}", self.prefix))
    }
}

/// TicketFlow's event-service announces an event (eventId, name, totalSeats only): inventory
/// builds TicketFlow's 116-seat map of it, booking-service takes it into its catalog, and a
/// second delivery of the same bytes changes nothing.
#[tokio::test]
async fn an_event_announced_by_ticketflow_gets_its_seat_map_and_is_bookable() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let event = Uuid::new_v4();
    let announced = bytes(&json!({
        "eventType": "event.created", "eventId": event, "name": "TicketFlow Fest",
        "totalSeats": 120, "timestamp": NAIVE_NOW,
    }));
    stack
        .publish_raw(topic::EVENT_CREATED, &event.to_string(), &announced)
        .await;

    let seats = stack
        .get_json(&format!("/api/inventory/events/{event}/seats"), None)
        .await;
    let mut total = seats["total"].as_i64().unwrap_or(0);
    let deadline = tokio::time::Instant::now() + WAIT;
    while total != 116 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        total = stack
            .get_json(&format!("/api/inventory/events/{event}/seats"), None)
            .await["total"]
            .as_i64()
            .unwrap_or(0);
    }
    assert_eq!(total, 116, "TicketFlow's layout cut at 116 seats");
    stack
        .eventually("booking-service knows the event", || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE event_id = $1")
                .bind(event)
                .fetch_one(stack.pool("booking-service"))
                .await
                .unwrap()
                == 1
        })
        .await;

    // The same bytes again (a redelivery): deduplicated on the derived message id.
    stack
        .publish_raw_counted(
            topic::EVENT_CREATED,
            &event.to_string(),
            &announced,
            "inventory-service",
            "deduped",
        )
        .await;

    // A Stampede user books a seat of it through the saga.
    let seat_ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM seats WHERE event_id = $1 ORDER BY position LIMIT 1")
            .bind(event)
            .fetch_all(stack.pool("inventory-service"))
            .await
            .unwrap();
    let (_, token) = stack.user_token();
    let booking = stack.book_ok(&token, event, &seat_ids).await;
    let done = stack.wait_terminal(&token, booking, WAIT).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
}

/// TicketFlow's booking-service asks Stampede's inventory to lock seats and then confirm them:
/// the seats.locked answer carries TicketFlow's fields, and the confirm, which names no event,
/// reserves the seats.
#[tokio::test]
async fn ticketflows_booking_service_locks_and_confirms_seats_with_stampedes_inventory() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let locked = stack.reader_of(topic::SEATS_LOCKED);
    let (booking, user) = (Uuid::new_v4(), Uuid::new_v4());
    let held = &seats[..2];
    let initiated = bytes(&json!({
        "eventType": "booking.initiated", "bookingId": booking, "userId": user,
        "userEmail": "tf@example.com", "eventId": event, "eventName": "Test Fest",
        "seatIds": held, "totalAmount": 200.0, "timestamp": ZULU_NOW,
    }));
    stack
        .publish_raw(topic::BOOKING_INITIATED, &booking.to_string(), &initiated)
        .await;

    let (key, answer) = locked
        .wait_for(WAIT, |m| m["bookingId"] == booking.to_string())
        .await
        .expect("inventory answers seats.locked");
    assert_eq!(key, Some(booking.to_string()));
    assert_eq!(answer["eventType"], "seats.locked");
    assert_eq!(answer["seatIds"], json!(held));
    stack.wait_seats_held(held, "LOCKED", booking).await;

    let confirm = bytes(&json!({
        "eventType": "seats.confirm", "bookingId": booking, "seatIds": held,
        "timestamp": ZULU_NOW,
    }));
    stack
        .publish_raw(topic::SEATS_CONFIRM, &booking.to_string(), &confirm)
        .await;
    stack.wait_seats_held(held, "RESERVED", booking).await;
}

/// TicketFlow's booking-service requests a payment in currency units: Stampede's payment-service
/// charges it in cents and answers payment.processed with TicketFlow's fields.
#[tokio::test]
async fn ticketflows_payment_request_is_charged_and_answered() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let processed = stack.reader_of(topic::PAYMENT_PROCESSED);
    let (booking, user) = (Uuid::new_v4(), Uuid::new_v4());
    let requested = bytes(&json!({
        "eventType": "payment.requested", "bookingId": booking, "userId": user,
        "amount": 42.5, "currency": "INR", "timestamp": ZULU_NOW,
    }));
    stack
        .publish_raw(topic::PAYMENT_REQUESTED, &booking.to_string(), &requested)
        .await;

    let (_, answer) = processed
        .wait_for(WAIT, |m| m["bookingId"] == booking.to_string())
        .await
        .expect("payment-service answers payment.processed");
    assert_eq!(answer["status"], "SUCCESS", "{answer}");
    assert!(answer["paymentId"].is_string(), "{answer}");
    assert_eq!(answer["eventType"], "payment.processed");
    assert_eq!(
        stack.payments(booking).await,
        [("CAPTURED".to_string(), 4_250)]
    );
}

/// TicketFlow's payment-service declines with its error-path paymentId ("unknown"): the Stampede
/// booking fails instead of the message being dead-lettered for a paymentId that is no UUID.
#[tokio::test]
async fn ticketflows_payment_answer_settles_a_stampede_booking() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        payment_latency_ms: 10_000,
        ..StackOptions::default()
    })
    .await;
    let (_, token) = stack.user_token();
    let booking = stack.book_ok(&token, event, &seats[..1]).await;
    stack.wait_seats_held(&seats[..1], "LOCKED", booking).await;
    let declined = bytes(&json!({
        "eventType": "payment.processed", "bookingId": booking, "paymentId": "unknown",
        "status": "FAILED", "reason": "Payment declined by mock provider", "timestamp": NAIVE_NOW,
    }));
    stack
        .publish_raw(topic::PAYMENT_PROCESSED, &booking.to_string(), &declined)
        .await;
    let done = stack.wait_terminal(&token, booking, WAIT).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["failureReason"], "PAYMENT_FAILED", "{done}");
    stack.wait_seats_free(&seats[..1]).await;
}

/// TicketFlow's user- and booking-services announce a sign-up, a confirmation and a failure:
/// Stampede's notification-service records one notification for each.
#[tokio::test]
async fn ticketflows_announcements_are_notified() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let (user, confirmed, failed) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let email = format!("tf-{}@example.com", &user.to_string()[..8]);
    let messages = [
        (
            topic::USER_REGISTERED,
            user,
            json!({"eventType": "user.registered", "userId": user, "email": email,
                   "name": "Tee Eff", "timestamp": ZULU_NOW}),
        ),
        (
            topic::BOOKING_CONFIRMED,
            confirmed,
            json!({"eventType": "booking.confirmed", "bookingId": confirmed, "userId": user,
                   "userEmail": email, "eventId": Uuid::new_v4(), "eventName": "TF Fest",
                   "seatIds": [Uuid::new_v4()], "totalAmount": 99.0, "timestamp": ZULU_NOW}),
        ),
        (
            topic::BOOKING_FAILED,
            failed,
            json!({"eventType": "booking.failed", "bookingId": failed, "userId": user,
                   "userEmail": email, "reason": "Seats unavailable", "timestamp": ZULU_NOW}),
        ),
    ];
    for (logical, key, message) in &messages {
        stack
            .publish_raw(logical, &key.to_string(), &bytes(message))
            .await;
    }
    stack.wait_notifications(confirmed, &["CONFIRMED"]).await;
    stack.wait_notifications(failed, &["FAILED"]).await;
    stack
        .eventually("a welcome for the TicketFlow user", || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM notifications WHERE kind = 'WELCOME' AND recipient = $1",
            )
            .bind(&email)
            .fetch_one(stack.pool("notification-service"))
            .await
            .unwrap()
                == 1
        })
        .await;
}

/// A foreign message no consumer can understand is parked on the dead-letter topic with the
/// reason, and the partition goes on with the next message.
#[tokio::test]
async fn a_foreign_message_that_cannot_be_read_is_dead_lettered_and_the_partition_goes_on() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let dead = stack.reader_of(&topic::dlt(topic::PAYMENT_REQUESTED));
    let processed = stack.reader_of(topic::PAYMENT_PROCESSED);
    let (bad, good, user) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    // One key, so both land on one partition, in this order.
    let key = "one-key";
    let unreadable = bytes(&json!({
        "eventType": "payment.requested", "bookingId": bad, "userId": user,
        "amount": "forty-two", "currency": "INR", "timestamp": ZULU_NOW,
    }));
    let readable = bytes(&json!({
        "eventType": "payment.requested", "bookingId": good, "userId": user,
        "amount": 1.0, "currency": "INR", "timestamp": ZULU_NOW,
    }));
    stack
        .publish_raw(topic::PAYMENT_REQUESTED, key, &unreadable)
        .await;
    stack
        .publish_raw(topic::PAYMENT_REQUESTED, key, &readable)
        .await;

    let (_, parked) = dead
        .wait_for(WAIT, |m| m["bookingId"] == bad.to_string())
        .await
        .expect("the unreadable message is parked");
    assert_eq!(parked["amount"], "forty-two");
    let letters = kit::dead_letters::list(&stack.brokers, &stack.prefix)
        .await
        .unwrap();
    let letter = letters
        .iter()
        .find(|l| l.key.as_deref() == Some(key))
        .expect("the letter is listed");
    assert!(
        letter.error.contains("amount"),
        "the reason names the field: {}",
        letter.error
    );
    processed
        .wait_for(WAIT, |m| m["bookingId"] == good.to_string())
        .await
        .expect("the next message of the partition is handled");
}
