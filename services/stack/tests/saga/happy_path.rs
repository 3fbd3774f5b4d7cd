use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::helpers::{SagaStack, StackOptions};

#[tokio::test]
async fn two_seats_confirm_with_one_capture_and_one_confirmation() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (_user, token) = stack.register("happy").await;
    let (booking, done) = stack
        .book_until_terminal(&token, event, &seats[..2], Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    assert_eq!(
        done["eventName"], "Saga Night",
        "the server names the event"
    );
    assert_eq!(
        done["amountCents"], 10_000,
        "two VIP seats at 2 x 25.00, priced by the server"
    );

    stack
        .wait_seats_held(&seats[..2], "RESERVED", booking)
        .await;
    stack
        .eventually("one captured payment", || async {
            stack.payments(booking).await == [("CAPTURED".to_string(), 10_000)]
        })
        .await;
    stack.wait_notifications(booking, &["CONFIRMED"]).await;

    // The same facts through the API.
    let payment = stack
        .get_json(&format!("/api/payments/booking/{booking}"), Some(&token))
        .await;
    assert_eq!(payment["status"], "SUCCESS", "{payment}");
    assert_eq!(payment["paymentStatus"], "CAPTURED", "{payment}");
    let recent = stack
        .get_json("/api/notifications/recent", Some(&token))
        .await;
    let kinds: Vec<&str> = recent
        .as_array()
        .expect("a bare array")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"CONFIRMED"), "{recent}");

    // Another user may not read it.
    let (_, other) = stack.user_token();
    let response = stack
        .request(
            Method::GET,
            &format!("/api/bookings/{booking}"),
            Some(&other),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mine = stack.get_json("/api/bookings/my", Some(&token)).await;
    assert_eq!(mine.as_array().expect("a bare array").len(), 1);
}

#[tokio::test]
async fn ten_thousand_seat_map_is_built_and_listed() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let started = std::time::Instant::now();
    let (event, seats) = stack.create_event(10_000).await;
    println!(
        "10,000-seat map built and listed in {:?}",
        started.elapsed()
    );
    assert_eq!(seats.len(), 10_000);
    let page = stack
        .get_json(
            &format!("/api/inventory/events/{event}/seats?limit=10&offset=20&status=available"),
            None,
        )
        .await;
    assert_eq!(page["total"], 10_000);
    let listed = page["seats"].as_array().unwrap();
    assert_eq!(listed.len(), 10);
    assert_eq!(listed[0]["id"], seats[20].to_string());
    for key in [
        "id",
        "eventId",
        "seatNumber",
        "row",
        "section",
        "status",
        "bookingId",
    ] {
        assert!(
            listed[0].get(key).is_some(),
            "seat has {key}: {}",
            listed[0]
        );
    }
}
