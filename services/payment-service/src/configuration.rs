//! payment-service settings, read once from the environment.

use std::time::Duration;

use kit::config::{CommonSettings, ConfigError, Env, FromEnv};

use crate::domain::SuccessRate;

/// Payment requests of one partition in flight at once unless `CONSUMER_CONCURRENCY` says
/// otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Everything payment-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Chance that the simulated processor accepts a charge (`PAYMENT_SUCCESS_RATE`, a number in
    /// 0..=1, default 0.95).
    pub success_rate: SuccessRate,
    /// How long the simulated processor takes to answer (`PAYMENT_LATENCY_MS`, default 50).
    pub latency: Duration,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut common = CommonSettings::from_env(env, 3005, "ticketflow_payments")?;
        // The processor answers in `latency` (50 ms by default, as a real one is slow): one
        // request at a time per partition would cap the whole stack at partitions / latency
        // (60 bookings/s). Charges of different bookings are independent; one booking's messages
        // still run in order.
        common.consumer_concurrency = env.parse_or("CONSUMER_CONCURRENCY", DEFAULT_CONCURRENCY)?;
        Ok(Self {
            common,
            success_rate: env.parse_or("PAYMENT_SUCCESS_RATE", SuccessRate::default())?,
            latency: Duration::from_millis(env.parse_or("PAYMENT_LATENCY_MS", 50u64)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_on_the_local_stack() {
        let settings =
            Settings::from_env(&Env::from_pairs(&[(kit::config::MODE_ENV, "dev")])).unwrap();
        kit::testing::assert_local_defaults(&settings.common, 3005, "ticketflow_payments");
        assert_eq!(settings.success_rate.value(), 0.95);
        assert_eq!(settings.latency, Duration::from_millis(50));
    }

    #[test]
    fn success_rate_outside_zero_to_one_names_the_variable() {
        for bad in ["1.5", "-1", "often"] {
            let err = Settings::from_env(&Env::from_pairs(&[
                (kit::config::MODE_ENV, "dev"),
                ("PAYMENT_SUCCESS_RATE", bad),
            ]))
            .unwrap_err();
            assert!(err.to_string().contains("PAYMENT_SUCCESS_RATE"), "{err}");
        }
    }

    #[test]
    fn bad_latency_names_the_variable() {
        let err = Settings::from_env(&Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("PAYMENT_LATENCY_MS", "fast"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("PAYMENT_LATENCY_MS"), "{err}");
    }
}
