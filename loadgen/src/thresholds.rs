//! Saga thresholds: pass/fail rules on what goose does not see, judged once when the run ends.
//!
//! ```text
//! ttc-p99<2s   ttc-p50<=500ms   ttc-max<10s   ttc-p99<1s for CONFIRMED
//! confirmed-rate>=100/s   start-rate>=190/s
//! unknown=0   pending=0   dropped=0   late<1%   failed<20%   expired=0   rejected<=5   attempted>=2000
//! ```
//! Counts compare as numbers, or as a percentage of operations started when the value ends in
//! `%`. Every other rule (p95<500ms, error-rate<1%, ...) is goose's own and goes to goose.

use crate::rate::parse_duration;
use crate::stats::Outcome;

/// A rule did not parse.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bad threshold {rule:?}: {reason}")]
pub struct ThresholdError {
    rule: String,
    reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

impl Op {
    fn passes(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Less => observed < limit,
            Op::LessOrEqual => observed <= limit,
            Op::Greater => observed > limit,
            Op::GreaterOrEqual => observed >= limit,
            Op::Equal => (observed - limit).abs() < 1e-9,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Metric {
    /// Time-to-confirm quantile (0..1), or max when 1.0, of one outcome or all.
    Ttc {
        quantile: f64,
        outcome: Option<Outcome>,
    },
    ConfirmedRate,
    StartRate,
    Count(Counted),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Counted {
    Outcome(Outcome),
    Dropped,
    Late,
    /// Booking operations that sent their POST (every outcome): a run too small to show
    /// anything can be refused with `attempted>=2000`.
    Attempted,
}

/// One parsed saga rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SagaThreshold {
    text: String,
    metric: Metric,
    op: Op,
    limit: f64,
    percent: bool,
}

/// What the rules are judged against.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Time-to-confirm quantiles in ms: `ttc(outcome, quantile)`.
    pub ttc_ms: std::collections::BTreeMap<String, hdrhistogram::Histogram<u64>>,
    pub confirmed_per_s: f64,
    pub started_per_s: f64,
    pub started: u64,
    pub outcomes: std::collections::BTreeMap<Outcome, u64>,
    pub dropped: u64,
    pub late: u64,
}

/// A rule's verdict: the summary's `thresholds` entries.
pub use runfiles::Threshold as Verdict;

/// Whether `rule` names a saga metric (else it is goose's).
pub fn is_saga_rule(rule: &str) -> bool {
    let name: String = rule
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    name.starts_with("ttc-")
        || matches!(
            name.as_str(),
            "confirmed-rate" | "start-rate" | "dropped" | "late" | "attempted"
        )
        || Outcome::ALL
            .iter()
            .any(|o| o.as_str().eq_ignore_ascii_case(&name))
}

impl SagaThreshold {
    /// The rule as written (`ttc-p99<2s`).
    pub fn rule(&self) -> &str {
        &self.text
    }

    /// Parses a rule such as `ttc-p99<2s`.
    ///
    /// # Errors
    /// When the metric, operator or value does not parse.
    pub fn parse(rule: &str) -> Result<Self, ThresholdError> {
        let fail = |reason: &str| ThresholdError {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let text = rule.trim();
        let (head, outcome) = match text.split_once(" for ") {
            Some((head, o)) => {
                let o = Outcome::ALL
                    .into_iter()
                    .find(|x| x.as_str().eq_ignore_ascii_case(o.trim()))
                    .ok_or_else(|| {
                        fail("`for` takes an outcome: CONFIRMED, FAILED, EXPIRED or CANCELLED")
                    })?;
                (head.trim(), Some(o))
            }
            None => (text, None),
        };
        let at = head
            .find(['<', '>', '='])
            .ok_or_else(|| fail("needs an operator: < <= > >= ="))?;
        let (name, rest) = head.split_at(at);
        let (op, value) = [
            ("<=", Op::LessOrEqual),
            (">=", Op::GreaterOrEqual),
            ("==", Op::Equal),
            ("<", Op::Less),
            (">", Op::Greater),
            ("=", Op::Equal),
        ]
        .into_iter()
        .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (op, v.trim())))
        .ok_or_else(|| fail("needs an operator: < <= > >= ="))?;
        let name = name.trim().to_ascii_lowercase();
        let metric = if let Some(q) = name.strip_prefix("ttc-") {
            let quantile = if q == "max" {
                1.0
            } else {
                let p: f64 = q
                    .strip_prefix('p')
                    .and_then(|p| p.parse().ok())
                    .filter(|p| *p > 0.0 && *p < 100.0)
                    .ok_or_else(|| fail("ttc- takes pNN (0<NN<100, e.g. p99.9) or max"))?;
                p / 100.0
            };
            Metric::Ttc { quantile, outcome }
        } else if outcome.is_some() {
            return Err(fail("only ttc- rules take `for <outcome>`"));
        } else {
            match name.as_str() {
                "confirmed-rate" => Metric::ConfirmedRate,
                "start-rate" => Metric::StartRate,
                "dropped" => Metric::Count(Counted::Dropped),
                "late" => Metric::Count(Counted::Late),
                "attempted" => Metric::Count(Counted::Attempted),
                other => Metric::Count(Counted::Outcome(
                    Outcome::ALL
                        .into_iter()
                        .find(|o| o.as_str().eq_ignore_ascii_case(other))
                        .ok_or_else(|| fail("unknown saga metric"))?,
                )),
            }
        };
        let mut percent = false;
        let limit = match &metric {
            Metric::Ttc { .. } => {
                parse_duration(value).map_err(|e| fail(&e))?.as_secs_f64() * 1000.0
            }
            Metric::ConfirmedRate | Metric::StartRate => value
                .strip_suffix("/s")
                .unwrap_or(value)
                .trim()
                .parse()
                .map_err(|_| fail("a rate takes a number per second, e.g. 100/s"))?,
            Metric::Count(_) => {
                let (number, is_percent) = match value.strip_suffix('%') {
                    Some(n) => (n.trim(), true),
                    None => (value, false),
                };
                percent = is_percent;
                number
                    .parse()
                    .map_err(|_| fail("a count takes a number or a percentage"))?
            }
        };
        if !f64::is_finite(limit) || limit < 0.0 {
            return Err(fail("the value must be a finite, non-negative number"));
        }
        Ok(Self {
            text: text.to_string(),
            metric,
            op,
            limit,
            percent,
        })
    }

