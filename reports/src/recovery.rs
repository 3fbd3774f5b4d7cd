//! Recovery time after a fault window, and the time-to-confirm SLO it is measured against.
//!
//! ```text
//!         fault window                 heal
//!  ───────[=============]──────────────────────────────▶ seconds from load start
//!  p99:    ok  BREACH ...  | bad  bad  ok  ok  ok
//!                          end        └─ k: first of 3 consecutive seconds under the SLO
//!  recovery = k - end   ("no breach": never over the SLO in the window or the second after it)
//! ```
//! A second is the timeline bucket [i, i + 1). It is *under* the SLO when it has a
//! time-to-confirm p99 and that p99 is below the SLO; a second with no completion is not
//! under (nothing confirmed is not a recovery). A window *breached* the SLO when a second
//! overlapping it, or the second right after its end (where the backlog of a stall lands), has
//! a p99 at or above the SLO, or when a second inside it completed nothing while bookings were in
//! flight (a stall).

use crate::format::parse_duration;
use crate::input::{FaultWindow, Second, Threshold};

/// Consecutive seconds under the SLO that count as recovered.
pub const STABLE_SECONDS: usize = 3;

/// How a fault window ended, as the time-to-confirm p99 saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recovery {
    /// The p99 stayed under the SLO throughout.
    NoBreach,
    /// Back under the SLO (and stayed for [`STABLE_SECONDS`]) `seconds` after the heal, from
    /// second `at_s` on.
    Recovered { seconds: f64, at_s: f64 },
    /// Breached, and never back under for long enough before the timeline ended.
    NotRecovered,
    /// The fault was never healed.
    NotHealed,
}

impl Recovery {
    /// The table cell.
    pub fn label(self) -> String {
        match self {
            Recovery::NoBreach => "no breach".into(),
            Recovery::Recovered { seconds, at_s } => {
                format!("{seconds:.1} s (under the SLO from {at_s:.0} s)")
            }
            Recovery::NotRecovered => "not recovered within the run".into(),
            Recovery::NotHealed => "not healed".into(),
        }
    }
}

/// Recovery after `window`, against an SLO on the per-second p99 of `slo_ms`.
pub fn recovery(timeline: &[Second], window: &FaultWindow, slo_ms: f64) -> Recovery {
    let Some(end) = window.end_s else {
        return Recovery::NotHealed;
    };
    let start = window.start_s.max(0.0);
    let first = start.floor() as usize;
    let last_inside = if end > start {
        (end.ceil() as usize).saturating_sub(1).max(first)
    } else {
        first
    };
    let over = |s: &Second| s.ttc_p99_ms.is_some_and(|p| p >= slo_ms);
    let stalled = |s: &Second| s.ttc_p99_ms.is_none() && s.in_flight > 0;
    let inside = timeline
        .iter()
        .enumerate()
        .skip(first)
        .take(last_inside + 1 - first);
    let breached = inside.clone().any(|(_, s)| over(s) || stalled(s))
        || timeline.get(last_inside + 1).is_some_and(over);
    if !breached {
        return Recovery::NoBreach;
    }
    let under = |i: usize| {
        timeline
            .get(i)
            .is_some_and(|s| s.ttc_p99_ms.is_some_and(|p| p < slo_ms))
    };
    let from = end.ceil() as usize;
    (from..timeline.len())
        .find(|k| (*k..k + STABLE_SECONDS).all(under))
        .map_or(Recovery::NotRecovered, |k| Recovery::Recovered {
            seconds: (k as f64 - end).max(0.0),
            at_s: k as f64,
        })
}

/// Where the SLO came from.
#[derive(Debug, Clone, PartialEq)]
pub enum SloSource {
    /// `--slo-p99` / [`crate::RenderOptions::slo_p99`].
    Option,
    /// The first `ttc-p99<X` threshold rule (the rule's text).
    Threshold(String),
    /// Neither: 1 s.
    Default,
}

