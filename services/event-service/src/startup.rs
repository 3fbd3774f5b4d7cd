//! Building and running event-service.

use kit::app::{App, Infra, Service};

use crate::configuration::Settings;
use crate::routes::{router, AppState, Limits};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run event-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres and Kafka, migrates, binds.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        let infra = Infra::connect("event-service", &settings.common, &MIGRATOR).await?;
        let state = AppState {
            pool: infra.pool.clone(),
            topics: infra.topics.clone(),
            identity: infra.identity.clone(),
            limits: Limits {
                max_event_seats: settings.max_event_seats,
            },
        };
        let app = infra
            .app_with_relay(
                &settings.common.bind_address(),
                kit::openapi::documented("event-service", router(), state),
            )
            .await?;
        Ok(app)
    }

    type Settings = Settings;
}
