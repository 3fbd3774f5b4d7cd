//! Domain payloads of the saga's topics, shared by producers and consumers so a field renamed in
//! one place is renamed everywhere. Each is flattened into a [`crate::kafka::Envelope`].
//!
//! Every payload carries TicketFlow's fields under TicketFlow's names (contract section 5):
//! `eventId` is the ticketed event, `totalAmount`/`amount` are in currency units. Stampede's
//! additions (`amountCents`, `lockedUntil`, the seat map's `sections`, `eventId` on topics where
//! TicketFlow has none) ride beside them, and each has a default, so a message a TicketFlow
//! service wrote reads here too. The message id is the envelope's (`messageId`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::kafka::lenient_time;
use crate::seat_layout::{Pricing, SeatLayout, SEATS_PER_BLOCK};

/// The only currency TicketFlow knows (its payment.requested names it); Stampede's prices are in
/// cents of it.
pub const CURRENCY: &str = "INR";

/// Currency units (TicketFlow's `totalAmount`, `amount`) from cents.
pub fn units(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Cents from currency units, rounded to the nearest cent.
pub fn cents(units: f64) -> i64 {
    (units * 100.0).round() as i64
}

/// `ticketflow.user.registered`, key = userId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
}

/// `ticketflow.event.created`, key = eventId: everything inventory needs to build the seat map.
/// TicketFlow's carries `eventId`, `name` and `totalSeats` only: the map is then TicketFlow's
/// layout rule for `totalSeats` ([`EventCreated::layout`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventCreated {
    #[serde(alias = "ticketEventId")]
    pub event_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub venue_id: Option<Uuid>,
    #[serde(default, deserialize_with = "lenient_time::deserialize_option")]
    pub event_date: Option<DateTime<Utc>>,
    pub total_seats: u32,
    /// Stampede's priced seat map; empty in TicketFlow's message.
    #[serde(default)]
    pub sections: Vec<SectionLayout>,
}

/// An event's sale status: only `ON_SALE` events can be booked. TicketFlow's events have no
/// status, so an event it announces (an `event.created` without one) is on sale.
pub const ON_SALE: &str = "ON_SALE";

/// `ticketflow.event.updated`, key = eventId (a Stampede addition; TicketFlow publishes nothing
/// on update): the event's name and sale status after an update, as of `updated_at`. A consumer
/// applies it only over an older state, so a redelivered or replayed old update changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventUpdated {
    #[serde(alias = "ticketEventId")]
    pub event_id: Uuid,
    pub name: String,
    /// `ON_SALE`, `SOLD_OUT`, `CANCELLED` or `DRAFT`.
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

/// One priced section of a seat map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SectionLayout {
    /// `VIP`, `FLOOR`, `BALCONY`; repeats of the pattern are `VIP 2`, `FLOOR 2`, ...
    pub name: String,
    /// Price of one seat in this section, in cents.
    pub price_cents: i64,
    pub rows: Vec<RowLayout>,
}

/// A row and how many seats it has (numbered 1..=seats).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RowLayout {
    pub row: String,
    pub seats: u32,
}

/// One seat of an expanded layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatSpec {
    pub section: String,
    pub row: String,
    /// `A7`: row letter and number, unique within the section.
    pub seat_number: String,
    pub price_cents: i64,
}

impl EventCreated {
    /// The seat map: the message's sections, or for a TicketFlow message (none) TicketFlow's
    /// layout of `total_seats`: one block of the pattern, cut at `total_seats`, so at most 116
    /// seats (TicketFlow's seeded 120-seat event gets 116), unpriced (TicketFlow prices the
    /// booking, not the seat).
    pub fn layout(&self) -> Vec<SectionLayout> {
        if self.sections.is_empty() {
            let seats = self.total_seats.min(SEATS_PER_BLOCK);
            SeatLayout::build(seats, &Pricing::from_base(0)).sections
        } else {
            self.sections.clone()
        }
    }

    /// Every seat of the layout, in section/row/number order.
    pub fn seats(&self) -> impl Iterator<Item = SeatSpec> {
        self.layout().into_iter().flat_map(|section| {
            let SectionLayout {
                name,
                price_cents,
                rows,
            } = section;
            rows.into_iter().flat_map(move |row| {
                let name = name.clone();
                (1..=row.seats).map(move |n| SeatSpec {
                    section: name.clone(),
                    row: row.row.clone(),
                    seat_number: format!("{}{n}", row.row),
                    price_cents,
                })
            })
        })
    }
}

/// The id of a seat, derived from its event and place (UUID v5), so that inventory-service, which
/// creates the seats, and booking-service, which prices them, agree on ids without a call.
pub fn seat_id(event_id: Uuid, section: &str, seat_number: &str) -> Uuid {
    Uuid::new_v5(&event_id, format!("{section}/{seat_number}").as_bytes())
}

