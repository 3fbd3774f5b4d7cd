//! `history.jsonl`, one line per op: an operation's invocation or its completion, as the load
//! generator writes it and the checker reads it (Jepsen's op map).
//!
//! ```text
//!   {"index":0,"process":17,"type":"invoke","f":"book","time":1234567,"wall":"2026-11-22T05:00:00.123Z",
//!    "value":{"user":"..","eventId":"..","seatIds":[..]},"error":null}
//!   {"index":5,"process":17,"type":"ok","f":"book","time":2234567,"wall":"..",
//!    "value":{..,"bookingId":"..","status":"CONFIRMED","statuses":["PENDING","CONFIRMED"]},"error":null}
//! ```
//!
//! `type`: invoke (started), ok (happened), fail (definitely did not happen), info (unknown: it
//! may or may not have happened). Clients write fail only when sure. `f` is `book` or `cancel`;
//! other functions load as [`OpFn::Other`] and the invariants ignore them, as they ignore unknown
//! fields.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::final_state::BookingStatus;

/// What an op line says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The client started the operation.
    Invoke,
    /// It happened (book: HTTP 202, the booking exists; cancel: accepted).
    Ok,
    /// It definitely did not happen (a 4xx).
    Fail,
    /// Unknown outcome (timeout, connection error, 5xx): it may or may not have happened.
    Info,
}

impl OpType {
    /// The word in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "invoke",
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Info => "info",
        }
    }
}

/// The operation an op belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpFn {
    /// POST /api/bookings (and polling it to a terminal status).
    Book,
    /// POST /api/bookings/:id/cancel.
    Cancel,
    /// Anything else; ignored by the checker.
    #[serde(other)]
    Other,
}

impl OpFn {
    /// The word in the history (`other` for unknown functions).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Book => "book",
            Self::Cancel => "cancel",
            Self::Other => "other",
        }
    }
}

/// The value of a book or cancel op; every field optional so invokes and completions share it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpValue {
    /// The user acting.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_as_none"
    )]
    pub user: Option<Uuid>,
    /// The event booked (book).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_as_none"
    )]
    pub event_id: Option<Uuid>,
    /// The seats requested (book).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seat_ids: Vec<Uuid>,
    /// The booking created (book ok, some book info) or cancelled (cancel).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_as_none"
    )]
    pub booking_id: Option<Uuid>,
    /// The last status the client observed by polling (book completions): a terminal one, or
    /// PENDING when polling gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BookingStatus>,
    /// The distinct statuses the client observed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<BookingStatus>,
    /// The HTTP status of the request (book and cancel completions; absent when none came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<u16>,
}

