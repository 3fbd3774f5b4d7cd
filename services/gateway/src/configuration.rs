//! Gateway settings, read once from the environment.

use std::time::Duration;

use kit::config::{ConfigError, Env, FromEnv, Secret, DEV_INTERNAL_SECRET, DEV_JWT_SECRET};

use crate::auth_limit::AuthRateLimit;
use crate::upstream::{RoutingTable, Upstream, SERVICES};

/// `AUTH_RATE_PER_IP` outside development mode.
pub const DEFAULT_AUTH_RATE: &str = "10/s";
/// `AUTH_BURST_PER_IP` when unset.
pub const DEFAULT_AUTH_BURST: u32 = 20;

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
    /// Sign-in and sign-up requests per client address (`AUTH_RATE_PER_IP`, `10/s` or
    /// `300/min`, or `off`; default 10/s, off with `STAMPEDE_ENV=dev` because the harness signs
    /// thousands of users up from one address) with a burst of `AUTH_BURST_PER_IP` (default 20).
    pub auth_limit: Option<AuthRateLimit>,
    /// Proxies of the operator's own in front of the gateway (`TRUSTED_PROXY_HOPS`, default 0):
    /// the sign-in limit then keys on the address the farthest one saw (`X-Forwarded-For`).
    pub trusted_proxy_hops: usize,
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
            auth_limit: auth_limit(env)?,
            trusted_proxy_hops: env.parse_or("TRUSTED_PROXY_HOPS", 0)?,
        })
    }
}

/// `AUTH_RATE_PER_IP` and `AUTH_BURST_PER_IP`; `None` for `off`.
fn auth_limit(env: &Env) -> Result<Option<AuthRateLimit>, ConfigError> {
    const RATE: &str = "AUTH_RATE_PER_IP";
    let rate = env.string_or(
        RATE,
        if env.is_dev() {
            "off"
        } else {
            DEFAULT_AUTH_RATE
        },
    );
    if rate == "off" {
        return Ok(None);
    }
    let parsed = rate.parse().map_err(|reason| ConfigError::Invalid {
        name: RATE.to_string(),
        value: rate.clone(),
        reason,
    })?;
    let burst = env.parse_or(
        "AUTH_BURST_PER_IP",
        std::num::NonZeroU32::new(DEFAULT_AUTH_BURST).expect("the default burst is above 0"),
    )?;
    Ok(Some(AuthRateLimit {
        rate: parsed,
        burst,
    }))
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

    #[test]
    fn the_sign_in_limit_is_on_outside_dev_and_a_bad_one_is_named() {
        let secrets = [
            ("JWT_SECRET", "a-production-secret-of-at-least-32-bytes!"),
            ("INTERNAL_SECRET", "another-production-secret-of-32-bytes+"),
        ];
        let production = Settings::from_env(&Env::from_pairs(&secrets)).unwrap();
        let limit = production.auth_limit.expect("on by default outside dev");
        assert_eq!(limit.rate.to_string(), DEFAULT_AUTH_RATE);
        assert_eq!(limit.burst.get(), DEFAULT_AUTH_BURST);

        let dev = Env::from_pairs(&[(kit::config::MODE_ENV, "dev")]);
        assert_eq!(Settings::from_env(&dev).unwrap().auth_limit, None);
        let chosen = Env::from_pairs(&[
            (kit::config::MODE_ENV, "dev"),
            ("AUTH_RATE_PER_IP", "300/min"),
            ("AUTH_BURST_PER_IP", "5"),
        ]);
        let limit = Settings::from_env(&chosen).unwrap().auth_limit.unwrap();
        assert_eq!(
            (limit.rate.to_string(), limit.burst.get()),
            ("300/min".into(), 5)
        );

        for (name, value) in [("AUTH_RATE_PER_IP", "10/h"), ("AUTH_BURST_PER_IP", "0")] {
            let env = Env::from_pairs(&[
                (kit::config::MODE_ENV, "dev"),
                ("AUTH_RATE_PER_IP", "10/s"),
                (name, value),
            ]);
            let err = Settings::from_env(&env).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
