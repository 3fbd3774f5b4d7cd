//! `spawn_app()`: notification-service on port 0 with its own database and topics, a producer to
//! feed it saga messages, helpers to observe what it recorded, and `SmtpSink`, an SMTP listener
//! on 127.0.0.1:0 that records the mails it receives.

use std::time::Duration;

use kit::config::Secret;
use kit::identity::{Identity, IdentityKeys, IDENTITY_HEADER};
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::{BookingConfirmed, UserRegistered};
use kit::testing::{self, TEST_INTERNAL_SECRET};
use notification_service::configuration::DEFAULT_MAIL_FROM;
use notification_service::domain::SmtpEndpoint;
use notification_service::routes::NotificationDto;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long any wait for an asynchronous effect may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running notification-service; it stops when this is dropped.
pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub topics: Topics,
    pub producer: FutureProducer,
    pub client: reqwest::Client,
    pub keys: IdentityKeys,
    stop: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// notification-service mailing through `smtp_url` when given, else recording only.
pub async fn spawn_app(smtp_url: Option<&str>) -> TestApp {
    kit::telemetry::init_for_tests();
    let prefix = format!("t{}.", testing::unique_suffix());
    testing::create_topics(
        &prefix,
        &[
            topic::USER_REGISTERED,
            topic::BOOKING_CONFIRMED,
            topic::BOOKING_FAILED,
            topic::BOOKING_CANCELLED,
        ],
    )
    .await;
    let common = testing::common_settings("ticketflow_notifications", &prefix);
    let database_url = common.database_url.clone();
    let settings = notification_service::Settings {
        common,
        smtp: smtp_url.map(|url| SmtpEndpoint::parse(url).expect("a test SMTP URL")),
        mail_from: DEFAULT_MAIL_FROM
            .parse()
            .expect("the default sender parses"),
    };
    let app = notification_service::Application::build(settings)
        .await
        .expect("notification-service builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(app.run_until_stopped(async move { token.cancelled().await }));
    // Two connections: Postgres allows 100 and every service under test already holds a pool.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .expect("test database is reachable");
    TestApp {
        address,
        pool,
        topics: Topics::new(prefix),
        producer: kit::kafka::producer(&testing::brokers()).expect("producer config is valid"),
        client: reqwest::Client::new(),
        keys: IdentityKeys::new(&Secret::new(TEST_INTERNAL_SECRET)),
        stop,
    }
}

/// A `user.registered` envelope with a fresh eventId.
pub fn user_registered(user_id: Uuid, name: &str, email: &str) -> Envelope<UserRegistered> {
    Envelope::new(
        topic::USER_REGISTERED,
        UserRegistered {
            user_id,
            name: name.into(),
            email: email.into(),
        },
    )
}

/// A `booking.confirmed` envelope with a fresh eventId.
///
/// The show's id is set to the message id: both are `eventId` on the wire (see
/// `notification_service::consumers::ConfirmedBooking`), and this keeps the one key a unique
/// message id.
pub fn booking_confirmed(booking_id: Uuid, user_id: Uuid) -> Envelope<BookingConfirmed> {
    let mut envelope = Envelope::new(
        topic::BOOKING_CONFIRMED,
        BookingConfirmed {
            booking_id,
            user_id,
            event_id: Uuid::nil(),
            event_name: "Test Fest".into(),
            seat_ids: vec![Uuid::new_v4(), Uuid::new_v4()],
            amount_cents: 15_000,
        },
    );
    envelope.payload.event_id = envelope.event_id;
    envelope
}

/// The same confirmation under a new eventId (as a re-publishing producer would send it).
pub fn resent(envelope: &Envelope<BookingConfirmed>) -> Envelope<BookingConfirmed> {
    let mut copy = envelope.clone();
    copy.event_id = Uuid::new_v4();
    copy.payload.event_id = copy.event_id;
    copy
}

const SELECT_NOTIFICATION: &str =
    "SELECT id, booking_id, kind, subject, body, recipient, status, created_at, sent_at FROM notifications";

impl TestApp {
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
        let name = self.topics.name(logical_topic);
        let key = key.to_string();
        self.producer
            .send(
                FutureRecord::to(&name).key(&key).payload(&body),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("cannot publish to {name}: {e}"));
    }

    /// Polls until the service has committed the message with `event_id` (its inbox row), or
    /// panics after [`WAIT`].
    pub async fn wait_until_consumed(&self, event_id: Uuid) {
        testing::wait_until_consumed(&self.pool, event_id, WAIT).await;
    }

    /// The booking's notifications, oldest first.
    pub async fn notifications_for_booking(&self, booking_id: Uuid) -> Vec<NotificationDto> {
        sqlx::query_as(&format!(
            "{SELECT_NOTIFICATION} WHERE booking_id = $1 ORDER BY created_at"
        ))
        .bind(booking_id)
        .fetch_all(&self.pool)
        .await
        .expect("notifications query")
    }

    /// The user's WELCOME notifications.
    pub async fn welcomes_for(&self, user_id: Uuid) -> Vec<NotificationDto> {
        sqlx::query_as(&format!(
            "{SELECT_NOTIFICATION} WHERE user_id = $1 AND kind = 'WELCOME'"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .expect("notifications query")
    }

    /// Polls the notification `query` returns until `done` holds for it, or panics after [`WAIT`].
    pub async fn wait_for<F, Fut>(
        &self,
        what: &str,
        query: F,
        done: impl Fn(&[NotificationDto]) -> bool,
    ) -> Vec<NotificationDto>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Vec<NotificationDto>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let rows = query().await;
            if done(&rows) {
                return rows;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not reached within {WAIT:?}; last {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET path`, with the gateway's proof of `identity` when given.
    pub async fn get(&self, path: &str, identity: Option<&Identity>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(identity) = identity {
            request = request.header(IDENTITY_HEADER, self.keys.sign(identity));
        }
        request.send().await.expect("notification-service answers")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics are text")
    }
}

/// One mail as the SMTP listener received it.
#[derive(Debug, Default, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` argument.
    pub from: String,
    /// The `RCPT TO` arguments.
    pub to: Vec<String>,
    /// Headers and body as sent after `DATA`.
    pub data: String,
}

/// An SMTP server on 127.0.0.1:0 that accepts every mail and hands it to the test.
pub struct SmtpSink {
    pub url: String,
    mails: tokio::sync::Mutex<mpsc::UnboundedReceiver<ReceivedMail>>,
}

impl SmtpSink {
    /// Starts listening; sessions run until the test's runtime ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let url = format!("smtp://{}", listener.local_addr().expect("bound address"));
        let (sender, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, sender.clone()));
            }
        });
        Self {
            url,
            mails: tokio::sync::Mutex::new(mails),
        }
    }

    /// The next mail received, or `None` after `timeout`.
    pub async fn next_mail(&self, timeout: Duration) -> Option<ReceivedMail> {
        let mut mails = self.mails.lock().await;
        tokio::time::timeout(timeout, mails.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Speaks just enough SMTP (RFC 5321) for lettre: greeting, EHLO, MAIL, RCPT, DATA, QUIT.
async fn smtp_session(
    stream: TcpStream,
    mails: mpsc::UnboundedSender<ReceivedMail>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut mail = ReceivedMail::default();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if command.starts_with("MAIL FROM:") {
            mail.from = line["MAIL FROM:".len()..].trim().to_string();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            mail.to.push(line["RCPT TO:".len()..].trim().to_string());
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            while let Some(data_line) = lines.next_line().await? {
                if data_line == "." {
                    break;
                }
                mail.data.push_str(&data_line);
                mail.data.push('\n');
            }
            let _ = mails.send(std::mem::take(&mut mail));
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

pub use kit::testing::{booking_closed, identity, metric};
