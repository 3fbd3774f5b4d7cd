//! Typed settings from environment variables.
//!
//! Every service parses its `Settings` once at start through [`Env`], so a missing or malformed
//! variable is reported by name before anything binds a port. Defaults are chosen to work against
//! the local stack started by `infra/local/up`.

use std::fmt;
use std::str::FromStr;

/// Why a setting could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
    /// A secret a deployment must not run with; the value is never echoed.
    #[error("environment variable {name} {reason}")]
    UnsafeSecret { name: String, reason: String },
}

/// `STAMPEDE_ENV`: `dev` marks a development machine, where the published default secrets and
/// short ones are allowed. `stack up`, the chaos runner and the tests set it; anywhere else a
/// service refuses to start with them.
pub const MODE_ENV: &str = "STAMPEDE_ENV";

/// The shortest secret accepted outside development mode.
pub const MIN_SECRET_BYTES: usize = 32;

/// A string that must never appear in logs or `Debug` output (JWT keys, passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// A service's `Settings`, read once at start from [`Env`].
pub trait FromEnv: Sized {
    /// Reads every setting, with defaults for the local stack.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is missing or malformed.
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
}

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads variables from a source (the process environment, or a map in tests).
pub struct Env {
    lookup: Lookup,
}

impl Default for Env {
    fn default() -> Self {
        Self::from_process()
    }
}

impl Env {
    /// Reads the process environment; empty values count as unset.
    pub fn from_process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
        }
    }

    /// Reads from the given pairs only (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            lookup: Box::new(move |name| map.get(name).cloned()),
        }
    }

    /// The raw value if set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// A parsed value, or `default` when unset.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable when the value does not parse.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: name.to_string(),
                reason: e.to_string(),
                value,
            }),
        }
    }

    /// A required parsed value.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] or [`ConfigError::Invalid`], naming the variable.
    pub fn parse_required<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let value = self.get(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_string(),
        })?;
        value.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name: name.to_string(),
            reason: e.to_string(),
            value,
        })
    }

    /// A string, or `default` when unset.
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_string())
    }

    /// A secret, or `default` when unset. A secret shorter than 16 bytes is refused: a short HMAC
    /// key makes forged tokens practical.
    ///
    /// Whether this is a development machine (`STAMPEDE_ENV=dev`).
    pub fn is_dev(&self) -> bool {
        self.get(MODE_ENV).as_deref() == Some("dev")
    }

    /// A secret. In development mode (`STAMPEDE_ENV=dev`) `default` stands in when unset and
    /// 16 bytes are enough; anywhere else the variable must be set, to something other than a
    /// published default, of at least [`MIN_SECRET_BYTES`].
    ///
    /// # Errors
    /// [`ConfigError::UnsafeSecret`] or [`ConfigError::Invalid`] (the value itself is not echoed).
    pub fn secret_or(&self, name: &str, default: &str) -> Result<Secret, ConfigError> {
        if !self.is_dev() {
            let unsafe_secret = |reason: String| ConfigError::UnsafeSecret {
                name: name.to_string(),
                reason,
            };
            let Some(value) = self.get(name) else {
                return Err(unsafe_secret(format!(
                    "is not set: set it to a secret of {MIN_SECRET_BYTES} bytes or more \
                     (the development default is allowed only with {MODE_ENV}=dev)"
                )));
            };
            if value == default || PUBLISHED_SECRETS.contains(&value.as_str()) {
                return Err(unsafe_secret(format!(
                    "is a published development default: set your own secret of \
                     {MIN_SECRET_BYTES} bytes or more (or {MODE_ENV}=dev on a development machine)"
                )));
            }
            if value.len() < MIN_SECRET_BYTES {
                return Err(unsafe_secret(format!(
                    "is {} bytes long: use {MIN_SECRET_BYTES} bytes or more \
                     (shorter ones are allowed only with {MODE_ENV}=dev)",
                    value.len()
                )));
            }
            return Ok(Secret(value));
        }
        let value = self.string_or(name, default);
        if value.len() < 16 {
            return Err(ConfigError::Invalid {
                name: name.to_string(),
                value: "[REDACTED]".into(),
                reason: "must be at least 16 bytes long".into(),
            });
        }
        Ok(Secret(value))
    }

    /// A boolean: 1/0, true/false, yes/no, on/off.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for any other value.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::to_ascii_lowercase) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                name: name.to_string(),
                value: v,
                reason: "expected true/false".into(),
            }),
        }
    }
}

