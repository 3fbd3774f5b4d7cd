//! `summary.json`: what the run did, in a shape the chaos runner and the reports read.
//! Every key is documented in loadgen/README.md ("summary.json").

use hdrhistogram::Histogram;

/// The summary's types are the run folder's (`runfiles`): loadgen writes them, chaos and the
/// reports read them.
pub use runfiles::summary::{
    Bookings, HistoryInfo, OpenModel as OpenModelSummary, Percentiles, Route as RouteSummary,
    Summary,
};

/// The percentiles of a histogram of microseconds, in milliseconds.
pub fn percentiles_of(h: &Histogram<u64>) -> Percentiles {
    let ms = |us: u64| us as f64 / 1000.0;
    Percentiles {
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

/// The histogram encoding of summary.json is the run folder's: one definition in runfiles.
pub use runfiles::histogram::encode;
