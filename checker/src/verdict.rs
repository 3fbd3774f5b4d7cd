//! Building a verdict: [`Findings`] collects one invariant's anomalies into its
//! [`InvariantVerdict`], and [`table`] prints a [`Verdict`] for people. The verdict's types are
//! the run folder's (`runfiles::verdict`).

use std::collections::BTreeMap;

use runfiles::verdict::{Example, InvariantVerdict, Validity, Verdict};

use crate::Invariant;

/// A text table for people: one line per invariant in ARCHITECTURE.md order (name, VALID/INVALID/UNKNOWN, counts,
/// first counter-example or, when there is none, first note), then one line for the run.
///
/// ```text
///   liveness        INVALID  bookings=3 locked_seats=0 pending_bookings=1 seats=4 | booking … is still PENDING
///   run             INVALID  acknowledged=3 attempted=4 …
/// ```
pub fn table(verdict: &Verdict) -> String {
    let width = verdict
        .invariants
        .keys()
        .map(String::len)
        .chain([3])
        .max()
        .unwrap_or(3);
    let counts = |counts: &BTreeMap<String, u64>| {
        counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // ARCHITECTURE.md order first, then any other names alphabetically.
    let mut rows: Vec<_> = verdict.invariants.iter().collect();
    rows.sort_by_key(|(name, _)| {
        let known = Invariant::ALL
            .iter()
            .position(|i| i.name() == name.as_str());
        (known.unwrap_or(Invariant::ALL.len()), name.as_str())
    });
    let mut out = String::new();
    for (name, invariant) in rows {
        let first = invariant
            .examples
            .first()
            .map(|e| format!("{}: {}", e.anomaly, e.message))
            .or_else(|| invariant.notes.first().map(|n| format!("note: {n}")))
            .unwrap_or_else(|| "-".to_string());
        out.push_str(&format!(
            "{name:<width$}  {:<7}  {} | {first}\n",
            invariant.valid.label(),
            counts(&invariant.counts)
        ));
    }
    out.push_str(&format!(
        "{:<width$}  {:<7}  {}\n",
        "run",
        verdict.valid.label(),
        counts(&verdict.counts)
    ));
    out
}

/// Collects one invariant's anomalies: counts every one, keeps the first examples of each kind.
#[derive(Debug)]
pub struct Findings {
    max_examples: usize,
    counts: BTreeMap<String, u64>,
    /// Examples per anomaly key, in the order the keys were declared.
    examples: Vec<(&'static str, Vec<Example>)>,
    notes: Vec<String>,
    anomalies: u64,
}

impl Findings {
    /// Findings for an invariant whose anomalies are `anomaly_keys` (each starts at 0).
    pub fn new(max_examples: usize, anomaly_keys: &[&'static str]) -> Self {
        Self {
            max_examples,
            counts: anomaly_keys.iter().map(|k| (k.to_string(), 0)).collect(),
            examples: anomaly_keys.iter().map(|&k| (k, Vec::new())).collect(),
            notes: Vec::new(),
            anomalies: 0,
        }
    }

    /// Sets an informational count (not an anomaly).
    pub fn count(&mut self, key: &str, value: usize) {
        self.counts.insert(key.to_string(), value as u64);
    }

    /// Counts one anomaly of kind `key` and keeps its example while there is room.
    ///
    /// # Panics
    /// When `key` was not declared in [`Findings::new`] (a checker bug).
    pub fn anomaly(&mut self, key: &'static str, example: Example) {
        let slot = self
            .examples
            .iter_mut()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("anomaly {key} was not declared"));
        if slot.1.len() < self.max_examples {
            slot.1.push(Example {
                anomaly: key.to_string(),
                ..example
            });
        }
        *self.counts.entry(key.to_string()).or_default() += 1;
        self.anomalies += 1;
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The answer: False when any anomaly was found, else Unknown when `undecided`, else True.
    pub fn finish(self, undecided: bool) -> InvariantVerdict {
        let valid = if self.anomalies > 0 {
            Validity::False
        } else if undecided {
            Validity::Unknown
        } else {
            Validity::True
        };
        let mut queues: Vec<_> = self
            .examples
            .into_iter()
            .map(|(_, list)| list.into_iter())
            .collect();
        let mut examples = Vec::new();
        while examples.len() < self.max_examples {
            let before = examples.len();
            for queue in &mut queues {
                if examples.len() < self.max_examples {
                    examples.extend(queue.next());
                }
            }
            if examples.len() == before {
                break;
            }
        }
        InvariantVerdict {
            valid,
            counts: self.counts,
            examples,
            notes: self.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_cap_examples_and_take_each_anomaly_in_turn() {
        let mut findings = Findings::new(3, &["a", "b"]);
        for i in 0..5 {
            findings.anomaly("a", Example::new(format!("a{i}")));
        }
        findings.anomaly("b", Example::new("b0"));
        let verdict = findings.finish(false);
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["a"], 5);
        assert_eq!(verdict.counts["b"], 1);
        let messages: Vec<_> = verdict
            .examples
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, ["a0", "b0", "a1"]);
        assert_eq!(verdict.examples[1].anomaly, "b");
    }

    #[test]
    fn table_has_one_line_per_invariant_and_one_for_the_run() {
        let mut failing = Findings::new(10, &["pending_bookings"]);
        failing.anomaly(
            "pending_bookings",
            Example::new("booking 1 is still PENDING"),
        );
        let mut unknown = Findings::new(10, &[]);
        unknown.note("payments were not observed");
        let verdict = Verdict {
            valid: Validity::False,
            invariants: BTreeMap::from([
                ("compensation".to_string(), unknown.finish(true)),
                ("liveness".to_string(), failing.finish(false)),
            ]),
            counts: BTreeMap::from([("attempted".to_string(), 4)]),
        };
        assert_eq!(
            table(&verdict),
            "liveness      INVALID  pending_bookings=1 | pending_bookings: booking 1 is still PENDING\n\
             compensation  UNKNOWN   | note: payments were not observed\n\
             run           INVALID  attempted=4\n"
        );
    }

    #[test]
    fn findings_without_anomalies_are_true_or_unknown() {
        assert_eq!(
            Findings::new(10, &["a"]).finish(false).valid,
            Validity::True
        );
        assert_eq!(
            Findings::new(10, &["a"]).finish(true).valid,
            Validity::Unknown
        );
    }
}
