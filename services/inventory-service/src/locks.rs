//! Seat locks in Redis, one strategy per `LOCK_STRATEGY`. Shared with `benches/` so the numbers
//! there are the service's own code.
//!
//! Keys: `<prefix>seat:{<eventId>}:<seatId>` = owning bookingId, with a TTL. The `{eventId}` hash
//! tag keeps one event's seats in one Redis Cluster slot, so the Lua script may touch them all.
//!
//! | strategy | lock | round trips for k seats | on partial failure |
//! |---|---|---|---|
//! | `lua` | one script: all free (or ours) -> SET all PX ttl, else nothing | 1 | nothing was taken |
//! | `setnx` | `SET NX PX` per seat (the seed's) | k (+ rollback) | owner-checked delete of what it took |
//! | `unsafe` | `GET` every seat, pause, `SET` every seat | 2k | none: it races on purpose |

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::Script;
use uuid::Uuid;

use crate::race::Rendezvous;

/// How seats are locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStrategy {
    Lua,
    SetNx,
    Unsafe,
}

/// Whether this build carries the bug variants (`unsafe` locks): the `bug-variants` feature,
/// which no normal build enables.
pub const BUG_VARIANTS: bool = cfg!(feature = "bug-variants");

impl FromStr for LockStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s, BUG_VARIANTS)
    }
}

impl LockStrategy {
    /// `s` as a strategy; `unsafe` only when `bug_variants` (the build has them).
    ///
    /// # Errors
    /// An unknown name, or `unsafe` in a build without bug variants.
    pub fn parse(s: &str, bug_variants: bool) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "lua" => Ok(Self::Lua),
            "setnx" => Ok(Self::SetNx),
            "unsafe" if bug_variants => Ok(Self::Unsafe),
            "unsafe" => Err(
                "`unsafe` is a bug variant for `chaos selftest` and this build has none \
                             (it is compiled only with the `bug-variants` feature: \
                             `cargo run --release -p chaos --features selftest -- selftest`)"
                    .into(),
            ),
            _ => Err("expected one of lua, setnx".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lua => "lua",
            Self::SetNx => "setnx",
            Self::Unsafe => "unsafe",
        }
    }
}

/// What a lock attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// Every seat is held by the booking.
    Acquired,
    /// These seats are held by another booking; none is held by this one.
    Conflict(Vec<Uuid>),
}

/// All free (or already ours) -> take all; else report the taken ones (1-based indexes).
/// KEYS = the seats' keys, ARGV = owner, TTL in ms. Public so `benches/` can `SCRIPT LOAD` the very
/// same source for redis-benchmark's EVALSHA.
pub const LOCK_ALL: &str = r"
local taken = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then taken[#taken + 1] = i end
end
if #taken > 0 then return taken end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return taken
";

/// Delete each key only while it names the owner; returns how many were deleted.
/// KEYS = the seats' keys, ARGV = owner. Public for `benches/` (as [`LOCK_ALL`]).
pub const RELEASE_OWNED: &str = r"
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n
";

/// Drop the TTL of each key only while it names the owner (a sold seat stays taken).
const PERSIST_OWNED: &str = r"
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('PERSIST', key) end
end
return n
";

/// After a Redis failure, calls fail at once for this long instead of each waiting out a
/// reconnect (about 1.5 s): the Postgres guard decides alone meanwhile, at its own speed.
const BREAKER_OPEN: Duration = Duration::from_secs(1);

/// Trips on a Redis failure and stays open for [`BREAKER_OPEN`]. Without it, a Redis outage
/// costs every booking one reconnect timeout, one partition worker at a time: the lock service
/// fell to about 2 bookings/s while Redis was down and built a backlog it never caught up on.
#[derive(Debug)]
struct Breaker {
    epoch: Instant,
    /// Milliseconds since `epoch` until which calls fail fast (0: closed).
    open_until_ms: AtomicU64,
}

impl Breaker {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            open_until_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.now_ms() < self.open_until_ms.load(Ordering::Relaxed)
    }

    fn trip(&self) {
        let until = self.now_ms() + u64::try_from(BREAKER_OPEN.as_millis()).unwrap_or(1000);
        self.open_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// Runs `call` unless open; a failure (not a script's answer) trips it.
    async fn call<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> redis::RedisResult<T> {
        if self.is_open() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "Redis circuit open",
                format!("a Redis call failed within the last {BREAKER_OPEN:?}"),
            )));
        }
        let result = call.await;
        if let Err(e) = &result {
            if e.is_io_error()
                || e.is_timeout()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.is_unrecoverable_error()
            {
                self.trip();
            }
        }
        result
    }
}

