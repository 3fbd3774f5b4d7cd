//! Redelivered messages change nothing; poison messages end on their dead-letter topic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::consumer::{ConsumerOptions, Delivery, Outcome};
use kit::consumer_watch::ConsumerWatch;
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::PaymentProcessed;
use kit::metrics::Metrics;
use kit::testing::TopicReader;
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

#[tokio::test]
async fn a_message_delivered_twice_changes_nothing_the_second_time() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let reader = TopicReader::new(&format!("{}{}", stack.prefix, topic::SEATS_RELEASE));
    let (_, first_token) = stack.user_token();
    let first = stack.book_confirmed(&first_token, event, &seats[..1]).await;
    let cancel = stack.cancel(&first_token, first).await;
    assert!(cancel.status().is_success());
    // The seats.release that freed the seat, exactly as it was sent.
    let (_, release) = reader
        .wait_for(Duration::from_secs(30), |m| {
            m["bookingId"] == first.to_string()
        })
        .await
        .expect("seats.release for the cancelled booking");

    stack
        .wait_seats(&seats[..1], "AVAILABLE after the cancel", |rows| {
            rows[0].1 == "AVAILABLE"
        })
        .await;

    // Someone else buys the seat.
    let (_, second_token) = stack.user_token();
    let second = stack
        .book_confirmed(&second_token, event, &seats[..1])
        .await;
    stack
        .wait_seats(&seats[..1], "RESERVED for the second booking", |rows| {
            rows[0].2 == Some(second)
        })
        .await;

    // The old release again, same eventId: deduplicated. (Even a fresh eventId could not free the
    // seat: release checks the owner.)
    stack
        .publish_raw_counted(
            topic::SEATS_RELEASE,
            &first.to_string(),
            release.to_string().as_bytes(),
            "inventory-service",
            "deduped",
        )
        .await;
    let rows = stack.seat_rows(&seats[..1]).await;
    assert_eq!(rows[0].1, "RESERVED");
    assert_eq!(
        rows[0].2,
        Some(second),
        "the seat still belongs to the second booking"
    );

    // A late, contradicting payment result for a CONFIRMED booking: the state machine ignores it.
    let late = Envelope::new(
        topic::PAYMENT_PROCESSED,
        PaymentProcessed {
            booking_id: second,
            payment_id: Some(Uuid::new_v4()),
            status: "FAILED".into(),
            amount_cents: Some(5_000),
            reason: Some("test".into()),
        },
    );
    stack
        .publish_raw_counted(
            topic::PAYMENT_PROCESSED,
            &second.to_string(),
            &serde_json::to_vec(&late).unwrap(),
            "booking-service",
            "ignored",
        )
        .await;
    let after = stack
        .wait_terminal(&second_token, second, Duration::from_secs(5))
        .await;
    assert_eq!(after["status"], "CONFIRMED");
}

#[tokio::test]
async fn poison_messages_end_on_their_dead_letter_topic() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let dlt = TopicReader::new(&format!("{}{}.DLT", stack.prefix, topic::BOOKING_INITIATED));
    let marker = Uuid::new_v4().to_string();
    // Not an envelope at all.
    stack
        .publish_raw(
            topic::BOOKING_INITIATED,
            "poison-1",
            format!(r#"{{"garbage":"{marker}"}}"#).as_bytes(),
        )
        .await;
    // An envelope whose payload lacks the booking's fields.
    let envelope = serde_json::json!({"eventId": Uuid::new_v4(), "eventType": "booking.initiated",
                                       "timestamp": "2027-01-01T00:00:00Z", "marker": marker});
    stack
        .publish_raw(
            topic::BOOKING_INITIATED,
            "poison-2",
            envelope.to_string().as_bytes(),
        )
        .await;
    let first = dlt
        .wait_for(Duration::from_secs(60), |m| m["garbage"] == marker.as_str())
        .await;
    assert!(first.is_some(), "non-envelope dead-lettered");
    let second = dlt
        .wait_for(Duration::from_secs(60), |m| m["marker"] == marker.as_str())
        .await;
    assert!(second.is_some(), "malformed envelope dead-lettered");
    assert!(
        stack
            .metric(
                "inventory-service",
                "messages_total{outcome=\"dead_lettered\""
            )
            .await
            >= 2.0
    );
}

