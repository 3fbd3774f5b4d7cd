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

pub use runfiles::Outcome;

/// A histogram of microseconds, 1 us to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts; it cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub use runfiles::{RouteSecond, Second};

/// One second while the run goes on: what the file will say, and the raw samples its
/// percentiles are computed from at the end.
#[derive(Debug, Default, Clone)]
struct SecondSoFar {
    second: Second,
    /// Time-to-confirm samples of the second (microseconds). Raw samples, not a histogram: a
    /// histogram per second per route would cost ~180 KB each, a sample 4 bytes.
    ttc: Vec<u32>,
    /// Request latencies of the second by route (microseconds).
    route_latency: BTreeMap<String, Vec<u32>>,
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
    timeline: Mutex<Vec<SecondSoFar>>,
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
    fn second(&self, at: Duration, update: impl FnOnce(&mut SecondSoFar)) {
        let index = usize::try_from(at.as_secs())
            .unwrap_or(usize::MAX)
            .min(24 * 3600);
        let mut timeline = self.timeline.lock().unwrap_or_else(|e| e.into_inner());
        if timeline.len() <= index {
            timeline.resize_with(index + 1, SecondSoFar::default);
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
            s.second.started += 1;
            s.second.late += u64::from(late);
        });
    }

    /// An arrival that was never started (no free worker in time, or the queue was full).
    pub fn record_drop(&self, at: Duration) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.second(at, |s| s.second.dropped += 1);
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
            *s.second.outcomes.entry(outcome).or_default() += 1;
            if let Some(ttc) = ttc {
                s.ttc.push(micros32(ttc));
            }
            s.second.in_flight = in_flight;
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
            let r = match s.second.routes.get_mut(route) {
                Some(r) => r,
                None => s.second.routes.entry(route.to_string()).or_default(),
            };
            r.count += 1;
            r.errors += u64::from(error);
            match s.route_latency.get_mut(route) {
                Some(samples) => samples.push(micros32(latency)),
                None => {
                    s.route_latency
                        .insert(route.to_string(), vec![micros32(latency)]);
                }
            }
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
        let so_far = self
            .timeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        so_far
            .into_iter()
            .map(|mut s| {
                s.second.ttc_p50_ms = quantile_ms(&mut s.ttc, 0.5);
                s.second.ttc_p95_ms = quantile_ms(&mut s.ttc, 0.95);
                s.second.ttc_p99_ms = quantile_ms(&mut s.ttc, 0.99);
                for (route, r) in &mut s.second.routes {
                    if let Some(samples) = s.route_latency.get_mut(route) {
                        r.p50_ms = quantile_ms(samples, 0.5);
                        r.p95_ms = quantile_ms(samples, 0.95);
                        r.p99_ms = quantile_ms(samples, 0.99);
                    }
                }
                s.second
            })
            .collect()
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
