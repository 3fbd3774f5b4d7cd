//! `final-state.json`, the final state: what the service databases (or their APIs) hold once the faults healed and
//! the stack quiesced. The checker compares it with the history; `final-state.json` is its serde
//! form (camelCase keys), written by the runner or `collect_from_databases`.
//!
//! ```text
//!   {"bookings":      [{"id","userId","eventId","seatIds":[..],"status","failureReason"}],
//!    "seats":         [{"id","eventId","status","bookingId"}],
//!    "payments":      [{"bookingId","status","amountCents"}] | null,    null/absent = not observed
//!    "notifications": [{"bookingId","kind"}] | null,                    null/absent = not observed
//!    "capacity":      {"<event id>": <seats>}}                          events whose size is known
//! ```
//!
//! Statuses are enums with an `Other` variant that keeps an unknown value verbatim, so a state
//! from a newer service still loads; the invariants treat `Other` as "none of the known ones".

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An enum of upper-case status words with a catch-all that keeps unknown words verbatim;
/// (de)serialises as the bare string.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value the checker does not know, kept as it was written.
            Other(String),
        }

        impl $name {
            /// The word as the services write it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.to_ascii_uppercase().as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(text),
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::from(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// Where a booking is in the saga (booking-service `bookings.status`).
    BookingStatus {
        /// The saga is still running.
        Pending = "PENDING",
        /// Seats reserved and paid.
        Confirmed = "CONFIRMED",
        /// Seats could not be locked, or the payment failed.
        Failed = "FAILED",
        /// The saga took longer than the booking timeout.
        Expired = "EXPIRED",
        /// The user cancelled it.
        Cancelled = "CANCELLED",
    }
}

impl BookingStatus {
    /// FAILED, EXPIRED and CANCELLED: the booking is over and must hold nothing.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Failed | Self::Expired | Self::Cancelled)
    }

    /// Any status a booking can no longer leave on its own (all but PENDING); CONFIRMED is left
    /// only by a cancel.
    pub fn is_terminal(&self) -> bool {
        self.is_closed() || *self == Self::Confirmed
    }
}

status_enum! {
    /// A seat's state in inventory-service (`seats.status`).
    SeatStatus {
        /// Free to book.
        Available = "AVAILABLE",
        /// Held by a booking whose saga runs.
        Locked = "LOCKED",
        /// Sold to a booking.
        Reserved = "RESERVED",
    }
}

impl SeatStatus {
    /// LOCKED or RESERVED: the seat is held by its `booking_id`.
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Locked | Self::Reserved)
    }
}

status_enum! {
    /// A payment's state in payment-service (`payments.status`).
    PaymentStatus {
        /// Money taken.
        Captured = "CAPTURED",
        /// Declined.
        Failed = "FAILED",
        /// Captured, then given back.
        Refunded = "REFUNDED",
        /// The booking closed before any charge.
        Voided = "VOIDED",
    }
}

status_enum! {
    /// What a notification told the user (notification-service `notifications.kind`).
    NotificationKind {
        /// About the user, not a booking.
        Welcome = "WELCOME",
        /// The booking is confirmed.
        Confirmed = "CONFIRMED",
        /// The booking failed.
        Failed = "FAILED",
        /// The booking expired.
        Expired = "EXPIRED",
        /// The booking was cancelled.
        Cancelled = "CANCELLED",
    }
}

/// One row of booking-service's `bookings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingRow {
    /// The booking id the POST answered with.
    pub id: Uuid,
    /// Who booked.
    pub user_id: Uuid,
    /// Which event.
    pub event_id: Uuid,
    /// The seats the booking asked for, in request order.
    #[serde(default)]
    pub seat_ids: Vec<Uuid>,
    /// Where the saga is.
    pub status: BookingStatus,
    /// Why it failed, when it did.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

impl BookingRow {
    /// A row without a failure reason (tests, API collection).
    pub fn new(
        id: Uuid,
        user_id: Uuid,
        event_id: Uuid,
        seat_ids: Vec<Uuid>,
        status: BookingStatus,
    ) -> Self {
        Self {
            id,
            user_id,
            event_id,
            seat_ids,
            status,
            failure_reason: None,
        }
    }
}

/// One row of inventory-service's `seats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatRow {
    /// The seat id bookings list.
    pub id: Uuid,
    /// The event the seat belongs to.
    pub event_id: Uuid,
    /// Free, locked or sold.
    pub status: SeatStatus,
    /// The holder of a LOCKED or RESERVED seat; none for an AVAILABLE one.
    #[serde(default)]
    pub booking_id: Option<Uuid>,
}

impl SeatRow {
    /// A seat row.
    pub fn new(id: Uuid, event_id: Uuid, status: SeatStatus, booking_id: Option<Uuid>) -> Self {
        Self {
            id,
            event_id,
            status,
            booking_id,
        }
    }
}

/// One row of payment-service's `payments` (one per booking at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRow {
    /// The booking paid for.
    pub booking_id: Uuid,
    /// Captured, failed, refunded or voided.
    pub status: PaymentStatus,
    /// The amount charged (or that would have been).
    #[serde(default)]
    pub amount_cents: i64,
}

