//! Test support shared by every service's tests (feature `testing`): isolated databases and topic
//! names per test, a service started on port 0 with a client that signs identities as the
//! gateway does, and a reader that waits for a message on a real topic.
//!
//! ```text
//!   fresh_topics(&[..])            prefix + topics (and DLTs) on the broker
//!   common_settings(db, prefix)    port 0, <db>_<uuid>, that prefix
//!   fresh_common(db, &[..])        both at once
//!   Application::build(settings)   the service's own code
//!   TestService::start(app, &common)   spawned until dropped; pool, producer, signed requests
//!   TestService::build::<Application>(settings, &common)   build + start
//!   deref_test_service!(TestApp)   a test's app struct derefs to its `service: TestService`
//! ```

use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::app::{App, Service};
use crate::config::{CommonSettings, Secret};
use crate::identity::{Identity, IdentityKeys, IDENTITY_HEADER};
use crate::kafka::{self, Envelope, Topics};
use crate::messages::{seat_id, EventCreated, RowLayout, SectionLayout};

/// How long any wait for an asynchronous effect may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The internal secret tests run services with.
pub const TEST_INTERNAL_SECRET: &str = "stampede-test-internal-secret";
/// The JWT secret tests run services with.
pub const TEST_JWT_SECRET: &str = "stampede-test-jwt-secret-0123456";

/// A short unique suffix for database, topic and key names.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Ends the whole test process when it runs longer than `limit`: a hung test (a broker call that
/// never returns, a close that waits for a dead broker) then fails CI with its name on stderr
/// instead of eating CI's time budget. The first call arms it; later calls do nothing.
pub fn watchdog(limit: Duration) {
    static ARMED: std::sync::Once = std::sync::Once::new();
    ARMED.call_once(|| {
        let started = std::time::Instant::now();
        let binary = std::env::args().next().unwrap_or_default();
        let spawned = std::thread::Builder::new().name("test-watchdog".into()).spawn(move || {
            std::thread::sleep(limit);
            eprintln!(
                "test watchdog: {binary} still running after {:.0} s (limit {} s): a test hangs; ending the process",
                started.elapsed().as_secs_f64(),
                limit.as_secs()
            );
            std::process::exit(101);
        });
        if let Err(e) = spawned {
            eprintln!("test watchdog: cannot start its thread ({e}); running without it");
        }
    });
}

/// Postgres server for tests (`TEST_POSTGRES_URL`, default the local trust-auth server).
pub fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Kafka brokers for tests (`KAFKA_BROKERS`, default the local broker).
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Settings for one service in one test: port 0, its own database and topic prefix.
pub fn common_settings(database_base: &str, topic_prefix: &str) -> CommonSettings {
    CommonSettings {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: format!("{}/{database_base}_{}", postgres_server(), unique_suffix()),
        kafka_brokers: brokers(),
        topic_prefix: topic_prefix.to_string(),
        internal_secret: Secret::new(TEST_INTERNAL_SECRET),
        // Two tests at a time, several services each, one Postgres with 100 connections.
        database_pool_size: 5,
        consumer_stall_after: Duration::from_secs(20),
        consumer_rejoin_after: Some(Duration::from_secs(5)),
        consumer_concurrency: 1,
        bug_variant: None,
    }
}

/// A fresh topic prefix with the `logical` topics (and their dead-letter topics) created; also
/// installs the test subscriber (quiet unless `TEST_LOG`).
///
/// # Panics
/// When the broker is unreachable.
pub async fn fresh_topics(logical: &[&str]) -> String {
    crate::telemetry::init_for_tests();
    let prefix = format!("t{}.", unique_suffix());
    create_topics(&prefix, logical).await;
    prefix
}

/// Asserts `common` holds the defaults that reach the local stack: `127.0.0.1:<port>` and the
/// database `database` (for a service's `Settings::from_env` test).
pub fn assert_local_defaults(common: &CommonSettings, port: u16, database: &str) {
    assert_eq!(common.bind_address(), format!("127.0.0.1:{port}"));
    assert!(
        common.database_url.ends_with(&format!("/{database}")),
        "{}",
        common.database_url
    );
}

