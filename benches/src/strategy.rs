//! The five ways of locking k seats, each as `lock` then `release`, built from the service's own
//! code where the service has it (`inventory_service::locks::SeatLocks`,
//! `inventory_service::seats::{lock_guarded, release}`).
//!
//! | strategy | lock | release | round trips (lock + release) |
//! |---|---|---|---|
//! | `lua` | the all-or-nothing script | the owner-checked release script | 1 + 1 |
//! | `setnx` | `SET NX PX` per seat, rollback on conflict (the seed's) | the release script | k + 1 |
//! | `pg_update` | `BEGIN; SAVEPOINT; UPDATE .. WHERE status = 'AVAILABLE' ..; RELEASE; COMMIT` | `seats::release` in a transaction: `BEGIN`; advisory lock; `INSERT released_bookings`; `UPDATE .. WHERE booking_id = $1`; `COMMIT` | 5 + 5 |
//! | `pg_skip_locked` | `BEGIN; SELECT .. FOR UPDATE SKIP LOCKED; UPDATE; COMMIT` (the seed's) | as `pg_update` | 4 + 5 |
//! | `full` | `BEGIN`, Redis `lua` lock, then the `pg_update` guard, `COMMIT` | `BEGIN`, `seats::release`, Redis release, `COMMIT` | 6 + 6 |
//!
//! `full` is `on_booking_initiated` and `on_seats_release` of inventory-service without what is not
//! locking (inbox claim, seat count, outbox message). One difference: a Redis error is an error here,
//! where the service would let the Postgres guard decide alone.

use chrono::Utc;
use inventory_service::locks::LockOutcome;
use inventory_service::seats;
use uuid::Uuid;

use crate::rig::{Rig, LOCK_TTL};

/// A seat locking strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Lua,
    SetNx,
    PgUpdate,
    PgSkipLocked,
    Full,
}

impl Strategy {
    /// Every strategy, in the order of the results table.
    pub const ALL: [Strategy; 5] = [
        Strategy::Lua,
        Strategy::SetNx,
        Strategy::PgUpdate,
        Strategy::PgSkipLocked,
        Strategy::Full,
    ];

    /// The name in bench ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Lua => "lua",
            Strategy::SetNx => "setnx",
            Strategy::PgUpdate => "pg_update",
            Strategy::PgSkipLocked => "pg_skip_locked",
            Strategy::Full => "full",
        }
    }

    /// Whether the strategy needs Postgres connections.
    pub fn uses_postgres(self) -> bool {
        matches!(
            self,
            Strategy::PgUpdate | Strategy::PgSkipLocked | Strategy::Full
        )
    }
}

/// What a lock attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Every seat is held by the booking.
    Acquired,
    /// A seat was held by another booking; the booking holds none.
    Conflict,
}

