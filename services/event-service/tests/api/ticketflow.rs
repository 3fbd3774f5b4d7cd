//! TicketFlow's event and venue API (`../shared/TICKETFLOW-CONTRACT.md`, section 3): its bodies
//! are taken as its clients send them, and its fields are answered bare, beside Stampede's.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, expect_json, spawn_app};

#[tokio::test]
async fn a_ticketflow_venue_and_event_body_are_taken_and_answered_in_its_shape() {
    // Arrange
    let app = spawn_app().await;
    let venue = app
        .post_json(
            "/api/venues",
            &json!({"name": "Madison Square Garden", "address": "4 Pennsylvania Plaza",
                    "city": "New York", "country": "USA", "capacity": 20000}),
            Some(&app.admin),
        )
        .await;
    let venue = expect_json(venue, StatusCode::CREATED).await;
    let venue_id = venue["id"].as_str().expect("a bare venue with an id");
    assert_eq!(venue["country"], "USA");

    // Act: the body TicketFlow's event-service takes (date without an offset, price)
    let event = app
        .post_json(
            "/api/events",
            &json!({"name": "Rock Night", "description": "Loud", "venue_id": venue_id,
                    "date": "2027-06-15T20:00:00", "price": 75.0, "total_seats": 116,
                    "image_url": "/src/assets/rock.jpg", "tags": ["rock", "live"]}),
            Some(&app.admin),
        )
        .await;
    let event = expect_json(event, StatusCode::CREATED).await;
    let id = event["id"].as_str().expect("a bare event").to_string();

    // Assert: TicketFlow's fields, and Stampede's beside them
    assert_eq!(event["date"], "2027-06-15T20:00:00");
    assert_eq!(event["event_date"], "2027-06-15T20:00:00Z");
    assert_eq!(event["price"], 75.0);
    assert_eq!(event["venue"]["name"], "Madison Square Garden");
    assert_eq!(event["venue"]["country"], "USA");
    assert_eq!(event["venue"]["capacity"], 20000);
    assert_eq!(event["image_url"], "/src/assets/rock.jpg");
    assert_eq!(event["tags"], json!(["rock", "live"]));
    assert_eq!(event["available_seats"], 116);
    assert_eq!(app.get_ok(&format!("/api/events/{id}")).await, event);
    // TicketFlow's search also matches a tag exactly
    let found = app.get_ok("/api/events?search=live").await;
    assert_eq!(found["events"][0]["id"], id.as_str(), "{found}");

    // Act: TicketFlow's update may set available_seats, within the event
    let path = format!("/api/events/{id}");
    let updated = app
        .update(&path, &json!({"available_seats": 100, "tags": ["jazz"]}))
        .await;
    let updated = expect_json(updated, StatusCode::OK).await;
    assert_eq!(updated["available_seats"], 100);
    assert_eq!(updated["tags"], json!(["jazz"]));
    let message = assert_error(
        app.update(&path, &json!({"available_seats": 117})).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(message.contains("available_seats"), "{message}");
    // the whole event sent back with its own price is taken; another price is refused
    let same = app
        .update(&path, &json!({"name": "Rock Night II", "price": 75.0}))
        .await;
    assert_eq!(
        expect_json(same, StatusCode::OK).await["name"],
        "Rock Night II"
    );
    let message = assert_error(
        app.update(&path, &json!({"price": 80.0})).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(message.contains("price cannot change"), "{message}");
    // Postgres text holds no NUL: a 400 naming the field, never a 500 (schemathesis found it)
    let message = assert_error(
        app.update(&path, &json!({"image_url": "a\u{0}b"})).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(
        message.contains("image_url must not contain NUL"),
        "{message}"
    );
    // and a field no handler checks is refused by kit's mapping of the database's refusal
    let response = app.get("/api/events?search=a%00b", None).await;
    let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    assert!(message.contains("NUL"), "{message}");
}
