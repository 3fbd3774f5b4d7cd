//! Invariant 1: no seat is held by two CONFIRMED bookings, and no event sells more seats than it
//! has. Checked on the final state and on what clients saw.
//!
//! ```text
//!   final state   CONFIRMED bookings ─▶ seat → bookings listing it ─▶ >1 = double_booked_seats
//!                 per event: max(RESERVED seats, seats in CONFIRMED bookings) > capacity = oversold_events
//!   history       book ops whose client saw CONFIRMED, minus bookings cancelled (cancel op ok/info,
//!                 or CANCELLED at the end) ─▶ seat → bookings ─▶ >1 = client_double_bookings
//! ```
//!
//! Counts:
//!
//! | key | |
//! |---|---|
//! | `double_booked_seats` | anomaly: seats listed by two or more CONFIRMED bookings |
//! | `oversold_events` | anomaly: events selling more seats than their capacity |
//! | `client_double_bookings` | anomaly: seats two clients both saw CONFIRMED, neither cancelled |
//! | `confirmed_bookings` | CONFIRMED bookings in the final state |
//! | `events_without_capacity` | events with sold seats whose capacity is unknown (Unknown if > 0 and nothing else is wrong) |

use std::collections::{BTreeMap, BTreeSet, HashSet};

use uuid::Uuid;

