//! Invariant 3: after quiesce nothing is stuck. No booking stays PENDING (the saga finished or
//! timed out) and no seat stays LOCKED (locks were confirmed, released or swept).
//!
//! | key | |
//! |---|---|
//! | `pending_bookings` | anomaly: bookings still PENDING |
//! | `locked_seats` | anomaly: seats still LOCKED |
//! | `bookings` | bookings in the final state |
//! | `seats` | seats in the final state |

use super::history::{refs, History};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingStatus, FinalState, SeatStatus};
use runfiles::history::OpFn;
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 3.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut findings = Findings::new(opts.max_examples, &["pending_bookings", "locked_seats"]);
    let books = history.by_booking(OpFn::Book);
    for booking in state
        .bookings
        .iter()
        .filter(|b| b.status == BookingStatus::Pending)
    {
        findings.anomaly(
            "pending_bookings",
            Example::new(format!("booking {} is still PENDING", booking.id))
                .bookings([booking.id])
                .seats(booking.seat_ids.iter().copied())
                .event(booking.event_id)
                .ops(refs(&books, booking.id)),
        );
    }
    for seat in state
        .seats
        .iter()
        .filter(|s| s.status == SeatStatus::Locked)
    {
        let holder = seat
            .booking_id
            .map_or_else(|| "no booking".to_string(), |b| format!("booking {b}"));
        findings.anomaly(
            "locked_seats",
            Example::new(format!("seat {} is still LOCKED by {holder}", seat.id))
                .seats([seat.id])
                .bookings(seat.booking_id)
                .event(seat.event_id)
                .ops(seat.booking_id.into_iter().flat_map(|b| refs(&books, b))),
        );
    }
    findings.count("bookings", state.bookings.len());
    findings.count("seats", state.seats.len());
    findings.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::SeatStatus::{Available, Locked, Reserved};
    use serde_json::json;

    fn run(history: &History, state: &FinalState) -> serde_json::Value {
        serde_json::to_value(check(history, state, &Opts::default())).unwrap()
    }

    #[test]
    fn empty_state_is_live() {
        assert_eq!(
            run(&History::default(), &FinalState::default()),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"pending_bookings": 0, "locked_seats": 0, "bookings": 0, "seats": 0}})
        );
    }

    #[test]
    fn settled_bookings_and_seats_are_live() {
        let state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[11], Expired),
                booking(3, &[11], Cancelled),
            ],
            vec![seat(10, Reserved, Some(1)), seat(11, Available, None)],
        );
        assert_eq!(run(&History::default(), &state)["valid"], json!(true));
    }

    #[test]
    fn a_pending_booking_left_behind_is_not_live() {
        let history = History::indexed(booked(4, 1, &[10], &[Pending]).to_vec());
        let state = state(
            vec![booking(1, &[10], Pending)],
            vec![seat(10, Available, None)],
        );
        assert_eq!(
            run(&history, &state),
            json!({
                "valid": false,
                "counts": {"pending_bookings": 1, "locked_seats": 0, "bookings": 1, "seats": 1},
                "examples": [{
                    "anomaly": "pending_bookings",
                    "message": format!("booking {} is still PENDING", id(1)),
                    "bookingIds": [id(1)], "seatIds": [id(10)], "eventId": id(EVENT),
                    "ops": [{"index": 1, "process": 4, "type": "ok", "f": "book", "invokeIndex": 0}],
                }],
                "notes": [],
            })
        );
    }

    #[test]
    fn a_locked_seat_left_behind_is_not_live() {
        let state = state(
            vec![booking(1, &[10], Failed)],
            vec![seat(10, Locked, Some(1))],
        );
        assert_eq!(
            run(&History::default(), &state),
            json!({
                "valid": false,
                "counts": {"pending_bookings": 0, "locked_seats": 1, "bookings": 1, "seats": 1},
                "examples": [{
                    "anomaly": "locked_seats",
                    "message": format!("seat {} is still LOCKED by booking {}", id(10), id(1)),
                    "bookingIds": [id(1)], "seatIds": [id(10)], "eventId": id(EVENT),
                }],
                "notes": [],
            })
        );
    }
}
