//! chaos's `faults.json`: each fault of the timeline as it happened, on the load's clock.

use serde::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One fault as it happened (chaos's `FaultWindow`), from `faults.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultWindow {
    /// The fault's index in the scenario's timeline.
    pub fault: usize,
    pub description: String,
    pub target: String,
    pub action: String,
    /// Seconds from the load start (the origin of the timeline).
    pub start_s: f64,
    /// None when the fault was never healed.
    pub end_s: Option<f64>,
    pub start_wall: String,
    pub end_wall: Option<String>,
    pub max_in_flight: Option<u64>,
    pub started: Option<u64>,
    pub error: Option<String>,
    /// Booking operations in flight at some moment of the window (from the history: invoke
    /// before the window's end, completion after its start). Older files held the list of
    /// those bookings; it reads as its length.
    #[serde(deserialize_with = "count_or_list")]
    pub bookings_in_flight: Option<u64>,
}

/// A count, or a list counted; anything else (null included) is `None`.
fn count_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64(),
        Value::Array(items) => Some(items.len() as u64),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookings_in_flight_reads_a_count_or_an_older_list() {
        let read = |json: &str| -> Option<u64> {
            serde_json::from_str::<FaultWindow>(json)
                .unwrap()
                .bookings_in_flight
        };
        assert_eq!(read(r#"{"bookings_in_flight": 7}"#), Some(7));
        assert_eq!(read(r#"{"bookings_in_flight": ["a", "b"]}"#), Some(2));
        assert_eq!(read(r#"{"bookings_in_flight": null}"#), None);
        assert_eq!(read(r#"{}"#), None);
    }
}
