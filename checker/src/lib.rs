//! `checker`: after a run, decides from the history (what clients did and were told) and the
//! final state (what the databases hold once the stack quiesced) whether the system kept the
//! invariants of ARCHITECTURE.md section 5. Jepsen-style: pure functions, valid / invalid /
//! unknown, counts, and the first counter-examples.
//!
//! ```text
//!   history.jsonl ─▶ History::load ──────┐
//!                                        ├─▶ check(&History, &FinalState, &Opts) ─▶ Verdict
//!   final-state.json ─▶ FinalState::load ┘        │
//!   (or chaos's collect, from the databases)      ├─ double_booking   1. no seat sold twice, within capacity
//!                                                 ├─ seat_agreement   2. RESERVED seats = CONFIRMED bookings' seats
//!                                                 ├─ liveness         3. nothing PENDING or LOCKED
//!                                                 ├─ compensation     4. closed bookings hold no seats, no money
//!                                                 ├─ acknowledged     5. acked bookings exist, CONFIRMED stays
//!                                                 ├─ notifications    6. one confirmation per CONFIRMED booking
//!                                                 └─ dead_letters     7. no message left parked in a dead-letter topic
//! ```
//!
//! Each invariant module documents its count keys; [`Verdict`] documents the JSON shape.
//!
//! What it must never import: an async runtime, a network or database client, the services
//! (`kit`, `stack`, any `*-service`) or the rest of the harness (`chaos`, `loadgen`,
//! `faultproxy`, `reports`). It reads two files (or takes two values) and returns a verdict, so
//! it can be run on a run folder from anywhere; `chaos/tests/dependencies.rs` enforces this.

mod compose;
mod history;
mod verdict;

pub mod acknowledged;
pub mod compensation;
pub mod dead_letters;
pub mod double_booking;
pub mod liveness;
pub mod notifications;
pub mod seat_agreement;

#[cfg(test)]
mod testkit;

pub use compose::{check, compose, summarize, CheckFn, InjectedLetter, Invariant, Opts};
pub use history::{History, HistoryError, Operation};
// The history's ops, the final state and the verdict are the run folder's types.
pub use runfiles::final_state::{
    BookingRow, BookingStatus, DeadLetterRow, FinalState, NotificationKind, NotificationRow,
    PaymentRow, PaymentStatus, SeatRow, SeatStatus, StateError,
};
pub use runfiles::history::{fail, info, invoke, ok, Op, OpFn, OpType, OpValue};
pub use runfiles::verdict::{Example, InvariantVerdict, OpRef, Validity, Verdict};
pub use verdict::{table, Findings};
