//! booking-service settings, read once from the environment.

use std::time::Duration;

use kit::config::{CommonSettings, ConfigError, Env, FromEnv};

/// Everything booking-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// A PENDING booking older than this expires (`BOOKING_TIMEOUT_MS`, default 60 000). Keep it
    /// well below inventory's LOCK_TTL_MS.
    pub booking_timeout: Duration,
    /// How often the expiry worker looks (`EXPIRY_SCAN_INTERVAL_MS`, default 500).
    pub expiry_scan_interval: Duration,
    /// Most seats in one booking (`MAX_SEATS_PER_BOOKING`, default 10).
    pub max_seats: usize,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env, 3003, "ticketflow_bookings")?,
            booking_timeout: Duration::from_millis(env.parse_or("BOOKING_TIMEOUT_MS", 60_000)?),
            expiry_scan_interval: Duration::from_millis(
                env.parse_or("EXPIRY_SCAN_INTERVAL_MS", 500)?,
            ),
            max_seats: env.parse_or("MAX_SEATS_PER_BOOKING", 10)?,
        })
    }
}
