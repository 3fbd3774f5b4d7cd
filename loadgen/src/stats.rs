//! What the run measured beyond goose's request metrics: booking outcomes, time-to-confirm
//! histograms (HdrHistogram, microseconds) per outcome, the open model's starts, and a 1 s
//! timeline for the reports.
//!
//! Time-to-confirm runs from the moment an operation was *due* (its place in the arrival
//! schedule) to the moment the client saw a terminal status. Measuring from the due time and not
//! from the actual start is what keeps the open model free of coordinated omission: when the
//! generator falls behind, the wait is charged to the latency instead of disappearing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

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

/// A histogram of microseconds, 1 us to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts; it cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// One second of the run.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
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
    /// HTTP requests that completed in this second, per route (`POST /api/bookings`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, RouteSecond>,
    /// Time-to-confirm samples of the second (microseconds). Raw samples, not a histogram: a
    /// histogram per second per route would cost ~180 KB each, a sample 4 bytes.
    #[serde(skip)]
    ttc: Vec<u32>,
}

/// One route in one second of the run.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RouteSecond {
    /// Requests that completed in the second.
    pub count: u64,
    /// Of those, failures (unexpected status, not JSON, no answer).
    pub errors: u64,
    /// Latency percentiles of the second's requests (ms); `None` once merged from several runs.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    #[serde(skip)]
    samples: Vec<u32>,
}

/// A route over the whole run.
#[derive(Debug, Clone)]
pub struct RouteTotal {
    pub count: u64,
    pub errors: u64,
    /// Latency of every request (microseconds).
    pub latency: Histogram<u64>,
}

/// The `q` quantile (nearest rank) of `samples` in microseconds, as milliseconds; sorts them.
fn quantile_ms(samples: &mut [u32], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    Some(f64::from(samples[rank - 1]) / 1000.0)
}

