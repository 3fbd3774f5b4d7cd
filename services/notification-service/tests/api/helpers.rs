//! `spawn_app()`: notification-service on port 0 with its own database and topics, a producer to
//! feed it saga messages, helpers to observe what it recorded, and `SmtpSink`, an SMTP listener
//! on 127.0.0.1:0 that records the mails it receives.

use std::time::Duration;

use kit::kafka::{topic, Envelope};
use kit::messages::{BookingConfirmed, UserRegistered};
use kit::testing::{self, TestService};
use notification_service::configuration::DEFAULT_MAIL_FROM;
use notification_service::domain::SmtpEndpoint;
use notification_service::routes::NotificationDto;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use uuid::Uuid;

/// A running notification-service (see [`TestService`]); it stops when this is dropped.
pub struct TestApp {
    service: TestService,
}

kit::deref_test_service!(TestApp);

/// Topics notification-service reads.
const TOPICS: [&str; 4] = [
    topic::USER_REGISTERED,
    topic::BOOKING_CONFIRMED,
    topic::BOOKING_FAILED,
    topic::BOOKING_CANCELLED,
];

/// notification-service mailing through `smtp_url` when given, else recording only.
pub async fn spawn_app(smtp_url: Option<&str>) -> TestApp {
    let common = testing::fresh_common("ticketflow_notifications", &TOPICS).await;
    let settings = notification_service::Settings {
        common: common.clone(),
        smtp: smtp_url.map(|url| SmtpEndpoint::parse(url).expect("a test SMTP URL")),
        mail_from: DEFAULT_MAIL_FROM
            .parse()
            .expect("the default sender parses"),
    };
    TestApp {
        service: TestService::build::<notification_service::Application>(settings, &common).await,
    }
}

/// A `user.registered` envelope with a fresh message id.
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

/// A `booking.confirmed` envelope with a fresh message id.
pub fn booking_confirmed(booking_id: Uuid, user_id: Uuid) -> Envelope<BookingConfirmed> {
    Envelope::new(
        topic::BOOKING_CONFIRMED,
        BookingConfirmed {
            booking_id,
            user_id,
            user_email: String::new(),
            event_id: Uuid::new_v4(),
            event_name: "Test Fest".into(),
            seat_ids: vec![Uuid::new_v4(), Uuid::new_v4()],
            total_amount: 150.0,
            exact_cents: Some(15_000),
        },
    )
}

/// The same confirmation under a new message id (as a re-publishing producer would send it).
pub fn resent(envelope: &Envelope<BookingConfirmed>) -> Envelope<BookingConfirmed> {
    let mut copy = envelope.clone();
    copy.message_id = Some(Uuid::new_v4());
    copy
}

const SELECT_NOTIFICATION: &str =
    "SELECT id, booking_id, kind, subject, body, recipient, status, created_at, sent_at FROM notifications";

impl TestApp {
    /// The notifications `condition` (on `$1` = `id`) selects.
    async fn notifications_where(&self, condition: &str, id: Uuid) -> Vec<NotificationDto> {
        sqlx::query_as(&format!("{SELECT_NOTIFICATION} WHERE {condition}"))
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .expect("notifications query")
    }

    /// The booking's notifications, oldest first.
    pub async fn notifications_for_booking(&self, booking_id: Uuid) -> Vec<NotificationDto> {
        self.notifications_where("booking_id = $1 ORDER BY created_at", booking_id)
            .await
    }

    /// The user's WELCOME notifications.
    pub async fn welcomes_for(&self, user_id: Uuid) -> Vec<NotificationDto> {
        self.notifications_where("user_id = $1 AND kind = 'WELCOME'", user_id)
            .await
    }

    /// Polls the notifications `query` returns until one of them has `status`, or panics after
    /// [`testing::WAIT`].
    pub async fn wait_for_status<F, Fut>(&self, query: F, status: &str) -> Vec<NotificationDto>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Vec<NotificationDto>>,
    {
        testing::eventually(&format!("a notification {status}"), || async {
            let rows = query().await;
            if rows.iter().any(|n| n.status == status) {
                Ok(rows)
            } else {
                Err(rows)
            }
        })
        .await
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
