//! Runs the invariant checkers and merges their answers (Jepsen's `compose`).
//!
//! ```text
//!   (History, FinalState, Opts) ─┬─▶ double_booking ─┐
//!                                ├─▶ seat_agreement ─┤   a panic = Unknown for that one
//!                                ├─▶ liveness       ─┼─▶ merge: False > Unknown > True ─▶ Verdict
//!                                ├─▶ compensation   ─┤   + run-wide counts (summarize)
//!                                ├─▶ acknowledged   ─┤
//!                                ├─▶ notifications  ─┤
//!                                └─▶ dead_letters   ─┘
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::history::History;
use super::{
    acknowledged, compensation, dead_letters, double_booking, liveness, notifications,
    seat_agreement,
};
use runfiles::final_state::{BookingStatus, FinalState};
use runfiles::history::{OpFn, OpType};
use runfiles::verdict::{InvariantVerdict, Validity, Verdict};

/// An invariant checker: a pure function of the history and the final state.
pub type CheckFn = fn(&History, &FinalState, &Opts) -> InvariantVerdict;

/// The six invariants of ARCHITECTURE.md section 5, and a seventh: nothing left parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// 1. No seat held by two CONFIRMED bookings; sold seats within capacity.
    DoubleBooking,
    /// 2. RESERVED seats and CONFIRMED bookings agree.
    SeatAgreement,
    /// 3. Nothing PENDING or LOCKED after quiesce.
    Liveness,
    /// 4. Closed bookings hold no seats and no money; CONFIRMED ones paid once.
    Compensation,
    /// 5. Acknowledged bookings exist; observed CONFIRMED stays CONFIRMED.
    Acknowledged,
    /// 6. One confirmation notification per CONFIRMED booking.
    Notifications,
    /// 7. No message left on a dead-letter topic (unless replayed).
    DeadLetters,
}

impl Invariant {
    /// All seven, in ARCHITECTURE.md order.
    pub const ALL: [Self; 7] = [
        Self::DoubleBooking,
        Self::SeatAgreement,
        Self::Liveness,
        Self::Compensation,
        Self::Acknowledged,
        Self::Notifications,
        Self::DeadLetters,
    ];

    /// The name used in the verdict and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::DoubleBooking => "double_booking",
            Self::SeatAgreement => "seat_agreement",
            Self::Liveness => "liveness",
            Self::Compensation => "compensation",
            Self::Acknowledged => "acknowledged",
            Self::Notifications => "notifications",
            Self::DeadLetters => "dead_letters",
        }
    }

    /// Its checker.
    pub fn checker(self) -> CheckFn {
        match self {
            Self::DoubleBooking => double_booking::check,
            Self::SeatAgreement => seat_agreement::check,
            Self::Liveness => liveness::check,
            Self::Compensation => compensation::check,
            Self::Acknowledged => acknowledged::check,
            Self::Notifications => notifications::check,
            Self::DeadLetters => dead_letters::check,
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Invariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|i| i.name()).collect();
                format!(
                    "unknown invariant {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// What the checker may assume and how much it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    /// The history holds every booking operation against the events checked (no other
    /// clients): only then is a booking the history never mentions "unexpected".
    pub history_complete: bool,
    /// Counter-examples kept per invariant.
    pub max_examples: usize,
    /// The invariants [`check`] runs.
    pub invariants: Vec<Invariant>,
    /// Poison messages the harness injected on purpose: each must end parked (then it is
    /// explained, not an anomaly); one that is not was dropped.
    pub injected_letters: Vec<InjectedLetter>,
}

/// A poison message the harness put on a topic on purpose (`chaos selftest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedLetter {
    /// The full topic name it was put on (prefix included), as a parked letter names it.
    pub topic: String,
    /// Its message key.
    pub key: String,
}

impl Default for Opts {
    /// History not known complete, 10 examples, all seven invariants.
    fn default() -> Self {
        Self {
            history_complete: false,
            max_examples: 10,
            invariants: Invariant::ALL.to_vec(),
            injected_letters: Vec::new(),
        }
    }
}

/// Checks the invariants `opts.invariants` (all seven by default).
pub fn check(history: &History, state: &FinalState, opts: &Opts) -> Verdict {
    let checkers: Vec<(&str, CheckFn)> = opts
        .invariants
        .iter()
        .map(|invariant| (invariant.name(), invariant.checker()))
        .collect();
    compose(&checkers, history, state, opts)
}

