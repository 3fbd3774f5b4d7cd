//! Invariant 4: the saga compensates. FAILED, EXPIRED and CANCELLED bookings hold no seats and
//! no money, and every CONFIRMED booking was paid exactly once.
//!
//! ```text
//!   seats     LOCKED/RESERVED seat whose holder is FAILED/EXPIRED/CANCELLED ─▶ seats_held_by_closed_bookings
//!   payments  CAPTURED for a booking that is not CONFIRMED (or does not exist) ─▶ captured_not_confirmed
//!             CONFIRMED booking with 0 / >1 CAPTURED payments ─▶ confirmed_without_capture / _with_several_captures
//! ```
//!
//! Payments not observed (`FinalState::payments` = None): the payment keys are absent and the
//! answer is Unknown unless the seat part already found a violation.
//!
//! | key | |
//! |---|---|
//! | `seats_held_by_closed_bookings` | anomaly: LOCKED or RESERVED seats held by a FAILED, EXPIRED or CANCELLED booking |
//! | `captured_not_confirmed` | anomaly (payments observed): CAPTURED payments for a booking that is not CONFIRMED or unknown: money not refunded |
//! | `confirmed_without_capture` | anomaly (payments observed): CONFIRMED bookings with no CAPTURED payment |
//! | `confirmed_with_several_captures` | anomaly (payments observed): CONFIRMED bookings with more than one CAPTURED payment |
//! | `closed_bookings` | FAILED, EXPIRED and CANCELLED bookings |
//! | `payments`, `captured`, `refunded` | payments observed, of them CAPTURED, REFUNDED (payments observed) |

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::history::{refs, History};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingRow, BookingStatus, FinalState, PaymentStatus};
use runfiles::history::OpFn;
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 4.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut keys = vec!["seats_held_by_closed_bookings"];
    if state.payments.is_some() {
        keys.extend([
            "captured_not_confirmed",
            "confirmed_without_capture",
            "confirmed_with_several_captures",
        ]);
    }
    let mut findings = Findings::new(opts.max_examples, &keys);
    let books = history.by_booking(OpFn::Book);
    let bookings: HashMap<Uuid, &BookingRow> = state.bookings.iter().map(|b| (b.id, b)).collect();

    for seat in state.seats.iter().filter(|s| s.status.is_held()) {
        let Some(booking) = seat.booking_id.and_then(|b| bookings.get(&b)) else {
            continue;
        };
        if booking.status.is_closed() {
            findings.anomaly(
                "seats_held_by_closed_bookings",
                Example::new(format!(
                    "seat {} is {} for {} booking {}",
                    seat.id, seat.status, booking.status, booking.id
                ))
                .seats([seat.id])
                .bookings([booking.id])
                .event(seat.event_id)
                .ops(refs(&books, booking.id)),
            );
        }
    }
    findings.count(
        "closed_bookings",
        state
            .bookings
            .iter()
            .filter(|b| b.status.is_closed())
            .count(),
    );

    let Some(payments) = &state.payments else {
        findings.note("payments were not observed: refunds and captures not checked");
        return findings.finish(true);
    };
    let mut captured: BTreeMap<Uuid, usize> = BTreeMap::new();
    for payment in payments {
        if payment.status != PaymentStatus::Captured {
            continue;
        }
        *captured.entry(payment.booking_id).or_default() += 1;
        let booking = bookings.get(&payment.booking_id);
        if booking.is_some_and(|b| b.status == BookingStatus::Confirmed) {
            continue;
        }
        let whose = booking.map_or_else(
            || format!("booking {}, which does not exist", payment.booking_id),
            |b| format!("{} booking {}", b.status, b.id),
        );
        let mut example = Example::new(format!(
            "{} cents CAPTURED for {whose}, not refunded",
            payment.amount_cents
        ))
        .bookings([payment.booking_id])
        .ops(refs(&books, payment.booking_id));
        if let Some(booking) = booking {
            example = example.event(booking.event_id);
        }
        findings.anomaly("captured_not_confirmed", example);
    }
    for booking in state
        .bookings
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
    {
        let n = captured.get(&booking.id).copied().unwrap_or(0);
        let key = match n {
            1 => continue,
            0 => "confirmed_without_capture",
            _ => "confirmed_with_several_captures",
        };
        findings.anomaly(
            key,
            Example::new(format!(
                "CONFIRMED booking {} has {n} CAPTURED payments",
                booking.id
            ))
            .bookings([booking.id])
            .event(booking.event_id)
            .ops(refs(&books, booking.id)),
        );
    }
    findings.count("payments", payments.len());
    findings.count("captured", captured.values().sum());
    findings.count(
        "refunded",
        payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Refunded)
            .count(),
    );
    findings.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::PaymentStatus::{Captured, Failed as Declined, Refunded, Voided};
    use crate::SeatStatus::{Available, Locked, Reserved};
    use runfiles::final_state::PaymentRow;
    use runfiles::verdict::Validity;
    use serde_json::json;

    fn run(state: &FinalState) -> InvariantVerdict {
        check(&History::default(), state, &Opts::default())
    }

    fn paid(id_: u128, status: PaymentStatus) -> PaymentRow {
        PaymentRow::new(id(id_), status, 5000)
    }

    #[test]
    fn empty_state_is_compensated() {
        assert_eq!(
            serde_json::to_value(run(&state(vec![], vec![]))).unwrap(),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"seats_held_by_closed_bookings": 0, "captured_not_confirmed": 0,
                              "confirmed_without_capture": 0, "confirmed_with_several_captures": 0,
                              "closed_bookings": 0, "payments": 0, "captured": 0, "refunded": 0}})
        );
    }

    #[test]
    fn refunded_voided_and_declined_closed_bookings_are_compensated() {
        let mut state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[11], Cancelled),
                booking(3, &[11], Expired),
                booking(4, &[11], Failed),
            ],
            vec![seat(10, Reserved, Some(1)), seat(11, Available, None)],
        );
        state.payments = Some(vec![
            paid(1, Captured),
            paid(2, Refunded),
            paid(3, Voided),
            paid(4, Declined),
        ]);
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        assert_eq!(verdict.counts["closed_bookings"], 3);
        assert_eq!(verdict.counts["refunded"], 1);
    }

    #[test]
    fn a_seat_held_by_a_closed_booking_is_not_compensated() {
        let state = state(
            vec![booking(1, &[10], Failed), booking(2, &[11], Expired)],
            vec![seat(10, Reserved, Some(1)), seat(11, Locked, Some(2))],
        );
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["seats_held_by_closed_bookings"], 2);
        assert_eq!(
            serde_json::to_value(&verdict.examples[0]).unwrap(),
            json!({"anomaly": "seats_held_by_closed_bookings",
                   "message": format!("seat {} is RESERVED for FAILED booking {}", id(10), id(1)),
                   "bookingIds": [id(1)], "seatIds": [id(10)], "eventId": id(EVENT)})
        );
        assert_eq!(verdict.examples[1].seat_ids, [id(11)]);
    }

    #[test]
    fn money_captured_for_a_failed_booking_is_not_refunded() {
        let mut state = state(
            vec![booking(1, &[10], Failed)],
            vec![seat(10, Available, None)],
        );
        state.payments = Some(vec![paid(1, Captured), paid(9, Captured)]);
        let verdict = run(&state);
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": false,
                "counts": {"seats_held_by_closed_bookings": 0, "captured_not_confirmed": 2,
                           "confirmed_without_capture": 0, "confirmed_with_several_captures": 0,
                           "closed_bookings": 1, "payments": 2, "captured": 2, "refunded": 0},
                "examples": [
                    {"anomaly": "captured_not_confirmed",
                     "message": format!("5000 cents CAPTURED for FAILED booking {}, not refunded", id(1)),
                     "bookingIds": [id(1)], "eventId": id(EVENT)},
                    {"anomaly": "captured_not_confirmed",
                     "message": format!("5000 cents CAPTURED for booking {}, which does not exist, not refunded", id(9)),
                     "bookingIds": [id(9)]},
                ],
                "notes": [],
            })
        );
    }

    #[test]
    fn a_confirmed_booking_must_be_captured_exactly_once() {
        let mut state = state(
            vec![booking(1, &[10], Confirmed), booking(2, &[11], Confirmed)],
            vec![seat(10, Reserved, Some(1)), seat(11, Reserved, Some(2))],
        );
        state.payments = Some(vec![
            paid(2, Captured),
            paid(2, Captured),
            paid(1, Refunded),
        ]);
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["confirmed_without_capture"], 1);
        assert_eq!(verdict.counts["confirmed_with_several_captures"], 1);
        let found: Vec<_> = verdict
            .examples
            .iter()
            .map(|e| (e.anomaly.as_str(), e.booking_ids[0]))
            .collect();
        assert_eq!(
            found,
            [
                ("confirmed_without_capture", id(1)),
                ("confirmed_with_several_captures", id(2))
            ]
        );
    }

    #[test]
    fn unobserved_payments_are_unknown_unless_seats_already_decide() {
        let mut state = state(
            vec![booking(1, &[10], Confirmed)],
            vec![seat(10, Reserved, Some(1))],
        );
        state.payments = None;
        let verdict = run(&state);
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"valid": "unknown", "examples": [],
                   "counts": {"seats_held_by_closed_bookings": 0, "closed_bookings": 0},
                   "notes": ["payments were not observed: refunds and captures not checked"]})
        );

        state.bookings[0].status = Cancelled;
        assert_eq!(run(&state).valid, Validity::False);
    }
}