/// A bare `kit::consumer` of `booking.confirmed` on fresh topics, running `handler` with
/// `options` adjusted by `tune` (quick backoffs for the tests below), and a publisher of one
/// key's messages to it.
struct BareConsumer {
    topics: Topics,
    metrics: Metrics,
    token: tokio_util::sync::CancellationToken,
    consuming: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl BareConsumer {
    async fn start(
        name: &str,
        handler: kit::consumer::Handler,
        tune: impl FnOnce(&mut ConsumerOptions),
    ) -> Self {
        let prefix = format!("{}{}.", &name[..1], kit::testing::unique_suffix());
        kit::testing::create_topics(&prefix, &[topic::BOOKING_CONFIRMED]).await;
        let topics = Topics::new(prefix);
        let metrics = Metrics::new(name);
        let watch = ConsumerWatch::new(&metrics, Duration::from_secs(20)).unwrap();
        let mut options = ConsumerOptions::new(&topics.group(name), &[topic::BOOKING_CONFIRMED]);
        tune(&mut options);
        let token = tokio_util::sync::CancellationToken::new();
        let brokers = kit::testing::brokers();
        let producer = kit::kafka::producer(&brokers).unwrap();
        let consuming = tokio::spawn({
            let (topics, metrics, token) = (topics.clone(), metrics.clone(), token.clone());
            async move {
                kit::consumer::run(
                    &brokers, &topics, producer, metrics, watch, options, handler, token,
                )
                .await
            }
        });
        Self {
            topics,
            metrics,
            token,
            consuming,
        }
    }

    /// Publishes one message per (message id, event type), in order, all with the same key (so
    /// the same partition, handled in this order).
    async fn publish(&self, messages: &[(Uuid, &str)]) {
        let publisher = kit::kafka::producer(&kit::testing::brokers()).unwrap();
        for (message_id, event_type) in messages {
            let body = serde_json::json!({"messageId": message_id, "eventType": event_type,
                                          "timestamp": "2027-01-01T00:00:00Z"})
            .to_string();
            publisher
                .send(
                    rdkafka::producer::FutureRecord::to(
                        &self.topics.name(topic::BOOKING_CONFIRMED),
                    )
                    .key("one-key")
                    .payload(&body),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("publish");
        }
    }

    async fn stop(self) {
        self.token.cancel();
        self.consuming.await.unwrap().unwrap();
    }
}

/// Waits (at most 60 s) until `handled` holds `expected`, then asserts it is exactly that.
async fn wait_until_handled(handled: &Mutex<Vec<String>>, expected: &[&str], what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while handled.lock().unwrap().len() < expected.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {:?}",
            handled.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(handled.lock().unwrap().as_slice(), expected, "{what}");
}

/// A handler that panics does not take its partition down: the panic is caught, counted, retried
/// and dead-lettered, and the next message of the same key (same partition, strictly after it)
/// is handled.
#[tokio::test]
async fn a_panicking_handler_is_retried_then_dead_lettered_and_its_partition_goes_on() {
    let handled = Arc::new(Mutex::new(Vec::<String>::new()));
    let handler = kit::consumer::handler({
        let handled = handled.clone();
        move |delivery: Delivery| {
            let handled = handled.clone();
            async move {
                if delivery.event_type == "boom" {
                    panic!("a handler bug on {}", delivery.message_id);
                }
                handled.lock().unwrap().push(delivery.event_type.clone());
                Ok(Outcome::Processed)
            }
        }
    });
    let consumer = BareConsumer::start("panic-test", handler, |options| {
        options.max_attempts = 2;
        options.initial_backoff = Duration::from_millis(10);
    })
    .await;
    let dlt = TopicReader::new(&format!(
        "{}.DLT",
        consumer.topics.name(topic::BOOKING_CONFIRMED)
    ));
    let boom = Uuid::new_v4();
    consumer
        .publish(&[(boom, "boom"), (Uuid::new_v4(), "after")])
        .await;

    let parked = dlt
        .wait_for(Duration::from_secs(60), |m| {
            m["messageId"] == boom.to_string()
        })
        .await;
    assert!(parked.is_some(), "the panicking message was dead-lettered");
    wait_until_handled(
        &handled,
        &["after"],
        "the message after the panic was never handled",
    )
    .await;
    assert_eq!(
        consumer
            .metrics
            .message_count(topic::BOOKING_CONFIRMED, "panicked"),
        2,
        "each of the two attempts panicked and was counted"
    );
    consumer.stop().await;
}

/// A handler whose database cannot be reached is not handling a bad message: it is retried for
/// as long as the outage lasts (here well past `max_attempts`), never dead-lettered, and the
/// next message of its key waits for it. (The fault matrix's postgres-reset-peer cell found
/// seats.confirm and booking.initiated parked after five quick attempts during a 10 s outage,
/// leaving CONFIRMED bookings with LOCKED seats.)
#[tokio::test]
async fn a_message_whose_database_is_unreachable_waits_for_it_instead_of_being_dead_lettered() {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    let handled = Arc::new(Mutex::new(Vec::<String>::new()));
    let outage_left = Arc::new(AtomicU32::new(6));
    let handler = kit::consumer::handler({
        let (handled, outage_left) = (handled.clone(), outage_left.clone());
        move |delivery: Delivery| {
            let (handled, outage_left) = (handled.clone(), outage_left.clone());
            async move {
                if outage_left
                    .fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1))
                    .is_ok()
                {
                    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
                    return Err(kit::consumer::HandlerError::from(sqlx::Error::Io(reset)));
                }
                handled.lock().unwrap().push(delivery.event_type.clone());
                Ok(Outcome::Processed)
            }
        }
    });
    let consumer = BareConsumer::start("unavailable-test", handler, |options| {
        options.max_attempts = 2;
        options.initial_backoff = Duration::from_millis(10);
        options.max_backoff = Duration::from_millis(50);
    })
    .await;
    consumer
        .publish(&[
            (Uuid::new_v4(), "during-the-outage"),
            (Uuid::new_v4(), "after"),
        ])
        .await;

