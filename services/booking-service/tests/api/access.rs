//! Reading and cancelling bookings: only the owner (or an admin) sees or cancels one; listings
//! show the caller's own; bad query strings are 400 envelopes.

use kit::identity::Identity;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{assert_error, expect_json, id_of, identity, spawn_app, TestApp};

/// Asserts that `caller` can neither read nor cancel the booking at `path`.
async fn refused(app: &TestApp, path: &str, caller: &Identity, status: StatusCode, code: &str) {
    assert_error(app.get(path, Some(caller)).await, status, code).await;
    let cancel = app
        .post_json(&format!("{path}/cancel"), &Value::Null, Some(caller))
        .await;
    assert_error(cancel, status, code).await;
}

#[tokio::test]
async fn another_users_booking_is_403_and_unknown_ones_404() {
    // Arrange
    let app = spawn_app().await;
    let owner = identity("user");
    let stranger = identity("user");
    let booking = app.book_ok(&owner, &[app.seats[0]]).await;
    let id = id_of(&booking);
    let path = format!("/api/bookings/{id}");

    // Act + Assert: a stranger can neither read nor cancel it
    refused(&app, &path, &stranger, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(
        app.row(id).await.status,
        "PENDING",
        "the refused cancel changed nothing"
    );
    // nobody at all
    assert_error(
        app.get(&path, None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    // the owner and an admin can
    for reader in [&owner, &identity("admin")] {
        let shown = expect_json(app.get(&path, Some(reader)).await, StatusCode::OK).await;
        assert_eq!(shown, booking, "{}", reader.role);
    }
    // unknown and malformed ids, for reading and cancelling
    for missing in [
        format!("/api/bookings/{}", Uuid::new_v4()),
        "/api/bookings/123".into(),
    ] {
        refused(&app, &missing, &owner, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn my_bookings_are_the_callers_own_newest_first_and_bad_limits_are_400() {
    // Arrange
    let app = spawn_app().await;
    let me = identity("user");
    let mut mine = Vec::new();
    for seat in &app.seats[..3] {
        mine.push(id_of(&app.book_ok(&me, &[*seat]).await));
    }
    app.book_ok(&identity("user"), &[app.seats[3]]).await;

    // Act
    let all = expect_json(app.get("/api/bookings/my", Some(&me)).await, StatusCode::OK).await;
    let two = app.get("/api/bookings/my?limit=2", Some(&me)).await;
    let two = expect_json(two, StatusCode::OK).await;

    // Assert
    let ids = |list: &Value| -> Vec<Uuid> {
        // TicketFlow's shape: a bare array.
        list.as_array().unwrap().iter().map(id_of).collect()
    };
    mine.reverse();
    assert_eq!(ids(&all), mine, "only the caller's, newest first");
    assert_eq!(ids(&two), mine[..2]);
    // Refused, not clamped: a client asking for 0 or 5,000 learns its page is not what it asked.
    for query in [
        "limit=abc",
        "limit=-1",
        "limit=0",
        "limit=1001",
        "limit=4294967296",
        "limit=1.5",
    ] {
        let response = app
            .get(&format!("/api/bookings/my?{query}"), Some(&me))
            .await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(
            message.contains("limit must be an integer between 1 and 1000"),
            "{query}: {message}"
        );
    }
    assert_error(
        app.get("/api/bookings/my", None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let path = format!("/api/bookings/{}?waitMs=60001", mine[0]);
    let message = assert_error(
        app.get(&path, Some(&me)).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(message.contains("waitMs"), "{message}");
}
