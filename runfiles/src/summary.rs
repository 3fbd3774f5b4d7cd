//! loadgen's `summary.json`: what a load run did (every key is documented in loadgen/README.md,
//! "summary.json"), and the threshold verdicts chaos's run report repeats. loadgen writes these
//! types, `loadgen merge` and chaos read them back, and the reports render them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::io::Versioned;

/// How a booking operation ended, as the client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The saga ended CONFIRMED.
    Confirmed,
    /// The saga ended FAILED (seats taken, payment declined).
    Failed,
    /// The saga ended EXPIRED (booking timeout).
    Expired,
    /// The booking ended CANCELLED (by us or someone else).
    Cancelled,
    /// Acknowledged, but still PENDING when polling gave up.
    Pending,
    /// The POST was refused (4xx): no booking was created.
    Rejected,
    /// Unknown: timeout, connection error or 5xx on the POST.
    Unknown,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Confirmed,
        Outcome::Failed,
        Outcome::Expired,
        Outcome::Cancelled,
        Outcome::Pending,
        Outcome::Rejected,
        Outcome::Unknown,
    ];

    /// The terminal booking status this outcome stands for, parsed from the API.
    pub fn from_status(status: &str) -> Option<Self> {
        Some(match status {
            "CONFIRMED" => Outcome::Confirmed,
            "FAILED" => Outcome::Failed,
            "EXPIRED" => Outcome::Expired,
            "CANCELLED" => Outcome::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed => "CONFIRMED",
            Outcome::Failed => "FAILED",
            Outcome::Expired => "EXPIRED",
            Outcome::Cancelled => "CANCELLED",
            Outcome::Pending => "PENDING",
            Outcome::Rejected => "REJECTED",
            Outcome::Unknown => "UNKNOWN",
        }
    }

    /// Whether the saga ran to an end the client saw (the outcomes with a time-to-confirm).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Outcome::Confirmed | Outcome::Failed | Outcome::Expired | Outcome::Cancelled
        )
    }
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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

/// The open model's part of the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenModel {
    pub shape: String,
    pub workers: usize,
    pub scheduled: u64,
    pub started: u64,
    pub dropped: u64,
    pub late: u64,
    pub target_rate_per_s: f64,
    /// Starts per second actually achieved, from the first start to the last.
    pub start_rate_per_s: f64,
    /// How long after its due time each arrival started.
    pub start_delay: Percentiles,
}

/// Booking operations by outcome, as the history records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
    /// Operations that ended with `outcome`.
    pub fn outcome(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    pub fn confirmed(&self) -> u64 {
        self.outcome(Outcome::Confirmed)
    }
}

/// One goose route over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Route {
    pub name: String,
    pub count: usize,
    pub failures: usize,
    /// Requests per second over the load window.
    pub per_s: f64,
    /// Latency of the route's requests, as loadgen timed them around goose's call (absent in
    /// summaries from before it was recorded). Its histogram is `histograms["route:<name>"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Percentiles>,
}

/// A threshold rule's verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Threshold {
    pub rule: String,
    pub passed: bool,
    pub observed: String,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (observed {})",
            if self.passed { "PASS" } else { "FAIL" },
            self.rule,
            self.observed
        )
    }
}

/// One route in one second of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteSecond {
    /// Requests that completed in the second.
    pub count: u64,
    /// Of those, failures (unexpected status, not JSON, no answer).
    pub errors: u64,
    /// Latency percentiles of the second's requests (ms); `None` once merged from several runs.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// One second of the timeline, counted from the load start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Second {
    pub started: u64,
    pub late: u64,
    pub dropped: u64,
    /// Completions in this second, by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Time-to-confirm percentiles of the operations that ended in this second (ms).
    pub ttc_p50_ms: Option<f64>,
    pub ttc_p95_ms: Option<f64>,
    pub ttc_p99_ms: Option<f64>,
    /// Operations in flight at the end of the second.
    pub in_flight: u64,
    /// HTTP requests that completed in this second, per route (`POST /api/bookings`, ...);
    /// absent in summaries written before per-route timelines were recorded.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, RouteSecond>,
}

impl Second {
    /// Completions of `outcome` in this second.
    pub fn outcome(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }
}

/// Where the run's history went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryInfo {
    pub file: String,
    pub ops: u64,
    pub write_error: Option<String>,
}

/// loadgen's `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
    pub open_model: Option<OpenModel>,
    pub closed_users: usize,
    pub bookings: Bookings,
    /// Time-to-confirm, "all" and per terminal outcome.
    pub time_to_confirm: BTreeMap<String, Percentiles>,
    /// The same histograms, HdrHistogram V2 + base64, microseconds, for exact merging of runs:
    /// `all`, each outcome, and `route:<name>` per route (request latency).
    pub histograms: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub thresholds: Vec<Threshold>,
    pub passed: bool,
    pub history: HistoryInfo,
    /// One entry per second of the run.
    pub timeline: Vec<Second>,
}

impl Summary {
    /// The format this build writes.
    pub const VERSION: u32 = 1;
}

impl Versioned for Summary {
    const SUPPORTED: u32 = Summary::VERSION;

    fn version(&self) -> u32 {
        self.version
    }
}
