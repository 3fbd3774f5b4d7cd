//! `SagaStack`: the whole stack for one test, with typed helpers and direct database access for
//! assertions on the final state.

use std::time::{Duration, Instant};

use kit::config::Secret;
use kit::testing::{self, TEST_JWT_SECRET};
use kit::token::TokenKeys;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

pub use stack::in_process::{InProcessStack, StackOptions, ADMIN_EMAIL, ADMIN_PASSWORD};
pub const TERMINAL: [&str; 4] = ["CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"];

/// Seats per test event (`SagaStack::start_with_event`).
pub const EVENT_SEATS: u32 = 116;

/// A seat as inventory holds it: (id, status, booking holding it).
pub type SeatRow = (Uuid, String, Option<Uuid>);

/// Sends `request` and reads its answer as JSON.
pub async fn json_of(request: RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends `request` and reads its answer as text.
pub async fn text_of(request: RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

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

    /// [`SagaStack::start`], then [`SagaStack::create_event`] of [`EVENT_SEATS`] seats.
    pub async fn start_with_event(options: StackOptions) -> (Self, Uuid, Vec<Uuid>) {
        let stack = Self::start(options).await;
        let (event, seats) = stack.create_event(EVENT_SEATS).await;
        (stack, event, seats)
    }

    pub fn pool(&self, service: &str) -> &PgPool {
        &self.pools[service]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// A request to the gateway's `path`, as `token`'s user when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        testing::bearer_request(&self.client, method, self.url(path), token)
    }

    /// `GET path` through the gateway; the answer as JSON.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        json_of(self.request(Method::GET, path, token)).await
    }

    /// `POST /api/bookings/{booking}/cancel` as `token`'s user.
    pub async fn cancel(&self, token: &str, booking: Uuid) -> reqwest::Response {
        self.request(
            Method::POST,
            &format!("/api/bookings/{booking}/cancel"),
            Some(token),
        )
        .send()
        .await
        .unwrap()
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
        let user = testing::register_user(&self.client, &self.gateway, name, "Secret123!").await;
        (user.id, user.token)
    }

    pub async fn admin_token(&self) -> String {
        testing::login_token(&self.client, &self.gateway, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates an event of `seats` seats and waits until inventory and booking know every seat.
    /// Returns the event id and its seat ids in layout order.
    pub async fn create_event(&self, seats: u32) -> (Uuid, Vec<Uuid>) {
        let admin = self.admin_token().await;
        let venue = json_of(
            self.request(Method::POST, "/api/venues", Some(&admin))
                .json(&json!({"name": "Test Arena"})),
        )
        .await;
        let response = self
            .request(Method::POST, "/api/events", Some(&admin))
            .json(&json!({"name": "Saga Night", "venue_id": venue["id"], "event_date": "2027-01-01T20:00:00Z",
                          "ticket_price": 25, "total_seats": seats}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let event: Value = response.json().await.unwrap();
        let event_id: Uuid = event["id"].as_str().unwrap().parse().unwrap();
        let count = |service: &'static str, table: &'static str| {
            let sql = format!("SELECT count(*) FROM {table} WHERE event_id = $1");
            async move {
                sqlx::query_scalar::<_, i64>(&sql)
                    .bind(event_id)
                    .fetch_one(self.pool(service))
                    .await
                    .unwrap()
            }
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let inventory = count("inventory-service", "seats").await;
            let catalog = count("booking-service", "seat_catalog").await;
            if inventory == i64::from(seats) && catalog == i64::from(seats) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seat map not built within 60 s ({inventory}/{catalog})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The largest page (10,000 seats): without `limit` a map comes 1,000 seats at a time.
        assert!(seats <= 10_000, "one page holds at most 10,000 seats");
        let listed = self
            .get_json(
                &format!("/api/inventory/events/{event_id}/seats?limit=10000"),
                None,
            )
            .await;
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
            .request(Method::POST, "/api/bookings", Some(token))
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

    /// Books `seats` and waits up to `within` for the booking's end state; returns the booking id
    /// and the booking as answered then.
    pub async fn book_until_terminal(
        &self,
        token: &str,
        event: Uuid,
        seats: &[Uuid],
        within: Duration,
    ) -> (Uuid, Value) {
        let booking = self.book_ok(token, event, seats).await;
        (booking, self.wait_terminal(token, booking, within).await)
    }

    /// Books `seats` and asserts the booking is CONFIRMED within 60 s; returns its id.
    pub async fn book_confirmed(&self, token: &str, event: Uuid, seats: &[Uuid]) -> Uuid {
        let (booking, done) = self
            .book_until_terminal(token, event, seats, Duration::from_secs(60))
            .await;
        assert_eq!(done["status"], "CONFIRMED", "booking {booking}: {done}");
        booking
    }

    /// Polls the booking until it is terminal (status other than PENDING) or `timeout` passes.
    pub async fn wait_terminal(&self, token: &str, booking: Uuid, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let body = self
                .get_json(&format!("/api/bookings/{booking}"), Some(token))
                .await;
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
    pub async fn seat_rows(&self, seats: &[Uuid]) -> Vec<SeatRow> {
        sqlx::query_as("SELECT id, status, booking_id FROM seats WHERE id = ANY($1) ORDER BY id")
            .bind(seats)
            .fetch_all(self.pool("inventory-service"))
            .await
            .unwrap()
    }

    /// Waits until `check` holds for the seats' rows (they settle after the booking's status).
    pub async fn wait_seats(&self, seats: &[Uuid], what: &str, check: impl Fn(&[SeatRow]) -> bool) {
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

    /// Waits until every one of `seats` is `status` and held by `booking`.
    pub async fn wait_seats_held(&self, seats: &[Uuid], status: &str, booking: Uuid) {
        self.wait_seats(seats, &format!("{status} for {booking}"), |rows| {
            rows.len() == seats.len()
                && rows
                    .iter()
                    .all(|(_, s, holder)| s == status && *holder == Some(booking))
        })
        .await;
    }

    /// Waits until every one of `seats` is AVAILABLE and held by no booking.
    pub async fn wait_seats_free(&self, seats: &[Uuid]) {
        self.wait_seats(seats, "AVAILABLE", all_free).await;
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

    /// Waits until the booking's notification kinds, sorted, are `kinds`.
    pub async fn wait_notifications(&self, booking: Uuid, kinds: &[&str]) {
        self.eventually(
            &format!("notifications {kinds:?} for {booking}"),
            || async { self.notifications(booking).await == kinds },
        )
        .await;
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
        let text = text_of(
            self.client
                .get(format!("{}/metrics", self.service_urls[service])),
        )
        .await;
        text.lines()
            .filter(|l| l.starts_with(series_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// [`SagaStack::publish_raw`], then waits until `service` counts one more message with
    /// `outcome` (`messages_total{outcome=..}`).
    pub async fn publish_raw_counted(
        &self,
        logical: &str,
        key: &str,
        payload: &[u8],
        service: &str,
        outcome: &str,
    ) {
        let series = format!("messages_total{{outcome=\"{outcome}\"");
        let before = self.metric(service, &series).await;
        self.publish_raw(logical, key, payload).await;
        self.eventually(&format!("{service} counts it {outcome}"), || async {
            self.metric(service, &series).await > before
        })
        .await;
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

/// Every seat AVAILABLE and held by no booking (and at least one seat).
pub fn all_free(rows: &[SeatRow]) -> bool {
    !rows.is_empty()
        && rows
            .iter()
            .all(|(_, status, holder)| status == "AVAILABLE" && holder.is_none())
}