/// `ticketflow.booking.initiated` (a booking waits for its seats) and
/// `ticketflow.booking.confirmed`, key = bookingId: TicketFlow gives both topics the same fields,
/// so they share this type ([`BookingInitiated`], [`BookingConfirmed`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingDetails {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    #[serde(default)]
    pub user_email: String,
    #[serde(alias = "ticketEventId")]
    pub event_id: Uuid,
    #[serde(default)]
    pub event_name: String,
    pub seat_ids: Vec<Uuid>,
    /// Currency units (TicketFlow's field).
    #[serde(default)]
    pub total_amount: f64,
    /// Stampede's exact amount; absent from TicketFlow's message (see [`Self::amount_cents`]).
    #[serde(
        default,
        rename = "amountCents",
        skip_serializing_if = "Option::is_none"
    )]
    pub exact_cents: Option<i64>,
}

impl BookingDetails {
    /// The amount in cents: Stampede's exact figure, else TicketFlow's `totalAmount`.
    pub fn amount_cents(&self) -> i64 {
        self.exact_cents.unwrap_or_else(|| cents(self.total_amount))
    }
}

/// `ticketflow.booking.initiated`, key = bookingId.
pub type BookingInitiated = BookingDetails;

/// `ticketflow.booking.confirmed`, key = bookingId.
pub type BookingConfirmed = BookingDetails;

/// How long TicketFlow's inventory locks seats (`SET ... NX EX 300`): the lock's end when a
/// seats.locked does not say (it does not in TicketFlow's).
pub const TICKETFLOW_LOCK_SECS: i64 = 300;

/// `ticketflow.seats.locked`, key = bookingId: every seat is locked for the booking until
/// `locked_until`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatsLocked {
    pub booking_id: Uuid,
    /// The ticketed event (a Stampede addition here).
    #[serde(
        default,
        alias = "ticketEventId",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_id: Option<Uuid>,
    pub seat_ids: Vec<Uuid>,
    /// A Stampede addition; TicketFlow's lock lasts [`TICKETFLOW_LOCK_SECS`].
    #[serde(
        default,
        deserialize_with = "lenient_time::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub locked_until: Option<DateTime<Utc>>,
}

/// [`SeatsLockFailed::reason`] when another booking holds a seat (TicketFlow's reason).
pub const SEATS_UNAVAILABLE: &str = "SEATS_UNAVAILABLE";

/// [`SeatsLockFailed::reason`] of a CONFIRMED booking whose seats another booking holds by the
/// time its seats.confirm arrives (its lock was swept, then the seat was taken): booking-service
/// fails it, which refunds the payment and frees the seats it did keep.
pub const SEATS_LOST: &str = "SEATS_LOST";

/// `ticketflow.seats.lock-failed`, key = bookingId: no seat is locked for the booking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatsLockFailed {
    pub booking_id: Uuid,
    #[serde(
        default,
        alias = "ticketEventId",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    pub seat_ids: Vec<Uuid>,
    /// [`SEATS_UNAVAILABLE`] (TicketFlow's), `UNKNOWN_SEATS`, or [`SEATS_LOST`] when a
    /// CONFIRMED booking's seats.confirm found some of its seats held by another booking.
    #[serde(default)]
    pub reason: String,
    /// The seats another booking holds (when known).
    #[serde(default)]
    pub conflicting_seat_ids: Vec<Uuid>,
}

/// `ticketflow.seats.confirm` and `ticketflow.seats.release`, key = bookingId: act on the
/// booking's seats, only if the booking still owns them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatsCommand {
    pub booking_id: Uuid,
    /// The ticketed event (a Stampede addition; a consumer finds it from the seats without it).
    #[serde(
        default,
        alias = "ticketEventId",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_id: Option<Uuid>,
    pub seat_ids: Vec<Uuid>,
    /// Why (for release): `PAYMENT_FAILED`, `EXPIRED`, `CANCELLED`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `ticketflow.payment.requested`, key = bookingId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequested {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    /// Currency units (TicketFlow's field).
    pub amount: f64,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Stampede's exact amount; absent from TicketFlow's message.
    #[serde(
        default,
        rename = "amountCents",
        skip_serializing_if = "Option::is_none"
    )]
    pub exact_cents: Option<i64>,
}

fn default_currency() -> String {
    CURRENCY.to_string()
}

impl PaymentRequested {
    /// A request for `amount_cents`, with both TicketFlow's and Stampede's amount fields.
    pub fn new(booking_id: Uuid, user_id: Uuid, amount_cents: i64) -> Self {
        Self {
            booking_id,
            user_id,
            amount: units(amount_cents),
            currency: default_currency(),
            exact_cents: Some(amount_cents),
        }
    }

