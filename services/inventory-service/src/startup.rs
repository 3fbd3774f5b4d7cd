//! Building and running inventory-service.

use std::sync::Arc;

use anyhow::Context;
use kit::app::{App, Infra, Service};
use kit::consumer;

use crate::configuration::Settings;
use crate::consumers::{Inventory, InventoryMetrics, TOPICS};
use crate::locks::{LockStrategy, SeatLocks};
use crate::routes::router;
use crate::sweeper;
use kit::bug_variants::BugVariant;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run inventory-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres, Redis and Kafka, migrates, binds.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        if settings.lock_strategy == LockStrategy::Unsafe {
            tracing::warn!("LOCK_STRATEGY=unsafe: seat locks are DELIBERATELY RACY and WILL double-book; use only to test the checker");
            eprintln!("WARNING: inventory-service LOCK_STRATEGY=unsafe: seat locks are deliberately racy and will double-book");
        }
        let infra = Infra::connect("inventory-service", &settings.common, &MIGRATOR).await?;
        let locks = SeatLocks::connect(
            &settings.redis_url,
            &settings.redis_prefix,
            settings.lock_strategy,
            settings.unsafe_race_window,
        )
        .await
        .with_context(|| {
            format!(
                "inventory-service: cannot connect to Redis at {}",
                settings.redis_url
            )
        })?;
        let inventory = Arc::new(Inventory {
            pool: infra.pool.clone(),
            topics: infra.topics.clone(),
            locks: locks.clone(),
            lock_ttl: settings.lock_ttl,
            unsafe_race_window: settings.unsafe_race_window,
            metrics: InventoryMetrics::register(infra.metrics.registry()),
            bug_variant: settings.common.bug_variant,
        });
        let relay = infra.relay();
        let handler_inventory = inventory.clone();
        let handler = consumer::handler(move |delivery| handler_inventory.clone().handle(delivery));
        let consumer_infra = infra.clone();
        let sweep_interval = settings.sweep_interval;
        let mut app = App::bind(
            infra.name,
            &settings.common.bind_address(),
            router(infra.pool.clone()),
            infra.metrics.clone(),
            infra.health().with_redis(locks.connection()),
        )
        .await?
        .worker("outbox-relay", move |token| {
            relay.run(token.cancelled_owned())
        })
        .worker("consumer", move |token| {
            consumer_infra.run_consumer(&TOPICS, handler, token)
        });
        // The `no-sweeper` bug variant: expired locks stay LOCKED for good.
        if !kit::bug_variants::is_on(settings.common.bug_variant, BugVariant::NoSweeper) {
            app = app.worker("sweeper", move |token| {
                sweeper::run(inventory, sweep_interval, token)
            });
        }
        Ok(app)
    }

    type Settings = Settings;
}
