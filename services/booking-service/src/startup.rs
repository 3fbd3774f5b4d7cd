//! Building and running booking-service.

use std::sync::Arc;

use kit::app::{App, Infra, Service};
use kit::consumer;

use crate::configuration::Settings;
use crate::expiry;
use crate::routes::{router, AppState, Limits};
use crate::saga::{Saga, TOPICS};
use crate::state::Transitions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds a bound, ready-to-run booking-service: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// Connects to Postgres and Kafka, migrates, binds.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
        let infra = Infra::connect("booking-service", &settings.common, &MIGRATOR).await?;
        let transitions = Transitions::new(infra.topics.clone(), infra.metrics.registry());
        let state = AppState {
            pool: infra.pool.clone(),
            identity: infra.identity.clone(),
            transitions: transitions.clone(),
            limits: Limits {
                max_seats: settings.max_seats,
                max_open_bookings: settings.max_open_bookings,
                booking_timeout: settings.booking_timeout,
            },
            bug_variant: settings.common.bug_variant,
            producer: infra.producer.clone(),
        };
        let saga = Arc::new(Saga {
            pool: infra.pool.clone(),
            transitions: transitions.clone(),
            bug_variant: settings.common.bug_variant,
        });
        let handler = consumer::handler(move |delivery| saga.clone().handle(delivery));
        let consumer_infra = infra.clone();
        let expiry_pool = infra.pool.clone();
        let interval = settings.expiry_scan_interval;
        let app = infra
            .app_with_relay(
                &settings.common.bind_address(),
                kit::openapi::documented("booking-service", router(), state),
            )
            .await?
            .worker("consumer", move |token| {
                consumer_infra.run_consumer(&TOPICS, handler, token)
            })
            .worker("expiry", move |token| {
                expiry::run(expiry_pool, transitions, interval, token)
            });
        Ok(app)
    }

    type Settings = Settings;
}
