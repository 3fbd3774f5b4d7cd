//! `POST /api/venues` (admin), `GET /api/venues`, `GET /api/venues/:id` (anyone).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, expect_json, spawn_app, strings};

#[tokio::test]
async fn venues_are_created_by_admins_and_readable_by_anyone() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .post_json(
            "/api/venues",
            &json!({"name": "  Zenith ", "city": "Paris", "capacity": 6300}),
            Some(&app.admin),
        )
        .await;
    app.create_venue("Apollo").await;

    // Assert
    let created = expect_json(response, StatusCode::CREATED).await;
    let venue = &created;
    assert_eq!(venue["name"], "Zenith");
    assert_eq!(venue["city"], "Paris");
    assert_eq!(venue["address"], "", "optional fields default to empty");
    assert_eq!(venue["capacity"], 6300);
    let id = venue["id"].as_str().unwrap();
    let shown = app.get_ok(&format!("/api/venues/{id}")).await;
    assert_eq!(shown, *venue);
    let list = app.get_ok("/api/venues").await;
    assert_eq!(
        strings(&list["venues"], "name"),
        ["Apollo", "Zenith"],
        "sorted by name"
    );
}

#[tokio::test]
async fn bad_venues_are_400_and_unknown_ones_404() {
    let app = spawn_app().await;
    for (body, mentions) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "Big", "capacity": -1}), "capacity"),
        (json!({"name": "Huge", "capacity": 1_000_001}), "capacity"),
        (json!({"capacity": 10}), "name"),
    ] {
        let response = app.post_json("/api/venues", &body, Some(&app.admin)).await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(mentions), "{body}: {message}");
    }
    assert!(app.get_ok("/api/venues").await["venues"]
        .as_array()
        .unwrap()
        .is_empty());
    for path in [
        format!("/api/venues/{}", uuid::Uuid::new_v4()),
        "/api/venues/not-a-uuid".to_string(),
    ] {
        let response = app.get(&path, None).await;
        assert_error(response, StatusCode::NOT_FOUND, "VENUE_NOT_FOUND").await;
    }
}
