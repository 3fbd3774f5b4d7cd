//! user-service settings, read once from the environment.

use std::time::Duration;

use kit::config::{CommonSettings, ConfigError, Env, Secret, DEV_JWT_SECRET};

/// Everything user-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Key for user JWTs (`JWT_SECRET`); the gateway must use the same.
    pub jwt_secret: Secret,
    /// Lifetime of issued tokens (`JWT_TTL_SECS`, default 24 h).
    pub jwt_ttl: Duration,
    /// The admin account ensured at start (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).
    pub admin_email: String,
    pub admin_password: Secret,
}

impl Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env, 3001, "ticketflow_users")?,
            jwt_secret: env.secret_or("JWT_SECRET", DEV_JWT_SECRET)?,
            jwt_ttl: Duration::from_secs(env.parse_or("JWT_TTL_SECS", 86_400u64)?),
            admin_email: env
                .string_or("ADMIN_EMAIL", "admin@ticketflow.dev")
                .to_lowercase(),
            admin_password: Secret::new(env.string_or("ADMIN_PASSWORD", "Admin1234!")),
        })
    }
}
