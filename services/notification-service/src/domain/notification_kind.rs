//! Why the user is told something, as stored in `notifications.kind`.

use std::fmt;

/// One notification of each kind per booking (WELCOME: per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// The user registered (`user.registered`).
    Welcome,
    /// The booking is confirmed (`booking.confirmed`).
    Confirmed,
    /// The booking failed: seats taken, payment declined, ... (`booking.failed`).
    Failed,
    /// The booking was not completed in time (`booking.failed` with reason `EXPIRED`).
    Expired,
    /// The booking was cancelled (`booking.cancelled`).
    Cancelled,
}

impl NotificationKind {
    /// The `booking.failed` reason that means the booking timed out.
    pub const EXPIRED_REASON: &'static str = "EXPIRED";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "WELCOME",
            Self::Confirmed => "CONFIRMED",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// The kind for a `booking.failed` with `reason`.
    pub fn for_failure(reason: &str) -> Self {
        if reason == Self::EXPIRED_REASON {
            Self::Expired
        } else {
            Self::Failed
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::NotificationKind;

    #[test]
    fn only_the_expired_reason_is_an_expiry() {
        assert_eq!(
            NotificationKind::for_failure("EXPIRED"),
            NotificationKind::Expired
        );
        for reason in ["LOCK_FAILED", "PAYMENT_FAILED", "expired", ""] {
            assert_eq!(
                NotificationKind::for_failure(reason),
                NotificationKind::Failed,
                "{reason:?}"
            );
        }
    }
}
