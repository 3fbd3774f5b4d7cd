//! Building and running payment-service.

use std::sync::Arc;

use kit::app::{App, Infra, Service};

use crate::configuration::Settings;
use crate::consumers::{self, PaymentMetrics, Payments};
use crate::processor::SimulatedProcessor;
use crate::routes::{router, AppState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run payment-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres and Kafka, migrates, binds; the consumer starts with `run_until_stopped`.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        let infra = Infra::connect("payment-service", &settings.common, &MIGRATOR).await?;
        let payments = Arc::new(
            Payments::new(
                infra.pool.clone(),
                infra.topics.clone(),
                SimulatedProcessor::new(settings.success_rate, settings.latency),
                PaymentMetrics::register(&infra.metrics)?,
            )
            .with_bug_variant(settings.common.bug_variant),
        );
        payments.prepare_bug_variant().await?;
        let state = AppState {
            pool: infra.pool.clone(),
            identity: infra.identity.clone(),
        };
        let consumer_infra = infra.clone();
        let app = infra
            .app_with_relay(
                &settings.common.bind_address(),
                kit::openapi::documented("payment-service", router(), state),
            )
            .await?
            .worker("consumer", move |token| {
                consumers::run(consumer_infra, payments, token)
            });
        Ok(app)
    }

    type Settings = Settings;
}
