//! What the load did while each fault was active, from the history: how many booking operations
//! were in flight during a window, and time-to-confirm during the faults vs outside them.
//!
//! ```text
//!   history.jsonl ─▶ book spans [invoke wall .. completion wall] (+ ttc when terminal)
//!   faults.json   ─▶ windows    [start_wall .. end_wall]
//!        span overlaps a window ─▶ "in flight during the fault", its ttc counts as "during"
//! ```
//! A fault scenario that never had bookings in flight while the fault was active shows nothing;
//! the `fault-in-flight>=N` rule refuses such a run instead of letting it pass.
//!
//! Time-to-confirm here is what the history sees: from the POST's invoke to the completion that
//! carried the terminal status (loadgen's own ttc counts from the arrival's due time, so it is a
//! little larger under back-pressure).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::checker::{BookingStatus, History, OpFn, OpType};

/// One booking operation in wall-clock time.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Invoke, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Completion; `None` when the run ended before it completed.
    pub end_ms: Option<i64>,
    /// Invoke to terminal status, when the client saw one.
    pub ttc_ms: Option<f64>,
}

impl Span {
    fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        self.start_ms <= to_ms && self.end_ms.is_none_or(|end| end >= from_ms)
    }
}

fn wall_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
}

/// The book operations of `history` that have an invoke with a wall clock.
pub fn book_spans(history: &History) -> Vec<Span> {
    history
        .operations_of(OpFn::Book)
        .filter_map(|operation| {
            let invoke = operation.invoke?;
            let start_ms = wall_ms(invoke.wall.as_deref()?)?;
            let completion = operation.completion;
            let end_ms = completion.and_then(|c| c.wall.as_deref()).and_then(wall_ms);
            let ttc_ms = completion
                .filter(|c| {
                    c.kind == OpType::Ok
                        && c.value
                            .status
                            .as_ref()
                            .is_some_and(BookingStatus::is_terminal)
                })
                .map(|c| c.time.saturating_sub(invoke.time) as f64 / 1e6);
            Some(Span {
                start_ms,
                end_ms,
                ttc_ms,
            })
        })
        .collect()
}

/// A fault window in wall-clock milliseconds; an unhealed window runs to `until_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    /// The window of RFC 3339 start/end stamps; `None` when the start does not parse.
    pub fn of(start_wall: &str, end_wall: Option<&str>, until_ms: i64) -> Option<Self> {
        let from_ms = wall_ms(start_wall)?;
        let to_ms = end_wall.and_then(wall_ms).unwrap_or(until_ms).max(from_ms);
        Some(Self { from_ms, to_ms })
    }
}

/// Booking operations in flight at some moment of `window`.
pub fn in_flight_during(spans: &[Span], window: Window) -> u64 {
    spans
        .iter()
        .filter(|s| s.overlaps(window.from_ms, window.to_ms))
        .count() as u64
}

/// Time-to-confirm p99 (nearest rank) of the operations that overlapped any window, and of the
/// others; `None` where there were none.
pub fn ttc_p99_split(spans: &[Span], windows: &[Window]) -> (Option<f64>, Option<f64>) {
    let (mut during, mut outside) = (Vec::new(), Vec::new());
    for span in spans {
        let Some(ttc) = span.ttc_ms else { continue };
        if windows.iter().any(|w| span.overlaps(w.from_ms, w.to_ms)) {
            during.push(ttc);
        } else {
            outside.push(ttc);
        }
    }
    (p99(&mut during), p99(&mut outside))
}