/// [`fresh_topics`] for `logical`, then [`common_settings`] for `database_base` with that prefix.
///
/// # Panics
/// When the broker is unreachable.
pub async fn fresh_common(database_base: &str, logical: &[&str]) -> CommonSettings {
    common_settings(database_base, &fresh_topics(logical).await)
}

/// Creates the prefixed topics (and their dead-letter topics) a test needs.
///
/// # Panics
/// When the broker is unreachable: the test cannot mean anything without it.
pub async fn create_topics(prefix: &str, logical: &[&str]) {
    let topics = Topics::new(prefix);
    let names: Vec<String> = logical
        .iter()
        .flat_map(|t| [topics.name(t), topics.name(&kafka::topic::dlt(t))])
        .collect();
    kafka::ensure_topics(&brokers(), &names, 3)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Kafka broker at {} is required (run infra/local/up): {e:#}",
                brokers()
            )
        });
}

/// Reads a topic from its beginning in a fresh consumer group.
pub struct TopicReader {
    consumer: kafka::GroupConsumer,
}

impl TopicReader {
    /// Subscribes to the broker-side topic name.
    ///
    /// # Panics
    /// When the consumer cannot be created or subscribe.
    pub fn new(topic: &str) -> Self {
        let consumer = kafka::consumer(&brokers(), &format!("test-reader-{}", unique_suffix()))
            .expect("consumer config is valid");
        consumer.subscribe(&[topic]).expect("subscribe");
        Self { consumer }
    }

    /// The first message whose JSON body satisfies `matches`, or `None` after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<(Option<String>, serde_json::Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return None;
            }
            let Ok(Ok(message)) = tokio::time::timeout(remaining, self.consumer.recv()).await
            else {
                continue;
            };
            let Some(body) = message.payload() else {
                continue;
            };
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
                continue;
            };
            if matches(&json) {
                let key = message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned());
                return Some((key, json));
            }
        }
    }

    /// Every message whose JSON body satisfies `matches`, collected for all of `period` (to
    /// assert that something happened once, or not at all).
    pub async fn collect(
        &self,
        period: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let seen = std::sync::Mutex::new(Vec::new());
        self.wait_for(period, |message| {
            if matches(message) {
                // Never poisoned: nothing panics while holding it.
                seen.lock().unwrap().push(message.clone());
            }
            false
        })
        .await;
        seen.into_inner().unwrap()
    }
}

/// A service under test, serving on its port-0 listener until dropped, with what a test needs
/// around it: a small pool on its database, its topic names, a producer to feed it messages, and
/// an HTTP client that proves identities with the test `INTERNAL_SECRET` as the gateway does.
pub struct TestService {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub database_url: String,
    pub pool: PgPool,
    pub topics: Topics,
    pub producer: FutureProducer,
    pub client: reqwest::Client,
    pub keys: IdentityKeys,
    stop: CancellationToken,
}

/// Spawns `app` until `stop` is cancelled; returns its `http://127.0.0.1:<port>`.
pub fn serve(app: App, stop: &CancellationToken) -> String {
    let address = format!("http://127.0.0.1:{}", app.port());
    let token = stop.clone();
    tokio::spawn(app.run_until_stopped(async move { token.cancelled().await }));
    address
}