    /// The amount in cents: Stampede's exact figure, else TicketFlow's `amount`.
    pub fn amount_cents(&self) -> i64 {
        self.exact_cents.unwrap_or_else(|| cents(self.amount))
    }
}

/// `ticketflow.payment.processed`, key = bookingId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentProcessed {
    pub booking_id: Uuid,
    /// Stampede's payments have UUIDs; TicketFlow's may say anything (`"unknown"` when its
    /// handler failed), which reads as `None`.
    #[serde(deserialize_with = "uuid_or_none")]
    pub payment_id: Option<Uuid>,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    /// Stampede's addition; absent from TicketFlow's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A UUID, or `None` for any other string or null.
fn uuid_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.and_then(|text| Uuid::parse_str(&text).ok()))
}

/// `ticketflow.booking.failed` (reason `LOCK_FAILED`, `PAYMENT_FAILED`, `EXPIRED`, ...) and
/// `ticketflow.booking.cancelled` (reason `CANCELLED`), key = bookingId. Payment-service refunds
/// a captured payment on either; notification-service tells the user once. TicketFlow's
/// booking.failed has bookingId, userId, userEmail, reason; its booking.cancelled bookingId,
/// userId, seatIds: the rest defaults.
// Not merged with `BookingDetails` though the fields overlap: TicketFlow's booking.failed and
// booking.cancelled carry fewer fields, and each defaults differently.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingClosed {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    #[serde(default)]
    pub user_email: String,
    #[serde(
        default,
        alias = "ticketEventId",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    pub event_name: String,
    #[serde(default)]
    pub seat_ids: Vec<Uuid>,
    #[serde(default)]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{topic, Envelope};

    #[test]
    fn the_envelope_carries_ticketflows_event_id_once() {
        let payload = SeatsCommand {
            booking_id: Uuid::new_v4(),
            event_id: Some(Uuid::new_v4()),
            seat_ids: vec![Uuid::new_v4()],
            reason: None,
        };
        let envelope = Envelope::new(topic::SEATS_RELEASE, payload.clone());
        let text = serde_json::to_string(&envelope).unwrap();
        assert_eq!(text.matches("\"eventId\"").count(), 1, "{text}");
        assert_eq!(text.matches("\"messageId\"").count(), 1, "{text}");
        let back: Envelope<SeatsCommand> = Envelope::parse(text.as_bytes()).unwrap();
        assert_eq!(back.payload, payload);
        assert_eq!(back.message_id, envelope.message_id);
    }

    /// Byte for byte what TicketFlow's producers write (contract section 5), read by Stampede.
    #[test]
    fn ticketflow_payloads_read() {
        let event: Envelope<EventCreated> = Envelope::parse(br#"{"eventType":"event.created","eventId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a3","name":"Fest","totalSeats":120,"timestamp":"2026-12-07T10:00:00.123456"}"#).unwrap();
        assert_eq!(
            event.payload.seats().count(),
            116,
            "TicketFlow's map holds at most 116"
        );
        assert!(event.message_id.is_none());

        let initiated: Envelope<BookingInitiated> = Envelope::parse(br#"{"bookingId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a1","userId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a2","userEmail":"a@b.c","eventId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a3","eventName":"Fest","seatIds":[],"totalAmount":99.99,"eventType":"booking.initiated","timestamp":"2026-12-07T10:00:00Z"}"#).unwrap();
        assert_eq!(initiated.payload.amount_cents(), 9_999);

        let processed: PaymentProcessed = serde_json::from_str(r#"{"bookingId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a1","paymentId":"unknown","status":"FAILED","reason":"boom"}"#).unwrap();
        assert_eq!(processed.payment_id, None);

        let requested: PaymentRequested = serde_json::from_str(r#"{"bookingId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a1","userId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a2","amount":250.5,"currency":"INR"}"#).unwrap();
        assert_eq!(requested.amount_cents(), 25_050);

        let cancelled: BookingClosed = serde_json::from_str(r#"{"bookingId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a1","userId":"6f1c1f0e-58a4-4a53-9d0e-2f7c44d190a2","seatIds":[]}"#).unwrap();
        assert!(cancelled.reason.is_empty());
    }

    /// What TicketFlow's consumers read is there under TicketFlow's names and types.
    #[test]
    fn stampede_payloads_have_ticketflows_fields() {
        let requested = PaymentRequested::new(Uuid::new_v4(), Uuid::new_v4(), 12_345);
        let json =
            serde_json::to_value(Envelope::new(topic::PAYMENT_REQUESTED, requested)).unwrap();
        assert_eq!(json["amount"], 123.45);
        assert_eq!(json["currency"], "INR");
        assert_eq!(json["eventType"], "payment.requested");
    }
}
