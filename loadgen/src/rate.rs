//! The open model's load shape: how many bookings start per second, at each moment of the run.
//!
//! ```text
//! --rate 200/s                          constant for --duration
//! --rate 50/s..400/s                    linear ramp over --duration
//! --rate "100/s for 20s, 200/s for 20s, 50/s..300/s for 30s"   steps and ramps
//! ```
//! Rates take `/s`, `/m` or `/h`. The arrival times are deterministic (evenly spaced within each
//! segment), so two runs of one shape start the same operations at the same offsets.

use std::time::Duration;

/// A shape failed to parse; the message names the part that is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bad rate {input:?}: {reason}")]
pub struct RateError {
    input: String,
    reason: String,
}

/// One stretch of the shape: the rate goes linearly from `from` to `to` (per second) over `length`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub from: f64,
    pub to: f64,
    pub length: Duration,
}

/// The whole load shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RateShape {
    pub segments: Vec<Segment>,
}

impl RateShape {
    /// Parses `spec`; a segment without `for` lasts `default_length` (the run's --duration).
    ///
    /// # Errors
    /// When a rate, a unit or a duration does not parse, a rate is negative or not finite, or a
    /// segment has no length.
    pub fn parse(spec: &str, default_length: Option<Duration>) -> Result<Self, RateError> {
        let fail = |reason: String| RateError {
            input: spec.to_string(),
            reason,
        };
        let mut segments = Vec::new();
        for part in spec.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(fail("empty segment".into()));
            }
            let (rates, length) = match part.split_once(" for ") {
                Some((rates, length)) => {
                    (rates.trim(), parse_duration(length.trim()).map_err(&fail)?)
                }
                None => (
                    part,
                    default_length.ok_or_else(|| {
                        fail(format!("{part:?} needs `for <duration>` or --duration"))
                    })?,
                ),
            };
            if length.is_zero() {
                return Err(fail(format!("{part:?} lasts no time")));
            }
            let (from, to) = match rates.split_once("..") {
                Some((a, b)) => (parse_rate(a).map_err(&fail)?, parse_rate(b).map_err(&fail)?),
                None => {
                    let r = parse_rate(rates).map_err(&fail)?;
                    (r, r)
                }
            };
            segments.push(Segment { from, to, length });
        }
        if segments.iter().all(|s| s.from == 0.0 && s.to == 0.0) {
            return Err(fail("the rate is zero everywhere".into()));
        }
        Ok(Self { segments })
    }

    /// The shape as a `--rate` spec that parses back to itself (every segment with its `for`).
    pub fn to_spec(&self) -> String {
        self.segments
            .iter()
            .map(|s| {
                let ms = s.length.as_millis();
                if s.from == s.to {
                    format!("{}/s for {ms}ms", s.from)
                } else {
                    format!("{}/s..{}/s for {ms}ms", s.from, s.to)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How long the shape lasts.
    pub fn length(&self) -> Duration {
        self.segments.iter().map(|s| s.length).sum()
    }

    /// The target rate (per second) at `t` from the start; 0 after the end.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let mut start = Duration::ZERO;
        for s in &self.segments {
            if t < start + s.length {
                let f = (t - start).as_secs_f64() / s.length.as_secs_f64();
                return s.from + (s.to - s.from) * f;
            }
            start += s.length;
        }
        0.0
    }

    /// The number of arrivals the shape asks for in `[0, t)`: the integral of the rate.
    pub fn expected_by(&self, t: Duration) -> f64 {
        let mut total = 0.0;
        let mut start = Duration::ZERO;
        for s in &self.segments {
            let len = s.length.as_secs_f64();
            let within = (t.saturating_sub(start)).as_secs_f64().min(len);
            // area of the trapezoid from 0 to `within`
            let r_end = s.from + (s.to - s.from) * (within / len);
            total += (s.from + r_end) / 2.0 * within;
            start += s.length;
        }
        total
    }

    /// The offsets from the start at which the arrivals are due, in order: arrival n is due when
    /// the integral of the rate reaches n + 0.5 (so a constant 10/s starts at 50 ms, 150 ms, ...).
    pub fn arrivals(&self) -> Arrivals<'_> {
        Arrivals {
            shape: self,
            next: 0,
            cursor: Duration::ZERO,
        }
    }
}

/// Iterator over due offsets; see [`RateShape::arrivals`].
pub struct Arrivals<'a> {
    shape: &'a RateShape,
    next: u64,
    cursor: Duration,
}

