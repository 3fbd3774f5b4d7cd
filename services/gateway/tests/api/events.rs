//! Events and venues through the gateway, and event.created on the broker.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, event_body, spawn_stack};

#[tokio::test]
async fn non_admin_cannot_create_events_or_venues() {
    let stack = spawn_stack().await;
    let user = stack.register("fan").await;
    let response = stack
        .post_json("/api/venues", &json!({"name": "Mine"}), Some(&user.token))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let admin = stack.admin_token().await;
    let venue = stack.create_venue(&admin).await;
    let gig = event_body("Gig", &venue, 50);
    let response = stack
        .post_json("/api/events", &gig, Some(&user.token))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let anonymous = stack.post_json("/api/events", &gig, None).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn created_event_emits_event_created_with_the_seat_map() {
    let stack = spawn_stack().await;
    let reader =
        kit::testing::TopicReader::new(&format!("{}ticketflow.event.created", stack.topic_prefix));
    let admin = stack.admin_token().await;
    let venue = stack.create_venue(&admin).await;
    let response = stack
        .post_json(
            "/api/events",
            &json!({"name": "Big Night", "venue_id": venue, "event_date": "2027-06-01T20:00:00Z",
                    "ticket_price": 40, "total_seats": 10000, "category": "music"}),
            Some(&admin),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let event_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["total_seats"], 10000);
    assert_eq!(created["venue_name"], "Arena");
    assert_eq!(created["pricing"]["VIP"], 80.0);

    let (key, message) = reader
        .wait_for(Duration::from_secs(30), |m| {
            m["eventId"] == event_id.as_str()
        })
        .await
        .expect("event.created arrives within 30 s");
    assert_eq!(key.as_deref(), Some(event_id.as_str()));
    assert_eq!(message["eventType"], "event.created");
    assert_eq!(message["totalSeats"], 10000);
    let sections = message["sections"].as_array().unwrap();
    let seats: u64 = sections
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .map(|r| r["seats"].as_u64().unwrap())
        .sum();
    assert_eq!(seats, 10000, "the layout holds exactly total_seats");
    assert_eq!(sections[0]["name"], "VIP");
    assert_eq!(sections[0]["priceCents"], 8000);
    assert_eq!(sections[0]["rows"][0], json!({"row": "A", "seats": 10}));
    assert_eq!(sections[1]["name"], "FLOOR");
    assert_eq!(sections[1]["rows"][0], json!({"row": "C", "seats": 15}));
}

#[tokio::test]
async fn events_are_listed_paginated_and_searchable() {
    let stack = spawn_stack().await;
    let admin = stack.admin_token().await;
    let venue = stack.create_venue(&admin).await;
    for (i, name) in ["Jazz Night", "Rock Fest", "Jazz Brunch"]
        .iter()
        .enumerate()
    {
        let response = stack
            .post_json(
                "/api/events",
                &json!({"name": name, "venue_id": venue, "event_date": format!("2027-0{}-01T20:00:00Z", i + 1), "ticket_price": 10}),
                Some(&admin),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let page = stack.get_json("/api/events?page=1&limit=2", None).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["events"][0]["name"], "Jazz Night", "ordered by date");
    let page2 = stack.get_json("/api/events?page=2&limit=2", None).await;
    assert_eq!(page2["events"].as_array().unwrap().len(), 1);

    let jazz = stack.get_json("/api/events?search=jazz", None).await;
    assert_eq!(jazz["total"], 2);
    let wildcard = stack.get_json("/api/events?search=%25", None).await;
    assert_eq!(wildcard["total"], 0, "% is matched literally");

    let id = page["events"][0]["id"].as_str().unwrap();
    let one = stack.get_json(&format!("/api/events/{id}"), None).await;
    assert_eq!(one["id"], id);

    let bad = stack.get("/api/events?limit=1000", None).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    let missing = stack
        .get("/api/events/00000000-0000-0000-0000-000000000000", None)
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "EVENT_NOT_FOUND").await;
}

#[tokio::test]
async fn event_validation_and_updates() {
    let stack = spawn_stack().await;
    let admin = stack.admin_token().await;
    let venue = stack.create_venue(&admin).await;
    let bad_cases = [
        json!({"name": "x", "venue_id": venue, "event_date": "tomorrow", "ticket_price": 10}),
        json!({"name": "x", "venue_id": venue, "event_date": "2027-01-01T20:00:00Z", "ticket_price": -1}),
        json!({"name": "x", "venue_id": venue, "event_date": "2027-01-01T20:00:00Z", "ticket_price": 10, "total_seats": 0}),
        json!({"name": "x", "venue_id": "not-a-uuid", "event_date": "2027-01-01T20:00:00Z", "ticket_price": 10}),
        json!({"name": "x", "venue_id": "00000000-0000-0000-0000-000000000000", "event_date": "2027-01-01T20:00:00Z", "ticket_price": 10}),
    ];
    for body in bad_cases {
        let response = stack.post_json("/api/events", &body, Some(&admin)).await;
        assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
    }
    let created: Value = stack
        .post_json("/api/events", &event_body("Old", &venue, 10), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/events/{id}");
    let updated = stack
        .send_json(
            Method::PUT,
            &path,
            &json!({"name": "New", "status": "SOLD_OUT"}),
            Some(&admin),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["name"], "New");
    assert_eq!(updated["status"], "SOLD_OUT");
    let resize = stack
        .send_json(
            Method::PUT,
            &path,
            &json!({"total_seats": 5000}),
            Some(&admin),
        )
        .await;
    assert_error(resize, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
}
