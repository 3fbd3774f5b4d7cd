//! The seat map of an event, as in the TicketFlow seed: VIP rows A-B x 10, FLOOR rows C-F x 15,
//! BALCONY rows G-I x 12 (116 seats). Larger events repeat the pattern as `VIP 2`, `FLOOR 2`, ...;
//! the last row is cut so the map holds exactly `total_seats`.
//!
//! In kit because event-service builds an event's map from it and inventory- and booking-service
//! rebuild the same map from a TicketFlow `event.created`, which carries only `totalSeats`.

use serde::{Deserialize, Serialize};

use crate::messages::{RowLayout, SectionLayout};

/// One section of the repeating pattern.
struct PatternSection {
    name: &'static str,
    rows: &'static [&'static str],
    seats_per_row: u32,
}

const PATTERN: [PatternSection; 3] = [
    PatternSection {
        name: "VIP",
        rows: &["A", "B"],
        seats_per_row: 10,
    },
    PatternSection {
        name: "FLOOR",
        rows: &["C", "D", "E", "F"],
        seats_per_row: 15,
    },
    PatternSection {
        name: "BALCONY",
        rows: &["G", "H", "I"],
        seats_per_row: 12,
    },
];

/// Seats in one repetition of the pattern.
pub const SEATS_PER_BLOCK: u32 = 116;

/// Price per section kind, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct Pricing {
    pub vip: i64,
    pub floor: i64,
    pub balcony: i64,
}

impl Pricing {
    /// The seed's ratios from one base price: VIP 2x, FLOOR 1.5x, BALCONY 1x.
    pub fn from_base(base_cents: i64) -> Self {
        Self {
            vip: base_cents * 2,
            floor: base_cents * 3 / 2,
            balcony: base_cents,
        }
    }

    fn for_section(&self, kind: &str) -> i64 {
        match kind {
            "VIP" => self.vip,
            "FLOOR" => self.floor,
            _ => self.balcony,
        }
    }
}

/// A complete seat map.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatLayout {
    pub sections: Vec<SectionLayout>,
}

impl SeatLayout {
    /// The layout of `total_seats` seats priced by `pricing`.
    pub fn build(total_seats: u32, pricing: &Pricing) -> Self {
        let mut remaining = total_seats;
        let mut sections = Vec::new();
        let mut block = 1;
        while remaining > 0 {
            for kind in &PATTERN {
                if remaining == 0 {
                    break;
                }
                let mut rows = Vec::new();
                for row in kind.rows {
                    if remaining == 0 {
                        break;
                    }
                    let seats = kind.seats_per_row.min(remaining);
                    remaining -= seats;
                    rows.push(RowLayout {
                        row: (*row).to_string(),
                        seats,
                    });
                }
                let name = if block == 1 {
                    kind.name.to_string()
                } else {
                    format!("{} {block}", kind.name)
                };
                sections.push(SectionLayout {
                    name,
                    price_cents: pricing.for_section(kind.name),
                    rows,
                });
            }
            block += 1;
        }
        Self { sections }
    }

    pub fn seat_count(&self) -> u32 {
        self.sections
            .iter()
            .flat_map(|s| &s.rows)
            .map(|r| r.seats)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing() -> Pricing {
        Pricing::from_base(5000)
    }

    #[test]
    fn one_block_is_the_seed_layout() {
        let layout = SeatLayout::build(SEATS_PER_BLOCK, &pricing());
        let names: Vec<_> = layout.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["VIP", "FLOOR", "BALCONY"]);
        assert_eq!(layout.sections[0].rows.len(), 2);
        assert_eq!(layout.sections[0].rows[0].seats, 10);
        assert_eq!(layout.sections[1].rows[3].row, "F");
        assert_eq!(layout.sections[1].rows[3].seats, 15);
        assert_eq!(layout.sections[0].price_cents, 10_000);
        assert_eq!(layout.seat_count(), 116);
    }

    #[test]
    fn large_events_repeat_the_pattern_and_cut_the_last_row() {
        let layout = SeatLayout::build(10_000, &pricing());
        assert_eq!(layout.seat_count(), 10_000);
        assert!(layout.sections.iter().any(|s| s.name == "VIP 2"));
        let last = layout.sections.last().unwrap();
        assert!(last.rows.last().unwrap().seats >= 1);
    }

    #[test]
    fn seat_numbers_are_unique_within_a_section() {
        let layout = SeatLayout::build(500, &pricing());
        let event = crate::messages::EventCreated {
            event_id: uuid::Uuid::nil(),
            name: "x".into(),
            venue_id: None,
            event_date: None,
            total_seats: 500,
            sections: layout.sections,
        };
        let mut seen = std::collections::HashSet::new();
        for seat in event.seats() {
            assert!(
                seen.insert((seat.section.clone(), seat.seat_number.clone())),
                "{seat:?}"
            );
        }
        assert_eq!(seen.len(), 500);
    }
}