    /// Judges the rule. A time-to-confirm rule with no samples fails: a run that confirmed
    /// nothing must not pass a latency SLO.
    pub fn judge(&self, seen: &Observed) -> Verdict {
        let (observed, shown) = match &self.metric {
            Metric::Ttc { quantile, outcome } => {
                let key = outcome.map_or("all", Outcome::as_str);
                match seen.ttc_ms.get(key).filter(|h| !h.is_empty()) {
                    None => {
                        return Verdict {
                            rule: self.text.clone(),
                            passed: false,
                            observed: "no samples".into(),
                        }
                    }
                    Some(h) => {
                        let us = if *quantile >= 1.0 {
                            h.max()
                        } else {
                            h.value_at_quantile(*quantile)
                        };
                        let ms = us as f64 / 1000.0;
                        (ms, format_ms(ms))
                    }
                }
            }
            Metric::ConfirmedRate => (
                seen.confirmed_per_s,
                format!("{:.1}/s", seen.confirmed_per_s),
            ),
            Metric::StartRate => (seen.started_per_s, format!("{:.1}/s", seen.started_per_s)),
            Metric::Count(counted) => {
                let n = match counted {
                    Counted::Outcome(o) => seen.outcomes.get(o).copied().unwrap_or(0),
                    Counted::Dropped => seen.dropped,
                    Counted::Late => seen.late,
                    Counted::Attempted => seen.outcomes.values().sum(),
                };
                if self.percent {
                    let pct = if seen.started == 0 {
                        0.0
                    } else {
                        n as f64 * 100.0 / seen.started as f64
                    };
                    (pct, format!("{pct:.2}% ({n} of {})", seen.started))
                } else {
                    (n as f64, n.to_string())
                }
            }
        };
        Verdict {
            rule: self.text.clone(),
            passed: self.op.passes(observed, self.limit),
            observed: shown,
        }
    }
}

/// `1234.5` ms -> `1.23s`, `12.3` -> `12.3ms`.
pub fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        format!("{ms:.1}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;

    fn observed() -> Observed {
        let mut h = new_histogram();
        for ms in 1..=100u64 {
            h.record(ms * 1000).unwrap();
        }
        let mut o = Observed {
            confirmed_per_s: 95.0,
            started_per_s: 100.0,
            started: 1000,
            dropped: 0,
            late: 20,
            ..Default::default()
        };
        o.ttc_ms.insert("all".into(), h.clone());
        o.ttc_ms.insert("CONFIRMED".into(), h);
        o.outcomes.insert(Outcome::Confirmed, 950);
        o.outcomes.insert(Outcome::Unknown, 3);
        o
    }

    #[test]
    fn rules_are_judged_against_what_was_observed() {
        let seen = observed();
        for (rule, passed) in [
            ("ttc-p99<2s", true),
            ("ttc-p99<1ms", false),
            ("ttc-p50<=51ms", true),
            ("ttc-max<100ms", false),
            ("ttc-p99.9<=101ms for CONFIRMED", true),
            ("ttc-p99<1s for FAILED", false), // no samples
            ("confirmed-rate>=100/s", false),
            ("confirmed-rate>=90/s", true),
            ("unknown=0", false),
            ("unknown<=3", true),
            ("late<5%", true),
            ("late<1%", false),
            ("dropped=0", true),
            ("attempted>=953", true),
            ("attempted>=2000", false),
        ] {
            let verdict = SagaThreshold::parse(rule).unwrap().judge(&seen);
            assert_eq!(verdict.passed, passed, "{rule}: {verdict}");
        }
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (rule, needle) in [
            ("ttc-p99", "operator"),
            ("ttc-p100<1s", "pNN"),
            ("ttc-p99<soon", "not a duration"),
            ("confirmed-rate>fast", "rate"),
            ("bananas=0", "unknown saga metric"),
            ("unknown=lots", "count"),
            ("unknown=0 for CONFIRMED", "only ttc-"),
        ] {
            let err = SagaThreshold::parse(rule).unwrap_err().to_string();
            assert!(err.contains(needle), "{rule}: {err}");
        }
    }

    #[test]
    fn saga_rules_are_told_from_goose_rules() {
        assert!(is_saga_rule("ttc-p99<2s"));
        assert!(is_saga_rule("unknown=0"));
        assert!(is_saga_rule("confirmed-rate>=100/s"));
        assert!(is_saga_rule("attempted>=2000"));
        assert!(!is_saga_rule("p95<500ms"));
        assert!(!is_saga_rule("error-rate<1%"));
        assert!(!is_saga_rule("p99<2s for GET /api/events"));
    }
}
