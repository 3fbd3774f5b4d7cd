//! `POST /api/events`, `GET /api/events/:id`, `PUT /api/events/:id`: what is stored, what is
//! shown, and the seat map `event.created` carries to inventory and booking.

use std::time::Duration;

use kit::kafka::topic;
use kit::testing::WAIT;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, expect_json, spawn_app, MAX_EVENT_SEATS};

#[tokio::test]
async fn a_created_event_is_shown_as_stored_and_event_created_carries_its_priced_seat_map() {
    // Arrange
    let app = spawn_app().await;
    let reader = app.reader(topic::EVENT_CREATED);
    let venue = app.create_venue("Coliseu").await;

    // Act: 250 seats (more than one 116-seat block), VIP priced on its own
    let event = app
        .create_event(
            &venue,
            json!({"name": "  Fado Night ", "total_seats": 250, "ticket_price": 40,
                   "pricing": {"VIP": 99.5}, "category": "music", "description": "Live"}),
        )
        .await;

    // Assert: the answer
    let id = event["id"].as_str().expect("an id").to_string();
    assert_eq!(event["name"], "Fado Night");
    assert_eq!(event["venue_id"], venue.as_str());
    assert_eq!(event["venue_name"], "Coliseu");
    assert_eq!(event["total_seats"], 250);
    assert_eq!(event["category"], "music");
    assert_eq!(event["status"], "ON_SALE");
    assert_eq!(event["ticket_price"], 40.0, "the lowest (BALCONY) price");
    assert_eq!(
        event["pricing"],
        json!({"VIP": 99.5, "FLOOR": 60.0, "BALCONY": 40.0}),
        "VIP as given, the others at the seed's ratios"
    );
    assert_eq!(event["event_date"], "2027-06-01T20:00:00Z");
    // read back the same
    let shown = app.get_ok(&format!("/api/events/{id}")).await;
    assert_eq!(shown, event);
    // the message: keyed by the event, the whole layout, prices in cents
    let (key, message) = reader
        .wait_for(WAIT, |m| m["eventId"] == id.as_str())
        .await
        .expect("event.created is published");
    assert_eq!(key.as_deref(), Some(id.as_str()));
    assert_eq!(message["name"], "Fado Night");
    assert_eq!(message["venueId"], venue.as_str());
    assert_eq!(message["totalSeats"], 250);
    let sections = message["sections"].as_array().expect("sections");
    let names: Vec<&str> = sections
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "VIP",
            "FLOOR",
            "BALCONY",
            "VIP 2",
            "FLOOR 2",
            "BALCONY 2",
            "VIP 3"
        ]
    );
    let prices: Vec<i64> = sections
        .iter()
        .map(|s| s["priceCents"].as_i64().unwrap())
        .collect();
    assert_eq!(prices, [9950, 6000, 4000, 9950, 6000, 4000, 9950]);
    let seats: u64 = sections
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .map(|r| r["seats"].as_u64().unwrap())
        .sum();
    assert_eq!(seats, 250, "exactly total_seats");
    assert_eq!(
        sections[6]["rows"],
        json!([{"row": "A", "seats": 10}, {"row": "B", "seats": 8}]),
        "the last row is cut"
    );
}

