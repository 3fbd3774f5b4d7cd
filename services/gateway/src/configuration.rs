//! Gateway settings, read once from the environment.

use std::time::Duration;

use kit::config::{ConfigError, Env, FromEnv, Secret, DEV_INTERNAL_SECRET, DEV_JWT_SECRET};

use crate::upstream::{RoutingTable, Upstream, SERVICES};

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    /// `PORT`, default 3000.
    pub port: u16,
    /// Verifies user tokens (`JWT_SECRET`, same as user-service's).
    pub jwt_secret: Secret,
    /// Signs the identity passed to services (`INTERNAL_SECRET`, same as the services').
    pub internal_secret: Secret,
    /// `<NAME>_SERVICE_URL` per service; `off` marks a service as not deployed.
    pub routes: RoutingTable,
    /// Largest request body accepted (`BODY_LIMIT_BYTES`, default 1 MiB); larger gets 413.
    pub body_limit: usize,
    /// How long to wait for an upstream answer (`UPSTREAM_TIMEOUT_MS`, default 10 s); then 504.
    pub upstream_timeout: Duration,
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let upstreams = SERVICES
            .iter()
            .map(|(name, var, port)| {
                let url = env.string_or(var, &format!("http://127.0.0.1:{port}"));
                let base_url = match url.as_str() {
                    "off" | "none" => None,
                    _ if url.starts_with("http://") || url.starts_with("https://") => {
                        Some(url.trim_end_matches('/').to_string())
                    }
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: (*var).to_string(),
                            value: url,
                            reason: "expected an http(s):// URL or `off`".into(),
                        })
                    }
                };
                Ok(Upstream { name, base_url })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: env.string_or("HOST", "127.0.0.1"),
            port: env.parse_or("PORT", 3000)?,
            jwt_secret: env.secret_or("JWT_SECRET", DEV_JWT_SECRET)?,
            internal_secret: env.secret_or("INTERNAL_SECRET", DEV_INTERNAL_SECRET)?,
            routes: RoutingTable::new(upstreams),
            body_limit: env.parse_or("BODY_LIMIT_BYTES", 1_048_576)?,
            upstream_timeout: Duration::from_millis(env.parse_or("UPSTREAM_TIMEOUT_MS", 10_000)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_disables_a_service_and_garbage_is_refused() {
        let env = Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("BOOKING_SERVICE_URL", "off"),
        ]);
        let settings = Settings::from_env(&env).unwrap();
        assert!(settings
            .routes
            .resolve("/api/bookings")
            .unwrap()
            .base_url
            .is_none());
        let env = Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("USER_SERVICE_URL", "localhost:3001"),
        ]);
        let err = Settings::from_env(&env).unwrap_err();
        assert!(err.to_string().contains("USER_SERVICE_URL"), "{err}");
    }
}
