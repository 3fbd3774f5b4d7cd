//! Domain payloads of the saga's topics, shared by producers and consumers so a field renamed in
//! one place is renamed everywhere. Each is flattened into a [`crate::kafka::Envelope`].

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
    pub event_id: Uuid,
    pub name: String,
    pub venue_id: Uuid,
    pub event_date: DateTime<Utc>,
    pub total_seats: u32,
    pub sections: Vec<SectionLayout>,
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
