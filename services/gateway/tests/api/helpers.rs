//! `spawn_stack()`: user-service + event-service + gateway on port 0 with their own databases and
//! topics, and typed helpers to call them.

use std::time::Duration;

use kit::app::Service;
use kit::config::FromEnv;
use kit::config::Secret;
use kit::kafka::topic;
use kit::testing::{self, TEST_INTERNAL_SECRET, TEST_JWT_SECRET};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub const ADMIN_EMAIL: &str = "admin@stampede.test";
pub const ADMIN_PASSWORD: &str = kit::seed::ADMIN_PASSWORD;

/// A running stack; everything stops when it is dropped.
pub struct TestStack {
    pub gateway: String,
    pub user_service: String,
    pub event_service: String,
    pub topic_prefix: String,
    /// user-service's settings (its database, to start a second instance on it).
    pub user_settings: user_service::Settings,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the gateway with the given upstream overrides (e.g. pointing a service at a dead port).
pub async fn spawn_gateway(
    upstreams: &[(&str, String)],
    timeout_ms: u64,
    stop: &CancellationToken,
) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("PORT", "0".into()),
        ("JWT_SECRET", TEST_JWT_SECRET.into()),
        ("INTERNAL_SECRET", TEST_INTERNAL_SECRET.into()),
        (kit::config::MODE_ENV, "dev".into()),
        ("UPSTREAM_TIMEOUT_MS", timeout_ms.to_string()),
        ("BOOKING_SERVICE_URL", "off".into()),
        ("INVENTORY_SERVICE_URL", "off".into()),
        ("PAYMENT_SERVICE_URL", "off".into()),
        ("NOTIFICATION_SERVICE_URL", "off".into()),
    ];
    pairs.extend(upstreams.iter().cloned());
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let settings = gateway::Settings::from_env(&kit::config::Env::from_pairs(&borrowed))
        .expect("gateway settings");
    let app = gateway::Application::build(settings)
        .await
        .expect("gateway builds");
    testing::serve(app, stop)
}

/// Sends `request`, expecting an answer (of any status).
pub async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("the server answers")
}

pub async fn spawn_stack() -> TestStack {
    kit::telemetry::init_for_tests();
    let prefix = format!("t{}.", testing::unique_suffix());
    testing::create_topics(&prefix, &[topic::USER_REGISTERED, topic::EVENT_CREATED]).await;
    let stop = CancellationToken::new();

    let user_settings = user_service::Settings {
        common: testing::common_settings("ticketflow_users", &prefix),
        jwt_secret: Secret::new(TEST_JWT_SECRET),
        jwt_ttl: Duration::from_secs(3600),
        admin_email: ADMIN_EMAIL.into(),
        admin_password: Secret::new(ADMIN_PASSWORD),
        hash_slots: user_service::configuration::default_hash_slots(),
        hash_queue_wait: Duration::from_secs(2),
        lockout: user_service::lockout::LockoutPolicy::default(),
    };
    let users = user_service::Application::build(user_settings.clone())
        .await
        .expect("user-service builds");
    let user_url = testing::serve(users, &stop);

    let event_settings = event_service::Settings {
        common: testing::common_settings("ticketflow_events", &prefix),
        max_event_seats: 100_000,
    };
    let events = event_service::Application::build(event_settings)
        .await
        .expect("event-service builds");
    let event_url = testing::serve(events, &stop);

    let gateway = spawn_gateway(
        &[
            ("USER_SERVICE_URL", user_url.clone()),
            ("EVENT_SERVICE_URL", event_url.clone()),
        ],
        5_000,
        &stop,
    )
    .await;
    TestStack {
        gateway,
        user_service: user_url,
        event_service: event_url,
        topic_prefix: prefix,
        user_settings,
        client: reqwest::Client::new(),
        stop,
    }
}

/// A registered user and its token.
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

impl TestStack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// A request to the gateway's `path`, with `token` as Bearer when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        testing::bearer_request(&self.client, method, self.url(path), token)
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Response {
        send(self.request(method, path, token).json(body)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send_json(Method::POST, path, body, token).await
    }

    /// `POST path` with `body` sent as is, labelled JSON.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        send(
            self.request(Method::POST, path, None)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        send(self.request(Method::GET, path, token)).await
    }

    /// `GET path`; the answer as JSON.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    /// `POST /api/users/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/users/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    pub async fn register(&self, name: &str) -> TestUser {
        let password = "Secret123!".to_string();
        let user = testing::register_user(&self.client, &self.gateway, name, &password).await;
        TestUser {
            id: user.id.to_string(),
            email: user.email,
            password,
            token: user.token,
        }
    }

    pub async fn admin_token(&self) -> String {
        testing::login_token(&self.client, &self.gateway, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a venue as admin and returns its id.
    pub async fn create_venue(&self, admin: &str) -> String {
        let response = self
            .post_json(
                "/api/venues",
                &json!({"name": "Arena", "city": "Lisbon", "capacity": 20000}),
                Some(admin),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }
}

/// An event `name` at `venue` on 2027-01-01 at `ticket_price`.
pub fn event_body(name: &str, venue: &str, ticket_price: i64) -> Value {
    json!({"name": name, "venue_id": venue, "event_date": "2027-01-01T20:00:00Z", "ticket_price": ticket_price})
}

/// Asserts the response is the error envelope with `status` and `code`; returns the message.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status, "status");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "envelope: {body}");
    let message = body["error"]["message"]
        .as_str()
        .expect("message is a string");
    assert!(!message.is_empty());
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only `error` at top level: {body}"
    );
    message.to_string()
}

/// The `Retry-After` of `response`, in seconds; panics when it is missing or not a number.
pub fn retry_after_secs(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}