impl Iterator for Arrivals<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let target = self.next as f64 + 0.5;
        let end = self.shape.length();
        if self.shape.expected_by(end) < target {
            return None;
        }
        // Bisect between the previous arrival and the end: expected_by is monotonic.
        let (mut lo, mut hi) = (self.cursor, end);
        while hi - lo > Duration::from_micros(10) {
            let mid = lo + (hi - lo) / 2;
            if self.shape.expected_by(mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.next += 1;
        self.cursor = hi;
        Some(hi)
    }
}

/// `200/s`, `12000/m`, `5/h` -> arrivals per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} needs a unit, e.g. 200/s"))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} must be a finite, non-negative rate"));
    }
    let seconds = match per.trim() {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown rate unit /{other} (use /s, /m or /h)")),
    };
    Ok(value / seconds)
}

/// `500ms`, `10s`, `2m`, `1h`, `1m30s`, or a bare number of seconds: one parser for loadgen's
/// flags and thresholds, chaos's scenario files and the reports (it lives in `reports`, which
/// loadgen depends on).
pub use reports::format::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_spaces_arrivals_evenly() {
        let shape = RateShape::parse("10/s", Some(Duration::from_secs(2))).unwrap();
        let due: Vec<_> = shape.arrivals().collect();
        assert_eq!(due.len(), 20);
        assert!((due[0].as_secs_f64() - 0.05).abs() < 1e-3, "{:?}", due[0]);
        assert!((due[19].as_secs_f64() - 1.95).abs() < 1e-3, "{:?}", due[19]);
    }

    #[test]
    fn steps_and_ramps_integrate_to_the_expected_count() {
        let shape = RateShape::parse("100/s for 2s, 0/s..200/s for 2s", None).unwrap();
        assert_eq!(shape.length(), Duration::from_secs(4));
        assert_eq!(shape.arrivals().count(), 400);
        assert!((shape.rate_at(Duration::from_secs(3)) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn per_minute_rates_convert() {
        let shape = RateShape::parse("600/m for 1s", None).unwrap();
        assert_eq!(shape.arrivals().count(), 10);
    }

    #[test]
    fn bad_rates_name_the_problem() {
        for (spec, needle) in [
            ("fast", "needs a unit"),
            ("abc/s", "not a number"),
            ("-5/s", "non-negative"),
            ("5/fortnight", "unknown rate unit"),
            ("0/s", "zero everywhere"),
            ("5/s for 0s", "lasts no time"),
            ("5/s for soon", "not a duration"),
        ] {
            let err = RateShape::parse(spec, Some(Duration::from_secs(10)))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
        let err = RateShape::parse("5/s", None).unwrap_err().to_string();
        assert!(err.contains("--duration"), "{err}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("7 parsecs").is_err());
    }

    #[test]
    fn a_spec_parses_back_to_its_shape() {
        for spec in [
            "200/s",
            "50/s..400/s",
            "100/s for 20s, 200/s for 1m30s, 0.5/s..3/s for 250ms",
            "1/m",
        ] {
            let shape = RateShape::parse(spec, Some(Duration::from_secs(7))).unwrap();
            assert_eq!(
                RateShape::parse(&shape.to_spec(), None).unwrap(),
                shape,
                "{spec} -> {}",
                shape.to_spec()
            );
        }
    }

    /// Hostile flags: whatever `--rate`, `--duration`, `--scenarios` or a threshold rule says,
    /// the parsers answer a value or an error, and a parsed shape can be run; never a panic.
    mod hostile {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

            #[test]
            fn any_rate_text(
                spec in "\\PC{0,40}|-?[0-9]{0,20}(\\.[0-9]{0,3})?/(s|m|h|x)( for -?[0-9]{0,20}(ms|s|m|h|))?(, ?[0-9]{1,5}/s->[0-9]{0,25}/s for [0-9]{1,20}s){0,3}",
                default_s in proptest::option::of(0u64..u64::MAX),
            ) {
                if let Ok(shape) = RateShape::parse(&spec, default_s.map(Duration::from_secs)) {
                    let length = shape.length();
                    let _ = shape.to_spec();
                    let _ = shape.rate_at(length / 2);
                    let _ = shape.expected_by(length);
                    let _ = shape.arrivals().take(50).count();
                }
            }

            #[test]
            fn any_duration_text(text in "\\PC{0,30}|[0-9]{0,25}(\\.[0-9]{0,5})?(us|ms|s|m|h)([0-9]{0,25}(s|m|h))?") {
                let _ = parse_duration(&text);
            }

            #[test]
            fn any_persona_mix_and_threshold_rule(text in "\\PC{0,40}|[a-z-]{1,10}(:-?[0-9]{0,12})?(,[a-z-]{1,10}(:[0-9]{0,12})?){0,4}") {
                let _ = crate::persona::parse_weights(&text);
                let _ = crate::thresholds::SagaThreshold::parse(&text);
            }
        }
    }
}
