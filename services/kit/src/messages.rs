//! Domain payloads of the saga's topics, shared by producers and consumers so a field renamed in
//! one place is renamed everywhere. Each is flattened into a [`crate::kafka::Envelope`].
//!
//! The envelope's `eventId` is the message id (dedupe key), so the ticketed event a message is
//! about travels as `ticketEventId`: two `eventId` keys in one JSON object would make the payload
//! unreadable (serde keeps one of them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `ticketflow.user.registered`, key = userId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
}

/// `ticketflow.event.created`, key = eventId: everything inventory needs to build the seat map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventCreated {
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub name: String,
    pub venue_id: Uuid,
    pub event_date: DateTime<Utc>,
    pub total_seats: u32,
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
    #[serde(rename = "ticketEventId")]
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
    /// Every seat of the layout, in section/row/number order.
    pub fn seats(&self) -> impl Iterator<Item = SeatSpec> + '_ {
        self.sections.iter().flat_map(|section| {
            section.rows.iter().flat_map(move |row| {
                (1..=row.seats).map(move |n| SeatSpec {
                    section: section.name.clone(),
                    row: row.row.clone(),
                    seat_number: format!("{}{n}", row.row),
                    price_cents: section.price_cents,
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

/// `ticketflow.booking.initiated`, key = bookingId: a booking waits for its seats.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingInitiated {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub seat_ids: Vec<Uuid>,
    pub amount_cents: i64,
}

/// `ticketflow.seats.locked`, key = bookingId: every seat is locked for the booking until
/// `locked_until`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatsLocked {
    pub booking_id: Uuid,
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub seat_ids: Vec<Uuid>,
    pub locked_until: DateTime<Utc>,
}

/// [`SeatsLockFailed::reason`] of a CONFIRMED booking whose seats another booking holds by the
/// time its seats.confirm arrives (its lock was swept, then the seat was taken): booking-service
/// fails it, which refunds the payment and frees the seats it did keep.
pub const SEATS_LOST: &str = "SEATS_LOST";

/// `ticketflow.seats.lock-failed`, key = bookingId: no seat is locked for the booking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatsLockFailed {
    pub booking_id: Uuid,
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub seat_ids: Vec<Uuid>,
    /// `SEATS_TAKEN`, `UNKNOWN_SEATS`, ..., or [`SEATS_LOST`] when a CONFIRMED booking's
    /// seats.confirm found some of its seats held by another booking.
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
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub seat_ids: Vec<Uuid>,
    /// Why (for release): `PAYMENT_FAILED`, `EXPIRED`, `CANCELLED`, ...
    #[serde(default)]
    pub reason: Option<String>,
}

/// `ticketflow.payment.requested`, key = bookingId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequested {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    pub amount_cents: i64,
}

/// `ticketflow.payment.processed`, key = bookingId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentProcessed {
    pub booking_id: Uuid,
    pub payment_id: Uuid,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    pub amount_cents: i64,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `ticketflow.booking.confirmed`, key = bookingId.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingConfirmed {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub event_name: String,
    pub seat_ids: Vec<Uuid>,
    pub amount_cents: i64,
}

/// `ticketflow.booking.failed` (reason `LOCK_FAILED`, `PAYMENT_FAILED`, `EXPIRED`) and
/// `ticketflow.booking.cancelled` (reason `CANCELLED`), key = bookingId. Payment-service refunds
/// a captured payment on either; notification-service tells the user once.
// Not merged with `BookingConfirmed` though the fields overlap: each topic's schema is its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingClosed {
    pub booking_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "ticketEventId")]
    pub event_id: Uuid,
    pub event_name: String,
    pub seat_ids: Vec<Uuid>,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{topic, Envelope};

    #[test]
    fn envelope_and_payload_ids_do_not_collide() {
        let payload = SeatsCommand {
            booking_id: Uuid::new_v4(),
            event_id: Uuid::new_v4(),
            seat_ids: vec![Uuid::new_v4()],
            reason: None,
        };
        let envelope = Envelope::new(topic::SEATS_RELEASE, payload.clone());
        let text = serde_json::to_string(&envelope).unwrap();
        assert_eq!(text.matches("\"eventId\"").count(), 1, "{text}");
        let back: Envelope<SeatsCommand> = Envelope::parse(text.as_bytes()).unwrap();
        assert_eq!(back.payload, payload);
        assert_eq!(back.event_id, envelope.event_id);
    }
}
