//! Sending a notification as mail. `SmtpMailer` speaks plain SMTP through `lettre` (no TLS: the
//! local stack's mail sink and test listeners do not need it); the consumer holds any `Mailer`
//! (tests of the service use a real SMTP listener, see `tests/api/mail.rs`).

use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::SmtpEndpoint;

/// How long one send may take before it counts as failed (also the SMTP command timeout).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Something that delivers mail.
pub trait Mailer: Send + Sync {
    /// Hands `mail` over for delivery.
    ///
    /// # Errors
    /// When the address is invalid or the server refuses or cannot be reached.
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Mail over SMTP to the server named by `SMTP_URL`.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `endpoint`, plain SMTP, each command bounded by [`SEND_TIMEOUT`].
    pub fn new(endpoint: &SmtpEndpoint, from: Mailbox) -> Self {
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.as_str())
                .port(endpoint.port)
                .timeout(Some(SEND_TIMEOUT));
        if let Some((user, password)) = &endpoint.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Self {
            transport: builder.build(),
            from,
        }
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .with_context(|| format!("{:?} is not a mail address", mail.to))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject.as_str())
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
                .context("cannot build the mail")?;
            self.transport
                .send(message)
                .await
                .context("SMTP server did not accept the mail")?;
            Ok(())
        })
    }
}