/// Implements `Deref<Target = TestService>` for a test's app type through its `service` field,
/// so the app answers every [`TestService`] method.
#[macro_export]
macro_rules! deref_test_service {
    ($app:ty) => {
        impl ::std::ops::Deref for $app {
            type Target = $crate::testing::TestService;
            fn deref(&self) -> &$crate::testing::TestService {
                &self.service
            }
        }
    };
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestService {
    /// Spawns `app` (built from settings whose shared part is `common`) until this is dropped.
    ///
    /// # Panics
    /// When the service's database or the producer cannot be reached.
    pub async fn start(app: App, common: &CommonSettings) -> Self {
        let stop = CancellationToken::new();
        let address = serve(app, &stop);
        Self {
            address,
            database_url: common.database_url.clone(),
            pool: small_pool(&common.database_url).await,
            topics: Topics::new(common.topic_prefix.clone()),
            producer: kafka::producer(&brokers()).expect("producer config is valid"),
            client: reqwest::Client::new(),
            keys: IdentityKeys::new(&common.internal_secret),
            stop,
        }
    }

    /// Builds service `S` from `settings` (whose shared part is `common`), then
    /// [`TestService::start`]s it.
    ///
    /// # Panics
    /// When the service does not build (the error says why) or cannot be reached.
    pub async fn build<S: Service>(settings: S::Settings, common: &CommonSettings) -> Self {
        let app = S::build(settings)
            .await
            .unwrap_or_else(|e| panic!("{} builds: {e:#}", std::any::type_name::<S>()));
        Self::start(app, common).await
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to `path`, carrying the gateway's proof of `identity` when given.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        identity: Option<&Identity>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match identity {
            Some(identity) => request.header(IDENTITY_HEADER, self.keys.sign(identity)),
            None => request,
        }
    }

    /// `GET path`, with the gateway's proof of `identity` when given.
    ///
    /// # Panics
    /// When the service does not answer.
    pub async fn get(&self, path: &str, identity: Option<&Identity>) -> reqwest::Response {
        send(self.request(reqwest::Method::GET, path, identity)).await
    }

    /// `POST path` with a JSON body, with the gateway's proof of `identity` when given.
    ///
    /// # Panics
    /// When the service does not answer.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        identity: Option<&Identity>,
    ) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body, identity)
            .await
    }

    /// `method path` with a JSON body, with the gateway's proof of `identity` when given.
    ///
    /// # Panics
    /// When the service does not answer.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
        identity: Option<&Identity>,
    ) -> reqwest::Response {
        send(self.request(method, path, identity).json(body)).await
    }

    /// `POST path` with a raw body (bad JSON, a missing content type), with the gateway's proof
    /// of `identity` when given.
    ///
    /// # Panics
    /// When the service does not answer.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: &'static str,
        identity: Option<&Identity>,
    ) -> reqwest::Response {
        let mut request = self
            .request(reqwest::Method::POST, path, identity)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        send(request).await
    }

    /// `GET path` (anonymous) as JSON, asserting `200 OK`.
    ///
    /// # Panics
    /// When the answer is another status or not JSON.
    pub async fn get_ok(&self, path: &str) -> serde_json::Value {
        expect_json(self.get(path, None).await, reqwest::StatusCode::OK).await
    }

    /// The `/metrics` text.
    ///
    /// # Panics
    /// When the service does not answer.
    pub async fn metrics(&self) -> String {
        self.get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics are text")
    }

    /// Publishes `envelope` on the prefixed `logical_topic`, keyed by `key`, serialized as the
    /// outbox does (through a JSON value).
    pub async fn publish<T: Serialize>(
        &self,
        logical_topic: &str,
        key: Uuid,
        envelope: &Envelope<T>,
    ) {
        let value = serde_json::to_value(envelope).expect("envelopes serialize");
        let body = serde_json::to_vec(&value).expect("JSON values serialize");
        self.publish_raw(logical_topic, key, &body).await;
    }

    /// Publishes raw bytes (poison messages).
    ///
    /// # Panics
    /// When the broker does not take the message within 10 s.
    pub async fn publish_raw(&self, logical_topic: &str, key: Uuid, body: &[u8]) {
        let name = self.topics.name(logical_topic);
        let key = key.to_string();
        self.producer
            .send(
                FutureRecord::to(&name).key(&key).payload(body),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("cannot publish to {name}: {e}"));
    }

    /// A reader of the prefixed `logical_topic` from its beginning.
    pub fn reader(&self, logical_topic: &str) -> TopicReader {
        TopicReader::new(&self.topics.name(logical_topic))
    }

    /// Polls until the service has committed the message with `message_id` (its inbox row), or
    /// panics after [`WAIT`].
    pub async fn wait_until_consumed(&self, message_id: Uuid) {
        wait_until_consumed(&self.pool, message_id, WAIT).await;
    }
}

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the service answers")
}

