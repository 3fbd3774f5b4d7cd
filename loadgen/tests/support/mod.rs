//! A fake TicketFlow target for tests that need no real stack: the contract's event, seat map and
//! booking routes, with a POST /api/bookings delay the test chooses. Bookings are CONFIRMED at
//! once. Counts the POSTs it answered, and keeps the tokens GET /api/users/me was asked with.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use loadgen::cli::RunArgs;
use loadgen::data::{PreparedData, PreparedUser, VERSION};

/// A short open-model `book` run against `host` with `data`, into `out`: 40/s for 2 s, one seat,
/// quick polls, no thresholds. Tests change what they are about with `..run_args(..)`.
pub fn run_args(host: &str, data: std::path::PathBuf, out: std::path::PathBuf) -> RunArgs {
    RunArgs {
        host: Some(host.into()),
        data: Some(data),
        rate: Some("40/s".into()),
        duration: "2s".into(),
        inflight: 20,
        users: None,
        scenarios: "book".into(),
        strategy: "random".into(),
        seats_per_booking: "1".into(),
        hot_seats: 10,
        poll: "10ms..50ms".into(),
        long_poll: "5s".into(),
        target_kind: "auto".into(),
        confirm_timeout: "10s".into(),
        request_timeout: "10s".into(),
        retry_unknown: 0,
        think: "0s".into(),
        late_tolerance: "50ms".into(),
        max_start_delay: "5s".into(),
        thresholds: vec![],
        threshold_abort: false,
        out: Some(out),
        seed: Some(7),
        users_slice: None,
        pool_users: 1,
        progress: "2s".into(),
        goose_args: vec!["--quiet".into()],
    }
}

pub type Delay = Arc<dyn Fn() -> Duration + Send + Sync>;

#[derive(Clone)]
struct Fake {
    event: Uuid,
    delay: Delay,
    posts: Arc<AtomicU64>,
    tokens: Arc<Mutex<BTreeSet<String>>>,
    bookings: Arc<Mutex<Vec<SeenBooking>>>,
}

/// A booking POST as the fake target saw it.
#[derive(Debug, Clone)]
pub struct SeenBooking {
    pub forwarded_for: Option<String>,
    pub body: Value,
}

/// A running fake target.
pub struct FakeTarget {
    pub host: String,
    pub event: Uuid,
    pub posts: Arc<AtomicU64>,
    tokens: Arc<Mutex<BTreeSet<String>>>,
    bookings: Arc<Mutex<Vec<SeenBooking>>>,
}

impl FakeTarget {
    /// Every booking POST, with its `X-Forwarded-For` and body.
    pub fn bookings(&self) -> Vec<SeenBooking> {
        self.bookings.lock().unwrap().clone()
    }

    pub fn posts(&self) -> u64 {
        self.posts.load(Ordering::Relaxed)
    }

    /// The distinct bearer tokens GET /api/users/me was asked with.
    pub fn profile_tokens(&self) -> BTreeSet<String> {
        self.tokens.lock().unwrap().clone()
    }

    /// Writes a prepared-data file for this target with `users` users, user i holding token `t<i>`.
    pub fn data_file(&self, path: &Path, users: usize) {
        PreparedData {
            version: VERSION,
            host: self.host.clone(),
            created_at: "test".into(),
            event_id: self.event,
            event_name: "fake".into(),
            seats: 5000,
            users: (0..users)
                .map(|i| PreparedUser {
                    id: Uuid::new_v4(),
                    email: format!("u{i}@x"),
                    password: "p".into(),
                    token: format!("t{i}"),
                })
                .collect(),
        }
        .save(path)
        .unwrap();
    }
}

async fn events(State(s): State<Fake>) -> Json<Value> {
    Json(
        json!({"events": [{"id": s.event, "name": "fake", "total_seats": 5000}], "total": 1, "page": 1, "limit": 1}),
    )
}

async fn one_event(State(s): State<Fake>) -> Json<Value> {
    // TicketFlow's bare event: its price is what a booking's totalAmount is made of.
    Json(json!({"id": s.event, "name": "fake", "total_seats": 5000, "price": 75.0}))
}

async fn seats(State(s): State<Fake>) -> Json<Value> {
    let seats: Vec<Value> = (0..5000u128)
        .map(|i| json!({"id": Uuid::from_u128(i + 1), "eventId": s.event, "seatNumber": i.to_string(), "row": "A", "section": "FLOOR", "status": "AVAILABLE"}))
        .collect();
    Json(json!({"seats": seats, "total": 5000}))
}

async fn book(
    State(s): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    s.posts.fetch_add(1, Ordering::Relaxed);
    s.bookings.lock().unwrap().push(SeenBooking {
        forwarded_for: headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
    });
    tokio::time::sleep((s.delay)()).await;
    (
        StatusCode::ACCEPTED,
        Json(json!({"id": Uuid::new_v4(), "status": "PENDING"})),
    )
}

async fn me(State(s): State<Fake>, headers: HeaderMap) -> Json<Value> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    s.tokens.lock().unwrap().insert(token.to_string());
    Json(json!({"user": {}}))
}

async fn booking(UrlPath(id): UrlPath<Uuid>) -> Json<Value> {
    Json(json!({"id": id, "status": "CONFIRMED"}))
}

/// Starts a fake target on a random loopback port.
pub async fn start(delay: Delay) -> FakeTarget {
    let event = Uuid::new_v4();
    let posts = Arc::new(AtomicU64::new(0));
    let tokens: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let bookings: Arc<Mutex<Vec<SeenBooking>>> = Arc::default();
    let app = Router::new()
        .route("/api/events", get(events))
        .route("/api/events/{id}", get(one_event))
        .route("/api/inventory/events/{id}/seats", get(seats))
        .route("/api/bookings", post(book))
        .route("/api/bookings/{id}", get(booking))
        .route("/api/users/me", get(me))
        .with_state(Fake {
            event,
            delay,
            posts: posts.clone(),
            tokens: tokens.clone(),
            bookings: bookings.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeTarget {
        host,
        event,
        posts,
        tokens,
        bookings,
    }
}
