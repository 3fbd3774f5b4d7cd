//! event-service settings, read once from the environment.

use kit::config::{CommonSettings, ConfigError, Env, FromEnv};

/// Everything event-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Largest event a request may create (`MAX_EVENT_SEATS`, default 100,000).
    pub max_event_seats: u32,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env, 3002, "ticketflow_events")?,
            max_event_seats: env.parse_or("MAX_EVENT_SEATS", 100_000)?,
        })
    }
}
