//! loadgen's histograms: HdrHistogram V2 serializations in base64, values in microseconds.
//! Decoded here for the tables' percentiles and the percentile spectrum charts.

use hdrhistogram::Histogram;

/// Decodes one `histograms` entry of summary.json (runfiles' one definition).
pub use runfiles::histogram::decode;

/// A quantile of a histogram of microseconds, in milliseconds (as loadgen's `Percentiles`).
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The highest x of a spectrum: 99.999 %.
pub const SPECTRUM_MAX_X: f64 = 5.0;

/// The percentile spectrum: (x = log10(1 / (1 - q)), latency in ms), 20 points a decade from
/// q = 0 to 99.999 %, stopping at the histogram's resolution (1 / count) with its max.
pub fn spectrum(h: &Histogram<u64>) -> Vec<(f64, Option<f64>)> {
    if h.is_empty() {
        return Vec::new();
    }
    let resolution = (h.len() as f64).log10().min(SPECTRUM_MAX_X);
    let mut out = Vec::new();
    for k in 0..=(SPECTRUM_MAX_X * 20.0) as u32 {
        let x = f64::from(k) / 20.0;
        if x > resolution {
            break;
        }
        let q = 1.0 - 10f64.powf(-x);
        out.push((x, Some(quantile_ms(h, q))));
    }
    out.push((
        resolution.max(out.last().map_or(0.0, |p| p.0)),
        Some(h.max() as f64 / 1000.0),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spectrum_runs_from_the_median_to_the_max() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let back = decode(&runfiles::histogram::encode(&h)).unwrap();
        assert_eq!(quantile_ms(&back, 0.99), quantile_ms(&h, 0.99));
        let spectrum = spectrum(&back);
        assert_eq!(spectrum.first().unwrap().0, 0.0);
        assert_eq!(spectrum.last().unwrap().1, Some(h.max() as f64 / 1000.0));
    }
}
