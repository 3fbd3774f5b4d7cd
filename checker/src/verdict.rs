//! What the checker answers: per invariant valid / invalid / unknown, counts and the first
//! counter-examples, and their merge (False > Unknown > True).
//!
//! ```text
//!   {"valid": true | false | "unknown",
//!    "invariants": {"<name>": {"valid": .., "counts": {"<key>": n, ..}, "examples": [Example, ..], "notes": [..]}, ..},
//!    "counts": {"attempted": n, "acknowledged": n, "lost": n, ..}}
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::op::{OpFn, OpType};
use super::Invariant;

/// Whether an invariant (or the whole run) holds. Serialises as JSON `true`, `false` or
/// `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    /// It holds.
    True,
    /// It is violated; the examples show where.
    False,
    /// Undecidable from what was observed (data not collected, a checker panicked, ...).
    Unknown,
}

impl Validity {
    /// The merge of two answers: False wins over Unknown, Unknown over True.
    #[must_use]
    pub fn merge(self, other: Self) -> Self {
        match (self, other) {
            (Self::False, _) | (_, Self::False) => Self::False,
            (Self::Unknown, _) | (_, Self::Unknown) => Self::Unknown,
            (Self::True, Self::True) => Self::True,
        }
    }

    /// The merge of many answers; True when there are none.
    pub fn merge_all(answers: impl IntoIterator<Item = Self>) -> Self {
        answers.into_iter().fold(Self::True, Self::merge)
    }

    /// VALID, INVALID or UNKNOWN, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::True => "VALID",
            Self::False => "INVALID",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::True => serializer.serialize_bool(true),
            Self::False => serializer.serialize_bool(false),
            Self::Unknown => serializer.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Bool(bool),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Bool(true) => Ok(Self::True),
            Wire::Bool(false) => Ok(Self::False),
            Wire::Text(text) if text == "unknown" => Ok(Self::Unknown),
            Wire::Text(text) => Err(serde::de::Error::custom(format!(
                "expected true, false or \"unknown\", got {text:?}"
            ))),
        }
    }
}

/// A history operation named in a counter-example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpRef {
    /// `index` of the completion (of the invoke when there is no completion).
    pub index: u64,
    /// The client process.
    pub process: u64,
    /// The outcome: ok, fail or info (info also when the invoke never completed).
    #[serde(rename = "type")]
    pub kind: OpType,
    /// book or cancel.
    pub f: OpFn,
    /// Wall clock of the completion (of the invoke when there is no completion); absent if
    /// unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<String>,
    /// `index` of the invoke; absent when the history has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_index: Option<u64>,
    /// Wall clock of the invoke; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_wall: Option<String>,
}

/// One counter-example (a witness of one anomaly).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    /// The anomaly: the key of the invariant's `counts` it is counted under.
    pub anomaly: String,
    /// One line for people, naming the ids involved.
    pub message: String,
    /// The bookings involved (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub booking_ids: Vec<Uuid>,
    /// The seats involved (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seat_ids: Vec<Uuid>,
    /// The event involved (absent when not one in particular).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// The history operations that show or explain it (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<OpRef>,
}

impl Example {
    /// An example with this message; [`Findings::anomaly`] fills in the anomaly.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Adds bookings.
    #[must_use]
    pub fn bookings(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.booking_ids.extend(ids);
        self
    }

    /// Adds seats.
    #[must_use]
    pub fn seats(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.seat_ids.extend(ids);
        self
    }

    /// Names the event.
    #[must_use]
    pub fn event(mut self, id: Uuid) -> Self {
        self.event_id = Some(id);
        self
    }

    /// Adds history operations.
    #[must_use]
    pub fn ops(mut self, ops: impl IntoIterator<Item = OpRef>) -> Self {
        self.ops.extend(ops);
        self
    }
}

/// The answer for one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantVerdict {
    /// True, False or Unknown.
    pub valid: Validity,
    /// Named counts; each invariant documents its keys. Every anomaly key is present (0 when
    /// none); keys about data that was not observed are absent.
    pub counts: BTreeMap<String, u64>,
    /// The first counter-examples, at most `Opts::max_examples`, taken in turn from each
    /// anomaly so one frequent anomaly does not hide the others.
    pub examples: Vec<Example>,
    /// Why the answer is Unknown, or what was not checked (empty when nothing to say).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl InvariantVerdict {
    /// The Unknown answer of a checker that panicked.
    pub fn panicked(message: &str) -> Self {
        Self {
            valid: Validity::Unknown,
            counts: BTreeMap::new(),
            examples: Vec::new(),
            notes: vec![format!("the checker panicked: {message}")],
        }
    }
}

/// The answer for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The merge of every invariant's answer (False > Unknown > True); True when none ran.
    pub valid: Validity,
    /// Per invariant, by name (`double_booking`, `seat_agreement`, `liveness`,
    /// `compensation`, `acknowledged`, `notifications`).
    pub invariants: BTreeMap<String, InvariantVerdict>,
    /// Run-wide counts (see `checker::summarize`, and `lost`, `unexpected`, `recovered`,
    /// `duplicated` from the acknowledged invariant when it ran).
    pub counts: BTreeMap<String, u64>,
}

impl Verdict {
    /// A text table for people: one line per invariant in ARCHITECTURE.md order (name, VALID/INVALID/UNKNOWN, counts,
    /// first counter-example or, when there is none, first note), then one line for the run.
    ///
    /// ```text
    ///   liveness        INVALID  bookings=3 locked_seats=0 pending_bookings=1 seats=4 | booking … is still PENDING
    ///   run             INVALID  acknowledged=3 attempted=4 …
    /// ```
    pub fn table(&self) -> String {
        let width = self
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
        let mut rows: Vec<_> = self.invariants.iter().collect();
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
            self.valid.label(),
            counts(&self.counts)
        ));
        out
    }
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
    use serde_json::json;

    #[test]
    fn validity_serialises_as_bool_or_unknown() {
        assert_eq!(serde_json::to_value(Validity::True).unwrap(), json!(true));
        assert_eq!(serde_json::to_value(Validity::False).unwrap(), json!(false));
        assert_eq!(
            serde_json::to_value(Validity::Unknown).unwrap(),
            json!("unknown")
        );
        for v in [Validity::True, Validity::False, Validity::Unknown] {
            let back: Validity = serde_json::from_value(serde_json::to_value(v).unwrap()).unwrap();
            assert_eq!(back, v);
        }
        assert!(serde_json::from_value::<Validity>(json!("maybe")).is_err());
    }

    #[test]
    fn merge_prefers_false_then_unknown() {
        use Validity::*;
        assert_eq!(Validity::merge_all([]), True);
        assert_eq!(Validity::merge_all([True, True]), True);
        assert_eq!(Validity::merge_all([True, Unknown, True]), Unknown);
        assert_eq!(Validity::merge_all([Unknown, False, True]), False);
        assert_eq!(False.merge(Unknown), False);
    }

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
            verdict.table(),
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