fn p99(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((0.99 * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// A rule on the load during faults: `fault-in-flight>=200` holds when every fault window had
/// at least 200 booking operations in flight. A run with no fault has nothing to judge (passes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    text: String,
    min_in_flight: u64,
}

/// The rule did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault rule {rule:?}: {reason}")]
pub struct FaultRuleError {
    rule: String,
    reason: &'static str,
}

impl FaultRule {
    /// Whether `rule` is one of these (else it is loadgen's).
    pub fn is_fault_rule(rule: &str) -> bool {
        rule.trim_start().starts_with("fault-")
    }

    /// Parses `fault-in-flight>=N`.
    ///
    /// # Errors
    /// Another metric or operator, or a value that is not a whole number.
    pub fn parse(rule: &str) -> Result<Self, FaultRuleError> {
        let text = rule.trim();
        let fail = |reason| FaultRuleError {
            rule: text.to_string(),
            reason,
        };
        let value = text
            .strip_prefix("fault-in-flight")
            .ok_or_else(|| fail("the only fault rule is fault-in-flight>=N (booking operations in flight during each fault)"))?
            .trim_start()
            .strip_prefix(">=")
            .ok_or_else(|| fail("fault-in-flight takes >= and a number, e.g. fault-in-flight>=200"))?;
        let min_in_flight = value
            .trim()
            .parse()
            .map_err(|_| fail("fault-in-flight takes a whole number, e.g. >=200"))?;
        Ok(Self {
            text: text.to_string(),
            min_in_flight,
        })
    }

    /// Judges the rule on the per-window counts.
    pub fn judge(&self, per_window: &[u64]) -> loadgen::thresholds::Verdict {
        let least = per_window.iter().copied().min();
        loadgen::thresholds::Verdict {
            rule: self.text.clone(),
            passed: least.is_none_or(|n| n >= self.min_in_flight),
            observed: match least {
                None => "no fault window".into(),
                Some(n) => format!("{n} in the emptiest of {} windows", per_window.len()),
            },
        }
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the load looked like in and out of the faults, for the run report and the suite table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exposure {
    /// Per fault window, in faults.json order.
    pub in_flight_per_window: Vec<u64>,
    pub ttc_p99_in_faults_ms: Option<f64>,
    pub ttc_p99_outside_faults_ms: Option<f64>,
}

/// Measures `history` against the windows.
pub fn measure(history: &History, windows: &[Window]) -> Exposure {
    let spans = book_spans(history);
    let (during, outside) = ttc_p99_split(&spans, windows);
    Exposure {
        in_flight_per_window: windows
            .iter()
            .map(|w| in_flight_during(&spans, *w))
            .collect(),
        ttc_p99_in_faults_ms: during,
        ttc_p99_outside_faults_ms: outside,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::{invoke, ok, Op, OpValue};
    use uuid::Uuid;

    fn at(op: Op, ms: i64, wall_origin: i64) -> Op {
        let mut op = op;
        op.time = u64::try_from(ms).unwrap() * 1_000_000;
        op.wall = Some(
            DateTime::from_timestamp_millis(wall_origin + ms)
                .unwrap()
                .to_rfc3339(),
        );
        op
    }

    /// Three bookings: one before the fault, one across its start, one inside it that never ends.
    fn history() -> History {
        let origin = 1_800_000_000_000;
        let (user, event, seat) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let book = || OpValue::book(user, event, vec![seat]);
        let done = |status: BookingStatus| {
            book()
                .with_booking(Uuid::new_v4())
                .with_statuses(&[BookingStatus::Pending, status])
        };
        let ops = vec![
            at(invoke(1, OpFn::Book, book()), 0, origin),
            at(
                ok(1, OpFn::Book, done(BookingStatus::Confirmed)),
                100,
                origin,
            ),
            at(invoke(2, OpFn::Book, book()), 900, origin),
            at(invoke(3, OpFn::Book, book()), 1_500, origin),
            at(
                ok(2, OpFn::Book, done(BookingStatus::Failed)),
                1_700,
                origin,
            ),
        ];
        // Our own times: `History::indexed` would replace them with positions.
        History::new(
            ops.into_iter()
                .enumerate()
                .map(|(i, mut op)| {
                    op.index = i as u64;
                    op
                })
                .collect(),
        )
    }

    fn window(from: i64, to: i64) -> Window {
        let origin = 1_800_000_000_000;
        Window {
            from_ms: origin + from,
            to_ms: origin + to,
        }
    }

    #[test]
    fn operations_overlapping_a_window_are_in_flight_during_it() {
        let spans = book_spans(&history());
        assert_eq!(spans.len(), 3);
        assert_eq!(in_flight_during(&spans, window(1_000, 2_000)), 2);
        assert_eq!(in_flight_during(&spans, window(50, 60)), 1);
        assert_eq!(in_flight_during(&spans, window(200, 800)), 0);
        // The one that never completed is in flight until the end of any later window.
        assert_eq!(in_flight_during(&spans, window(10_000, 11_000)), 1);
    }

    #[test]
    fn ttc_splits_into_during_and_outside_the_faults() {
        let spans = book_spans(&history());
        let (during, outside) = ttc_p99_split(&spans, &[window(1_000, 2_000)]);
        assert_eq!(during, Some(800.0));
        assert_eq!(outside, Some(100.0));
        assert_eq!(ttc_p99_split(&spans, &[]), (None, Some(800.0)));
        let empty = measure(&History::indexed(Vec::new()), &[window(0, 1)]);
        assert_eq!(
            (empty.in_flight_per_window, empty.ttc_p99_in_faults_ms),
            (vec![0], None)
        );
    }

    #[test]
    fn the_fault_rule_holds_only_when_every_window_had_load() {
        let rule = FaultRule::parse("fault-in-flight>=200").unwrap();
        assert!(rule.judge(&[250, 300]).passed);
        let verdict = rule.judge(&[250, 199]);
        assert!(!verdict.passed);
        assert_eq!(verdict.observed, "199 in the emptiest of 2 windows");
        assert!(rule.judge(&[]).passed);
        for bad in [
            "fault-in-flight<200",
            "fault-in-flight>=lots",
            "fault-started>=1",
        ] {
            assert!(FaultRule::parse(bad).is_err(), "{bad}");
        }
        assert!(
            FaultRule::is_fault_rule("fault-in-flight>=1")
                && !FaultRule::is_fault_rule("unknown=0")
        );
    }

    #[test]
    fn a_window_without_an_end_runs_to_the_given_time() {
        let w = Window::of("2027-01-01T00:00:00.000Z", None, 1_798_761_601_000).unwrap();
        assert_eq!(w.to_ms - w.from_ms, 1_000);
        assert!(Window::of("yesterday", None, 0).is_none());
    }
}
