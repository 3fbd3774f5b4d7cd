//! argon2id hashing, run on the blocking pool and bounded: a hash takes tens of milliseconds of
//! CPU and ~19 MiB of memory.
//!
//! On the async workers a hash would stall every request sharing the worker, so it runs on the
//! blocking pool; unbounded, a login flood would start one 19 MiB hash per request at once and
//! exhaust memory. [`Hashing`] holds a fixed number of slots: a request waits for one at most
//! `queue_wait` and is otherwise shed with a 503 `BUSY` and `Retry-After`, so memory stays at
//! `slots x 19 MiB` and `/health` keeps answering.
//!
//! ```text
//!   request ──> slot free within queue_wait? ── yes ──> argon2 on the blocking pool ──> answer
//!                                            └─ no ───> 503 BUSY, Retry-After: 1
//! ```

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use kit::ApiError;
use tokio::sync::Semaphore;

/// Why a hash or a verification did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every slot stayed busy for the whole queue wait.
    #[error("every password hashing slot is busy")]
    Busy,
    /// argon2 or the blocking task failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => ApiError::busy(
                "too many sign-ins and sign-ups at once; try again in a second",
                1,
            ),
            PasswordError::Failed(cause) => ApiError::internal(cause),
        }
    }
}

/// The password hashing slots of one process.
#[derive(Debug, Clone)]
pub struct Hashing {
    slots: Arc<Semaphore>,
    queue_wait: Duration,
}

impl Hashing {
    /// `slots` hashes at once (at least 1); a request waits at most `queue_wait` for one.
    pub fn new(slots: usize, queue_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            queue_wait,
        }
    }

    /// The PHC string of `password`.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when no slot frees up in time.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
        })
        .await
    }

    /// Whether `password` matches the stored PHC string.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when no slot frees up in time; `Failed` when the stored hash is
    /// not a PHC string.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, PasswordError> {
        self.run(move || {
            let parsed = PasswordHash::new(&stored)
                .map_err(|e| anyhow::anyhow!("stored hash is invalid: {e}"))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = tokio::time::timeout(self.queue_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Busy)?;
        let result = tokio::task::spawn_blocking(move || {
            let _slot = permit; // held until argon2 is done, even if the request went away
            work()
        })
        .await
        .map_err(|e| anyhow::anyhow!("hashing task panicked: {e}"))?;
        Ok(result?)
    }

    /// A hash to verify against when the email is unknown, so a login for an unknown email
    /// takes as long as one with a wrong password (no user enumeration by timing).
    ///
    /// # Errors
    /// [`PasswordError::Busy`] the first time, when no slot frees up in time.
    pub async fn dummy_hash(&self) -> Result<&'static str, PasswordError> {
        static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        DUMMY
            .get_or_try_init(|| self.hash("not-a-real-password".into()))
            .await
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_finds_every_slot_busy_is_shed_not_queued_forever() {
        let hashing = Hashing::new(1, Duration::from_millis(10));
        let held = hashing.slots.clone().acquire_owned().await.unwrap();
        assert!(matches!(
            hashing.hash("correct horse".into()).await,
            Err(PasswordError::Busy)
        ));
        drop(held);
        let stored = hashing.hash("correct horse".into()).await.unwrap();
        assert!(hashing
            .verify("correct horse".into(), stored.clone())
            .await
            .unwrap());
        assert!(!hashing.verify("wrong horse".into(), stored).await.unwrap());
    }
}
