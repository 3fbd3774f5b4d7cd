//! Writes need an admin proven by the gateway: a request straight to the port that claims a
//! role any other way is anonymous, and refused writes change nothing.

use std::time::Duration;

use kit::config::Secret;
use kit::identity::{IdentityKeys, IDENTITY_HEADER};
use kit::kafka::topic;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, identity, spawn_app};

#[tokio::test]
async fn writes_without_an_admin_proven_by_the_gateway_are_refused_and_change_nothing() {
    // Arrange
    let app = spawn_app().await;
    let reader = app.reader(topic::EVENT_CREATED);
    let venue = app.create_venue("Hall").await;
    let event = app.create_event(&venue, json!({"name": "Original"})).await;
    let event_path = format!("/api/events/{}", event["id"].as_str().unwrap());
    let new_event = json!({"name": "Pirate", "venue_id": venue, "event_date": "2027-01-01T20:00:00Z",
                           "ticket_price": 1});
    let writes = [
        (
            Method::POST,
            "/api/venues".to_string(),
            json!({"name": "Pirate Hall"}),
        ),
        (Method::POST, "/api/events".to_string(), new_event),
        (Method::PUT, event_path.clone(), json!({"name": "Pirated"})),
    ];
    let forged_admin =
        IdentityKeys::new(&Secret::new("not-the-internal-secret")).sign(&identity("admin"));
    let user = identity("user");

    for (method, path, body) in writes {
        // Act + Assert: anonymous, the seed's role header, a forged proof: 401
        let refusals = [
            ("no proof", None),
            (
                "x-user-role: admin",
                Some(("x-user-role", "admin".to_string())),
            ),
            (
                "forged admin proof",
                Some((IDENTITY_HEADER, forged_admin.clone())),
            ),
        ];
        for (case, header) in refusals {
            let mut request = app.request(method.clone(), &path, None).json(&body);
            if let Some((name, value)) = header {
                request = request
                    .header(name, value)
                    .header("x-user-id", user.user_id.to_string());
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {case}"
            );
            assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        }
        // a proven user who is not an admin: 403
        let response = app
            .request(method.clone(), &path, Some(&user))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }

    // nothing changed
    let venues = app.get_ok("/api/venues").await;
    assert_eq!(venues["venues"].as_array().unwrap().len(), 1, "{venues}");
    let events = app.get_ok("/api/events").await;
    assert_eq!(events["total"], 1);
    assert_eq!(app.get_ok(&event_path).await["name"], "Original");
    let published = reader.collect(Duration::from_secs(3), |_| true).await;
    assert_eq!(
        published.len(),
        1,
        "only the admin's event.created: {published:?}"
    );
}
