//! Latency histograms, fetch requests counted from librdkafka's statistics, and which messages
//! of a run a group has seen.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::statistics::Statistics;

/// Latencies in microseconds, 1 µs to 10 min, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Latencies {
    pub fn new() -> Self {
        Self(
            Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("static histogram bounds are valid"),
        )
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Self) {
        // Same bounds on both sides: `add` cannot fail.
        self.0
            .add(&other.0)
            .expect("histograms with the same bounds");
    }

    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Percentiles {
            count: self.0.len(),
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            max_ms: ms(self.0.max()),
        })
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

/// p50 / p90 / p99 / max of some latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n = {})",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// A consumer context that keeps the Fetch requests the client has sent, from its statistics
/// (`statistics.interval.ms`), with librdkafka's timestamp of each report: a rate between two
/// reports is exact, whatever the reporting interval.
#[derive(Debug, Clone, Default)]
pub struct FetchCounter(Arc<Mutex<Option<FetchSnapshot>>>);

/// Fetch requests sent so far, at librdkafka's monotonic time `ts_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSnapshot {
    pub ts_us: i64,
    pub fetches: i64,
}

impl FetchCounter {
    /// The last report, if one came.
    pub fn snapshot(&self) -> Option<FetchSnapshot> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fetch requests per second between two reports (None when no report came between them).
    pub fn rate(from: Option<FetchSnapshot>, to: Option<FetchSnapshot>) -> Option<f64> {
        let (a, b) = (from?, to?);
        (b.ts_us > a.ts_us)
            .then(|| (b.fetches - a.fetches) as f64 * 1e6 / (b.ts_us - a.ts_us) as f64)
    }
}

impl ClientContext for FetchCounter {
    fn stats(&self, statistics: Statistics) {
        let fetches = statistics
            .brokers
            .values()
            .filter_map(|b| b.req.get("Fetch"))
            .sum();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(FetchSnapshot {
            ts_us: statistics.ts,
            fetches,
        });
    }
}

impl ConsumerContext for FetchCounter {}

/// Which of messages `0..n` arrived, and how many arrived again.
#[derive(Debug, Clone)]
pub struct Seen {
    bits: Vec<u64>,
    n: u64,
    pub distinct: u64,
    pub duplicates: u64,
}

impl Seen {
    pub fn new(n: u64) -> Self {
        Self {
            bits: vec![0; usize::try_from(n.div_ceil(64)).expect("message count fits in memory")],
            n,
            distinct: 0,
            duplicates: 0,
        }
    }

    /// Notes message `seq`; true the first time (false again, or when it is not of this run).
    pub fn insert(&mut self, seq: u64) -> bool {
        if seq >= self.n {
            return false;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.bits[word] & bit != 0 {
            self.duplicates += 1;
            return false;
        }
        self.bits[word] |= bit;
        self.distinct += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_counts_distinct_and_duplicates() {
        let mut seen = Seen::new(130);
        assert!(seen.insert(0));
        assert!(seen.insert(129));
        assert!(!seen.insert(129));
        assert!(!seen.insert(130));
        assert_eq!((seen.distinct, seen.duplicates), (2, 1));
    }

    #[test]
    fn percentiles_in_ms() {
        let mut l = Latencies::new();
        assert!(l.percentiles().is_none());
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        let p = l.percentiles().unwrap();
        assert_eq!(p.count, 100);
        assert!((p.p50_ms - 50.0).abs() < 0.1, "{p}");
        assert!((p.p99_ms - 99.0).abs() < 0.1, "{p}");
        assert!((p.max_ms - 100.0).abs() < 0.1, "{p}");
    }

    #[test]
    fn fetch_rate_between_reports() {
        let a = FetchSnapshot {
            ts_us: 1_000_000,
            fetches: 10,
        };
        let b = FetchSnapshot {
            ts_us: 3_000_000,
            fetches: 30,
        };
        assert_eq!(FetchCounter::rate(Some(a), Some(b)), Some(10.0));
        assert_eq!(FetchCounter::rate(Some(a), Some(a)), None);
        assert_eq!(FetchCounter::rate(None, Some(b)), None);
    }
}
