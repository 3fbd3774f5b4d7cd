//! The broker dies for 10 s in the middle of a batch of bookings: the outbox holds every message,
//! and every booking still reaches a terminal state.

use std::time::{Duration, Instant};

use kit::testing::PrivateBroker;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;

use crate::helpers::{SagaStack, StackOptions};

/// The whole test, bounded: a normal run takes ~25 s. Past the bound it fails with where it got
/// to, instead of hanging CI (once it ran for over an hour without a word). Multi-threaded, so a
/// blocking librdkafka call on one worker cannot stop the clock too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_for_ten_seconds_mid_batch_loses_no_booking() {
    let started = Instant::now();
    let step = move |what: &str| println!("[{:6.1} s] {what}", started.elapsed().as_secs_f64());
    tokio::time::timeout(Duration::from_secs(300), broker_outage(step))
        .await
        .expect("the broker-outage test finishes within 300 s (see its last [t s] line for where it stalled)");
}

async fn broker_outage(step: impl Fn(&str)) {
    let mut broker = PrivateBroker::start().await;
    step("private broker listening");
    let stack = SagaStack::start(StackOptions {
        brokers: Some(broker.address()),
        booking_timeout_ms: 180_000,
        ..StackOptions::default()
    })
    .await;
    step("stack started");
    let (event, seats) = stack.create_event(116).await;
    step("event's seat map built");

    // 30 bookings, 100 ms apart; the broker dies after the 10th and returns 10 s later.
    let mut bookings = Vec::new();
    for (i, seat) in seats.iter().take(30).enumerate() {
        if i == 10 {
            broker.kill().await;
            step(&format!("broker killed after {i} bookings"));
        }
        if i == 20 {
            tokio::time::sleep(Duration::from_secs(9)).await;
            broker.spawn().await;
            step("broker restarted after a 10 s outage");
        }
        let (_, token) = stack.user_token();
        let id = stack
            .book_ok(&token, event, std::slice::from_ref(seat))
            .await;
        bookings.push((id, token, *seat));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    step("30 bookings accepted");
    for (id, token, seat) in &bookings {
        let done = stack
            .wait_terminal(token, *id, Duration::from_secs(150))
            .await;
        assert_eq!(done["status"], "CONFIRMED", "booking {id}: {done}");
        stack
            .wait_seats(
                std::slice::from_ref(seat),
                "RESERVED for its booking",
                |rows| rows[0].2 == Some(*id),
            )
            .await;
    }
    step("every booking CONFIRMED with its seat");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE status = 'PENDING'")
        .fetch_one(stack.pool("booking-service"))
        .await
        .unwrap();
    assert_eq!(pending, 0);
    for service in ["booking-service", "inventory-service", "payment-service"] {
        stack
            .eventually(
                &format!("{service}'s outbox drains after the outage"),
                || async {
                    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                        .fetch_one(stack.pool(service))
                        .await
                        .unwrap();
                    rows == 0
                },
            )
            .await;
    }
}

/// Dropping a librdkafka group consumer waits until it has left its group, which never happens
/// while the broker accepts connections but does not answer (librdkafka#4519): a service stopped
/// during such a stall, or a test whose runtime drops its consumers then, hung there.
/// `kit::kafka::GroupConsumer` closes on its own thread, so the drop returns at once.
#[tokio::test]
async fn a_consumer_dropped_while_its_broker_is_unresponsive_returns_at_once() {
    let mut broker = PrivateBroker::start().await;
    let topic = format!("close-test-{}", kit::testing::unique_suffix());
    kit::kafka::ensure_topics(&broker.address(), std::slice::from_ref(&topic), 1)
        .await
        .unwrap();
    let producer = kit::kafka::producer(&broker.address()).unwrap();
    producer
        .send(
            FutureRecord::<str, str>::to(&topic).payload("joined"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let consumer = kit::kafka::consumer(
        &broker.address(),
        &format!("close-test-{}", kit::testing::unique_suffix()),
    )
    .unwrap();
    consumer.subscribe(&[topic.as_str()]).unwrap();
    // Receiving a message means the consumer joined the group and knows its coordinator.
    tokio::time::timeout(Duration::from_secs(60), consumer.recv())
        .await
        .expect("a message within 60 s")
        .unwrap();

    // Stopped, not killed: the kernel still accepts its connections, nothing answers, as with
    // a broker behind a dead network link.
    let pid = broker.pid().expect("the broker runs").to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let took = drop_within(consumer, Duration::from_secs(5))
        .expect("dropping the consumer returns within 5 s while its broker does not answer");
    println!("consumer dropped in {took:?} with its broker unresponsive");

    // The relay replaces its producer after a failed delivery; the old one must not block either.
    let in_flight = producer
        .send_result(FutureRecord::<str, str>::to(&topic).payload("stuck"))
        .map_err(|(e, _)| e);
    assert!(in_flight.is_ok(), "queued");
    let took = drop_within((in_flight, producer), Duration::from_secs(5))
        .expect("dropping the producer returns within 5 s");
    println!("producer dropped in {took:?} with its broker unresponsive");
    broker.kill().await;
}

/// Drops `value` on a thread of its own and returns how long that took, or `None` when it has
/// not returned within `limit` (the thread is left behind, as a blocked drop cannot be undone).
fn drop_within<T: Send + 'static>(value: T, limit: Duration) -> Option<Duration> {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        drop(value);
        let _ = done_tx.send(started.elapsed());
    });
    done_rx.recv_timeout(limit).ok()
}
