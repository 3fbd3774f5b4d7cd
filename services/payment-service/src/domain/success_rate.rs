//! The chance that the simulated processor accepts a charge (`PAYMENT_SUCCESS_RATE`).

use std::fmt;
use std::str::FromStr;

/// A probability in `0..=1`; built only by [`SuccessRate::parse`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct SuccessRate(f64);

impl SuccessRate {
    /// # Errors
    /// A message when `value` is not a finite number in `0..=1`.
    pub fn parse(value: f64) -> Result<Self, String> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "{value} is not a probability: expected a number between 0 and 1"
            ))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Draws once: true with probability `self`. `random()` is in `[0, 1)`, so 1 always succeeds
    /// and 0 never does.
    pub fn draw(self) -> bool {
        rand::random::<f64>() < self.0
    }
}

impl Default for SuccessRate {
    /// 0.95, the seed's default.
    fn default() -> Self {
        Self(0.95)
    }
}

impl FromStr for SuccessRate {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let value: f64 = raw
            .trim()
            .parse()
            .map_err(|_| "expected a number between 0 and 1".to_string())?;
        Self::parse(value)
    }
}

impl fmt::Display for SuccessRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::SuccessRate;

    #[test]
    fn probabilities_parse() {
        for (raw, expected) in [("0", 0.0), ("1", 1.0), ("0.95", 0.95), (" 0.5 ", 0.5)] {
            assert_eq!(
                raw.parse::<SuccessRate>().unwrap().value(),
                expected,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn non_probabilities_are_rejected() {
        for bad in ["", "-0.1", "1.01", "NaN", "inf", "most"] {
            assert!(
                bad.parse::<SuccessRate>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn extremes_are_deterministic() {
        let always = SuccessRate::parse(1.0).unwrap();
        let never = SuccessRate::parse(0.0).unwrap();
        assert!((0..1000).all(|_| always.draw()));
        assert!((0..1000).all(|_| !never.draw()));
    }
}