impl PaymentRow {
    /// A payment row.
    pub fn new(booking_id: Uuid, status: PaymentStatus, amount_cents: i64) -> Self {
        Self {
            booking_id,
            status,
            amount_cents,
        }
    }
}

/// One message a service's consumer parked on a dead-letter topic (read from the broker after
/// the run: `kit::dead_letters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterRow {
    /// `<dlt topic>:<partition>:<offset>`.
    pub at: String,
    /// The topic it was consumed from.
    pub original_topic: String,
    /// The consumer group that gave up on it.
    pub consumer_group: String,
    /// Why it was given up on.
    pub error: String,
    /// The message key (the booking id for the saga's topics).
    #[serde(default)]
    pub key: Option<String>,
    /// The id its consumer deduplicated it on (`messageId`, or derived for a message without
    /// one); `eventId` in run folders written before TicketFlow's `eventId` took the name back.
    #[serde(default, alias = "eventId")]
    pub message_id: Option<String>,
    /// Replayed since (`stack dlt replay`): no longer parked.
    #[serde(default)]
    pub replayed: bool,
}

/// One row of notification-service's `notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRow {
    /// The booking it is about; none for WELCOME.
    #[serde(default)]
    pub booking_id: Option<Uuid>,
    /// What it told the user.
    pub kind: NotificationKind,
}

impl NotificationRow {
    /// A notification about a booking.
    pub fn new(booking_id: Uuid, kind: NotificationKind) -> Self {
        Self {
            booking_id: Some(booking_id),
            kind,
        }
    }
}

/// Everything the checker reads besides the history. `None` for payments or notifications means
/// "not observed": the invariants that need them answer Unknown instead of guessing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalState {
    /// Every booking of the events under test.
    #[serde(default)]
    pub bookings: Vec<BookingRow>,
    /// Every seat of the events under test.
    #[serde(default)]
    pub seats: Vec<SeatRow>,
    /// Every payment for those bookings, if observed.
    #[serde(default)]
    pub payments: Option<Vec<PaymentRow>>,
    /// Every notification about those bookings, if observed.
    #[serde(default)]
    pub notifications: Option<Vec<NotificationRow>>,
    /// Seats per event, for the events whose size is known.
    #[serde(default)]
    pub capacity: BTreeMap<Uuid, u64>,
    /// Every dead letter of the run's topics, if the broker was read.
    #[serde(default)]
    pub dead_letters: Option<Vec<DeadLetterRow>>,
}

/// A `final-state.json` that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a final state.
    #[error("{}: not a final state: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and why (serde_json names line and column).
        source: serde_json::Error,
    },
}

impl FinalState {
    /// Reads a `final-state.json`.
    ///
    /// # Errors
    /// [`StateError`] naming the file: unreadable, or not the shape above.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| StateError::Malformed {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes it as pretty JSON.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        // Serialising plain data with string keys cannot fail.
        let json = serde_json::to_vec_pretty(self).expect("a final state serialises");
        std::fs::write(path, json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // One CONFIRMED booking holding one RESERVED seat, like the checker's own tests build: each
    // crate's tests spell their fixture out, so they read (and fail) on their own.
    #[test]
    fn final_state_round_trips_through_camel_case_json() {
        let (booking, user, event, seat) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let state = FinalState {
            bookings: vec![BookingRow::new(
                booking,
                user,
                event,
                vec![seat],
                BookingStatus::Confirmed,
            )],
            seats: vec![SeatRow::new(
                seat,
                event,
                SeatStatus::Reserved,
                Some(booking),
            )],
            payments: Some(vec![PaymentRow::new(
                booking,
                PaymentStatus::Captured,
                5000,
            )]),
            notifications: None,
            capacity: BTreeMap::from([(event, 1)]),
            dead_letters: Some(Vec::new()),
        };
        let value = serde_json::to_value(&state).unwrap();
        assert_eq!(
            value,
            json!({
                "bookings": [{"id": booking, "userId": user, "eventId": event, "seatIds": [seat],
                              "status": "CONFIRMED", "failureReason": null}],
                "seats": [{"id": seat, "eventId": event, "status": "RESERVED", "bookingId": booking}],
                "payments": [{"bookingId": booking, "status": "CAPTURED", "amountCents": 5000}],
                "notifications": null,
                "capacity": {event.to_string(): 1},
                "deadLetters": [],
            })
        );
        assert_eq!(serde_json::from_value::<FinalState>(value).unwrap(), state);
    }

    #[test]
    fn absent_payments_and_notifications_mean_not_observed() {
        let state: FinalState = serde_json::from_str(r#"{"bookings": [], "seats": []}"#).unwrap();
        assert_eq!(state.payments, None);
        assert_eq!(state.notifications, None);
    }

    #[test]
    fn unknown_status_is_kept_verbatim() {
        let status: BookingStatus = serde_json::from_str(r#""ON_HOLD""#).unwrap();
        assert_eq!(status, BookingStatus::Other("ON_HOLD".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), r#""ON_HOLD""#);
        assert_eq!(BookingStatus::from("confirmed"), BookingStatus::Confirmed);
    }
}