    wait_until_handled(
        &handled,
        &["during-the-outage", "after"],
        "handled once the database was back, in order",
    )
    .await;
    let count = |outcome| {
        consumer
            .metrics
            .message_count(topic::BOOKING_CONFIRMED, outcome)
    };
    assert_eq!(
        count("retried"),
        6,
        "each unreachable attempt was retried (3 times max_attempts)"
    );
    assert_eq!(
        count("dead_lettered"),
        0,
        "nothing was parked for an outage"
    );
    consumer.stop().await;
}

/// A message parked because of a fault an operator then fixes is replayed to the right end
/// state: booking-service cannot read its bookings table while inventory's seats.locked arrives,
/// so the message is dead-lettered; once the table is back, a replay confirms the booking. A
/// second replay finds nothing parked.
#[tokio::test]
async fn a_parked_message_replayed_after_the_fix_confirms_its_booking() {
    use kit::dead_letters::{self, Selection};

    let (mut stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (_, token) = stack.register("parked").await;
    // Inventory off: the booking waits for its seats while booking-service's table goes away.
    stack.stop_service_and_wait("inventory-service").await;
    let booking = stack.book_ok(&token, event, &seats[50..51]).await;
    let bookings = stack.pool("booking-service").clone();
    sqlx::query("ALTER TABLE bookings RENAME TO bookings_misplaced")
        .execute(&bookings)
        .await
        .unwrap();
    stack.start_service("inventory-service").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let parked = loop {
        let letters = dead_letters::list(&stack.brokers, &stack.prefix)
            .await
            .unwrap();
        if let Some(letter) = letters
            .into_iter()
            .find(|l| l.key.as_deref() == Some(booking.to_string().as_str()) && !l.replayed)
        {
            break letter;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "seats.locked of {booking} was never parked"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        parked.original_topic.ends_with(topic::SEATS_LOCKED),
        "{parked:?}"
    );
    assert!(
        parked.error.contains("bookings"),
        "the reason is kept: {parked:?}"
    );

    sqlx::query("ALTER TABLE bookings_misplaced RENAME TO bookings")
        .execute(&bookings)
        .await
        .unwrap();
    let replay = dead_letters::replay(
        &stack.brokers,
        &stack.prefix,
        &Selection::MessageId(parked.message_id.clone()),
    )
    .await
    .unwrap();
    assert_eq!(replay.replayed.len(), 1, "{replay:?}");
    assert_eq!(
        stack
            .wait_terminal(&token, booking, Duration::from_secs(60))
            .await["status"],
        "CONFIRMED"
    );
    let letters = dead_letters::list(&stack.brokers, &stack.prefix)
        .await
        .unwrap();
    assert!(
        letters.iter().all(|l| l.replayed),
        "nothing is left parked: {letters:?}"
    );
    let again = dead_letters::replay(&stack.brokers, &stack.prefix, &Selection::All)
        .await
        .unwrap();
    assert!(
        again.replayed.is_empty(),
        "a replayed letter is not replayed twice"
    );
}