/// An optional id where `""` also means none (a client that found no id in a reply writes an
/// empty string); anything else must be a UUID.
fn empty_as_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Uuid>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => Uuid::parse_str(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl OpValue {
    /// A book invocation's value.
    pub fn book(user: Uuid, event_id: Uuid, seat_ids: Vec<Uuid>) -> Self {
        Self {
            user: Some(user),
            event_id: Some(event_id),
            seat_ids,
            ..Self::default()
        }
    }

    /// A cancel's value.
    pub fn cancel(user: Uuid, booking_id: Uuid) -> Self {
        Self {
            user: Some(user),
            booking_id: Some(booking_id),
            ..Self::default()
        }
    }

    /// The same value with the booking id the service answered.
    #[must_use]
    pub fn with_booking(mut self, booking_id: Uuid) -> Self {
        self.booking_id = Some(booking_id);
        self
    }

    /// The same value with the statuses the client observed, in order; the last one becomes
    /// `status`.
    #[must_use]
    pub fn with_statuses(mut self, statuses: &[BookingStatus]) -> Self {
        self.status = statuses.last().cloned();
        self.statuses = statuses.to_vec();
        self
    }

    /// Whether the client saw this booking CONFIRMED at some point.
    pub fn observed_confirmed(&self) -> bool {
        self.status == Some(BookingStatus::Confirmed)
            || self.statuses.contains(&BookingStatus::Confirmed)
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOp")]
pub struct Op {
    /// Position in the history, as the writer numbered it.
    pub index: u64,
    /// The client; it has at most one operation outstanding, so an invoke is completed by the
    /// next op of the same process.
    pub process: u64,
    /// Invocation or completion.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// Which operation.
    pub f: OpFn,
    /// Nanoseconds since the run started (monotonic).
    #[serde(default)]
    pub time: u64,
    /// RFC 3339 UTC wall-clock time, for people and for lining up with logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<String>,
    /// What the operation was about and, on completion, what came of it.
    #[serde(default)]
    pub value: OpValue,
    /// Why it failed or is unknown (free form: a string or an object).
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// An op line as written: the value stays raw until the function says what it should be, so a
/// function the checker does not know may carry any value.
#[derive(Deserialize)]
struct RawOp {
    index: u64,
    process: u64,
    #[serde(rename = "type")]
    kind: OpType,
    f: OpFn,
    #[serde(default)]
    time: u64,
    #[serde(default)]
    wall: Option<String>,
    #[serde(default)]
    value: serde_json::Value,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl TryFrom<RawOp> for Op {
    type Error = serde_json::Error;

    fn try_from(raw: RawOp) -> Result<Self, Self::Error> {
        let value = match (raw.f, raw.value) {
            (OpFn::Other, _) | (_, serde_json::Value::Null) => OpValue::default(),
            (_, value) => serde_json::from_value(value)?,
        };
        Ok(Self {
            index: raw.index,
            process: raw.process,
            kind: raw.kind,
            f: raw.f,
            time: raw.time,
            wall: raw.wall,
            value,
            error: raw.error,
        })
    }
}

impl Op {
    fn new(kind: OpType, process: u64, f: OpFn, value: OpValue) -> Self {
        Self {
            index: 0,
            process,
            kind,
            f,
            time: 0,
            wall: None,
            value,
            error: None,
        }
    }

    /// The same op with the writer's index, time and wall clock.
    #[must_use]
    pub fn at(mut self, index: u64, time: u64, wall: impl Into<String>) -> Self {
        self.index = index;
        self.time = time;
        self.wall = Some(wall.into());
        self
    }

    /// The same op with an error.
    #[must_use]
    pub fn with_error(mut self, error: impl Into<serde_json::Value>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// An invocation (tests; index and time are assigned by the checker's `History::indexed`).
pub fn invoke(process: u64, f: OpFn, value: OpValue) -> Op {
    Op::new(OpType::Invoke, process, f, value)
}

/// A completion that happened.
pub fn ok(process: u64, f: OpFn, value: OpValue) -> Op {
    Op::new(OpType::Ok, process, f, value)
}

/// A completion that definitely did not happen.
pub fn fail(process: u64, f: OpFn, value: OpValue) -> Op {
    Op::new(OpType::Fail, process, f, value)
}

/// A completion with an unknown outcome.
pub fn info(process: u64, f: OpFn, value: OpValue) -> Op {
    Op::new(OpType::Info, process, f, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn op_reads_the_documented_line() {
        let line = json!({"index": 5, "process": 17, "type": "ok", "f": "book", "time": 2234567,
            "wall": "2026-11-22T05:00:00.123Z", "extra": 1,
            "value": {"user": Uuid::from_u128(1), "eventId": Uuid::from_u128(2),
                      "seatIds": [Uuid::from_u128(3)], "bookingId": Uuid::from_u128(4),
                      "status": "CONFIRMED", "statuses": ["PENDING", "CONFIRMED"], "priceCents": 10},
            "error": null});
        let op: Op = serde_json::from_value(line).unwrap();
        let expected = ok(
            17,
            OpFn::Book,
            OpValue::book(
                Uuid::from_u128(1),
                Uuid::from_u128(2),
                vec![Uuid::from_u128(3)],
            )
            .with_booking(Uuid::from_u128(4))
            .with_statuses(&[BookingStatus::Pending, BookingStatus::Confirmed]),
        )
        .at(5, 2234567, "2026-11-22T05:00:00.123Z");
        assert_eq!(op, expected);
        assert!(op.value.observed_confirmed());
    }

    #[test]
    fn an_empty_booking_id_is_none() {
        let op: Op =
            serde_json::from_value(json!({"index": 1, "process": 1, "type": "ok", "f": "book",
            "value": {"bookingId": "", "status": "PENDING", "http": 202}}))
            .unwrap();
        assert_eq!(op.value.booking_id, None);
        assert_eq!(op.value.status, Some(BookingStatus::Pending));
    }

    #[test]
    fn unknown_function_loads_as_other_whatever_its_value() {
        let op: Op = serde_json::from_value(
            json!({"index": 0, "process": 1, "type": "invoke", "f": "browse", "time": 0, "value": [1, 2]}),
        )
        .unwrap();
        assert_eq!(op.f, OpFn::Other);
        assert_eq!(op.value, OpValue::default());
    }

    #[test]
    fn null_value_is_empty_but_a_bad_book_value_is_an_error() {
        let op: Op = serde_json::from_value(
            json!({"index": 0, "process": 1, "type": "info", "f": "book", "value": null}),
        )
        .unwrap();
        assert_eq!(op.value, OpValue::default());
        let bad = serde_json::from_value::<Op>(
            json!({"index": 0, "process": 1, "type": "ok", "f": "book", "value": {"bookingId": "nope"}}),
        );
        assert!(bad.is_err());
    }
}