/// Runs named checkers; one that panics answers Unknown (the panic message in its notes). The
/// run is valid when every checker is (False > Unknown > True). Counts: [`summarize`], plus
/// `lost`, `unexpected`, `recovered` and `duplicated` from the checker named `acknowledged`
/// when it reported them.
pub fn compose(
    checkers: &[(&str, CheckFn)],
    history: &History,
    state: &FinalState,
    opts: &Opts,
) -> Verdict {
    let invariants: BTreeMap<String, InvariantVerdict> = checkers
        .iter()
        .map(|&(name, checker)| {
            let verdict = catch_unwind(AssertUnwindSafe(|| checker(history, state, opts)))
                .unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(no message)".to_string());
                    InvariantVerdict::panicked(&message)
                });
            (name.to_string(), verdict)
        })
        .collect();
    let valid = Validity::merge_all(invariants.values().map(|v| v.valid));
    let mut counts = summarize(history, state);
    if let Some(acknowledged) = invariants.get(Invariant::Acknowledged.name()) {
        for key in ["lost", "unexpected", "recovered", "duplicated"] {
            if let Some(&n) = acknowledged.counts.get(key) {
                counts.insert(key.to_string(), n);
            }
        }
    }
    Verdict {
        valid,
        invariants,
        counts,
    }
}

