//! user-service settings, read once from the environment.

use std::time::Duration;

use kit::config::{CommonSettings, ConfigError, Env, FromEnv, Secret, DEV_JWT_SECRET};

use crate::lockout::LockoutPolicy;

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
    /// Password hashes at once (`PASSWORD_HASH_SLOTS`, default: the CPUs); each holds ~19 MiB.
    pub hash_slots: usize,
    /// How long a sign-in or sign-up waits for a hashing slot before a 503 `BUSY`
    /// (`PASSWORD_HASH_QUEUE_MS`, default 2000).
    pub hash_queue_wait: Duration,
    /// Sign-in throttling per account (`LOGIN_FREE_FAILURES`, `LOGIN_LOCKOUT_MS`,
    /// `LOGIN_LOCKOUT_MAX_MS`).
    pub lockout: LockoutPolicy,
}

/// The CPUs this process may use (1 when unknown): argon2 is CPU-bound, so more slots than CPUs
/// would only hold more memory without hashing any faster.
pub fn default_hash_slots() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `ADMIN_PASSWORD`: the seeded admin's password. The published default stands in only on a
/// development machine (`STAMPEDE_ENV=dev`).
fn admin_password(env: &Env) -> Result<Secret, ConfigError> {
    let value = env.string_or("ADMIN_PASSWORD", kit::seed::ADMIN_PASSWORD);
    if value == kit::seed::ADMIN_PASSWORD && !env.is_dev() {
        return Err(ConfigError::UnsafeSecret {
            name: "ADMIN_PASSWORD".into(),
            reason: format!(
                "is unset or the published default: set the seeded admin's own password (or {}=dev on a development machine)",
                kit::config::MODE_ENV
            ),
        });
    }
    Ok(Secret::new(value))
}

impl FromEnv for Settings {
    /// # Errors
    /// A [`ConfigError`] naming the first bad variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env, 3001, "ticketflow_users")?,
            jwt_secret: env.secret_or("JWT_SECRET", DEV_JWT_SECRET)?,
            jwt_ttl: Duration::from_secs(env.parse_or("JWT_TTL_SECS", 86_400u64)?),
            admin_email: env
                .string_or("ADMIN_EMAIL", kit::seed::ADMIN_EMAIL)
                .to_lowercase(),
            admin_password: admin_password(env)?,
            hash_slots: env.parse_or("PASSWORD_HASH_SLOTS", default_hash_slots())?,
            hash_queue_wait: Duration::from_millis(
                env.parse_or("PASSWORD_HASH_QUEUE_MS", 2_000u64)?,
            ),
            lockout: LockoutPolicy {
                free_failures: env.parse_or("LOGIN_FREE_FAILURES", 5u32)?,
                base: Duration::from_millis(env.parse_or("LOGIN_LOCKOUT_MS", 1_000u64)?),
                max: Duration::from_millis(env.parse_or("LOGIN_LOCKOUT_MAX_MS", 300_000u64)?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: [(&str, &str); 2] = [
        ("JWT_SECRET", "a-jwt-secret-of-thirty-two-bytes"),
        ("INTERNAL_SECRET", "an-internal-secret-of-32-bytes-x"),
    ];

    #[test]
    fn outside_development_mode_the_published_admin_password_is_refused() {
        for password in [None, Some(kit::seed::ADMIN_PASSWORD)] {
            let mut pairs = SECRETS.to_vec();
            pairs.extend(password.map(|p| ("ADMIN_PASSWORD", p)));
            let err = Settings::from_env(&Env::from_pairs(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains("ADMIN_PASSWORD"), "{err}");
            assert!(
                !err.contains(kit::seed::ADMIN_PASSWORD),
                "not echoed: {err}"
            );
        }
        let mut pairs = SECRETS.to_vec();
        pairs.push(("ADMIN_PASSWORD", "a-password-of-our-own"));
        let settings = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(settings.admin_password.expose(), "a-password-of-our-own");
    }

    #[test]
    fn development_mode_seeds_the_published_admin() {
        let settings =
            Settings::from_env(&Env::from_pairs(&[(kit::config::MODE_ENV, "dev")])).unwrap();
        assert_eq!(settings.admin_password.expose(), kit::seed::ADMIN_PASSWORD);
    }
}
