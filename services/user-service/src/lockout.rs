//! Sign-in throttling per account: password guessing at full speed is refused.
//!
//! After `free_failures` wrong passwords for one email, every sign-in for that email (right
//! password or not) is refused with 429 `TOO_MANY_ATTEMPTS` and `Retry-After` for a lockout
//! that doubles with each further failure, from `base` up to `max`. A successful sign-in clears
//! the count. Unknown emails are counted like known ones, so the answer says nothing about
//! which accounts exist.
//!
//! ```text
//!   failures  1..=free   0 s          (5 by default)
//!             free+1     base         (1 s)
//!             free+2     2 x base     (2 s) ... up to max (5 min)
//! ```
//!
//! Kept in memory per process: replicas of user-service each count on their own, so N replicas
//! allow N times the attempts; a shared store (Redis) would be the next step for a real fleet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many wrong passwords are free and how long a lockout lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong passwords before the first lockout (`LOGIN_FREE_FAILURES`, default 5).
    pub free_failures: u32,
    /// The first lockout (`LOGIN_LOCKOUT_MS`, default 1000); doubles with each further failure.
    pub base: Duration,
    /// The longest lockout (`LOGIN_LOCKOUT_MAX_MS`, default 300 000).
    pub max: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// Accounts tracked at most; beyond it, entries not locked now are forgotten first (a spray of
/// made-up emails cannot grow the map without bound).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// Failed sign-ins per email, shared by the handlers.
#[derive(Debug, Clone, Default)]
pub struct Lockout {
    policy: LockoutPolicy,
    failures: Arc<Mutex<HashMap<String, Failures>>>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            failures: Arc::default(),
        }
    }

    /// `Err(wait)` while `email` is locked out.
    pub fn check(&self, email: &str) -> Result<(), Duration> {
        let now = Instant::now();
        match self.map().get(email).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// A wrong password (or an unknown email) for `email`.
    pub fn failed(&self, email: &str) {
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= MAX_TRACKED && !map.contains_key(email) {
            map.retain(|_, f| f.locked_until.is_some_and(|until| until > now));
        }
        let entry = map.entry(email.to_string()).or_insert(Failures {
            count: 0,
            locked_until: None,
        });
        entry.count = entry.count.saturating_add(1);
        if let Some(over) = entry.count.checked_sub(self.policy.free_failures + 1) {
            let lockout = self
                .policy
                .base
                .saturating_mul(2u32.saturating_pow(over.min(30)))
                .min(self.policy.max);
            entry.locked_until = Some(now + lockout);
        }
    }

    /// A successful sign-in: the count starts again.
    pub fn succeeded(&self, email: &str) {
        self.map().remove(email);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        // One insert or remove at a time: a panic cannot leave the map half-written.
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            free_failures: 2,
            base: Duration::from_secs(10),
            max: Duration::from_secs(25),
        }
    }

    #[test]
    fn free_failures_then_a_lockout_that_doubles_up_to_the_max() {
        let lockout = Lockout::new(policy());
        for _ in 0..2 {
            lockout.failed("a@x.test");
            assert!(lockout.check("a@x.test").is_ok());
        }
        let waits: Vec<Duration> = (0..3)
            .map(|_| {
                lockout.failed("a@x.test");
                lockout.check("a@x.test").unwrap_err()
            })
            .collect();
        assert!(waits[0] > Duration::from_secs(9) && waits[0] <= Duration::from_secs(10));
        assert!(waits[1] > Duration::from_secs(19) && waits[1] <= Duration::from_secs(20));
        assert!(waits[2] > Duration::from_secs(24) && waits[2] <= Duration::from_secs(25));
        assert!(
            lockout.check("b@x.test").is_ok(),
            "other accounts are untouched"
        );
    }

    #[test]
    fn a_success_clears_the_count() {
        let lockout = Lockout::new(policy());
        lockout.failed("a@x.test");
        lockout.failed("a@x.test");
        lockout.succeeded("a@x.test");
        lockout.failed("a@x.test");
        assert!(lockout.check("a@x.test").is_ok());
    }
}
