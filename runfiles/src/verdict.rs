//! The checker's `verdict.json`: per invariant valid / invalid / unknown, counts and the first
//! counter-examples, and their merge (False > Unknown > True). The checker builds it; chaos
//! writes it and repeats it in `run-report.json`; the reports render it.
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

use crate::history::{OpFn, OpType};

/// Whether an invariant (or the whole run) holds. Serialises as JSON `true`, `false` or
/// `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Validity {
    /// It holds.
    True,
    /// It is violated; the examples show where.
    False,
    /// Undecidable from what was observed (data not collected, a checker panicked, ...).
    #[default]
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
    /// An example with this message; the checker's `Findings::anomaly` fills in the anomaly.
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
}