/// Settings every service shares: where its infrastructure is and how it proves identity.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// Interface to bind (`HOST`, default 127.0.0.1).
    pub host: String,
    /// Port to bind (`PORT`); 0 picks a free port (tests).
    pub port: u16,
    /// Postgres URL of this service's own database (`DATABASE_URL`).
    pub database_url: String,
    /// Kafka bootstrap servers (`KAFKA_BROKERS`).
    pub kafka_brokers: String,
    /// Prefix for every topic name (`KAFKA_TOPIC_PREFIX`), so tests and parallel stacks do not
    /// share topics. Empty in production.
    pub topic_prefix: String,
    /// Key of the gateway's identity proof (`INTERNAL_SECRET`); see [`crate::identity`].
    pub internal_secret: Secret,
    /// Most Postgres connections this service holds (`DATABASE_POOL_SIZE`, default 10). Seven
    /// services share one server whose default limit is 100 connections.
    pub database_pool_size: u32,
    /// A consumer group assigned nothing, or with lag and no progress, this long makes
    /// `/health` degraded (`CONSUMER_STALL_AFTER_MS`, default 20000).
    pub consumer_stall_after: std::time::Duration,
    /// A consumer holding no partition this long leaves its group and joins again
    /// (`CONSUMER_REJOIN_AFTER_MS`, default 5000; 0 never). See `kit::consumer`.
    pub consumer_rejoin_after: Option<std::time::Duration>,
    /// Messages of one partition a consumer handles at once, one key at a time
    /// (`CONSUMER_CONCURRENCY`, default 1; payment-service's default is higher).
    pub consumer_concurrency: usize,
    /// The deliberately broken behaviour switched on (`BUG_VARIANT`); refused unless the build
    /// has the variants. See [`crate::bug_variants`].
    pub bug_variant: Option<crate::bug_variants::BugVariant>,
}

/// The development default for `INTERNAL_SECRET`; every service warns when it is in use.
pub const DEV_INTERNAL_SECRET: &str = "stampede-dev-internal-secret-change-me";
/// The development default for `JWT_SECRET`.
pub const DEV_JWT_SECRET: &str = "stampede-dev-jwt-secret-change-me";

/// Every secret published in this repository (docs, compose, tests): refused outside
/// development mode whatever variable carries it.
const PUBLISHED_SECRETS: [&str; 3] = [
    DEV_INTERNAL_SECRET,
    DEV_JWT_SECRET,
    crate::seed::ADMIN_PASSWORD,
];