/// A pool of two connections: Postgres allows a few hundred and every service under test
/// already holds its own pool.
///
/// # Panics
/// When the database is unreachable.
pub async fn small_pool(database_url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .expect("test database is reachable")
}

/// Polls `probe` until it yields `Ok`, and returns that; after [`WAIT`] panics with `what` and
/// the last `Err` (the state that was seen instead).
pub async fn eventually<T, E, F, Fut>(what: &str, mut probe: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(done) => return done,
            Err(last) => assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not reached within {WAIT:?}; last seen: {last:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body of a response that must have `status`, as JSON.
///
/// # Panics
/// When the status differs (showing the body, which usually says why) or the body is not JSON.
pub async fn expect_json(
    response: reqwest::Response,
    status: reqwest::StatusCode,
) -> serde_json::Value {
    let url = response.url().path().to_string();
    let actual = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "status of {url}; body: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("body of {url} is not JSON ({e}): {text}"))
}

/// A response header as text, if present.
pub fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The string `field` of every object in the JSON array `items` (names, seat numbers, ids).
///
/// # Panics
/// When `items` is not an array of objects with that string field.
pub fn strings<'v>(items: &'v serde_json::Value, field: &str) -> Vec<&'v str> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("an array: {items}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} is a string in {item}"))
        })
        .collect()
}

/// Asserts the response is the error envelope `{"error":{"code","message"}}` with `status` and
/// `code`; returns the message.
///
/// # Panics
/// When it is not.
pub async fn assert_error(
    response: reqwest::Response,
    status: reqwest::StatusCode,
    code: &str,
) -> String {
    let url = response.url().path().to_string();
    assert_eq!(response.status(), status, "status of {url}");
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "envelope of {url}: {body}");
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("envelope of {url} has a message: {body}"))
        .to_string()
}

/// A user identity with a fresh id (role `user` or `admin`), for signing `x-stampede-identity`.
pub fn identity(role: &str) -> crate::identity::Identity {
    crate::identity::Identity {
        user_id: uuid::Uuid::new_v4(),
        email: format!("{}@stampede.test", unique_suffix()),
        role: role.into(),
    }
}

/// A request to `url` (a client of the gateway), with `token` as its Bearer when given.
pub fn bearer_request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = client.request(method, url);
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// A user registered through the gateway.
#[derive(Debug, Clone)]
pub struct RegisteredUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// Registers `name` with a fresh email and `password` through the gateway at `gateway`.
///
/// # Panics
/// Unless the answer is 201 with the user's id and a token.
pub async fn register_user(
    client: &reqwest::Client,
    gateway: &str,
    name: &str,
    password: &str,
) -> RegisteredUser {
    let email = format!("{name}-{}@stampede.test", unique_suffix());
    let response = client
        .post(format!("{gateway}/api/users/register"))
        .json(&serde_json::json!({"name": name, "email": email, "password": password}))
        .send()
        .await
        .expect("the gateway answers");
    let body = expect_json(response, reqwest::StatusCode::CREATED).await;
    RegisteredUser {
        id: body["user"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("register {email}: a user id in {body}")),
        token: body["token"].as_str().expect("a token").to_string(),
        email,
    }
}

/// Logs in through the gateway at `gateway`; returns the token.
///
/// # Panics
/// Unless the answer is 200 with a token.
pub async fn login_token(
    client: &reqwest::Client,
    gateway: &str,
    email: &str,
    password: &str,
) -> String {
    let response = client
        .post(format!("{gateway}/api/users/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("the gateway answers");
    let body = expect_json(response, reqwest::StatusCode::OK).await;
    body["token"].as_str().expect("a token").to_string()
}

/// One section of a test seat map: name, price of a seat in cents, rows as `(label, seats)`.
pub type Section<'a> = (&'a str, i64, &'a [(&'a str, u32)]);