use super::history::{refs, History, Operation};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingStatus, FinalState, SeatStatus};
use runfiles::history::{OpFn, OpType};
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 1.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut findings = Findings::new(
        opts.max_examples,
        &[
            "double_booked_seats",
            "oversold_events",
            "client_double_bookings",
        ],
    );
    let books = history.by_booking(OpFn::Book);
    let confirmed: Vec<_> = state
        .bookings
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .collect();
    findings.count("confirmed_bookings", confirmed.len());

    // Seats listed by several CONFIRMED bookings.
    let mut listed_by: BTreeMap<Uuid, (Uuid, Vec<Uuid>)> = BTreeMap::new();
    for booking in &confirmed {
        let seats: BTreeSet<Uuid> = booking.seat_ids.iter().copied().collect();
        for seat in seats {
            listed_by
                .entry(seat)
                .or_insert_with(|| (booking.event_id, Vec::new()))
                .1
                .push(booking.id);
        }
    }
    for (seat, (event, bookings)) in &listed_by {
        if bookings.len() > 1 {
            let list: Vec<_> = bookings.iter().map(Uuid::to_string).collect();
            findings.anomaly(
                "double_booked_seats",
                Example::new(format!(
                    "seat {seat} is listed by {} CONFIRMED bookings: {}",
                    bookings.len(),
                    list.join(", ")
                ))
                .seats([*seat])
                .bookings(bookings.iter().copied())
                .event(*event)
                .ops(bookings.iter().flat_map(|b| refs(&books, *b))),
            );
        }
    }

    // Sold seats against capacity, per event.
    let mut sold: BTreeMap<Uuid, (usize, usize)> = BTreeMap::new();
    for seat in &state.seats {
        if seat.status == SeatStatus::Reserved {
            sold.entry(seat.event_id).or_default().0 += 1;
        }
    }
    for booking in &confirmed {
        let seats: HashSet<&Uuid> = booking.seat_ids.iter().collect();
        sold.entry(booking.event_id).or_default().1 += seats.len();
    }
    let mut without_capacity = 0;
    for (event, &(reserved, in_bookings)) in &sold {
        let sold = reserved.max(in_bookings);
        match state.capacity.get(event) {
            Some(&capacity) if sold as u64 > capacity => findings.anomaly(
                "oversold_events",
                Example::new(format!(
                    "event {event} sold {sold} seats ({reserved} RESERVED, {in_bookings} in \
                     CONFIRMED bookings) but has {capacity}"
                ))
                .event(*event),
            ),
            Some(_) => {}
            None if sold > 0 => without_capacity += 1,
            None => {}
        }
    }
    findings.count("events_without_capacity", without_capacity);
    if without_capacity > 0 {
        findings.note(format!(
            "capacity unknown for {without_capacity} event(s) with sold seats: overselling not checked there"
        ));
    }

    // What clients saw: two bookings of one seat both observed CONFIRMED, neither cancelled.
    let mut cancelled: HashSet<Uuid> = history
        .operations_of(OpFn::Cancel)
        .filter(|c| matches!(c.outcome(), OpType::Ok | OpType::Info))
        .filter_map(|c| c.booking_id())
        .collect();
    cancelled.extend(
        state
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Cancelled)
            .map(|b| b.id),
    );
    let mut seen_confirmed: BTreeMap<Uuid, Vec<(Uuid, Operation<'_>)>> = BTreeMap::new();
    for operation in history.operations_of(OpFn::Book) {
        let Some(booking) = operation.booking_id() else {
            continue;
        };
        if !operation.observed_confirmed() || cancelled.contains(&booking) {
            continue;
        }
        let seats: BTreeSet<&Uuid> = operation.seat_ids().iter().collect();
        for seat in seats {
            let holders = seen_confirmed.entry(*seat).or_default();
            if !holders.iter().any(|(b, _)| *b == booking) {
                holders.push((booking, operation));
            }
        }
    }
    // Earliest first: ordered by the op that made the second client see its confirmation.
    let mut witnessed: Vec<_> = seen_confirmed
        .into_iter()
        .filter(|(_, holders)| holders.len() > 1)
        .collect();
    witnessed.sort_by_key(|(_, holders)| holders[1].1.op_ref().index);
    for (seat, holders) in witnessed {
        let list: Vec<_> = holders.iter().map(|(b, _)| b.to_string()).collect();
        let indexes: Vec<_> = holders
            .iter()
            .map(|(_, o)| o.op_ref().index.to_string())
            .collect();
        let mut example = Example::new(format!(
            "seat {seat}: clients saw bookings {} CONFIRMED (ops {}) and none was cancelled",
            list.join(", "),
            indexes.join(", ")
        ))
        .seats([seat])
        .bookings(holders.iter().map(|(b, _)| *b))
        .ops(holders.iter().map(|(_, o)| o.op_ref()));
        if let Some(event) = holders[0].1.event_id() {
            example = example.event(event);
        }
        findings.anomaly("client_double_bookings", example);
    }

    findings.finish(without_capacity > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::SeatStatus::{Available, Reserved};
    use runfiles::history::{invoke, ok, OpValue};
    use runfiles::verdict::Validity;
    use serde_json::json;

    fn run(history: &History, state: &FinalState) -> InvariantVerdict {
        check(history, state, &Opts::default())
    }

    #[test]
    fn empty_history_and_state_are_valid() {
        let verdict = run(&History::default(), &FinalState::default());
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"double_booked_seats": 0, "oversold_events": 0, "client_double_bookings": 0,
                              "confirmed_bookings": 0, "events_without_capacity": 0}})
        );
    }

    #[test]
    fn two_confirmed_bookings_sharing_a_seat_are_a_double_booking() {
        let history = History::indexed(
            [
                booked(1, 1, &[10], &[Pending, Confirmed]),
                booked(2, 2, &[10, 11], &[Confirmed]),
            ]
            .concat(),
        );
        let mut state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[10, 11], Confirmed),
            ],
            vec![seat(10, Reserved, Some(1)), seat(11, Reserved, Some(2))],
        );
        state.capacity.insert(id(EVENT), 2);
        let verdict = run(&history, &state);
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": false,
                "counts": {"double_booked_seats": 1, "oversold_events": 1, "client_double_bookings": 1,
                           "confirmed_bookings": 2, "events_without_capacity": 0},
                "examples": [
                    {"anomaly": "double_booked_seats",
                     "message": format!("seat {} is listed by 2 CONFIRMED bookings: {}, {}", id(10), id(1), id(2)),
                     "bookingIds": [id(1), id(2)], "seatIds": [id(10)], "eventId": id(EVENT),
                     "ops": [{"index": 1, "process": 1, "type": "ok", "f": "book", "invokeIndex": 0},
                             {"index": 3, "process": 2, "type": "ok", "f": "book", "invokeIndex": 2}]},
                    {"anomaly": "oversold_events",
                     "message": format!("event {} sold 3 seats (2 RESERVED, 3 in CONFIRMED bookings) but has 2", id(EVENT)),
                     "eventId": id(EVENT)},
                    {"anomaly": "client_double_bookings",
                     "message": format!("seat {}: clients saw bookings {}, {} CONFIRMED (ops 1, 3) and none was cancelled", id(10), id(1), id(2)),
                     "bookingIds": [id(1), id(2)], "seatIds": [id(10)], "eventId": id(EVENT),
                     "ops": [{"index": 1, "process": 1, "type": "ok", "f": "book", "invokeIndex": 0},
                             {"index": 3, "process": 2, "type": "ok", "f": "book", "invokeIndex": 2}]},
                ],
                "notes": [],
            })
        );
    }

    #[test]
    fn distinct_seats_within_capacity_are_valid() {
        let mut state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[11], Confirmed),
                booking(3, &[10], Failed),
            ],
            vec![
                seat(10, Reserved, Some(1)),
                seat(11, Reserved, Some(2)),
                seat(12, Available, None),
            ],
        );
        state.capacity.insert(id(EVENT), 3);
        let verdict = run(&History::default(), &state);
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        assert_eq!(verdict.counts["confirmed_bookings"], 2);
    }

    #[test]
    fn more_reserved_seats_than_capacity_is_overselling() {
        let mut state = state(
            vec![booking(1, &[10, 11], Confirmed)],
            vec![seat(10, Reserved, Some(1)), seat(11, Reserved, Some(1))],
        );
        state.capacity.insert(id(EVENT), 1);
        let verdict = run(&History::default(), &state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["oversold_events"], 1);
        assert_eq!(verdict.examples[0].event_id, Some(id(EVENT)));
    }

    #[test]
    fn unknown_capacity_with_sold_seats_is_unknown() {
        let state = state(
            vec![booking(1, &[10], Confirmed)],
            vec![seat(10, Reserved, Some(1))],
        );
        let verdict = run(&History::default(), &state);
        assert_eq!(verdict.valid, Validity::Unknown);
        assert_eq!(verdict.counts["events_without_capacity"], 1);
        assert_eq!(verdict.notes.len(), 1);
    }

    #[test]
    fn clients_seeing_two_confirmations_of_a_seat_is_a_double_booking_even_if_the_state_agrees() {
        // Booking 1 was later FAILED (not cancelled) and its seat re-sold to booking 2.
        let history = History::indexed(
            [
                booked(1, 1, &[10], &[Confirmed]),
                booked(2, 2, &[10], &[Confirmed]),
            ]
            .concat(),
        );
        let mut state = state(
            vec![booking(1, &[10], Failed), booking(2, &[10], Confirmed)],
            vec![seat(10, Reserved, Some(2))],
        );
        state.capacity.insert(id(EVENT), 1);
        let verdict = run(&history, &state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["client_double_bookings"], 1);
        assert_eq!(verdict.counts["double_booked_seats"], 0);
        assert_eq!(verdict.examples[0].booking_ids, vec![id(1), id(2)]);
        assert_eq!(verdict.examples[0].seat_ids, vec![id(10)]);
    }

    #[test]
    fn a_cancel_between_two_confirmations_is_not_a_double_booking() {
        let mut ops = booked(1, 1, &[10], &[Confirmed]).to_vec();
        ops.push(invoke(1, OpFn::Cancel, OpValue::cancel(id(USER), id(1))));
        ops.push(ok(1, OpFn::Cancel, OpValue::cancel(id(USER), id(1))));
        ops.extend(booked(2, 2, &[10], &[Confirmed]));
        let mut state = state(
            vec![booking(1, &[10], Cancelled), booking(2, &[10], Confirmed)],
            vec![seat(10, Reserved, Some(2))],
        );
        state.capacity.insert(id(EVENT), 1);
        let verdict = run(&History::indexed(ops), &state);
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
    }
}
