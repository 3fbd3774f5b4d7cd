//! Where to send mail (`SMTP_URL`): `smtp://[user:password@]host[:port]`, plain SMTP.
//!
//! Parsed here rather than by lettre because lettre's URL parser only exists with a TLS feature,
//! which the local mail sinks and test listeners do not need.

use kit::config::Secret;
use url::Url;

/// The default SMTP port when the URL names none.
const SMTP_PORT: u16 = 25;

/// An SMTP server and optional credentials; built only by [`SmtpEndpoint::parse`]. Its `Debug`
/// never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, Secret)>,
}

impl SmtpEndpoint {
    /// # Errors
    /// A message (never containing the password) when `raw` is not `smtp://host[:port]`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
        if url.scheme() != "smtp" {
            return Err(format!(
                "scheme {:?} is not supported: expected smtp:// (no TLS support is built in)",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .to_string();
        let credentials = url.password().map(|password| {
            // Percent-decoding; `+` is literal in a URL's user info, not a space.
            let decode = |s: &str| {
                let query = format!("x={}", s.replace('+', "%2B"));
                url::form_urlencoded::parse(query.as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            (
                decode(url.username()).unwrap_or_default(),
                Secret::new(decode(password).unwrap_or_default()),
            )
        });
        Ok(Self {
            host,
            port: url.port().unwrap_or(SMTP_PORT),
            credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SmtpEndpoint;

    #[test]
    fn plain_smtp_urls_parse() {
        let endpoint = SmtpEndpoint::parse("smtp://127.0.0.1:1025").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port), ("127.0.0.1", 1025));
        assert!(endpoint.credentials.is_none());
        assert_eq!(
            SmtpEndpoint::parse("smtp://mail.example.com").unwrap().port,
            25
        );
    }

    #[test]
    fn credentials_are_read_and_hidden() {
        let endpoint = SmtpEndpoint::parse("smtp://mailer:hunter%21+22@127.0.0.1:1025").unwrap();
        let (user, password) = endpoint.credentials.clone().unwrap();
        assert_eq!(user, "mailer");
        assert_eq!(password.expose(), "hunter!+22");
        assert!(!format!("{endpoint:?}").contains("hunter"));
    }

    #[test]
    fn other_urls_are_rejected() {
        for bad in [
            "",
            "127.0.0.1:1025",
            "smtps://mail.example.com",
            "http://x",
            "smtp://",
        ] {
            assert!(SmtpEndpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
