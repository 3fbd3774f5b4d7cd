//! Where a payment stands, as stored in `payments.status`.
//!
//! ```text
//!   (none) ──charge ok──> CAPTURED ──booking failed/cancelled──> REFUNDED
//!   (none) ──declined───> FAILED
//!   (none) ──booking failed/cancelled first──> VOIDED   (a later request charges nothing)
//! ```

use std::fmt;

/// The stored state of a booking's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Captured,
    Failed,
    Refunded,
    Voided,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Captured => "CAPTURED",
            Self::Failed => "FAILED",
            Self::Refunded => "REFUNDED",
            Self::Voided => "VOIDED",
        }
    }

    /// # Errors
    /// A message when `raw` is not a stored status.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "CAPTURED" => Ok(Self::Captured),
            "FAILED" => Ok(Self::Failed),
            "REFUNDED" => Ok(Self::Refunded),
            "VOIDED" => Ok(Self::Voided),
            other => Err(format!("{other:?} is not a payment status")),
        }
    }

    /// The status TicketFlow's clients read (its payments are PENDING, SUCCESS or FAILED; a
    /// Stampede payment is never pending, and REFUNDED and VOIDED are Stampede's own).
    pub fn ticketflow_status(self) -> &'static str {
        match self {
            Self::Captured => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Refunded => "REFUNDED",
            Self::Voided => "VOIDED",
        }
    }

    /// The `status` of the `payment.processed` answer for this payment, when it has one: a
    /// refunded or voided payment answers nothing (the booking is closed already).
    pub fn processed_status(self) -> Option<&'static str> {
        match self {
            Self::Captured => Some("SUCCESS"),
            Self::Failed => Some("FAILED"),
            Self::Refunded | Self::Voided => None,
        }
    }
}

impl TryFrom<String> for PaymentStatus {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus;

    #[test]
    fn statuses_round_trip() {
        for status in [
            PaymentStatus::Captured,
            PaymentStatus::Failed,
            PaymentStatus::Refunded,
            PaymentStatus::Voided,
        ] {
            assert_eq!(PaymentStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(PaymentStatus::parse("captured").is_err());
    }

    #[test]
    fn only_charged_or_declined_payments_answer_a_request() {
        assert_eq!(PaymentStatus::Captured.processed_status(), Some("SUCCESS"));
        assert_eq!(PaymentStatus::Failed.processed_status(), Some("FAILED"));
        assert_eq!(PaymentStatus::Refunded.processed_status(), None);
        assert_eq!(PaymentStatus::Voided.processed_status(), None);
    }
}
