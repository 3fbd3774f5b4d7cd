//! Invariant 5: what clients were told holds. Every booking acknowledged (202) exists; every
//! booking a client saw CONFIRMED is still CONFIRMED unless the client cancelled it; what a
//! client saw close (FAILED, EXPIRED, CANCELLED) stays closed; an accepted cancel took effect.
//! Jepsen's set semantics: invoked = may exist, ok = must exist, fail = must not.
//!
//! ```text
//!   book ok   ─ id in final state? ─ no ─▶ lost                  (lost = acknowledged − seen)
//!   book info ─ id in final state? ─ yes ▶ recovered
//!   book info without id ─ a final booking nobody names, same user/event/seats ─▶ recovered
//!   final booking named by no op and matching no info op ─▶ unexpected (history complete only)
//!   client saw CONFIRMED, final ≠ CONFIRMED, no ok/info cancel ─▶ confirmed_not_kept
//!   client saw FAILED/EXPIRED/CANCELLED, then or finally something else ─▶ closed_reopened
//!   cancel ok, final ≠ CANCELLED ─▶ lost_cancels
//! ```
//!
//! | key | |
//! |---|---|
//! | `lost` | anomaly: book ops acknowledged (ok) whose booking is not in the final state |
//! | `unexpected` | anomaly, only when `Opts::history_complete` (absent otherwise): final bookings no op accounts for |
//! | `confirmed_not_kept` | anomaly: bookings a client saw CONFIRMED that are not CONFIRMED now, without an ok or info cancel |
//! | `closed_reopened` | anomaly: bookings a client saw FAILED, EXPIRED or CANCELLED that later showed or ended in another status |
//! | `lost_cancels` | anomaly: cancels acknowledged (ok) whose booking is not CANCELLED (or missing) |
//! | `attempted` | book operations |
//! | `acknowledged` | of them ok |
//! | `rejected` | of them fail |
//! | `indeterminate` | of them info or never completed |
//! | `acknowledged_without_id` | ok book ops without bookingId: cannot be checked (Unknown if > 0 and nothing else is wrong) |
//! | `recovered` | info book ops whose booking exists (by id, or matched by user, event and seats) |
//! | `duplicated` | unexpected bookings with the user, event and seats of a book op that already has its booking: one request, two bookings (only when history complete) |
//! | `unattributed` | final bookings no op accounts for, when the history is not complete (not judged) |

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use uuid::Uuid;

use super::history::{refs, History, Operation};
use super::Opts;
use crate::verdict::Findings;
use runfiles::final_state::{BookingRow, BookingStatus, FinalState};
use runfiles::history::{OpFn, OpType};
use runfiles::verdict::{Example, InvariantVerdict};

/// What identifies a booking request besides its id.
type RequestKey = (Uuid, Uuid, BTreeSet<Uuid>);

fn request_key(user: Option<Uuid>, event: Option<Uuid>, seats: &[Uuid]) -> Option<RequestKey> {
    Some((user?, event?, seats.iter().copied().collect()))
}

