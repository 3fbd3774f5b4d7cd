//! Building and running user-service.

use kit::app::{App, Infra, Service};
use kit::token::TokenKeys;

use crate::configuration::Settings;
use crate::lockout::Lockout;
use crate::password::Hashing;
use crate::routes::{ensure_admin, router, AppState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run user-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres and Kafka, migrates, ensures the admin, binds.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        let infra = Infra::connect("user-service", &settings.common, &MIGRATOR).await?;
        let hashing = Hashing::new(settings.hash_slots, settings.hash_queue_wait);
        ensure_admin(
            &infra.pool,
            &infra.topics,
            &hashing,
            &settings.admin_email,
            settings.admin_password.expose(),
        )
        .await?;
        let state = AppState {
            pool: infra.pool.clone(),
            topics: infra.topics.clone(),
            tokens: TokenKeys::new(&settings.jwt_secret, settings.jwt_ttl),
            identity: infra.identity.clone(),
            hashing,
            lockout: Lockout::new(settings.lockout),
        };
        let app = infra
            .app_with_relay(
                &settings.common.bind_address(),
                kit::openapi::documented("user-service", router(), state),
            )
            .await?;
        Ok(app)
    }

    type Settings = Settings;
}
