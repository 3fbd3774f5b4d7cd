//! argon2id hashing, run on the blocking pool: a hash takes tens of milliseconds of CPU and would
//! stall every request sharing the async worker.

use anyhow::Context;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// The PHC string of `password`.
///
/// # Errors
/// When the blocking task fails (it does not in practice).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
    })
    .await
    .context("hashing task panicked")?
}

/// Whether `password` matches the stored PHC string.
///
/// # Errors
/// When the stored hash is not a PHC string.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| anyhow::anyhow!("stored hash is invalid: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("verification task panicked")?
}

/// A hash to verify against when the email is unknown, so a login for an unknown email takes as
/// long as one with a wrong password (no user enumeration by timing).
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async { hash("not-a-real-password".into()).await.unwrap_or_default() })
        .await
}
