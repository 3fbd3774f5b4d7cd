//! Deliberately broken behaviours, for proving that `chaos selftest`'s checker catches them.
//!
//! Each variant turns one correct behaviour of the saga into the well-known broken one. They
//! exist only in builds made for the self-test: [`COMPILED`] is the `bug-variants` cargo
//! feature, which only dev-dependencies and `chaos --features selftest` turn on (a test in
//! inventory-service reads the workspace's normal dependency graph and fails if anything there
//! enables it). In any other build [`BugVariant::from_env`] refuses `BUG_VARIANT` and
//! [`is_on`] is `false` for every variant, so no setting can reach the broken code.
//!
//! `LOCK_STRATEGY=unsafe` (inventory-service) is the oldest variant and keeps its own setting.

use std::fmt;
use std::str::FromStr;

use crate::config::{ConfigError, Env};

/// Whether this build carries the bug variants (the `bug-variants` feature).
pub const COMPILED: bool = cfg!(feature = "bug-variants");

/// The variable that switches one variant on.
pub const ENV: &str = "BUG_VARIANT";

/// One broken behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BugVariant {
    /// booking-service confirms on any successful `payment.processed`: for a FAILED, EXPIRED or
    /// CANCELLED booking, or one whose seat lock ran out (instead of closing it and refunding).
    NoStatusGuard,
    /// payment-service keeps the money when a paid booking fails, expires or is cancelled.
    NoRefund,
    /// booking-service answers `202` and commits the booking later, in the background: a crash in
    /// between loses a booking the client was told exists.
    AckBeforeCommit,
    /// booking-service publishes `booking.initiated` straight to the broker and then commits
    /// (no outbox); every fifth booking "crashes" between the two (rolls back, answers 500).
    DualWrite,
    /// inventory-service never starts its expired-lock sweeper.
    NoSweeper,
    /// Every consumer drops a message it gives up on instead of parking it on `<topic>.DLT`.
    DeadLettersDropped,
    /// inventory-service's `seats.release` frees the seats it names whoever holds them (no
    /// check that the releasing booking is their holder).
    ReleaseWithoutOwnerCheck,
    /// payment- and notification-service take every delivery as new: no inbox, and none of the
    /// unique keys that also drop a second message about the same thing (a service written
    /// without an inbox rarely has them). A redelivered `payment.requested` charges again; a
    /// redelivered `booking.confirmed` mails the user again.
    InboxOff,
}

impl BugVariant {
    /// Every variant, in the self-test's order.
    pub const ALL: [BugVariant; 8] = [
        BugVariant::NoStatusGuard,
        BugVariant::NoRefund,
        BugVariant::AckBeforeCommit,
        BugVariant::DualWrite,
        BugVariant::NoSweeper,
        BugVariant::DeadLettersDropped,
        BugVariant::ReleaseWithoutOwnerCheck,
        BugVariant::InboxOff,
    ];

    /// The name `BUG_VARIANT` and `chaos selftest --variant` take.
    pub fn name(self) -> &'static str {
        match self {
            BugVariant::NoStatusGuard => "no-status-guard",
            BugVariant::NoRefund => "no-refund",
            BugVariant::AckBeforeCommit => "ack-before-commit",
            BugVariant::DualWrite => "dual-write",
            BugVariant::NoSweeper => "no-sweeper",
            BugVariant::DeadLettersDropped => "dead-letters-dropped",
            BugVariant::ReleaseWithoutOwnerCheck => "release-without-owner-check",
            BugVariant::InboxOff => "inbox-off",
        }
    }

    /// The variant `BUG_VARIANT` names, if set.
    ///
    /// # Errors
    /// An unknown name, or any value at all in a build without the variants.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(value) = env.get(ENV).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let invalid = |reason: String| ConfigError::Invalid {
            name: ENV.to_string(),
            value: value.clone(),
            reason,
        };
        if !COMPILED {
            return Err(invalid(
                "this build has no bug variants (they are compiled only with the `bug-variants` \
                 feature, for `chaos selftest`); unset it"
                    .into(),
            ));
        }
        value.parse().map(Some).map_err(invalid)
    }
}

impl fmt::Display for BugVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BugVariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|v| v.name()).collect();
                format!("unknown bug variant (known: {})", known.join(", "))
            })
    }
}

/// The dual write of [`BugVariant::DualWrite`]: `envelope` straight to the broker, outside any
/// transaction (what the outbox exists to avoid).
///
/// # Errors
/// When the broker does not take the message within 10 s.
pub async fn publish_directly<T: serde::Serialize>(
    producer: &rdkafka::producer::FutureProducer,
    topics: &crate::kafka::Topics,
    logical_topic: &str,
    key: &str,
    envelope: &crate::kafka::Envelope<T>,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(envelope)?;
    producer
        .send(
            rdkafka::producer::FutureRecord::to(&topics.name(logical_topic))
                .key(key)
                .payload(&body),
            std::time::Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| anyhow::anyhow!("publishing {logical_topic}: {e}"))?;
    Ok(())
}

/// [`crate::inbox::begin`], or with [`BugVariant::InboxOff`] on, a plain transaction: the
/// delivery is taken as new whether or not it was processed before.
///
/// # Errors
/// When the database fails.
pub async fn inbox_begin(
    pool: &sqlx::PgPool,
    delivery: &crate::consumer::Delivery,
    active: Option<BugVariant>,
) -> Result<Option<sqlx::Transaction<'static, sqlx::Postgres>>, sqlx::Error> {
    if is_on(active, BugVariant::InboxOff) {
        return pool.begin().await.map(Some);
    }
    crate::inbox::begin(pool, delivery).await
}

/// Whether `variant` is the one switched on. Always `false` in a build without the variants,
/// whatever the settings say.
pub fn is_on(active: Option<BugVariant>, variant: BugVariant) -> bool {
    COMPILED && active == Some(variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_an_unknown_one_lists_the_known() {
        for v in BugVariant::ALL {
            assert_eq!(v.name().parse::<BugVariant>(), Ok(v));
        }
        let e = "no-guard".parse::<BugVariant>().unwrap_err();
        assert!(
            e.contains("no-status-guard") && e.contains("no-sweeper"),
            "{e}"
        );
    }

    #[test]
    fn unset_or_empty_is_no_variant() {
        assert_eq!(BugVariant::from_env(&Env::from_pairs(&[])).unwrap(), None);
        assert_eq!(
            BugVariant::from_env(&Env::from_pairs(&[(ENV, "")])).unwrap(),
            None
        );
    }

    #[test]
    fn a_build_without_the_feature_refuses_every_variant() {
        let result = BugVariant::from_env(&Env::from_pairs(&[(ENV, "no-refund")]));
        if COMPILED {
            assert_eq!(result.unwrap(), Some(BugVariant::NoRefund));
            assert!(is_on(Some(BugVariant::NoRefund), BugVariant::NoRefund));
        } else {
            let e = result.unwrap_err().to_string();
            assert!(
                e.contains("BUG_VARIANT") && e.contains("bug-variants"),
                "{e}"
            );
            assert!(!is_on(Some(BugVariant::NoRefund), BugVariant::NoRefund));
        }
    }
}