/// Shared counters and histograms; everything is safe to update from many users at once.
pub struct Stats {
    pub started: AtomicU64,
    pub late: AtomicU64,
    pub dropped: AtomicU64,
    pub sold_out: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    pub cancels_ok: AtomicU64,
    pub cancels_failed: AtomicU64,
    outcomes: Mutex<BTreeMap<Outcome, u64>>,
    /// Time-to-confirm of terminal outcomes, per outcome and all together.
    ttc: Mutex<BTreeMap<String, Histogram<u64>>>,
    /// How late operations started against their due time.
    start_delay: Mutex<Histogram<u64>>,
    timeline: Mutex<Vec<Second>>,
    routes: Mutex<BTreeMap<String, RouteTotal>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            started: AtomicU64::new(0),
            late: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            sold_out: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            cancels_ok: AtomicU64::new(0),
            cancels_failed: AtomicU64::new(0),
            outcomes: Mutex::default(),
            ttc: Mutex::default(),
            start_delay: Mutex::new(new_histogram()),
            timeline: Mutex::default(),
            routes: Mutex::default(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn micros32(d: Duration) -> u32 {
    u32::try_from(micros(d)).unwrap_or(u32::MAX)
}

impl Stats {
    fn second(&self, at: Duration, update: impl FnOnce(&mut Second)) {
        let index = usize::try_from(at.as_secs())
            .unwrap_or(usize::MAX)
            .min(24 * 3600);
        let mut timeline = self.timeline.lock().unwrap_or_else(|e| e.into_inner());
        if timeline.len() <= index {
            timeline.resize_with(index + 1, Second::default);
        }
        update(&mut timeline[index]);
    }

    /// An operation started `delay` after it was due, at `at` since the run started.
    pub fn record_start(&self, at: Duration, delay: Duration, late: bool) {
        self.started.fetch_add(1, Ordering::Relaxed);
        if late {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        self.start_delay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .saturating_record(micros(delay));
        self.second(at, |s| {
            s.started += 1;
            s.late += u64::from(late);
        });
    }

    /// An arrival that was never started (no free worker in time, or the queue was full).
    pub fn record_drop(&self, at: Duration) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.second(at, |s| s.dropped += 1);
    }

    /// An operation ended with `outcome`; `ttc` is set for terminal outcomes.
    pub fn record_end(&self, at: Duration, outcome: Outcome, ttc: Option<Duration>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        *self
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(outcome)
            .or_default() += 1;
        if let Some(ttc) = ttc {
            let mut all = self.ttc.lock().unwrap_or_else(|e| e.into_inner());
            all.entry("all".into())
                .or_insert_with(new_histogram)
                .saturating_record(micros(ttc));
            all.entry(outcome.as_str().into())
                .or_insert_with(new_histogram)
                .saturating_record(micros(ttc));
        }
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        self.second(at, |s| {
            *s.outcomes.entry(outcome).or_default() += 1;
            if let Some(ttc) = ttc {
                s.ttc.push(micros32(ttc));
            }
            s.in_flight = in_flight;
        });
    }

    /// An HTTP request on `route` completed at `at` after `latency`; `error` when it failed.
    pub fn record_request(&self, at: Duration, route: &str, latency: Duration, error: bool) {
        {
            let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            let total = match routes.get_mut(route) {
                Some(total) => total,
                None => routes
                    .entry(route.to_string())
                    .or_insert_with(|| RouteTotal {
                        count: 0,
                        errors: 0,
                        latency: new_histogram(),
                    }),
            };
            total.count += 1;
            total.errors += u64::from(error);
            total.latency.saturating_record(micros(latency));
        }
        self.second(at, |s| {
            let r = match s.routes.get_mut(route) {
                Some(r) => r,
                None => s.routes.entry(route.to_string()).or_default(),
            };
            r.count += 1;
            r.errors += u64::from(error);
            r.samples.push(micros32(latency));
        });
    }

    /// Copies of every route's totals, by route.
    pub fn routes(&self) -> BTreeMap<String, RouteTotal> {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Count per outcome so far.
    pub fn outcomes(&self) -> BTreeMap<Outcome, u64> {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn outcome(&self, outcome: Outcome) -> u64 {
        self.outcomes().get(&outcome).copied().unwrap_or(0)
    }

    /// A copy of a time-to-confirm histogram ("all" or an outcome's name).
    pub fn ttc(&self, which: &str) -> Option<Histogram<u64>> {
        self.ttc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(which)
            .cloned()
    }

    /// Copies of every time-to-confirm histogram, by name.
    pub fn ttc_all(&self) -> BTreeMap<String, Histogram<u64>> {
        self.ttc.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn start_delay(&self) -> Histogram<u64> {
        self.start_delay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The 1 s timeline with each second's percentiles filled in.
    pub fn timeline(&self) -> Vec<Second> {
        let mut timeline = self
            .timeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for s in &mut timeline {
            let mut ttc = std::mem::take(&mut s.ttc);
            s.ttc_p50_ms = quantile_ms(&mut ttc, 0.5);
            s.ttc_p95_ms = quantile_ms(&mut ttc, 0.95);
            s.ttc_p99_ms = quantile_ms(&mut ttc, 0.99);
            for r in s.routes.values_mut() {
                let mut samples = std::mem::take(&mut r.samples);
                r.p50_ms = quantile_ms(&mut samples, 0.5);
                r.p95_ms = quantile_ms(&mut samples, 0.95);
                r.p99_ms = quantile_ms(&mut samples, 0.99);
            }
        }
        timeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_histograms_and_timeline_agree() {
        let stats = Stats::default();
        for i in 0..10u64 {
            stats.record_start(
                Duration::from_millis(100 * i),
                Duration::from_millis(1),
                false,
            );
        }
        for i in 0..8u64 {
            stats.record_end(
                Duration::from_millis(1500),
                Outcome::Confirmed,
                Some(Duration::from_millis(100 + i)),
            );
        }
        stats.record_end(Duration::from_millis(1500), Outcome::Unknown, None);
        stats.record_drop(Duration::from_millis(300));
        assert_eq!(stats.outcome(Outcome::Confirmed), 8);
        assert_eq!(stats.ttc("all").unwrap().len(), 8);
        assert!(stats.ttc("UNKNOWN").is_none());
        assert_eq!(stats.in_flight.load(Ordering::Relaxed), 1);
        let timeline = stats.timeline();
        assert_eq!(timeline[0].started, 10);
        assert_eq!(timeline[0].dropped, 1);
        assert_eq!(timeline[1].outcomes[&Outcome::Confirmed], 8);
        let p99 = timeline[1].ttc_p99_ms.unwrap();
        assert!((107.0..108.0).contains(&p99), "{p99}");
    }

    #[test]
    fn requests_land_in_their_second_and_route() {
        let stats = Stats::default();
        for i in 1..=100u64 {
            stats.record_request(
                Duration::from_millis(2500),
                "GET /api/bookings/:id",
                Duration::from_millis(i),
                i > 98,
            );
        }
        stats.record_request(
            Duration::from_millis(500),
            "POST /api/bookings",
            Duration::from_millis(7),
            false,
        );
        let timeline = stats.timeline();
        assert_eq!(timeline.len(), 3);
        let get = &timeline[2].routes["GET /api/bookings/:id"];
        assert_eq!((get.count, get.errors), (100, 2));
        assert_eq!(
            (get.p50_ms, get.p95_ms, get.p99_ms),
            (Some(50.0), Some(95.0), Some(99.0))
        );
        assert_eq!(timeline[0].routes["POST /api/bookings"].p99_ms, Some(7.0));
        assert!(timeline[1].routes.is_empty());
        let totals = stats.routes();
        assert_eq!(totals["GET /api/bookings/:id"].latency.len(), 100);
        assert_eq!(totals["GET /api/bookings/:id"].errors, 2);
    }

    #[test]
    fn nearest_rank_quantiles() {
        assert_eq!(quantile_ms(&mut [], 0.99), None);
        assert_eq!(quantile_ms(&mut [3000], 0.5), Some(3.0));
        assert_eq!(quantile_ms(&mut [4000, 1000, 3000, 2000], 0.5), Some(2.0));
        assert_eq!(quantile_ms(&mut [4000, 1000, 3000, 2000], 0.99), Some(4.0));
    }
}
