//! `spawn_app()`: event-service on port 0 with its own database and topics, an admin identity,
//! and helpers to create venues and events.

use kit::identity::Identity;
use kit::kafka::topic;
use kit::testing::{self, TestService};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub use kit::testing::{assert_error, expect_json, identity, strings};

/// The largest event the test instance accepts (`MAX_EVENT_SEATS`).
pub const MAX_EVENT_SEATS: u32 = 1_000;

/// A running event-service (see [`TestService`]) and an admin to call it as.
pub struct TestApp {
    service: TestService,
    pub admin: Identity,
}

kit::deref_test_service!(TestApp);

pub async fn spawn_app() -> TestApp {
    let common = testing::fresh_common(
        "ticketflow_events",
        &[topic::EVENT_CREATED, topic::EVENT_UPDATED],
    )
    .await;
    let settings = event_service::Settings {
        common: common.clone(),
        max_event_seats: MAX_EVENT_SEATS,
    };
    TestApp {
        service: TestService::build::<event_service::Application>(settings, &common).await,
        admin: identity("admin"),
    }
}

impl TestApp {
    /// `PUT path` with a JSON body as the admin.
    pub async fn update(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, body, Some(&self.admin))
            .await
    }

    /// Creates a venue as the admin; returns its id.
    pub async fn create_venue(&self, name: &str) -> String {
        let response = self
            .post_json(
                "/api/venues",
                &json!({"name": name, "address": "1 Main St", "city": "Porto", "capacity": 5000}),
                Some(&self.admin),
            )
            .await;
        let body = expect_json(response, StatusCode::CREATED).await;
        body["id"].as_str().expect("venue id").to_string()
    }

    /// Creates an event as the admin from `fields` (merged over a valid default); returns the
    /// event as answered.
    pub async fn create_event(&self, venue_id: &str, fields: Value) -> Value {
        let mut body = json!({
            "name": "Test Night",
            "venue_id": venue_id,
            "event_date": "2027-06-01T20:00:00Z",
            "ticket_price": 40,
        });
        if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
            body.extend(fields.clone());
        }
        let response = self
            .post_json("/api/events", &body, Some(&self.admin))
            .await;
        expect_json(response, StatusCode::CREATED).await
    }
}