/// Checks invariant 5.
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut keys = vec![
        "lost",
        "confirmed_not_kept",
        "closed_reopened",
        "lost_cancels",
    ];
    if opts.history_complete {
        keys.push("unexpected");
    }
    let mut findings = Findings::new(opts.max_examples, &keys);
    let bookings: HashMap<Uuid, &BookingRow> = state.bookings.iter().map(|b| (b.id, b)).collect();
    let cancels = history.by_booking(OpFn::Cancel);
    let books: Vec<Operation<'_>> = history.operations_of(OpFn::Book).collect();
    let named: HashSet<Uuid> = books
        .iter()
        .filter_map(Operation::booking_id)
        .chain(cancels.keys().copied())
        .collect();

    let (mut acknowledged, mut rejected, mut indeterminate) = (0, 0, 0);
    let (mut without_id, mut recovered) = (0, 0);
    // Info ops that name no booking, by request, waiting to be matched to a final booking.
    let mut unmatched_info: HashMap<RequestKey, VecDeque<Operation<'_>>> = HashMap::new();
    for operation in &books {
        let id = operation.booking_id();
        let final_booking = id.and_then(|id| bookings.get(&id));
        match operation.outcome() {
            OpType::Ok => {
                acknowledged += 1;
                match id {
                    None => without_id += 1,
                    Some(id) if final_booking.is_none() => findings.anomaly(
                        "lost",
                        Example::new(format!(
                            "booking {id} was acknowledged (op {}) but is not in the final state",
                            operation.op_ref().index
                        ))
                        .bookings([id])
                        .seats(operation.seat_ids().iter().copied())
                        .ops([operation.op_ref()]),
                    ),
                    Some(_) => {}
                }
            }
            OpType::Fail => rejected += 1,
            OpType::Info | OpType::Invoke => {
                indeterminate += 1;
                if final_booking.is_some() {
                    recovered += 1;
                } else if id.is_none() {
                    let key =
                        request_key(operation.user(), operation.event_id(), operation.seat_ids());
                    if let Some(key) = key {
                        unmatched_info.entry(key).or_default().push_back(*operation);
                    }
                }
            }
        }
        if let (Some(id), Some(booking)) = (id, final_booking) {
            check_statuses(&mut findings, operation, id, booking, &cancels);
        }
    }

    for operation in history.operations_of(OpFn::Cancel) {
        if operation.outcome() != OpType::Ok {
            continue;
        }
        let Some(id) = operation.booking_id() else {
            continue;
        };
        let now = bookings.get(&id).map(|b| &b.status);
        if now == Some(&BookingStatus::Cancelled) {
            continue;
        }
        let now = now.map_or_else(|| "not in the final state".to_string(), |s| format!("{s}"));
        findings.anomaly(
            "lost_cancels",
            Example::new(format!(
                "cancel of booking {id} was accepted (op {}) but the booking is {now}",
                operation.op_ref().index
            ))
            .bookings([id])
            .ops([operation.op_ref()]),
        );
    }

    // Final bookings no op names: an info op of the same request explains one; the rest are
    // unexpected (history complete) or unattributed.
    let requests: HashMap<RequestKey, Vec<Operation<'_>>> = books
        .iter()
        .filter_map(|o| Some((request_key(o.user(), o.event_id(), o.seat_ids())?, *o)))
        .fold(HashMap::new(), |mut map, (key, o)| {
            map.entry(key).or_insert_with(Vec::new).push(o);
            map
        });
    let (mut duplicated, mut unattributed) = (0, 0);
    let mut strangers: Vec<&BookingRow> = state
        .bookings
        .iter()
        .filter(|b| !named.contains(&b.id))
        .collect();
    strangers.sort_by_key(|b| b.id);
    for booking in strangers {
        let key: RequestKey = (
            booking.user_id,
            booking.event_id,
            booking.seat_ids.iter().copied().collect(),
        );
        if unmatched_info
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
            .is_some()
        {
            recovered += 1;
            continue;
        }
        if !opts.history_complete {
            unattributed += 1;
            continue;
        }
        let same_request = requests.get(&key).map_or(&[][..], Vec::as_slice);
        let mut message = format!(
            "booking {} ({}) is in the final state but no op accounts for it",
            booking.id, booking.status
        );
        if !same_request.is_empty() {
            duplicated += 1;
            let indexes: Vec<_> = same_request
                .iter()
                .map(|o| o.op_ref().index.to_string())
                .collect();
            message.push_str(&format!(
                "; same user, event and seats as book op {}: a duplicate",
                indexes.join(", ")
            ));
        }
        findings.anomaly(
            "unexpected",
            Example::new(message)
                .bookings([booking.id])
                .seats(booking.seat_ids.iter().copied())
                .event(booking.event_id)
                .ops(same_request.iter().map(Operation::op_ref)),
        );
    }

    findings.count("attempted", books.len());
    findings.count("acknowledged", acknowledged);
    findings.count("rejected", rejected);
    findings.count("indeterminate", indeterminate);
    findings.count("acknowledged_without_id", without_id);
    findings.count("recovered", recovered);
    if opts.history_complete {
        findings.count("duplicated", duplicated);
    } else {
        findings.count("unattributed", unattributed);
        if unattributed > 0 {
            findings.note(format!(
                "{unattributed} final booking(s) appear in no op; not judged because the history is not known to be complete"
            ));
        }
    }
    if without_id > 0 {
        findings.note(format!(
            "{without_id} acknowledged book op(s) carry no bookingId: whether they were lost is unknown"
        ));
    }
    findings.finish(without_id > 0)
}

