//! What every bench runs against: Redis and Postgres on loopback, isolated per run. Redis keys live
//! under a unique prefix (`stampede-bench:<12 hex>:`) and are deleted at the end; Postgres gets its
//! own database (`stampede_bench_<12 hex>`), migrated with inventory-service's own migrations and
//! dropped at the end. The name must not look like `ticketflow_<x>_<12 hex>`: `.ci/run` drops those
//! with FORCE when it starts, even under a running bench.

use std::time::Duration;

use anyhow::Context;
use inventory_service::locks::{LockStrategy, SeatLocks};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use uuid::Uuid;

/// inventory-service's migrations, embedded from its directory so the seats table is the service's.
static MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate!("../services/inventory-service/migrations");

/// How long a lock holds (inventory-service's default `LOCK_TTL_MS`).
pub const LOCK_TTL: Duration = Duration::from_secs(300);

/// Redis server (`REDIS_URL`, default the local one).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Postgres server without a database (`POSTGRES_URL`, default the local trust-auth one).
pub fn postgres_server() -> String {
    std::env::var("POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// One event's seats, in layout order.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Uuid,
    pub seats: Vec<Uuid>,
}

/// Connections for one bench run, and the names to clean up after it.
pub struct Rig {
    /// Seat locks with the Lua all-or-nothing script (the service's default).
    pub lua: SeatLocks,
    /// Seat locks with per-seat `SET NX PX` and rollback (the seed's).
    pub setnx: SeatLocks,
    /// A pool on the run's own database.
    pub pool: PgPool,
    prefix: String,
    database: String,
    redis: redis::Client,
}

impl Rig {
    /// Connects to Redis and to a new database (created and migrated here) with at most
    /// `max_connections` Postgres connections.
    ///
    /// # Errors
    /// When Redis or Postgres is unreachable (run `infra/local/up`) or the migration fails.
    pub async fn connect(max_connections: u32) -> anyhow::Result<Self> {
        let suffix = Uuid::new_v4().simple().to_string()[..12].to_string();
        let prefix = format!("stampede-bench:{suffix}:");
        let database = format!("stampede_bench_{suffix}");
        let redis_url = redis_url();
        let connect =
            |strategy| SeatLocks::connect(&redis_url, &prefix, strategy, Duration::from_millis(0));
        let lua = connect(LockStrategy::Lua)
            .await
            .with_context(|| format!("Redis at {redis_url} is required (run infra/local/up)"))?;
        let setnx = connect(LockStrategy::SetNx).await?;
        let redis = redis::Client::open(redis_url.as_str())?;

        let server = server_options()?;
        let mut admin = PgConnection::connect_with(&server.clone().database("postgres"))
            .await
            .with_context(|| {
                format!(
                    "Postgres at {} is required (run infra/local/up)",
                    postgres_server()
                )
            })?;
        sqlx::query(&format!("CREATE DATABASE \"{database}\""))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(server.database(&database).disable_statement_logging())
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .context("inventory-service migrations")?;
        Ok(Self {
            lua,
            setnx,
            pool,
            prefix,
            database,
            redis,
        })
    }

    /// The run's Redis key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The run's database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Inserts a new event with `seats` AVAILABLE seats.
    ///
    /// # Errors
    /// When the insert fails.
    pub async fn event(&self, seats: usize) -> anyhow::Result<Event> {
        let id = Uuid::new_v4();
        let mut seats: Vec<(Uuid, i32)> = sqlx::query_as(
            "INSERT INTO seats (id, event_id, position, section, row_label, seat_number, price_cents)
             SELECT gen_random_uuid(), $1, g, 'FLOOR', 'R' || (g / 20), (g % 20 + 1)::text, 10000
               FROM generate_series(0, $2 - 1) g
             RETURNING id, position",
        )
        .bind(id)
        .bind(i32::try_from(seats)?)
        .fetch_all(&self.pool)
        .await?;
        seats.sort_by_key(|(_, position)| *position);
        Ok(Event {
            id,
            seats: seats.into_iter().map(|(seat, _)| seat).collect(),
        })
    }

    /// How many keys the run left in Redis.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn redis_keys(&self) -> anyhow::Result<Vec<String>> {
        let mut connection = self.redis.get_multiplexed_async_connection().await?;
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Deletes the run's Redis keys and drops its database. Returns how many keys were deleted.
    ///
    /// # Errors
    /// When Redis or Postgres fails; the names are in the error so they can be removed by hand.
    pub async fn cleanup(self) -> anyhow::Result<usize> {
        let keys = self.redis_keys().await?;
        let mut connection = self.redis.get_multiplexed_async_connection().await?;
        for chunk in keys.chunks(500) {
            let _: usize = redis::cmd("DEL")
                .arg(chunk)
                .query_async(&mut connection)
                .await
                .with_context(|| format!("deleting keys {}*", self.prefix))?;
        }
        self.pool.close().await;
        let server = server_options()?;
        let mut admin = PgConnection::connect_with(&server.database("postgres")).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.database
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {}", self.database))?;
        admin.close().await?;
        Ok(keys.len())
    }
}

/// The server's connect options, with the URL in the error.
fn server_options() -> anyhow::Result<PgConnectOptions> {
    let url = postgres_server();
    url.parse()
        .with_context(|| format!("POSTGRES_URL {url:?} is not a Postgres URL"))
}
