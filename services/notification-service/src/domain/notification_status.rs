//! Whether a notification left as mail, as stored in `notifications.status`.
//!
//! ```text
//!   RECORDED ──SMTP accepted──> SENT
//!            ──SMTP refused / unreachable / 10 s timeout──> SEND_FAILED
//!   (stays RECORDED without SMTP_URL or without a known recipient)
//! ```

use std::fmt;

/// The delivery state of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    Recorded,
    Sent,
    SendFailed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "RECORDED",
            Self::Sent => "SENT",
            Self::SendFailed => "SEND_FAILED",
        }
    }
}

impl fmt::Display for NotificationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
