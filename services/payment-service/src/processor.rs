//! The payment processor stand-in: answers after a fixed latency, accepting a charge with the
//! configured probability.
//!
//! The caller charges at most once per booking (see `consumers`); like a real processor called
//! with an idempotency key, a second call for the same booking would not move money twice,
//! because only the call whose `payments` row is inserted counts.

use std::time::Duration;

use crate::domain::SuccessRate;

/// Why a charge was declined, as sent in `payment.processed.reason` and stored in
/// `payments.failure_reason`.
pub const DECLINED: &str = "CARD_DECLINED";
/// A request with a negative amount is declined without calling the processor.
pub const INVALID_AMOUNT: &str = "INVALID_AMOUNT";

/// What the processor answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// The money was taken.
    Captured { amount_cents: i64 },
    /// Nothing was taken.
    Declined { reason: &'static str },
}

/// A processor that succeeds with probability `success_rate` after `latency`.
#[derive(Debug, Clone, Copy)]
pub struct SimulatedProcessor {
    success_rate: SuccessRate,
    latency: Duration,
}

impl SimulatedProcessor {
    pub fn new(success_rate: SuccessRate, latency: Duration) -> Self {
        Self {
            success_rate,
            latency,
        }
    }

    /// Charges `amount_cents`. Call it outside any database transaction: it sleeps.
    #[tracing::instrument(skip(self))]
    pub async fn charge(&self, amount_cents: i64) -> Charge {
        if amount_cents < 0 {
            return Charge::Declined {
                reason: INVALID_AMOUNT,
            };
        }
        tokio::time::sleep(self.latency).await;
        if self.success_rate.draw() {
            Charge::Captured { amount_cents }
        } else {
            Charge::Declined { reason: DECLINED }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processor(rate: f64) -> SimulatedProcessor {
        SimulatedProcessor::new(SuccessRate::parse(rate).unwrap(), Duration::from_millis(50))
    }

    #[tokio::test(start_paused = true)]
    async fn charge_takes_the_configured_latency() {
        let started = tokio::time::Instant::now();
        let charge = processor(1.0).charge(1500).await;
        assert_eq!(charge, Charge::Captured { amount_cents: 1500 });
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_success_rate_declines() {
        assert_eq!(
            processor(0.0).charge(1500).await,
            Charge::Declined { reason: DECLINED }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn negative_amount_is_declined_at_once() {
        let started = tokio::time::Instant::now();
        assert_eq!(
            processor(1.0).charge(-1).await,
            Charge::Declined {
                reason: INVALID_AMOUNT
            }
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
