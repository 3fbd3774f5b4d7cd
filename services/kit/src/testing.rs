//! Test support shared by every service's tests (feature `testing`): isolated databases and topic
//! names per test, and a reader that waits for a message on a real topic.

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::Message;

use crate::config::{CommonSettings, Secret};
use crate::kafka::{self, Topics};

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
    }
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
}

/// A user identity with a fresh id (role `user` or `admin`), for signing `x-stampede-identity`.
pub fn identity(role: &str) -> crate::identity::Identity {
    crate::identity::Identity {
        user_id: uuid::Uuid::new_v4(),
        email: format!("{}@stampede.test", unique_suffix()),
        role: role.into(),
    }
}

/// A `booking.failed` or `booking.cancelled` envelope with a fresh eventId.
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
            event_id: uuid::Uuid::new_v4(),
            event_name: "Test Fest".into(),
            seat_ids: vec![uuid::Uuid::new_v4()],
            reason: reason.into(),
        },
    )
}

/// Polls the service's inbox until `event_id` has been processed.
///
/// # Panics
/// After `timeout`, naming the message.
pub async fn wait_until_consumed(pool: &sqlx::PgPool, event_id: uuid::Uuid, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM processed_messages WHERE event_id = $1)",
        )
        .bind(event_id)
        .fetch_one(pool)
        .await
        .expect("inbox query");
        if seen {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {event_id} was not consumed within {timeout:?}"
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
    /// Starts tansu (`TANSU_BIN`, default `~/.cargo/bin/tansu`) and waits until it listens.
    ///
    /// # Panics
    /// When tansu is not installed or does not listen within 10 s.
    pub async fn start() -> Self {
        let bin = std::env::var("TANSU_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                let home = std::env::var("CARGO_HOME").unwrap_or_else(|_| {
                    format!("{}/.cargo", std::env::var("HOME").unwrap_or_default())
                });
                std::path::PathBuf::from(home).join("bin/tansu")
            });
        assert!(
            bin.exists(),
            "tansu not found at {} (infra/local/up installs it; or set TANSU_BIN)",
            bin.display()
        );
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
