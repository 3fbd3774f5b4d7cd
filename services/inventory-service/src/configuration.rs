//! inventory-service settings, read once from the environment.

use std::time::Duration;

use kit::config::{CommonSettings, ConfigError, Env, FromEnv};

use crate::locks::LockStrategy;

/// Everything inventory-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `REDIS_URL`, default redis://127.0.0.1:6379.
    pub redis_url: String,
    /// Prefix of every Redis key (`REDIS_KEY_PREFIX`, default `stampede:`); tests use their own.
    pub redis_prefix: String,
    /// `LOCK_STRATEGY`: `lua` (default), `setnx`, or `unsafe` (deliberately racy, for the checker).
    pub lock_strategy: LockStrategy,
    /// How long a lock holds (`LOCK_TTL_MS`, default 300 000). Must exceed booking-service's
    /// BOOKING_TIMEOUT with a margin: a booking confirms only before its timeout, and its
    /// seats.confirm must arrive before the lock can be swept.
    pub lock_ttl: Duration,
    /// How often expired locks are swept (`SWEEP_INTERVAL_MS`, default 1000).
    pub sweep_interval: Duration,
    /// How long the `unsafe` strategy's booking waits between check and set for a rival booking
    /// of the same seat (`UNSAFE_RACE_WINDOW_MS`, default 5; see [`crate::race`]): two bookings
    /// of one seat that arrive within it both win the seat.
    pub unsafe_race_window: Duration,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env, 3004, "ticketflow_inventory")?,
            redis_url: env.string_or("REDIS_URL", "redis://127.0.0.1:6379"),
            redis_prefix: env.string_or("REDIS_KEY_PREFIX", "stampede:"),
            lock_strategy: env.parse_or("LOCK_STRATEGY", LockStrategy::Lua)?,
            lock_ttl: Duration::from_millis(env.parse_or("LOCK_TTL_MS", 300_000)?),
            sweep_interval: Duration::from_millis(env.parse_or("SWEEP_INTERVAL_MS", 1_000)?),
            unsafe_race_window: Duration::from_millis(env.parse_or("UNSAFE_RACE_WINDOW_MS", 5)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_lock_strategy_names_the_variable_and_the_choices() {
        let err = Settings::from_env(&Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("LOCK_STRATEGY", "optimistic"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("LOCK_STRATEGY") && text.contains("lua"),
            "{text}"
        );
    }
}
