//! Building and running notification-service.

use std::sync::Arc;

use kit::app::{App, Infra, Service};

use crate::configuration::Settings;
use crate::consumers::{self, NotificationMetrics, Notifications};
use crate::mailer::{Mailer, SmtpMailer};
use crate::routes::{router, AppState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run notification-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres and Kafka, migrates, prepares the mailer when `SMTP_URL` is set,
    /// binds; the consumer starts with `run_until_stopped`.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        let infra = Infra::connect("notification-service", &settings.common, &MIGRATOR).await?;
        let mailer = match &settings.smtp {
            Some(endpoint) => Some(
                Arc::new(SmtpMailer::new(endpoint, settings.mail_from.clone())) as Arc<dyn Mailer>,
            ),
            None => {
                tracing::info!("SMTP_URL is not set; notifications are recorded, not mailed");
                None
            }
        };
        let notifications = Arc::new(
            Notifications::new(
                infra.pool.clone(),
                mailer,
                NotificationMetrics::register(&infra.metrics)?,
            )
            .with_bug_variant(settings.common.bug_variant),
        );
        notifications.prepare_bug_variant().await?;
        let state = AppState {
            pool: infra.pool.clone(),
            identity: infra.identity.clone(),
        };
        let consumer_infra = infra.clone();
        let app = App::bind(
            infra.name,
            &settings.common.bind_address(),
            kit::openapi::documented("notification-service", router(), state),
            infra.metrics.clone(),
            infra.health(),
        )
        .await?
        .worker("consumer", move |token| {
            consumers::run(consumer_infra, notifications, token)
        });
        Ok(app)
    }

    type Settings = Settings;
}