impl CommonSettings {
    /// Reads the shared settings; `default_port` and `default_db` are the service's own.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    pub fn from_env(env: &Env, default_port: u16, default_db: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            host: env.string_or("HOST", "127.0.0.1"),
            port: env.parse_or("PORT", default_port)?,
            database_url: env.string_or(
                "DATABASE_URL",
                &format!("postgres://postgres@127.0.0.1:5432/{default_db}"),
            ),
            kafka_brokers: env.string_or("KAFKA_BROKERS", "127.0.0.1:9092"),
            topic_prefix: env.string_or("KAFKA_TOPIC_PREFIX", ""),
            internal_secret: env.secret_or("INTERNAL_SECRET", DEV_INTERNAL_SECRET)?,
            database_pool_size: env.parse_or("DATABASE_POOL_SIZE", 10)?,
            consumer_stall_after: std::time::Duration::from_millis(
                env.parse_or("CONSUMER_STALL_AFTER_MS", 20_000)?,
            ),
            consumer_rejoin_after: match env.parse_or("CONSUMER_REJOIN_AFTER_MS", 5_000u64)? {
                0 => None,
                ms => Some(std::time::Duration::from_millis(ms)),
            },
            consumer_concurrency: env.parse_or("CONSUMER_CONCURRENCY", 1)?,
            bug_variant: crate::bug_variants::BugVariant::from_env(env)?,
        })
    }

    /// `host:port` to bind.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_port_names_the_variable() {
        let env = Env::from_pairs(&[("PORT", "eighty")]);
        let err = CommonSettings::from_env(&env, 3001, "db").unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        assert!(err.to_string().contains("eighty"), "{err}");
    }

    #[test]
    fn missing_required_variable_names_it() {
        let env = Env::from_pairs(&[]);
        let err = env.parse_required::<u16>("BOOKING_TIMEOUT_MS").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable BOOKING_TIMEOUT_MS is required but not set"
        );
    }

    const DEV: (&str, &str) = (MODE_ENV, "dev");

    #[test]
    fn short_secret_is_refused_without_echoing_it() {
        for env in [
            Env::from_pairs(&[("JWT_SECRET", "hunter2")]),
            Env::from_pairs(&[("JWT_SECRET", "hunter2"), DEV]),
        ] {
            let err = env.secret_or("JWT_SECRET", DEV_JWT_SECRET).unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        }
    }

    #[test]
    fn outside_development_mode_a_default_missing_or_short_secret_is_refused() {
        let unset = Env::from_pairs(&[]);
        let err = unset
            .secret_or("JWT_SECRET", DEV_JWT_SECRET)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("JWT_SECRET is not set") && err.contains("STAMPEDE_ENV=dev"),
            "{err}"
        );
        for published in PUBLISHED_SECRETS {
            let env = Env::from_pairs(&[("INTERNAL_SECRET", published)]);
            let err = env
                .secret_or("INTERNAL_SECRET", DEV_INTERNAL_SECRET)
                .unwrap_err()
                .to_string();
            assert!(err.contains("published development default"), "{err}");
            assert!(!err.contains(published), "the value is not echoed: {err}");
        }
        let short = Env::from_pairs(&[("JWT_SECRET", "a-secret-of-twenty-bytes")]);
        let err = short
            .secret_or("JWT_SECRET", DEV_JWT_SECRET)
            .unwrap_err()
            .to_string();
        assert!(err.contains("24 bytes long") && err.contains("32"), "{err}");
        let good = "0123456789abcdef0123456789abcdef";
        let env = Env::from_pairs(&[("JWT_SECRET", good)]);
        assert_eq!(
            env.secret_or("JWT_SECRET", DEV_JWT_SECRET)
                .unwrap()
                .expose(),
            good
        );
    }

    #[test]
    fn development_mode_allows_the_published_defaults() {
        let env = Env::from_pairs(&[DEV]);
        assert_eq!(
            env.secret_or("JWT_SECRET", DEV_JWT_SECRET)
                .unwrap()
                .expose(),
            DEV_JWT_SECRET
        );
        let s = CommonSettings::from_env(&env, 3001, "db").unwrap();
        assert_eq!(s.internal_secret.expose(), DEV_INTERNAL_SECRET);
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret([REDACTED])");
    }

    #[test]
    fn defaults_point_at_local_stack() {
        let s =
            CommonSettings::from_env(&Env::from_pairs(&[DEV]), 3001, "ticketflow_users").unwrap();
        assert_eq!(s.bind_address(), "127.0.0.1:3001");
        assert_eq!(
            s.database_url,
            "postgres://postgres@127.0.0.1:5432/ticketflow_users"
        );
    }
}
