//! `SagaStack`: the whole stack for one test, with typed helpers and direct database access for
//! assertions on the final state.

use std::time::{Duration, Instant};

use kit::config::Secret;
use kit::testing::{self, TEST_JWT_SECRET};
use kit::token::TokenKeys;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

pub use stack::in_process::{InProcessStack, StackOptions, ADMIN_EMAIL, ADMIN_PASSWORD};
pub const TERMINAL: [&str; 4] = ["CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"];

/// The in-process stack of one test, with a client and typed helpers.
pub struct SagaStack {
    inner: InProcessStack,
    pub client: reqwest::Client,
    tokens: TokenKeys,
}

impl std::ops::Deref for SagaStack {
    type Target = InProcessStack;
    fn deref(&self) -> &InProcessStack {
        &self.inner
    }
}

impl std::ops::DerefMut for SagaStack {
    fn deref_mut(&mut self) -> &mut InProcessStack {
        &mut self.inner
    }
}

impl SagaStack {
    pub async fn start(options: StackOptions) -> Self {
        Self {
            inner: InProcessStack::start(options).await,
            client: reqwest::Client::new(),
            tokens: TokenKeys::new(&Secret::new(TEST_JWT_SECRET), Duration::from_secs(3600)),
        }
    }

    pub fn pool(&self, service: &str) -> &PgPool {
        &self.pools[service]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// A token for a fresh user id (booking does not need the user to exist elsewhere).
    pub fn user_token(&self) -> (Uuid, String) {
        let id = Uuid::new_v4();
        let token = self
            .tokens
            .issue(id, &format!("{}@stampede.test", id.simple()), "user");
        (id, token)
    }

    /// Registers a real user (so notification-service knows the email); returns (id, token).
    pub async fn register(&self, name: &str) -> (Uuid, String) {
        let email = format!("{name}-{}@stampede.test", testing::unique_suffix());
        let response = self
            .client
            .post(self.url("/api/users/register"))
            .json(&json!({"name": name, "email": email, "password": "Secret123!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        (
            body["user"]["id"].as_str().unwrap().parse().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    pub async fn admin_token(&self) -> String {
        let response = self
            .client
            .post(self.url("/api/users/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates an event of `seats` seats and waits until inventory and booking know every seat.
    /// Returns the event id and its seat ids in layout order.
    pub async fn create_event(&self, seats: u32) -> (Uuid, Vec<Uuid>) {
        let admin = self.admin_token().await;
        let venue: Value = self
            .client
            .post(self.url("/api/venues"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Test Arena"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let response = self
            .client
            .post(self.url("/api/events"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Saga Night", "venue_id": venue["venue"]["id"], "event_date": "2027-01-01T20:00:00Z",
                          "ticket_price": 25, "total_seats": seats}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let event: Value = response.json().await.unwrap();
        let event_id: Uuid = event["event"]["id"].as_str().unwrap().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let inventory: i64 =
                sqlx::query_scalar("SELECT count(*) FROM seats WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_one(self.pool("inventory-service"))
                    .await
                    .unwrap();
            let catalog: i64 =
                sqlx::query_scalar("SELECT count(*) FROM seat_catalog WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_one(self.pool("booking-service"))
                    .await
                    .unwrap();
            if inventory == i64::from(seats) && catalog == i64::from(seats) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seat map not built within 60 s ({inventory}/{catalog})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let listed: Value = self
            .client
            .get(self.url(&format!("/api/inventory/events/{event_id}/seats")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids = listed["seats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().parse().unwrap())
            .collect();
        (event_id, ids)
    }

    /// POST /api/bookings; returns the response.
    pub async fn book(
        &self,
        token: &str,
        event: Uuid,
        seats: &[Uuid],
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/api/bookings"))
            .bearer_auth(token)
            .json(&json!({"eventId": event, "seatIds": seats}));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("gateway answers")
    }

    /// Books and expects 202; returns the booking id.
    pub async fn book_ok(&self, token: &str, event: Uuid, seats: &[Uuid]) -> Uuid {
        let response = self.book(token, event, seats, None).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "PENDING");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Polls the booking until it is terminal (status other than PENDING) or `timeout` passes.
    pub async fn wait_terminal(&self, token: &str, booking: Uuid, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let body: Value = self
                .client
                .get(self.url(&format!("/api/bookings/{booking}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if TERMINAL.contains(&body["status"].as_str().unwrap_or_default()) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "booking {booking} still {} after {timeout:?}",
                body["status"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Seat statuses and holders straight from inventory's database.
    pub async fn seat_rows(&self, seats: &[Uuid]) -> Vec<(Uuid, String, Option<Uuid>)> {
        sqlx::query_as("SELECT id, status, booking_id FROM seats WHERE id = ANY($1) ORDER BY id")
            .bind(seats)
            .fetch_all(self.pool("inventory-service"))
            .await
            .unwrap()
    }

    /// Waits until `check` holds for the seats' rows (they settle after the booking's status).
    pub async fn wait_seats(
        &self,
        seats: &[Uuid],
        what: &str,
        check: impl Fn(&[(Uuid, String, Option<Uuid>)]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows = self.seat_rows(seats).await;
            if check(&rows) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "seats never became {what}: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Payments of a booking: (status, amount_cents).
    pub async fn payments(&self, booking: Uuid) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT status, amount_cents FROM payments WHERE booking_id = $1")
            .bind(booking)
            .fetch_all(self.pool("payment-service"))
            .await
            .unwrap()
    }

    /// Notification kinds of a booking.
    pub async fn notifications(&self, booking: Uuid) -> Vec<String> {
        sqlx::query_scalar("SELECT kind FROM notifications WHERE booking_id = $1 ORDER BY kind")
            .bind(booking)
            .fetch_all(self.pool("notification-service"))
            .await
            .unwrap()
    }

    /// Polls an async condition for up to 30 s.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(Instant::now() < deadline, "never happened: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl SagaStack {
    /// The value of a counter line in a service's /metrics (0 when absent).
    pub async fn metric(&self, service: &str, series_prefix: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.service_urls[service]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(series_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Publishes raw bytes to a logical topic of this stack, keyed.
    pub async fn publish_raw(&self, logical: &str, key: &str, payload: &[u8]) {
        use rdkafka::producer::FutureRecord;
        let producer = kit::kafka::producer(&self.brokers).unwrap();
        let topic = format!("{}{logical}", self.prefix);
        producer
            .send(
                FutureRecord::to(&topic).key(key).payload(payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("publish");
    }
}
