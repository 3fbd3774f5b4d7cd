//! argon2id hashing, on threads of its own and bounded: a hash takes tens of milliseconds of
//! CPU and ~19 MiB of memory.
//!
//! On the async workers a hash would stall every request sharing the worker, so it runs on
//! `slots` dedicated threads; unbounded, a login flood would start one 19 MiB hash per request
//! at once and exhaust memory. [`Hashing`] holds a fixed number of slots: a request waits for
//! one at most `queue_wait` and is otherwise shed with a 503 `BUSY` and `Retry-After`, so
//! `/health` keeps answering.
//!
//! Why threads of its own, each reusing one argon2 memory buffer: freed, a 19 MiB buffer is not
//! given back to the system. glibc raises its mmap threshold to the size of a freed mapping, so
//! later buffers come from the heap of the freeing thread's arena and stay there, one per thread
//! that ever hashed; tokio's blocking pool hands each hash to whichever of its many threads is
//! idle. Measured with `login-flood` (benches/README.md): 10 connections drove user-service from
//! 46 MiB to 541 MiB on the blocking pool, 236 MiB on two threads of its own allocating per hash,
//! and 65 MiB with the threshold pinned. Each hashing thread now keeps one buffer
//! (`Argon2::hash_password_into_with_memory`), so memory is `slots x 19 MiB` by construction,
//! whatever the allocator does.
//!
//! ```text
//!   request ──> slot free within queue_wait? ── yes ──> argon2 on a hashing thread ──> answer
//!                                            └─ no ───> 503 BUSY, Retry-After: 1
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

thread_local! {
    /// This hashing thread's argon2 memory, reused by every hash it computes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into an output of `len` bytes, in this thread's reused
/// memory. Memory grown for a stored hash with a larger `m` than the default is given back.
fn argon2_in_reused_memory(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
    len: usize,
) -> anyhow::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    MEMORY.with_borrow_mut(|memory| {
        memory.resize(params.block_count(), Block::default());
        let output = Output::init_with(len, |out| {
            argon
                .hash_password_into_with_memory(password, salt, out, &mut memory[..])
                .map_err(Into::into)
        })
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"));
        let usual = Params::default().block_count();
        if memory.len() > usual {
            memory.truncate(usual);
            memory.shrink_to_fit();
        }
        output
    })
}

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads, fed through one queue; they end when the last [`Hashing`] is dropped.
#[derive(Debug)]
struct Threads {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Threads {
    fn start(count: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("the OS starts a hashing thread");
        }
        Self { jobs }
    }
}

/// The password hashing slots of one process.
#[derive(Debug, Clone)]
pub struct Hashing {
    slots: Arc<Semaphore>,
    threads: Arc<Threads>,
    queue_wait: Duration,
}

impl Hashing {
    /// `slots` hashes at once (at least 1), on as many threads of their own; a request waits at
    /// most `queue_wait` for one.
    pub fn new(slots: usize, queue_wait: Duration) -> Self {
        let slots = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            threads: Arc::new(Threads::start(slots)),
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
            let params = Params::default();
            let argon = Argon2::new(Algorithm::default(), Version::default(), params.clone());
            let hash = argon2_in_reused_memory(
                &argon,
                &params,
                password.as_bytes(),
                salt.as_salt(),
                Params::DEFAULT_OUTPUT_LEN,
            )?;
            let phc = PasswordHash {
                algorithm: Algorithm::default().ident(),
                version: Some(Version::default().into()),
                params: ParamsString::try_from(&params)
                    .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
                salt: Some(salt.as_salt()),
                hash: Some(hash),
            };
            Ok(phc.to_string())
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
            let invalid = |e: String| anyhow::anyhow!("stored hash is invalid: {e}");
            let parsed = PasswordHash::new(&stored).map_err(|e| invalid(e.to_string()))?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Err(invalid("no salt or no hash".into()));
            };
            let algorithm =
                Algorithm::try_from(parsed.algorithm).map_err(|e| invalid(e.to_string()))?;
            let version = parsed
                .version
                .map(Version::try_from)
                .transpose()
                .map_err(|e| invalid(e.to_string()))?
                .unwrap_or_default();
            let params = Params::try_from(&parsed).map_err(|e| invalid(e.to_string()))?;
            let argon = Argon2::new(algorithm, version, params.clone());
            let computed = argon2_in_reused_memory(
                &argon,
                &params,
                password.as_bytes(),
                salt,
                expected.len(),
            )?;
            // `Output`'s equality is constant-time.
            Ok(computed == expected)
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
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _slot = permit; // held until argon2 is done, even if the request went away
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = answer.send(result);
        });
        self.threads
            .jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
        let result = answered
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread dropped the job"))?
            .map_err(|_| anyhow::anyhow!("hashing panicked"))?;
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

    /// Hashes made by the argon2 crate's own `hash_password` (every hash stored before the
    /// reused memory) verify, and ours verify with the crate's `verify_password`.
    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hashing = Hashing::new(2, Duration::from_secs(5));
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(hashing
            .verify("correct horse".into(), theirs.clone())
            .await
            .unwrap());
        assert!(!hashing.verify("wrong".into(), theirs).await.unwrap());
        let ours = hashing.hash("correct horse".into()).await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
        // A stored hash that is not a PHC string is an error, not a "no".
        assert!(hashing
            .verify("x".into(), "not a hash".into())
            .await
            .is_err());
    }
}