/// The time-to-confirm p99 SLO in ms: the option, else the first `ttc-p99<X` (or `<=`) rule,
/// else 1 s.
pub fn slo_ms(option: Option<std::time::Duration>, thresholds: &[Threshold]) -> (f64, SloSource) {
    if let Some(d) = option {
        return (d.as_secs_f64() * 1000.0, SloSource::Option);
    }
    for t in thresholds {
        if let Some(ms) = ttc_p99_rule_ms(&t.rule) {
            return (ms, SloSource::Threshold(t.rule.clone()));
        }
    }
    (1000.0, SloSource::Default)
}

/// The limit of a `ttc-p99<X` / `ttc-p99<=X` rule, in ms.
pub fn ttc_p99_rule_ms(rule: &str) -> Option<f64> {
    let rest = rule.trim().strip_prefix("ttc-p99")?.trim_start();
    let rest = rest.strip_prefix('<')?;
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let value: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    parse_duration(&value)
        .ok()
        .map(|d| d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(p99: &[Option<f64>]) -> Vec<Second> {
        p99.iter()
            .map(|p| Second {
                ttc_p99_ms: *p,
                in_flight: 5,
                ..Second::default()
            })
            .collect()
    }

    fn window(start: f64, end: Option<f64>) -> FaultWindow {
        FaultWindow {
            start_s: start,
            end_s: end,
            ..FaultWindow::default()
        }
    }

    #[test]
    fn recovery_counts_from_the_heal_to_three_good_seconds() {
        let t = timeline(&[
            Some(10.0),
            Some(900.0),
            Some(950.0),
            Some(800.0),
            Some(40.0),
            Some(700.0),
            Some(30.0),
            Some(20.0),
            Some(20.0),
            Some(20.0),
        ]);
        // Window [1, 3): bad inside; second 3 bad, 4 good, 5 bad, 6..8 good.
        assert_eq!(
            recovery(&t, &window(1.0, Some(3.0)), 500.0),
            Recovery::Recovered {
                seconds: 3.0,
                at_s: 6.0
            }
        );
        assert_eq!(
            recovery(&t, &window(6.0, Some(7.0)), 500.0),
            Recovery::NoBreach
        );
        assert_eq!(recovery(&t, &window(6.0, None), 500.0), Recovery::NotHealed);
        let t = timeline(&[Some(10.0), Some(900.0), Some(950.0), Some(10.0), Some(10.0)]);
        assert_eq!(
            recovery(&t, &window(1.0, Some(2.5)), 500.0),
            Recovery::NotRecovered
        );
    }

    #[test]
    fn a_stall_is_a_breach() {
        let t = timeline(&[Some(10.0), None, None, Some(10.0), Some(10.0), Some(10.0)]);
        assert_eq!(
            recovery(&t, &window(1.0, Some(3.0)), 500.0),
            Recovery::Recovered {
                seconds: 0.0,
                at_s: 3.0
            }
        );
    }

    #[test]
    fn slo_comes_from_the_option_then_the_rule_then_one_second() {
        let rules = vec![
            Threshold {
                rule: "unknown=0".into(),
                ..Threshold::default()
            },
            Threshold {
                rule: "ttc-p99<=750ms".into(),
                ..Threshold::default()
            },
        ];
        assert_eq!(
            slo_ms(Some(std::time::Duration::from_millis(200)), &rules).0,
            200.0
        );
        assert_eq!(
            slo_ms(None, &rules),
            (750.0, SloSource::Threshold("ttc-p99<=750ms".into()))
        );
        assert_eq!(slo_ms(None, &[]), (1000.0, SloSource::Default));
        assert_eq!(ttc_p99_rule_ms("ttc-p99<2s for CONFIRMED"), Some(2000.0));
        assert_eq!(ttc_p99_rule_ms("ttc-p99.9<2s"), None);
    }
}