impl Rig {
    /// Locks `seats` of `event` for `booking` with `strategy`: all or none.
    ///
    /// # Errors
    /// When Redis or Postgres fails (a Postgres deadlock included).
    pub async fn lock(
        &self,
        strategy: Strategy,
        event: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> anyhow::Result<Attempt> {
        match strategy {
            Strategy::Lua => Ok(redis_attempt(
                self.lua.lock(event, booking, seats, LOCK_TTL).await?,
            )),
            Strategy::SetNx => Ok(redis_attempt(
                self.setnx.lock(event, booking, seats, LOCK_TTL).await?,
            )),
            Strategy::PgUpdate => {
                let mut tx = self.pool.begin().await?;
                let locked =
                    seats::lock_guarded(&mut tx, event, booking, seats, lock_until()).await?;
                tx.commit().await?;
                Ok(if locked.is_ok() {
                    Attempt::Acquired
                } else {
                    Attempt::Conflict
                })
            }
            Strategy::PgSkipLocked => self.lock_skip_locked(event, booking, seats).await,
            Strategy::Full => self.lock_full(event, booking, seats).await,
        }
    }

    /// Releases what `booking` holds of `seats` (nothing of another booking's).
    ///
    /// # Errors
    /// When Redis or Postgres fails.
    pub async fn release(
        &self,
        strategy: Strategy,
        event: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> anyhow::Result<()> {
        match strategy {
            Strategy::Lua => {
                self.lua.release(event, booking, seats).await?;
            }
            Strategy::SetNx => {
                self.setnx.release(event, booking, seats).await?;
            }
            Strategy::PgUpdate | Strategy::PgSkipLocked => {
                let mut tx = self.pool.begin().await?;
                seats::release(&mut tx, booking, seats, true).await?;
                tx.commit().await?;
            }
            Strategy::Full => {
                // on_seats_release: Postgres first, then Redis, inside the transaction.
                let mut tx = self.pool.begin().await?;
                seats::release(&mut tx, booking, seats, true).await?;
                self.lua.release(event, booking, seats).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The seed's Postgres lock: take the row locks of the AVAILABLE seats, skipping rows another
    /// transaction holds; all found -> mark them LOCKED, else give up.
    async fn lock_skip_locked(
        &self,
        event: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> anyhow::Result<Attempt> {
        let mut tx = self.pool.begin().await?;
        let free: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM seats WHERE event_id = $1 AND id = ANY($2) AND status = 'AVAILABLE'
             FOR UPDATE SKIP LOCKED",
        )
        .bind(event)
        .bind(seats)
        .fetch_all(&mut *tx)
        .await?;
        if free.len() < seats.len() {
            tx.rollback().await?;
            return Ok(Attempt::Conflict);
        }
        sqlx::query(
            "UPDATE seats SET status = 'LOCKED', booking_id = $2, locked_until = $3, updated_at = now()
              WHERE id = ANY($1)",
        )
        .bind(seats)
        .bind(booking)
        .bind(lock_until())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Attempt::Acquired)
    }

    /// on_booking_initiated's locking: the transaction is open while Redis decides; a Redis
    /// conflict ends it; else the Postgres guard decides and a refusal gives the Redis locks back.
    async fn lock_full(
        &self,
        event: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> anyhow::Result<Attempt> {
        let mut tx = self.pool.begin().await?;
        if let LockOutcome::Conflict(_) = self.lua.lock(event, booking, seats, LOCK_TTL).await? {
            tx.commit().await?;
            return Ok(Attempt::Conflict);
        }
        let attempt =
            match seats::lock_guarded(&mut tx, event, booking, seats, lock_until()).await? {
                Ok(()) => Attempt::Acquired,
                Err(_) => {
                    self.lua.release(event, booking, seats).await?;
                    Attempt::Conflict
                }
            };
        tx.commit().await?;
        Ok(attempt)
    }
}

fn redis_attempt(outcome: LockOutcome) -> Attempt {
    match outcome {
        LockOutcome::Acquired => Attempt::Acquired,
        LockOutcome::Conflict(_) => Attempt::Conflict,
    }
}

fn lock_until() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(LOCK_TTL).unwrap_or(chrono::Duration::minutes(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every strategy is all-or-nothing, refuses a held seat, and the rig cleans up after itself.
    #[tokio::test]
    async fn each_strategy_locks_all_or_nothing_and_the_rig_cleans_up() {
        let rig = Rig::connect(2)
            .await
            .expect("Redis and Postgres are required (run infra/local/up)");
        let event = rig.event(12).await.unwrap();
        let seats = &event.seats;
        for (i, strategy) in Strategy::ALL.into_iter().enumerate() {
            let mine = &seats[i * 2..i * 2 + 2];
            let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
            assert_eq!(
                rig.lock(strategy, event.id, a, mine).await.unwrap(),
                Attempt::Acquired,
                "{strategy:?}"
            );
            // b wants a free seat and a's second seat: gets neither (setnx rolls the first back).
            let wanted = [seats[11], mine[1]];
            assert_eq!(
                rig.lock(strategy, event.id, b, &wanted).await.unwrap(),
                Attempt::Conflict,
                "{strategy:?}"
            );
            assert_eq!(
                rig.lock(strategy, event.id, b, &seats[11..]).await.unwrap(),
                Attempt::Acquired,
                "{strategy:?}: seat 11 stayed free"
            );
            rig.release(strategy, event.id, b, &seats[11..])
                .await
                .unwrap();
            // b cannot release a's seats.
            rig.release(strategy, event.id, b, mine).await.unwrap();
            assert_eq!(
                rig.lock(strategy, event.id, b, mine).await.unwrap(),
                Attempt::Conflict,
                "{strategy:?}"
            );
            rig.release(strategy, event.id, a, mine).await.unwrap();
            assert_eq!(
                rig.lock(strategy, event.id, b, mine).await.unwrap(),
                Attempt::Acquired,
                "{strategy:?}"
            );
            rig.release(strategy, event.id, b, mine).await.unwrap();
        }
        let leftover: Vec<String> =
            sqlx::query_scalar("SELECT status FROM seats WHERE status <> 'AVAILABLE'")
                .fetch_all(&rig.pool)
                .await
                .unwrap();
        assert!(
            leftover.is_empty(),
            "every seat is free again: {leftover:?}"
        );
        assert!(
            rig.redis_keys().await.unwrap().is_empty(),
            "every Redis lock was released"
        );

        let prefix = rig.prefix().to_string();
        let database = rig.database().to_string();
        rig.cleanup().await.unwrap();
        let mut redis = redis::Client::open(crate::rig::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(keys.is_empty());
        let admin = sqlx::PgPool::connect(&format!("{}/postgres", crate::rig::postgres_server()))
            .await
            .unwrap();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&database)
                .fetch_one(&admin)
                .await
                .unwrap();
        assert!(!exists, "database {database} dropped");
    }
}