/// Seat locks on one Redis, with one strategy.
#[derive(Clone)]
pub struct SeatLocks {
    connection: ConnectionManager,
    breaker: Arc<Breaker>,
    prefix: String,
    strategy: LockStrategy,
    unsafe_race_window: Duration,
    rendezvous: Rendezvous,
    lock_all: Script,
    release_owned: Script,
    persist_owned: Script,
}

impl SeatLocks {
    /// Connects to `url` with short timeouts (a Redis fault must not stall the saga for long).
    ///
    /// # Errors
    /// When Redis is unreachable at start.
    pub async fn connect(
        url: &str,
        prefix: &str,
        strategy: LockStrategy,
        unsafe_race_window: Duration,
    ) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(500))
            .set_response_timeout(Duration::from_millis(500))
            .set_number_of_retries(1)
            .set_max_delay(500);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            breaker: Arc::new(Breaker::new()),
            prefix: prefix.to_string(),
            strategy,
            unsafe_race_window,
            rendezvous: Rendezvous::default(),
            lock_all: Script::new(LOCK_ALL),
            release_owned: Script::new(RELEASE_OWNED),
            persist_owned: Script::new(PERSIST_OWNED),
        })
    }

    /// Where the `unsafe` strategy's bookings of one seat meet (shared with its Postgres step).
    pub fn rendezvous(&self) -> &Rendezvous {
        &self.rendezvous
    }

    pub fn strategy(&self) -> LockStrategy {
        self.strategy
    }

    /// The connection, for health checks.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The Redis key of a seat.
    pub fn key(&self, event_id: Uuid, seat_id: Uuid) -> String {
        format!("{}seat:{{{event_id}}}:{seat_id}", self.prefix)
    }

    fn keys(&self, event_id: Uuid, seats: &[Uuid]) -> Vec<String> {
        seats.iter().map(|s| self.key(event_id, *s)).collect()
    }

    /// Locks `seats` for `booking` for `ttl` with the configured strategy. Locking again for the
    /// same booking succeeds (redelivered messages).
    ///
    /// # Errors
    /// When Redis fails; callers fall back to the Postgres guard.
    pub async fn lock(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
        ttl: Duration,
    ) -> redis::RedisResult<LockOutcome> {
        self.breaker
            .call(async {
                match self.strategy {
                    LockStrategy::Lua => self.lock_lua(event_id, booking, seats, ttl).await,
                    LockStrategy::SetNx => self.lock_setnx(event_id, booking, seats, ttl).await,
                    LockStrategy::Unsafe => self.lock_unsafe(event_id, booking, seats, ttl).await,
                }
            })
            .await
    }

    async fn lock_lua(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
        ttl: Duration,
    ) -> redis::RedisResult<LockOutcome> {
        let mut invocation = self.invocation(&self.lock_all, event_id, seats);
        invocation
            .arg(booking.to_string())
            .arg(ttl.as_millis() as u64);
        let taken: Vec<usize> = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(outcome(seats, &taken))
    }

    async fn lock_setnx(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
        ttl: Duration,
    ) -> redis::RedisResult<LockOutcome> {
        let mut connection = self.connection.clone();
        let owner = booking.to_string();
        let mut acquired = Vec::new();
        let mut taken = Vec::new();
        for (i, seat) in seats.iter().enumerate() {
            let key = self.key(event_id, *seat);
            let set: Option<String> = set_px(&key, &owner, true, ttl)
                .query_async(&mut connection)
                .await?;
            if set.is_some() {
                acquired.push(*seat);
                continue;
            }
            let holder = self.holder(event_id, *seat).await?;
            if holder.as_deref() == Some(owner.as_str()) {
                continue; // ours already: a redelivery
            }
            taken.push(i + 1);
            break;
        }
        if taken.is_empty() {
            return Ok(LockOutcome::Acquired);
        }
        // Roll back what this attempt took, by owner.
        self.release(event_id, booking, &acquired).await?;
        Ok(outcome(seats, &taken))
    }

    async fn lock_unsafe(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
        ttl: Duration,
    ) -> redis::RedisResult<LockOutcome> {
        let mut connection = self.connection.clone();
        let owner = booking.to_string();
        let mut taken = Vec::new();
        for (i, seat) in seats.iter().enumerate() {
            let holder = self.holder(event_id, *seat).await?;
            if holder.is_some_and(|h| h != owner) {
                taken.push(i + 1);
            }
        }
        if !taken.is_empty() {
            return Ok(outcome(seats, &taken));
        }
        // The race this strategy exists to show: wait for another booking of the same seat to
        // pass its check too (see `crate::race`), then both set.
        if let Some(first) = seats.first() {
            self.rendezvous
                .meet(
                    format!("redis:{}", self.key(event_id, *first)),
                    self.unsafe_race_window,
                )
                .await;
        }
        for seat in seats {
            let _: () = set_px(&self.key(event_id, *seat), &owner, false, ttl)
                .query_async(&mut connection)
                .await?;
        }
        Ok(LockOutcome::Acquired)
    }

    /// Deletes the locks `booking` holds on `seats` (others' locks are untouched).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn release(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> redis::RedisResult<usize> {
        if seats.is_empty() {
            return Ok(0);
        }
        self.run_owned(&self.release_owned, event_id, booking, seats)
            .await
    }

    /// Makes `booking`'s locks on `seats` permanent (sold).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn confirm(
        &self,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> redis::RedisResult<usize> {
        self.run_owned(&self.persist_owned, event_id, booking, seats)
            .await
    }

    /// `script` on the keys of `seats`.
    fn invocation<'s>(
        &self,
        script: &'s Script,
        event_id: Uuid,
        seats: &[Uuid],
    ) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        for key in self.keys(event_id, seats) {
            invocation.key(key);
        }
        invocation
    }

    /// Runs an owner-checked `script` (release, persist) on `booking`'s keys of `seats`, through
    /// the breaker; returns how many keys it changed.
    async fn run_owned(
        &self,
        script: &Script,
        event_id: Uuid,
        booking: Uuid,
        seats: &[Uuid],
    ) -> redis::RedisResult<usize> {
        let mut invocation = self.invocation(script, event_id, seats);
        invocation.arg(booking.to_string());
        self.breaker
            .call(invocation.invoke_async(&mut self.connection.clone()))
            .await
    }

    /// The booking holding a seat in Redis, if any (tests, benches).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn holder(&self, event_id: Uuid, seat: Uuid) -> redis::RedisResult<Option<String>> {
        redis::cmd("GET")
            .arg(self.key(event_id, seat))
            .query_async(&mut self.connection.clone())
            .await
    }
}