/// What the client of `operation` saw against the final status of its booking.
fn check_statuses(
    findings: &mut Findings,
    operation: &Operation<'_>,
    id: Uuid,
    booking: &BookingRow,
    cancels: &HashMap<Uuid, Vec<Operation<'_>>>,
) {
    let Some(completion) = operation.completion else {
        return;
    };
    let mut seen: Vec<&BookingStatus> = completion.value.statuses.iter().collect();
    if let Some(last) = &completion.value.status {
        if seen.last() != Some(&last) {
            seen.push(last);
        }
    }
    let op = operation.op_ref();
    let example = |message: String| {
        Example::new(message)
            .bookings([id])
            .seats(booking.seat_ids.iter().copied())
            .event(booking.event_id)
            .ops([op.clone()])
            .ops(refs(cancels, id))
    };
    let cancelled = cancels.get(&id).is_some_and(|ops| {
        ops.iter()
            .any(|c| matches!(c.outcome(), OpType::Ok | OpType::Info))
    });
    if seen.contains(&&BookingStatus::Confirmed)
        && booking.status != BookingStatus::Confirmed
        && !cancelled
    {
        findings.anomaly(
            "confirmed_not_kept",
            example(format!(
                "booking {id} was seen CONFIRMED (op {}) but is {} and was never cancelled",
                op.index, booking.status
            )),
        );
    }
    if let Some(at) = seen.iter().position(|s| s.is_closed()) {
        let closed = seen[at];
        let later = seen[at + 1..].iter().find(|s| **s != closed);
        let reopened = later
            .copied()
            .or((booking.status != *closed).then_some(&booking.status));
        if let Some(reopened) = reopened {
            findings.anomaly(
                "closed_reopened",
                example(format!(
                    "booking {id} was seen {closed} (op {}) and then {reopened}",
                    op.index
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use crate::SeatStatus::{Available, Reserved};
    use runfiles::history::{fail, info, invoke, ok, OpValue};
    use runfiles::verdict::Validity;
    use serde_json::json;

    fn complete() -> Opts {
        Opts {
            history_complete: true,
            ..Opts::default()
        }
    }

    fn anomalies(verdict: &InvariantVerdict) -> Vec<(&str, u64)> {
        let keys = [
            "lost",
            "unexpected",
            "confirmed_not_kept",
            "closed_reopened",
            "lost_cancels",
        ];
        verdict
            .counts
            .iter()
            .filter(|(k, &n)| n > 0 && keys.contains(&k.as_str()))
            .map(|(k, &n)| (k.as_str(), n))
            .collect()
    }

    fn cancel(
        process: u64,
        booking: u128,
        outcome: fn(u64, OpFn, OpValue) -> crate::Op,
    ) -> Vec<crate::Op> {
        vec![
            invoke(
                process,
                OpFn::Cancel,
                OpValue::cancel(id(USER), id(booking)),
            ),
            outcome(
                process,
                OpFn::Cancel,
                OpValue::cancel(id(USER), id(booking)),
            ),
        ]
    }

    #[test]
    fn empty_history_and_state_are_valid() {
        let verdict = check(&History::default(), &FinalState::default(), &complete());
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"valid": true, "examples": [], "notes": [],
                   "counts": {"lost": 0, "unexpected": 0, "confirmed_not_kept": 0, "closed_reopened": 0,
                              "lost_cancels": 0, "attempted": 0, "acknowledged": 0, "rejected": 0,
                              "indeterminate": 0, "acknowledged_without_id": 0, "recovered": 0,
                              "duplicated": 0}})
        );
    }

    #[test]
    fn every_kind_of_outcome_accounted_for_is_valid() {
        let mut ops = booked(1, 1, &[10], &[Pending, Confirmed]).to_vec();
        ops.extend([
            invoke(2, OpFn::Book, book_value(&[11])),
            fail(2, OpFn::Book, book_value(&[11])),
            invoke(3, OpFn::Book, book_value(&[12])),
            info(3, OpFn::Book, book_value(&[12])),
            invoke(4, OpFn::Book, book_value(&[13])),
        ]);
        ops.extend(booked(5, 5, &[14], &[Confirmed]));
        ops.extend(cancel(5, 5, ok));
        let history = History::indexed(ops);
        let state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(3, &[12], Failed),
                booking(5, &[14], Cancelled),
            ],
            vec![seat(10, Reserved, Some(1))],
        );
        let verdict = check(&history, &state, &complete());
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        let counts: Vec<_> = [
            "attempted",
            "acknowledged",
            "rejected",
            "indeterminate",
            "recovered",
            "duplicated",
        ]
        .iter()
        .map(|k| verdict.counts[*k])
        .collect();
        assert_eq!(counts, [5, 2, 1, 2, 1, 0]);
    }

    #[test]
    fn an_acknowledged_booking_missing_from_the_final_state_is_lost() {
        let history = History::indexed(booked(7, 1, &[10], &[Pending]).to_vec());
        let verdict = check(
            &history,
            &state(vec![], vec![seat(10, Available, None)]),
            &Opts::default(),
        );
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": false,
                "counts": {"lost": 1, "confirmed_not_kept": 0, "closed_reopened": 0, "lost_cancels": 0,
                           "attempted": 1, "acknowledged": 1, "rejected": 0, "indeterminate": 0,
                           "acknowledged_without_id": 0, "recovered": 0, "unattributed": 0},
                "examples": [{
                    "anomaly": "lost",
                    "message": format!("booking {} was acknowledged (op 1) but is not in the final state", id(1)),
                    "bookingIds": [id(1)], "seatIds": [id(10)],
                    "ops": [{"index": 1, "process": 7, "type": "ok", "f": "book", "invokeIndex": 0}],
                }],
                "notes": [],
            })
        );
    }

    #[test]
    fn a_booking_seen_confirmed_that_is_now_failed_without_a_cancel_is_not_kept() {
        let history = History::indexed(booked(7, 1, &[10], &[Pending, Confirmed]).to_vec());
        let verdict = check(
            &history,
            &state(vec![booking(1, &[10], Failed)], vec![]),
            &Opts::default(),
        );
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(anomalies(&verdict), [("confirmed_not_kept", 1)]);
        assert_eq!(
            serde_json::to_value(&verdict.examples[0]).unwrap(),
            json!({"anomaly": "confirmed_not_kept",
                   "message": format!("booking {} was seen CONFIRMED (op 1) but is FAILED and was never cancelled", id(1)),
                   "bookingIds": [id(1)], "seatIds": [id(10)], "eventId": id(EVENT),
                   "ops": [{"index": 1, "process": 7, "type": "ok", "f": "book", "invokeIndex": 0}]})
        );
    }

    #[test]
    fn an_unknown_cancel_excuses_a_confirmed_booking_that_is_now_cancelled() {
        let mut ops = booked(7, 1, &[10], &[Confirmed]).to_vec();
        ops.extend(cancel(7, 1, info));
        let verdict = check(
            &History::indexed(ops),
            &state(vec![booking(1, &[10], Cancelled)], vec![]),
            &Opts::default(),
        );
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
    }

    #[test]
    fn a_failed_cancel_does_not_excuse_it() {
        let mut ops = booked(7, 1, &[10], &[Confirmed]).to_vec();
        ops.extend(cancel(7, 1, fail));
        let verdict = check(
            &History::indexed(ops),
            &state(vec![booking(1, &[10], Cancelled)], vec![]),
            &Opts::default(),
        );
        assert_eq!(anomalies(&verdict), [("confirmed_not_kept", 1)]);
        assert_eq!(
            verdict.examples[0].ops.len(),
            2,
            "the book op and the failed cancel"
        );
    }

    #[test]
    fn a_failed_booking_that_ends_confirmed_was_reopened() {
        let history = History::indexed(
            [
                booked(1, 1, &[10], &[Pending, Failed]),
                booked(2, 2, &[11], &[Failed, Confirmed]),
            ]
            .concat(),
        );
        let state = state(
            vec![booking(1, &[10], Confirmed), booking(2, &[11], Confirmed)],
            vec![],
        );
        let verdict = check(&history, &state, &Opts::default());
        assert_eq!(anomalies(&verdict), [("closed_reopened", 2)]);
        assert_eq!(
            verdict.examples[0].message,
            format!(
                "booking {} was seen FAILED (op 1) and then CONFIRMED",
                id(1)
            )
        );
    }

    #[test]
    fn an_accepted_cancel_that_did_not_take_is_lost() {
        let mut ops = booked(7, 1, &[10], &[Confirmed]).to_vec();
        ops.extend(cancel(7, 1, ok));
        let verdict = check(
            &History::indexed(ops),
            &state(vec![booking(1, &[10], Confirmed)], vec![]),
            &Opts::default(),
        );
        assert_eq!(anomalies(&verdict), [("lost_cancels", 1)]);
        assert_eq!(verdict.examples[0].ops[0].index, 3);
    }

    #[test]
    fn a_booking_no_op_accounts_for_is_unexpected_only_when_the_history_is_complete() {
        let mut ops = booked(1, 1, &[10], &[Confirmed]).to_vec();
        ops.extend([
            invoke(2, OpFn::Book, book_value(&[11])),
            info(2, OpFn::Book, book_value(&[11])),
        ]);
        let history = History::indexed(ops);
        let state = state(
            vec![
                booking(1, &[10], Confirmed),
                booking(2, &[10], Failed), // same request as op 1: a duplicate
                booking(3, &[11], Confirmed), // the info op's booking: recovered
                booking(4, &[11], Failed), // a second one for that request: a duplicate
                booking(5, &[12], Failed), // nobody asked for it
            ],
            vec![],
        );
        let verdict = check(&history, &state, &complete());
        assert_eq!(anomalies(&verdict), [("unexpected", 3)]);
        assert_eq!(verdict.counts["recovered"], 1);
        assert_eq!(verdict.counts["duplicated"], 2);
        let ids: Vec<_> = verdict.examples.iter().map(|e| e.booking_ids[0]).collect();
        assert_eq!(ids, [id(2), id(4), id(5)]);
        assert!(
            verdict.examples[0]
                .message
                .ends_with("as book op 1: a duplicate"),
            "{}",
            verdict.examples[0].message
        );

        let verdict = check(&history, &state, &Opts::default());
        assert_eq!(verdict.valid, Validity::True, "{verdict:?}");
        assert_eq!(verdict.counts["unattributed"], 3);
        assert!(!verdict.counts.contains_key("unexpected"));
        assert_eq!(verdict.notes.len(), 1);
    }

    #[test]
    fn an_acknowledged_op_without_id_is_unknown() {
        let history = History::indexed(vec![
            invoke(1, OpFn::Book, book_value(&[10])),
            ok(1, OpFn::Book, book_value(&[10])),
        ]);
        let verdict = check(&history, &state(vec![], vec![]), &Opts::default());
        assert_eq!(verdict.valid, Validity::Unknown);
        assert_eq!(verdict.counts["acknowledged_without_id"], 1);
    }
}