/// An `event.created` envelope (fresh eventId, fresh ticketed event id) with one section per
/// `(name, price_cents, rows)`, rows given as `(label, seats)`.
pub fn event_created(name: &str, sections: &[Section<'_>]) -> Envelope<EventCreated> {
    let sections: Vec<SectionLayout> = sections
        .iter()
        .map(|(section, price_cents, rows)| SectionLayout {
            name: (*section).to_string(),
            price_cents: *price_cents,
            rows: rows
                .iter()
                .map(|(row, seats)| RowLayout {
                    row: (*row).to_string(),
                    seats: *seats,
                })
                .collect(),
        })
        .collect();
    let total_seats = sections.iter().flat_map(|s| &s.rows).map(|r| r.seats).sum();
    Envelope::new(
        kafka::topic::EVENT_CREATED,
        EventCreated {
            event_id: Uuid::new_v4(),
            name: name.into(),
            venue_id: Some(Uuid::new_v4()),
            event_date: Some(chrono::Utc::now() + chrono::Duration::days(30)),
            total_seats,
            sections,
        },
    )
}

/// The seat ids of an event's layout, in layout order (as inventory and booking derive them).
pub fn seat_ids(event: &EventCreated) -> Vec<Uuid> {
    event
        .seats()
        .map(|s| seat_id(event.event_id, &s.section, &s.seat_number))
        .collect()
}

/// A `booking.failed` or `booking.cancelled` envelope with a fresh message id.
pub fn booking_closed(
    logical_topic: &str,
    booking_id: uuid::Uuid,
    user_id: uuid::Uuid,
    reason: &str,
) -> crate::kafka::Envelope<crate::messages::BookingClosed> {
    crate::kafka::Envelope::new(
        logical_topic,
        crate::messages::BookingClosed {
            booking_id,
            user_id,
            user_email: String::new(),
            event_id: Some(uuid::Uuid::new_v4()),
            event_name: "Test Fest".into(),
            seat_ids: vec![uuid::Uuid::new_v4()],
            reason: reason.into(),
        },
    )
}

/// Polls the service's inbox until `message_id` has been processed.
///
/// # Panics
/// After `timeout`, naming the message.
pub async fn wait_until_consumed(pool: &sqlx::PgPool, message_id: uuid::Uuid, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM processed_messages WHERE event_id = $1)",
        )
        .bind(message_id)
        .fetch_one(pool)
        .await
        .expect("inbox query");
        if seen {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {message_id} was not consumed within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the Prometheus series `name` whose labels include all of `labels`, whatever
/// their order in the exposition.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let all_match = labels.iter().all(|(k, v)| {
            label_text
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        });
        all_match.then(|| value.trim().parse().ok()).flatten()
    })
}

/// A private tansu broker on a free port with its own SQLite file (never `memory://`), for tests
/// that kill and restart the broker without disturbing the machine's one. Killed when dropped.
pub struct PrivateBroker {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateBroker {
    /// Starts tansu ([`crate::broker::tansu_binary`]) and waits until it listens.
    ///
    /// # Panics
    /// When tansu is not installed or does not listen within 10 s.
    pub async fn start() -> Self {
        let bin = crate::broker::tansu_binary().unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("stampede-broker-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut broker = Self {
            bin,
            dir,
            port,
            child: None,
        };
        broker.spawn().await;
        broker
    }

    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts (or restarts, on the same port and data) the broker process.
    ///
    /// # Panics
    /// When it does not listen within 10 s.
    pub async fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))
            .expect("the broker's log file opens");
        let child = tokio::process::Command::new(&self.bin)
            .current_dir(&self.dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.address()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tansu did not listen on {}", self.address());
    }

    /// The broker's process id while it runs (for SIGSTOP/SIGCONT).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(tokio::process::Child::id)
    }

    /// kill -9, and waits until the process is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for PrivateBroker {
    /// Removes the broker's folder, except after a failed test: its log may say why.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "private broker's data and log kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
