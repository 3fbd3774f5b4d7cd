//! notification-service settings, read once from the environment.

use kit::config::{CommonSettings, ConfigError, Env, FromEnv};
use lettre::message::Mailbox;

use crate::domain::SmtpEndpoint;

/// The sender when `MAIL_FROM` is unset.
pub const DEFAULT_MAIL_FROM: &str = "Stampede <noreply@stampede.local>";

/// Everything notification-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// SMTP server to mail notifications through (`SMTP_URL`, e.g. `smtp://127.0.0.1:1025`,
    /// plain SMTP, optional `user:password@`). Unset: notifications are only recorded.
    pub smtp: Option<SmtpEndpoint>,
    /// Sender of the mails (`MAIL_FROM`, default `Stampede <noreply@stampede.local>`).
    pub mail_from: Mailbox,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default_from: Mailbox = DEFAULT_MAIL_FROM
            .parse()
            .expect("the default sender is a valid mailbox");
        Ok(Self {
            common: CommonSettings::from_env(env, 3006, "ticketflow_notifications")?,
            smtp: env
                .get("SMTP_URL")
                .map(|url| parse_smtp_url(&url))
                .transpose()?,
            mail_from: env.parse_or("MAIL_FROM", default_from)?,
        })
    }
}

/// # Errors
/// [`ConfigError::Invalid`] naming `SMTP_URL`, with any password removed from the value.
fn parse_smtp_url(url: &str) -> Result<SmtpEndpoint, ConfigError> {
    SmtpEndpoint::parse(url).map_err(|reason| ConfigError::Invalid {
        name: "SMTP_URL".into(),
        value: kit::db::redact(url),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_on_the_local_stack() {
        let settings =
            Settings::from_env(&Env::from_pairs(&[(kit::config::MODE_ENV, "dev")])).unwrap();
        kit::testing::assert_local_defaults(&settings.common, 3006, "ticketflow_notifications");
        assert!(settings.smtp.is_none());
        assert_eq!(settings.mail_from.to_string(), DEFAULT_MAIL_FROM);
    }

    #[test]
    fn smtp_url_is_read_and_its_password_never_printed() {
        let env = Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("SMTP_URL", "smtp://mailer:hunter22@127.0.0.1:1025"),
        ]);
        let settings = Settings::from_env(&env).unwrap();
        assert_eq!(settings.smtp.as_ref().map(|s| s.port), Some(1025));
        assert!(!format!("{settings:?}").contains("hunter22"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("SMTP_URL", "https://mailer:hunter22@example.com"),
            ("SMTP_URL", "smtp://"),
            ("MAIL_FROM", "not an address"),
        ];
        for (name, value) in cases {
            let err = Settings::from_env(&Env::from_pairs(&[
                (kit::config::MODE_ENV, "dev"),
                (name, value),
            ]))
            .unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
    }
}