/// `SET key owner [NX] PX ttl`: only if unset when `only_if_unset`.
fn set_px(key: &str, owner: &str, only_if_unset: bool, ttl: Duration) -> redis::Cmd {
    let mut command = redis::cmd("SET");
    command.arg(key).arg(owner);
    if only_if_unset {
        command.arg("NX");
    }
    command.arg("PX").arg(ttl.as_millis() as u64);
    command
}

fn outcome(seats: &[Uuid], taken_one_based: &[usize]) -> LockOutcome {
    if taken_one_based.is_empty() {
        LockOutcome::Acquired
    } else {
        LockOutcome::Conflict(
            taken_one_based
                .iter()
                .filter_map(|i| seats.get(i.wrapping_sub(1)).copied())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_opens_the_breaker_for_a_while_and_answers_pass_through() {
        let breaker = Breaker::new();
        let refused: redis::RedisResult<()> = Err(redis::RedisError::from((
            redis::ErrorKind::IoError,
            "refused",
        )));
        assert!(breaker.call(async { refused }).await.is_err());
        assert!(breaker.is_open());
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let fast = breaker
            .call(async {
                calls.fetch_add(1, Ordering::Relaxed);
                Ok::<_, redis::RedisError>(())
            })
            .await;
        assert!(
            fast.is_err() && calls.load(Ordering::Relaxed) == 0,
            "an open breaker does not call Redis"
        );
        breaker.open_until_ms.store(0, Ordering::Relaxed);
        assert_eq!(
            breaker
                .call(async { Ok::<_, redis::RedisError>(7) })
                .await
                .unwrap(),
            7
        );
        // A script's own error (a reply, not a transport failure) leaves it closed.
        let reply: redis::RedisResult<()> = Err(redis::RedisError::from((
            redis::ErrorKind::ResponseError,
            "ERR in script",
        )));
        assert!(breaker.call(async { reply }).await.is_err());
        assert!(!breaker.is_open());
    }

    async fn locks(strategy: LockStrategy) -> SeatLocks {
        let prefix = format!("test:{}:", Uuid::new_v4().simple());
        SeatLocks::connect(
            "redis://127.0.0.1:6379",
            &prefix,
            strategy,
            Duration::from_millis(1),
        )
        .await
        .expect("Redis at 127.0.0.1:6379 is required (run infra/local/up)")
    }

    #[tokio::test]
    async fn lua_and_setnx_lock_all_or_nothing_and_release_by_owner() {
        for strategy in [LockStrategy::Lua, LockStrategy::SetNx] {
            let locks = locks(strategy).await;
            let event = Uuid::new_v4();
            let seats: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
            let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
            let ttl = Duration::from_secs(30);

            assert_eq!(
                locks.lock(event, a, &seats[..2], ttl).await.unwrap(),
                LockOutcome::Acquired
            );
            // b wants seats 1..4; seat 1 is a's: b gets nothing.
            let result = locks.lock(event, b, &seats[1..], ttl).await.unwrap();
            assert_eq!(
                result,
                LockOutcome::Conflict(vec![seats[1]]),
                "{strategy:?}"
            );
            for seat in &seats[2..] {
                assert_eq!(
                    locks.holder(event, *seat).await.unwrap(),
                    None,
                    "{strategy:?}: nothing taken"
                );
            }
            // Locking again for the same booking is fine (redelivery).
            assert_eq!(
                locks.lock(event, a, &seats[..2], ttl).await.unwrap(),
                LockOutcome::Acquired
            );
            // b cannot release a's locks.
            assert_eq!(locks.release(event, b, &seats[..2]).await.unwrap(), 0);
            assert_eq!(
                locks.holder(event, seats[0]).await.unwrap(),
                Some(a.to_string())
            );
            assert_eq!(locks.release(event, a, &seats[..2]).await.unwrap(), 2);
            assert_eq!(
                locks.lock(event, b, &seats[1..], ttl).await.unwrap(),
                LockOutcome::Acquired
            );
            locks.release(event, b, &seats[1..]).await.unwrap();
        }
    }

    #[tokio::test]
    async fn confirm_makes_an_owned_lock_permanent() {
        let locks = locks(LockStrategy::Lua).await;
        let event = Uuid::new_v4();
        let seat = Uuid::new_v4();
        let owner = Uuid::new_v4();
        locks
            .lock(event, owner, &[seat], Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(
            locks.confirm(event, Uuid::new_v4(), &[seat]).await.unwrap(),
            0,
            "not the owner"
        );
        assert_eq!(locks.confirm(event, owner, &[seat]).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            locks.holder(event, seat).await.unwrap(),
            Some(owner.to_string())
        );
        locks.release(event, owner, &[seat]).await.unwrap();
    }
}

#[cfg(test)]
mod strategy_tests {
    use super::LockStrategy;

    #[test]
    fn without_bug_variants_unsafe_is_refused_with_how_to_get_it() {
        let refused = LockStrategy::parse("unsafe", false).unwrap_err();
        assert!(refused.contains("bug variant"), "{refused}");
        assert!(refused.contains("--features selftest"), "{refused}");
        assert_eq!(
            LockStrategy::parse("UNSAFE", true),
            Ok(LockStrategy::Unsafe)
        );
        assert_eq!(LockStrategy::parse("lua", false), Ok(LockStrategy::Lua));
        assert_eq!(LockStrategy::parse("setnx", false), Ok(LockStrategy::SetNx));
    }
}
