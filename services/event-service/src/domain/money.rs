//! Prices: the API speaks decimal currency units (`75.5`), storage and messages speak cents.

/// A non-negative amount in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i64);

impl Cents {
    /// Largest accepted price: 10 million units.
    const MAX: f64 = 10_000_000.0;

    /// # Errors
    /// When `amount` is negative, not finite, above 10 million, or has more than 2 decimals.
    pub fn parse(field: &str, amount: f64) -> Result<Self, String> {
        if !amount.is_finite() || !(0.0..=Self::MAX).contains(&amount) {
            return Err(format!("{field} must be between 0 and {}", Self::MAX));
        }
        let cents = (amount * 100.0).round();
        if ((cents / 100.0) - amount).abs() > 1e-6 {
            return Err(format!("{field} must have at most 2 decimals"));
        }
        Ok(Self(cents as i64))
    }

    /// As currency units for the API.
    pub fn as_units(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::Cents;

    #[test]
    fn prices_round_trip_through_cents() {
        assert_eq!(Cents::parse("p", 75.5).unwrap(), Cents(7550));
        assert_eq!(Cents(7550).as_units(), 75.5);
    }

    #[test]
    fn bad_prices_are_rejected() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e9, 1.005] {
            assert!(Cents::parse("p", bad).is_err(), "{bad}");
        }
    }
}
