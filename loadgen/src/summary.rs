//! `summary.json`: what the run did, in a shape the chaos runner and the reports read.
//! Every key is documented in loadgen/README.md ("summary.json").

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::{Outcome, Second};
use crate::thresholds::Verdict;

/// Percentiles of a histogram of microseconds, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// A histogram as HdrHistogram's V2 encoding in base64, so runs can be merged exactly.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serializing into a Vec cannot fail for a valid histogram.
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .expect("V2 serialization into memory");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The open model's part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenModelSummary {
    pub shape: String,
    pub workers: usize,
    pub scheduled: u64,
    pub started: u64,
    pub dropped: u64,
    pub late: u64,
    pub target_rate_per_s: f64,
    /// Starts per second actually achieved, from the first start to the last.
    pub start_rate_per_s: f64,
    pub start_delay: Percentiles,
}

/// Booking operations by outcome, as the history records them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bookings {
    /// Operations that sent a POST (history invokes of `book`).
    pub attempted: u64,
    /// 202s (history `ok`).
    pub acknowledged: u64,
    pub outcomes: BTreeMap<Outcome, u64>,
    pub confirmed_per_s: f64,
    pub sold_out: u64,
    pub cancels_ok: u64,
    pub cancels_failed: u64,
    pub max_in_flight: u64,
}

impl Bookings {
    /// Operations whose saga ended CONFIRMED.
    pub fn confirmed(&self) -> u64 {
        self.outcomes.get(&Outcome::Confirmed).copied().unwrap_or(0)
    }
}

/// A goose request row (per route).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteSummary {
    pub name: String,
    pub count: usize,
    pub failures: usize,
    /// Requests per second over the load window.
    pub per_s: f64,
    /// Latency of the route's requests, as loadgen timed them around goose's call (absent in
    /// summaries from before it was recorded). Its histogram is `histograms["route:<name>"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Percentiles>,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub version: u32,
    pub loadgen: String,
    pub run_id: String,
    pub host: String,
    pub event_id: String,
    pub started_at: String,
    pub ended_at: String,
    /// The load window (from the gate opening to the last arrival), seconds.
    pub load_seconds: f64,
    /// Load window plus the drain of in-flight operations, seconds.
    pub total_seconds: f64,
    pub open_model: Option<OpenModelSummary>,
    pub closed_users: usize,
    pub bookings: Bookings,
    /// Time-to-confirm, "all" and per terminal outcome.
    pub time_to_confirm: BTreeMap<String, Percentiles>,
    /// The same histograms, V2 + base64, for exact merging of runs; also `route:<name>` per
    /// route (request latency, microseconds).
    pub histograms: BTreeMap<String, String>,
    pub routes: Vec<RouteSummary>,
    pub thresholds: Vec<Verdict>,
    pub passed: bool,
    pub history: HistoryInfo,
    /// One entry per second of the run.
    pub timeline: Vec<Second>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryInfo {
    pub file: String,
    pub ops: u64,
    pub write_error: Option<String>,
}
