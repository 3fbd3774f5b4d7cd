//! Invariant 6: every CONFIRMED booking has exactly one CONFIRMED notification, and nobody is
//! told "confirmed" about a booking that never was (a FAILED, EXPIRED or PENDING one, or none;
//! CANCELLED is fine: it was confirmed before). Notifications not observed
//! (`FinalState::notifications` = None): Unknown.
//!
//! | key | |
//! |---|---|
//! | `confirmed_without_notification` | anomaly: CONFIRMED bookings with no CONFIRMED notification |
//! | `confirmed_with_several_notifications` | anomaly: CONFIRMED bookings with more than one |
//! | `confirmation_for_unconfirmed_booking` | anomaly: bookings not CONFIRMED or CANCELLED (or unknown) that got a CONFIRMED notification |
//! | `confirmed_bookings` | CONFIRMED bookings |
//! | `confirmation_notifications` | CONFIRMED notifications (when observed) |

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::history::{refs, History};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingRow, BookingStatus, FinalState, NotificationKind};
use runfiles::history::OpFn;
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 6.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let confirmed: Vec<&BookingRow> = state
        .bookings
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .collect();
    let Some(notifications) = &state.notifications else {
        let mut findings = Findings::new(opts.max_examples, &[]);
        findings.count("confirmed_bookings", confirmed.len());
        findings.note("notifications were not observed");
        return findings.finish(true);
    };
    let mut findings = Findings::new(
        opts.max_examples,
        &[
            "confirmed_without_notification",
            "confirmed_with_several_notifications",
            "confirmation_for_unconfirmed_booking",
        ],
    );
    let books = history.by_booking(OpFn::Book);
    let mut told: BTreeMap<Uuid, usize> = BTreeMap::new();
    for notification in notifications {
        if let (NotificationKind::Confirmed, Some(booking)) =
            (&notification.kind, notification.booking_id)
        {
            *told.entry(booking).or_default() += 1;
        }
    }
    for booking in &confirmed {
        let n = told.get(&booking.id).copied().unwrap_or(0);
        let key = match n {
            1 => continue,
            0 => "confirmed_without_notification",
            _ => "confirmed_with_several_notifications",
        };
        findings.anomaly(
            key,
            Example::new(format!(
                "CONFIRMED booking {} has {n} CONFIRMED notifications",
                booking.id
            ))
            .bookings([booking.id])
            .event(booking.event_id)
            .ops(refs(&books, booking.id)),
        );
    }
    let bookings: HashMap<Uuid, &BookingRow> = state.bookings.iter().map(|b| (b.id, b)).collect();
    for (&id, &n) in &told {
        let booking = bookings.get(&id);
        let status = booking.map(|b| &b.status);
        if matches!(
            status,
            Some(BookingStatus::Confirmed | BookingStatus::Cancelled)
        ) {
            continue;
        }
        let what = status.map_or_else(
            || format!("booking {id}, which does not exist"),
            |s| format!("{s} booking {id}"),
        );
        let mut example = Example::new(format!("{n} CONFIRMED notification(s) for {what}"))
            .bookings([id])
            .ops(refs(&books, id));
        if let Some(booking) = booking {
            example = example.event(booking.event_id);
        }
        findings.anomaly("confirmation_for_unconfirmed_booking", example);
    }
    findings.count("confirmed_bookings", confirmed.len());
    findings.count("confirmation_notifications", told.values().sum());
    findings.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::NotificationKind as Kind;
    use runfiles::final_state::NotificationRow;
    use runfiles::verdict::Validity;
    use serde_json::json;

    fn run(state: &FinalState) -> InvariantVerdict {
        check(&History::default(), state, &Opts::default())
    }

    fn told(booking: u128, kind: Kind) -> NotificationRow {
        NotificationRow::new(id(booking), kind)
    }

    #[test]
    fn empty_state_is_valid() {
        assert_eq!(
            serde_json::to_value(run(&state(vec![], vec![]))).unwrap(),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"confirmed_without_notification": 0, "confirmed_with_several_notifications": 0,
                              "confirmation_for_unconfirmed_booking": 0, "confirmed_bookings": 0,
                              "confirmation_notifications": 0}})
        );
    }

    #[test]
    fn one_confirmation_per_confirmed_booking_is_valid() {
        let mut state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[11], Cancelled),
                booking(3, &[12], Failed),
            ],
            vec![],
        );
        state.notifications = Some(vec![
            told(1, Kind::Confirmed),
            told(2, Kind::Confirmed),
            told(2, Kind::Cancelled),
            told(3, Kind::Failed),
            NotificationRow {
                booking_id: None,
                kind: Kind::Welcome,
            },
        ]);
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        assert_eq!(verdict.counts["confirmation_notifications"], 2);
    }

    #[test]
    fn a_confirmed_booking_without_a_confirmation_is_invalid() {
        let history = History::indexed(booked(3, 1, &[10], &[Confirmed]).to_vec());
        let mut state = state(vec![booking(1, &[10], Confirmed)], vec![]);
        state.notifications = Some(vec![told(1, Kind::Cancelled)]);
        let verdict = check(&history, &state, &Opts::default());
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": false,
                "counts": {"confirmed_without_notification": 1, "confirmed_with_several_notifications": 0,
                           "confirmation_for_unconfirmed_booking": 0, "confirmed_bookings": 1,
                           "confirmation_notifications": 0},
                "examples": [{
                    "anomaly": "confirmed_without_notification",
                    "message": format!("CONFIRMED booking {} has 0 CONFIRMED notifications", id(1)),
                    "bookingIds": [id(1)], "eventId": id(EVENT),
                    "ops": [{"index": 1, "process": 3, "type": "ok", "f": "book", "invokeIndex": 0}],
                }],
                "notes": [],
            })
        );
    }

    #[test]
    fn a_confirmed_booking_with_two_confirmations_is_invalid() {
        let mut state = state(vec![booking(1, &[10], Confirmed)], vec![]);
        state.notifications = Some(vec![told(1, Kind::Confirmed), told(1, Kind::Confirmed)]);
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["confirmed_with_several_notifications"], 1);
        assert_eq!(
            verdict.examples[0].message,
            format!("CONFIRMED booking {} has 2 CONFIRMED notifications", id(1))
        );
    }

    #[test]
    fn a_confirmation_for_a_failed_booking_is_invalid() {
        let mut state = state(vec![booking(1, &[10], Failed)], vec![]);
        state.notifications = Some(vec![told(1, Kind::Confirmed)]);
        let verdict = run(&state);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["confirmation_for_unconfirmed_booking"], 1);
        assert_eq!(
            verdict.examples[0].message,
            format!("1 CONFIRMED notification(s) for FAILED booking {}", id(1))
        );
    }

    #[test]
    fn unobserved_notifications_are_unknown() {
        let mut state = state(vec![booking(1, &[10], Confirmed)], vec![]);
        state.notifications = None;
        assert_eq!(
            serde_json::to_value(run(&state)).unwrap(),
            json!({"valid": "unknown", "examples": [], "counts": {"confirmed_bookings": 1},
                   "notes": ["notifications were not observed"]})
        );
    }
}
