//! Invariant 2: inventory and bookings agree. Every RESERVED seat belongs to exactly one
//! CONFIRMED booking that lists it, and every CONFIRMED booking's seats are RESERVED for it.
//!
//! ```text
//!   RESERVED seat ─▶ holder (booking_id) ─▶ CONFIRMED? lists the seat? the only CONFIRMED lister?
//!   CONFIRMED booking ─▶ each listed seat ─▶ in the inventory? RESERVED? booking_id = the booking?
//! ```
//!
//! Each RESERVED seat is counted under the first check it fails, each CONFIRMED booking once.
//!
//! | key | |
//! |---|---|
//! | `reserved_without_holder` | anomaly: RESERVED seats naming no booking |
//! | `reserved_for_unconfirmed_booking` | anomaly: RESERVED seats whose holder is not CONFIRMED (or not a known booking) |
//! | `reserved_not_listed_by_holder` | anomaly: RESERVED seats whose CONFIRMED holder does not list them |
//! | `reserved_listed_by_several` | anomaly: RESERVED seats listed by more than one CONFIRMED booking |
//! | `confirmed_without_their_seats` | anomaly: CONFIRMED bookings with a seat that is missing, not RESERVED, or RESERVED for another booking |
//! | `reserved_seats` | RESERVED seats |
//! | `confirmed_bookings` | CONFIRMED bookings |

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::history::{refs, History};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingRow, BookingStatus, FinalState, SeatRow, SeatStatus};
use runfiles::history::OpFn;
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 2.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut findings = Findings::new(
        opts.max_examples,
        &[
            "reserved_without_holder",
            "reserved_for_unconfirmed_booking",
            "reserved_not_listed_by_holder",
            "reserved_listed_by_several",
            "confirmed_without_their_seats",
        ],
    );
    let books = history.by_booking(OpFn::Book);
    let bookings: HashMap<Uuid, &BookingRow> = state.bookings.iter().map(|b| (b.id, b)).collect();
    let seats: HashMap<Uuid, &SeatRow> = state.seats.iter().map(|s| (s.id, s)).collect();
    let confirmed: Vec<&BookingRow> = state
        .bookings
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .collect();
    let mut listers: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for booking in &confirmed {
        let listed: BTreeSet<Uuid> = booking.seat_ids.iter().copied().collect();
        for seat in listed {
            listers.entry(seat).or_default().push(booking.id);
        }
    }

    let mut reserved = 0;
    for seat in state
        .seats
        .iter()
        .filter(|s| s.status == SeatStatus::Reserved)
    {
        reserved += 1;
        let base = |message: String| Example::new(message).seats([seat.id]).event(seat.event_id);
        let Some(holder) = seat.booking_id else {
            findings.anomaly(
                "reserved_without_holder",
                base(format!("seat {} is RESERVED for no booking", seat.id)),
            );
            continue;
        };
        let with_holder =
            |message: String| base(message).bookings([holder]).ops(refs(&books, holder));
        match bookings.get(&holder) {
            None => findings.anomaly(
                "reserved_for_unconfirmed_booking",
                with_holder(format!(
                    "seat {} is RESERVED for booking {holder}, which does not exist",
                    seat.id
                )),
            ),
            Some(booking) if booking.status != BookingStatus::Confirmed => findings.anomaly(
                "reserved_for_unconfirmed_booking",
                with_holder(format!(
                    "seat {} is RESERVED for {} booking {holder}",
                    seat.id, booking.status
                )),
            ),
            Some(booking) if !booking.seat_ids.contains(&seat.id) => findings.anomaly(
                "reserved_not_listed_by_holder",
                with_holder(format!(
                    "seat {} is RESERVED for CONFIRMED booking {holder}, which does not list it",
                    seat.id
                )),
            ),
            Some(_) => {
                let others = listers.get(&seat.id).map_or(&[][..], Vec::as_slice);
                if others.len() > 1 {
                    let list: Vec<_> = others.iter().map(Uuid::to_string).collect();
                    findings.anomaly(
                        "reserved_listed_by_several",
                        base(format!(
                            "seat {} (RESERVED for {holder}) is listed by CONFIRMED bookings {}",
                            seat.id,
                            list.join(", ")
                        ))
                        .bookings(others.iter().copied())
                        .ops(others.iter().flat_map(|b| refs(&books, *b))),
                    );
                }
            }
        }
    }

    for booking in &confirmed {
        let mut wrong = Vec::new();
        let mut reasons = Vec::new();
        let listed: BTreeSet<Uuid> = booking.seat_ids.iter().copied().collect();
        for seat_id in listed {
            let reason = match seats.get(&seat_id) {
                None => Some(format!("seat {seat_id} is not in the inventory")),
                Some(seat) if seat.status != SeatStatus::Reserved => {
                    Some(format!("seat {seat_id} is {}", seat.status))
                }
                Some(seat) if seat.booking_id != Some(booking.id) => Some(format!(
                    "seat {seat_id} is RESERVED for {}",
                    seat.booking_id
                        .map_or_else(|| "no booking".to_string(), |b| format!("booking {b}"))
                )),
                Some(_) => None,
            };
            if let Some(reason) = reason {
                wrong.push(seat_id);
                reasons.push(reason);
            }
        }
        if !wrong.is_empty() {
            findings.anomaly(
                "confirmed_without_their_seats",
                Example::new(format!(
                    "CONFIRMED booking {}: {}",
                    booking.id,
                    reasons.join("; ")
                ))
                .bookings([booking.id])
                .seats(wrong)
                .event(booking.event_id)
                .ops(refs(&books, booking.id)),
            );
        }
    }

    findings.count("reserved_seats", reserved);
    findings.count("confirmed_bookings", confirmed.len());
    findings.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::SeatStatus::{Available, Locked, Reserved};
    use runfiles::verdict::Validity;
    use serde_json::json;

    fn run(history: &History, state: &FinalState) -> InvariantVerdict {
        check(history, state, &Opts::default())
    }

    fn anomalies(verdict: &InvariantVerdict) -> Vec<(&str, u64)> {
        verdict
            .counts
            .iter()
            .filter(|(k, &n)| {
                n > 0 && !matches!(k.as_str(), "reserved_seats" | "confirmed_bookings")
            })
            .map(|(k, &n)| (k.as_str(), n))
            .collect()
    }

    #[test]
    fn empty_state_is_valid() {
        let verdict = run(&History::default(), &FinalState::default());
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"reserved_without_holder": 0, "reserved_for_unconfirmed_booking": 0,
                              "reserved_not_listed_by_holder": 0, "reserved_listed_by_several": 0,
                              "confirmed_without_their_seats": 0, "reserved_seats": 0, "confirmed_bookings": 0}})
        );
    }

    #[test]
    fn agreeing_seats_and_bookings_are_valid() {
        let state = state(
            vec![booking(1, &[10, 11], Confirmed), booking(2, &[12], Failed)],
            vec![
                seat(10, Reserved, Some(1)),
                seat(11, Reserved, Some(1)),
                seat(12, Available, None),
            ],
        );
        let verdict = run(&History::default(), &state);
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        assert_eq!(verdict.counts["reserved_seats"], 2);
    }

    #[test]
    fn a_seat_reserved_for_a_failed_booking_disagrees() {
        let history = History::indexed(booked(3, 2, &[12], &[Failed]).to_vec());
        let state = state(
            vec![booking(2, &[12], Failed)],
            vec![seat(12, Reserved, Some(2))],
        );
        let verdict = run(&history, &state);
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": false,
                "counts": {"reserved_without_holder": 0, "reserved_for_unconfirmed_booking": 1,
                           "reserved_not_listed_by_holder": 0, "reserved_listed_by_several": 0,
                           "confirmed_without_their_seats": 0, "reserved_seats": 1, "confirmed_bookings": 0},
                "examples": [{
                    "anomaly": "reserved_for_unconfirmed_booking",
                    "message": format!("seat {} is RESERVED for FAILED booking {}", id(12), id(2)),
                    "bookingIds": [id(2)], "seatIds": [id(12)], "eventId": id(EVENT),
                    "ops": [{"index": 1, "process": 3, "type": "ok", "f": "book", "invokeIndex": 0}],
                }],
                "notes": [],
            })
        );
    }

    #[test]
    fn a_confirmed_booking_whose_seats_are_not_reserved_for_it_disagrees() {
        let state = state(
            vec![
                booking(1, &[10, 11, 13], Confirmed),
                booking(2, &[12], Confirmed),
            ],
            vec![
                seat(10, Available, None),
                seat(11, Locked, Some(1)),
                seat(12, Reserved, Some(2)),
                seat(13, Reserved, Some(1)),
            ],
        );
        let mut state = state;
        state.bookings[0].seat_ids.push(id(12));
        state.bookings[0].seat_ids.push(id(99));
        let verdict = run(&History::default(), &state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(
            anomalies(&verdict),
            [
                ("confirmed_without_their_seats", 1),
                ("reserved_listed_by_several", 1)
            ]
        );
        let example = verdict
            .examples
            .iter()
            .find(|e| e.anomaly == "confirmed_without_their_seats")
            .unwrap();
        assert_eq!(example.booking_ids, [id(1)]);
        assert_eq!(example.seat_ids, [id(10), id(11), id(12), id(99)]);
        assert_eq!(
            example.message,
            format!(
                "CONFIRMED booking {}: seat {} is AVAILABLE; seat {} is LOCKED; seat {} is RESERVED for booking {}; seat {} is not in the inventory",
                id(1), id(10), id(11), id(12), id(2), id(99)
            )
        );
    }

    #[test]
    fn reserved_seats_without_a_confirmed_lister_disagree() {
        let state = state(
            vec![booking(1, &[10], Confirmed)],
            vec![
                seat(10, Reserved, Some(1)),
                seat(11, Reserved, None),
                seat(12, Reserved, Some(1)),
                seat(13, Reserved, Some(7)),
            ],
        );
        let verdict = run(&History::default(), &state);
        assert_eq!(
            anomalies(&verdict),
            [
                ("reserved_for_unconfirmed_booking", 1),
                ("reserved_not_listed_by_holder", 1),
                ("reserved_without_holder", 1),
            ]
        );
        let seats: Vec<_> = verdict
            .examples
            .iter()
            .map(|e| (e.anomaly.as_str(), e.seat_ids[0]))
            .collect();
        assert_eq!(
            seats,
            [
                ("reserved_without_holder", id(11)),
                ("reserved_for_unconfirmed_booking", id(13)),
                ("reserved_not_listed_by_holder", id(12)),
            ]
        );
    }
}