/// Run-wide counts that need no invariant:
///
/// | key | |
/// |---|---|
/// | `history_ops` | op lines read |
/// | `truncated_lines` | cut-off last lines skipped |
/// | `attempted` | book operations (invoked) |
/// | `acknowledged` | book operations that completed ok (202) |
/// | `rejected` | book operations that completed fail (definitely not created) |
/// | `indeterminate` | book operations that completed info or never completed |
/// | `cancels_attempted` | cancel operations |
/// | `cancels_acknowledged` | cancel operations that completed ok |
/// | `bookings` | bookings in the final state |
/// | `pending`, `confirmed`, `failed`, `expired`, `cancelled` | final bookings by status |
/// | `seats` | seats in the final state |
pub fn summarize(history: &History, state: &FinalState) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut put = |key: &str, n: usize| {
        counts.insert(key.to_string(), n as u64);
    };
    put("history_ops", history.ops().len());
    put("truncated_lines", history.truncated_lines());
    let outcomes = |f: OpFn| {
        let mut by = BTreeMap::new();
        let mut total = 0;
        for operation in history.operations_of(f) {
            total += 1;
            *by.entry(operation.outcome().as_str()).or_insert(0) += 1;
        }
        (total, by)
    };
    let (books, by) = outcomes(OpFn::Book);
    put("attempted", books);
    put(
        "acknowledged",
        by.get(OpType::Ok.as_str()).copied().unwrap_or(0),
    );
    put(
        "rejected",
        by.get(OpType::Fail.as_str()).copied().unwrap_or(0),
    );
    put(
        "indeterminate",
        by.get(OpType::Info.as_str()).copied().unwrap_or(0),
    );
    let (cancels, by) = outcomes(OpFn::Cancel);
    put("cancels_attempted", cancels);
    put(
        "cancels_acknowledged",
        by.get(OpType::Ok.as_str()).copied().unwrap_or(0),
    );
    put("bookings", state.bookings.len());
    for (key, status) in [
        ("pending", BookingStatus::Pending),
        ("confirmed", BookingStatus::Confirmed),
        ("failed", BookingStatus::Failed),
        ("expired", BookingStatus::Expired),
        ("cancelled", BookingStatus::Cancelled),
    ] {
        put(
            key,
            state.bookings.iter().filter(|b| b.status == status).count(),
        );
    }
    put("seats", state.seats.len());
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use runfiles::final_state::{BookingRow, BookingStatus, SeatRow, SeatStatus};
    use runfiles::history::{info, invoke, ok, OpValue};
    use serde_json::json;
    use uuid::Uuid;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn always_true(_: &History, _: &FinalState, _: &Opts) -> InvariantVerdict {
        InvariantVerdict {
            valid: Validity::True,
            counts: BTreeMap::new(),
            examples: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn panics(_: &History, _: &FinalState, _: &Opts) -> InvariantVerdict {
        panic!("index out of bounds: the len is 0 but the index is 3")
    }

    /// A final state in which payments, notifications and dead letters were observed (and there are
    /// none).
    fn observed_empty() -> FinalState {
        FinalState {
            payments: Some(Vec::new()),
            notifications: Some(Vec::new()),
            dead_letters: Some(Vec::new()),
            ..FinalState::default()
        }
    }

    #[test]
    fn empty_history_and_state_are_valid() {
        let verdict = check(&History::default(), &observed_empty(), &Opts::default());
        let names: Vec<_> = verdict.invariants.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "acknowledged",
                "compensation",
                "dead_letters",
                "double_booking",
                "liveness",
                "notifications",
                "seat_agreement"
            ]
        );
        for (name, invariant) in &verdict.invariants {
            assert_eq!(invariant.valid, Validity::True, "{name}: {invariant:?}");
            assert!(invariant.examples.is_empty(), "{name}");
            assert!(
                invariant.counts.values().all(|&n| n == 0),
                "{name}: {:?}",
                invariant.counts
            );
        }
        assert_eq!(verdict.valid, Validity::True);
        assert_eq!(verdict.counts["lost"], 0);
        assert_eq!(verdict.counts["recovered"], 0);
    }

    #[test]
    fn unobserved_payments_and_notifications_make_an_empty_run_unknown() {
        let verdict = check(
            &History::default(),
            &FinalState::default(),
            &Opts::default(),
        );
        assert_eq!(verdict.valid, Validity::Unknown);
        assert_eq!(verdict.invariants["compensation"].valid, Validity::Unknown);
        assert_eq!(verdict.invariants["notifications"].valid, Validity::Unknown);
        assert_eq!(verdict.invariants["liveness"].valid, Validity::True);
    }

    #[test]
    fn opts_select_the_invariants() {
        let opts = Opts {
            invariants: vec![Invariant::Liveness],
            ..Opts::default()
        };
        let verdict = check(&History::default(), &FinalState::default(), &opts);
        assert_eq!(verdict.valid, Validity::True);
        assert_eq!(verdict.invariants.len(), 1);
        assert!(!verdict.counts.contains_key("lost"));
    }

    #[test]
    fn a_panicking_checker_is_unknown_and_does_not_hide_the_others() {
        let checkers: [(&str, CheckFn); 2] = [("fine", always_true), ("broken", panics)];
        let verdict = compose(
            &checkers,
            &History::default(),
            &FinalState::default(),
            &Opts::default(),
        );
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({
                "valid": "unknown",
                "invariants": {
                    "fine": {"valid": true, "counts": {}, "examples": [], "notes": []},
                    "broken": {"valid": "unknown", "counts": {}, "examples": [],
                               "notes": ["the checker panicked: index out of bounds: the len is 0 but the index is 3"]},
                },
                "counts": {"history_ops": 0, "truncated_lines": 0, "attempted": 0, "acknowledged": 0,
                           "rejected": 0, "indeterminate": 0, "cancels_attempted": 0,
                           "cancels_acknowledged": 0, "bookings": 0, "pending": 0, "confirmed": 0,
                           "failed": 0, "expired": 0, "cancelled": 0, "seats": 0},
            })
        );
    }

    #[test]
    fn a_false_checker_outweighs_a_panicking_one() {
        fn invalid(_: &History, _: &FinalState, _: &Opts) -> InvariantVerdict {
            InvariantVerdict {
                valid: Validity::False,
                ..always_true(
                    &History::default(),
                    &FinalState::default(),
                    &Opts::default(),
                )
            }
        }
        let checkers: [(&str, CheckFn); 3] = [("a", always_true), ("b", panics), ("c", invalid)];
        let verdict = compose(
            &checkers,
            &History::default(),
            &FinalState::default(),
            &Opts::default(),
        );
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.invariants["b"].valid, Validity::Unknown);
    }

    #[test]
    fn counts_summarize_history_and_state() {
        let (user, event, seat) = (id(1), id(2), id(3));
        let history = History::indexed(vec![
            invoke(1, OpFn::Book, OpValue::book(user, event, vec![seat])),
            invoke(2, OpFn::Book, OpValue::book(user, event, vec![seat])),
            ok(
                1,
                OpFn::Book,
                OpValue::book(user, event, vec![seat]).with_booking(id(10)),
            ),
            info(2, OpFn::Book, OpValue::book(user, event, vec![seat])),
            invoke(3, OpFn::Book, OpValue::book(user, event, vec![seat])),
        ]);
        let state = FinalState {
            bookings: vec![BookingRow::new(
                id(10),
                user,
                event,
                vec![seat],
                BookingStatus::Confirmed,
            )],
            seats: vec![SeatRow::new(
                seat,
                event,
                SeatStatus::Reserved,
                Some(id(10)),
            )],
            ..FinalState::default()
        };
        let counts = summarize(&history, &state);
        assert_eq!(counts["attempted"], 3);
        assert_eq!(counts["acknowledged"], 1);
        assert_eq!(counts["indeterminate"], 2);
        assert_eq!(counts["confirmed"], 1);
        assert_eq!(counts["history_ops"], 5);
    }

    #[test]
    fn invariant_names_parse() {
        for invariant in Invariant::ALL {
            assert_eq!(invariant.name().parse::<Invariant>(), Ok(invariant));
        }
        assert!("nope"
            .parse::<Invariant>()
            .unwrap_err()
            .contains("double_booking"));
    }
}