#[tokio::test]
async fn invalid_events_are_400_envelopes_and_store_and_publish_nothing() {
    // Arrange
    let app = spawn_app().await;
    let reader = app.reader(topic::EVENT_CREATED);
    let venue = app.create_venue("Hall").await;
    let valid = json!({"name": "Gig", "venue_id": venue, "event_date": "2027-01-01T20:00:00Z",
                       "ticket_price": 10});
    let with = |change: Value| {
        let mut body = valid.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            "over MAX_EVENT_SEATS",
            with(json!({"total_seats": MAX_EVENT_SEATS + 1})),
            "total_seats",
        ),
        ("no seats", with(json!({"total_seats": 0})), "total_seats"),
        (
            "three decimals",
            with(json!({"pricing": {"FLOOR": 10.005}})),
            "pricing.FLOOR",
        ),
        (
            "negative price",
            with(json!({"ticket_price": -5})),
            "ticket_price",
        ),
        ("blank name", with(json!({"name": "   "})), "name"),
        ("long name", with(json!({"name": "x".repeat(201)})), "name"),
        (
            "not a date",
            with(json!({"event_date": "1 January 2027"})),
            "event_date",
        ),
        (
            "a date without a time",
            with(json!({"event_date": "2027-01-01"})),
            "event_date",
        ),
        (
            "unknown venue",
            with(json!({"venue_id": uuid::Uuid::new_v4()})),
            "venue",
        ),
        (
            "venue not a UUID",
            with(json!({"venue_id": "hall"})),
            "venue_id",
        ),
        (
            "price not a number",
            with(json!({"ticket_price": "ten"})),
            "ticket_price",
        ),
    ];

    for (case, body, mentions) in cases {
        // Act
        let response = app.post_json("/api/events", &body, Some(&app.admin)).await;

        // Assert
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(mentions), "{case}: {message}");
    }
    let listed = app.get_ok("/api/events").await;
    assert_eq!(listed["total"], 0, "nothing stored");
    let published = reader.collect(Duration::from_secs(3), |_| true).await;
    assert!(published.is_empty(), "nothing published: {published:?}");
}

#[tokio::test]
async fn updates_change_what_they_name_but_never_the_seat_count() {
    // Arrange
    let app = spawn_app().await;
    let venue = app.create_venue("Hall").await;
    let event = app.create_event(&venue, json!({"total_seats": 116})).await;
    let path = format!("/api/events/{}", event["id"].as_str().unwrap());
    let announced = app.reader(topic::EVENT_UPDATED);

    // Act
    let response = app.update(&path, &json!({"name": "Renamed", "status": "SOLD_OUT", "event_date": "2027-07-01T21:00:00+01:00",
                    "total_seats": 116}))
        .await;

    // Assert
    let updated = expect_json(response, StatusCode::OK).await;
    let updated = &updated;
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["status"], "SOLD_OUT");
    assert_eq!(
        updated["event_date"], "2027-07-01T20:00:00Z",
        "stored in UTC"
    );
    assert_eq!(
        updated["category"], event["category"],
        "unnamed fields stay"
    );
    assert_eq!(updated["pricing"], event["pricing"]);
    let time = |v: &Value| {
        v.as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .expect("an RFC 3339 time")
    };
    assert!(time(&updated["updated_at"]) > time(&event["updated_at"]));
    assert_eq!(app.get_ok(&path).await, *updated);
    // booking-service learns the new name and sale status from event.updated, keyed by the event
    let (key, message) = announced
        .wait_for(WAIT, |m| m["eventId"] == event["id"])
        .await
        .expect("event.updated is published");
    assert_eq!(key.as_deref(), event["id"].as_str());
    assert_eq!(message["eventType"], "event.updated");
    assert_eq!(message["name"], "Renamed");
    assert_eq!(message["status"], "SOLD_OUT");
    assert_eq!(time(&message["updatedAt"]), time(&updated["updated_at"]));

    let resize = app.update(&path, &json!({"total_seats": 117})).await;
    let message = assert_error(resize, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    assert!(message.contains("total_seats"), "{message}");
    let bad_status = app.update(&path, &json!({"status": "SOON"})).await;
    assert_error(bad_status, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    assert_eq!(app.get_ok(&path).await["status"], "SOLD_OUT");
    for missing in [
        format!("/api/events/{}", uuid::Uuid::new_v4()),
        "/api/events/42".into(),
    ] {
        let response = app.update(&missing, &json!({"name": "x"})).await;
        assert_error(response, StatusCode::NOT_FOUND, "EVENT_NOT_FOUND").await;
        let response = app.get(&missing, None).await;
        assert_error(response, StatusCode::NOT_FOUND, "EVENT_NOT_FOUND").await;
    }
}
