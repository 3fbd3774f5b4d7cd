//! `GET /api/inventory/events/:eventId/seats` and `.../summary`: the seat map `event.created`
//! describes, whole, paged and filtered; 400 envelopes for queries it cannot serve.

use kit::kafka::topic;
use kit::messages::seat_id;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, spawn_app, strings};

/// Each seat's row and number (`A1`): TicketFlow numbers a seat within its row.
fn numbers(list: &Value) -> Vec<String> {
    list["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| {
            format!(
                "{}{}",
                s["row"].as_str().unwrap(),
                s["seatNumber"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_seat_map_of_event_created_is_served_whole_paged_and_filtered() {
    // Arrange
    let app = spawn_app().await;
    let (other, _) = app.seat_map(&[("VIP", 1, &[("A", 2)])]).await;

    // Act
    let (event, seats) = app
        .seat_map(&[
            ("VIP", 12_000, &[("A", 3)]),
            ("FLOOR", 6_050, &[("C", 2), ("D", 2)]),
        ])
        .await;
    let id = event.event_id;

    // Assert: the whole map, in layout order, in the contract's shape
    let all = app.seats_api(id, "").await;
    assert_eq!(all["total"], 7);
    assert_eq!(numbers(&all), ["A1", "A2", "A3", "C1", "C2", "D1", "D2"]);
    let mut first = all["seats"][0].clone();
    for stamp in ["createdAt", "updatedAt"] {
        let value = first.as_object_mut().unwrap().remove(stamp);
        assert!(
            value
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with('Z')),
            "{stamp}: {value:?}"
        );
    }
    assert_eq!(
        first,
        json!({"id": seat_id(id, "VIP", "A1"), "eventId": id, "seatNumber": "1", "row": "A",
               "section": "VIP", "status": "AVAILABLE", "bookingId": null, "price": 120.0})
    );
    assert_eq!(all["seats"][6]["price"], 60.5);
    let ids = strings(&all["seats"], "id");
    let expected: Vec<String> = seats.iter().map(Uuid::to_string).collect();
    assert_eq!(ids, expected, "the ids booking-service prices by");
    // pages and filters; total counts what matches the filter
    let page = app.seats_api(id, "limit=2&offset=2").await;
    assert_eq!(
        (numbers(&page), page["total"].clone()),
        (vec!["A3".to_string(), "C1".into()], json!(7))
    );
    let floor = app.seats_api(id, "section=FLOOR").await;
    assert_eq!(
        (numbers(&floor), floor["total"].clone()),
        (
            vec!["C1".to_string(), "C2".into(), "D1".into(), "D2".into()],
            json!(4)
        )
    );
    assert_eq!(
        app.seats_api(id, "status=available").await["total"],
        7,
        "status in any case"
    );
    assert_eq!(app.seats_api(id, "status=LOCKED").await["total"], 0);
    assert_eq!(app.seats_api(id, "offset=7").await["seats"], json!([]));
    let summary = app
        .get_ok(&format!("/api/inventory/events/{id}/summary"))
        .await;
    assert_eq!(
        summary,
        json!({"eventId": id, "total": 7, "available": 7, "locked": 0, "reserved": 0})
    );
    assert_eq!(
        app.seats_api(other.event_id, "").await["total"],
        2,
        "events do not mix"
    );
}

#[tokio::test]
async fn a_redelivered_seat_map_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (event, seats) = app.seat_map(&[("BALCONY", 4_000, &[("G", 5)])]).await;
    app.initiate(event.event_id, Uuid::new_v4(), &seats[..1])
        .await;
    app.wait_outbox_drained().await;

    // Act: the same event.created again, under a new message id (a re-publishing producer)
    let again = kit::kafka::Envelope::new(topic::EVENT_CREATED, event.clone());
    app.publish(topic::EVENT_CREATED, event.event_id, &again)
        .await;
    app.wait_until_consumed(again.message_id.unwrap()).await;

    // Assert: five seats, and the locked one is still locked
    let all = app.seats_api(event.event_id, "").await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["seats"][0]["status"], "LOCKED");
}

#[tokio::test]
async fn queries_it_cannot_serve_are_400_envelopes_and_an_unknown_map_has_no_summary() {
    let app = spawn_app().await;
    let (event, _) = app.seat_map(&[("VIP", 100, &[("A", 1)])]).await;
    let id = event.event_id;
    let cases = [
        (
            format!("/api/inventory/events/{id}/seats?limit=-1"),
            "limit",
        ),
        (
            format!("/api/inventory/events/{id}/seats?limit=abc"),
            "limit",
        ),
        (
            format!("/api/inventory/events/{id}/seats?limit=10001"),
            "limit",
        ),
        (
            format!("/api/inventory/events/{id}/seats?offset=-5"),
            "offset",
        ),
        (
            format!("/api/inventory/events/{id}/seats?status=SOLD"),
            "status",
        ),
        ("/api/inventory/events/fest/seats".to_string(), "eventId"),
        ("/api/inventory/events/fest/summary".to_string(), "eventId"),
    ];
    for (path, mentions) in cases {
        let response = app.get(&path, None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(mentions), "{path}: {message}");
    }
    let unknown = Uuid::new_v4();
    let summary = app
        .get(&format!("/api/inventory/events/{unknown}/summary"), None)
        .await;
    assert_error(summary, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let seats = app.seats_api(unknown, "").await;
    assert_eq!(
        seats,
        json!({"seats": [], "total": 0}),
        "an unknown map lists no seats"
    );
}

#[tokio::test]
async fn a_large_seat_map_comes_in_pages_of_a_thousand_unless_a_limit_says_otherwise() {
    // Arrange: 1,200 seats
    let app = spawn_app().await;
    let (event, seats) = app
        .seat_map(&[("FLOOR", 5_000, &[("A", 600), ("B", 600)])])
        .await;
    let id = event.event_id;

    // Act
    let first = app.seats_api(id, "").await;
    let rest = app.seats_api(id, "offset=1000").await;
    let whole = app.seats_api(id, "limit=10000").await;

    // Assert: the default page, the rest, and all of it when asked; total always says 1,200
    assert_eq!(first["seats"].as_array().unwrap().len(), 1_000);
    assert_eq!(rest["seats"].as_array().unwrap().len(), 200);
    assert_eq!(whole["seats"].as_array().unwrap().len(), 1_200);
    for page in [&first, &rest, &whole] {
        assert_eq!(page["total"], 1_200);
    }
    let mut paged = strings(&first["seats"], "id");
    paged.extend(strings(&rest["seats"], "id"));
    let expected: Vec<String> = seats.iter().map(Uuid::to_string).collect();
    assert_eq!(paged, expected, "the two pages are the map, in order, once");
}
