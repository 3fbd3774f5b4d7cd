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
    /// Most PENDING bookings one user may hold (`MAX_OPEN_BOOKINGS_PER_USER`, a number or `off`;
    /// default 10, off with `STAMPEDE_ENV=dev`, where loadgen books far faster per user than a
    /// person can). `None`: no cap.
    pub max_open_bookings: Option<u32>,
}

/// `MAX_OPEN_BOOKINGS_PER_USER` outside development mode.
pub const DEFAULT_MAX_OPEN_BOOKINGS: u32 = 10;

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
            max_open_bookings: max_open_bookings(env)?,
        })
    }
}

/// `MAX_OPEN_BOOKINGS_PER_USER`: a number of at least 1, or `off`.
fn max_open_bookings(env: &Env) -> Result<Option<u32>, ConfigError> {
    const NAME: &str = "MAX_OPEN_BOOKINGS_PER_USER";
    let default = if env.is_dev() {
        "off".to_string()
    } else {
        DEFAULT_MAX_OPEN_BOOKINGS.to_string()
    };
    let value = env.string_or(NAME, &default);
    if value == "off" {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => Err(ConfigError::Invalid {
            name: NAME.to_string(),
            value,
            reason: "expected a whole number of at least 1, or `off`".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_bookings_cap_is_on_outside_dev_off_in_dev_and_a_bad_one_is_named() {
        let dev = (kit::config::MODE_ENV, "dev");
        let secrets = [
            ("JWT_SECRET", "a-production-secret-of-at-least-32-bytes!"),
            ("INTERNAL_SECRET", "another-production-secret-of-32-bytes+"),
        ];
        let production = Settings::from_env(&Env::from_pairs(&secrets)).unwrap();
        assert_eq!(
            production.max_open_bookings,
            Some(DEFAULT_MAX_OPEN_BOOKINGS)
        );
        let in_dev = Settings::from_env(&Env::from_pairs(&[dev])).unwrap();
        assert_eq!(in_dev.max_open_bookings, None);
        let chosen = Settings::from_env(&Env::from_pairs(&[
            dev,
            ("MAX_OPEN_BOOKINGS_PER_USER", "3"),
        ]))
        .unwrap();
        assert_eq!(chosen.max_open_bookings, Some(3));
        for bad in ["0", "-1", "many"] {
            let err = Settings::from_env(&Env::from_pairs(&[
                dev,
                ("MAX_OPEN_BOOKINGS_PER_USER", bad),
            ]))
            .unwrap_err()
            .to_string();
            assert!(err.contains("MAX_OPEN_BOOKINGS_PER_USER"), "{err}");
        }
    }
}
