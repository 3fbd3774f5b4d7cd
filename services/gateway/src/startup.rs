//! Building and running the gateway.

use kit::app::App;
use kit::health::HealthChecks;
use kit::identity::IdentityKeys;
use kit::metrics::Metrics;
use kit::token::TokenKeys;

use crate::configuration::Settings;
use crate::routes::{router, GatewayState};

/// A bound, ready-to-run gateway.
pub struct Application {
    app: App,
}

impl Application {
    /// # Errors
    /// When the port cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if settings.internal_secret.expose() == kit::config::DEV_INTERNAL_SECRET
            || settings.jwt_secret.expose() == kit::config::DEV_JWT_SECRET
        {
            tracing::warn!("JWT_SECRET or INTERNAL_SECRET is the development default; set both outside local runs");
        }
        let state = GatewayState::new(
            settings.routes.clone(),
            // The gateway only verifies; the TTL is user-service's business.
            TokenKeys::new(&settings.jwt_secret, std::time::Duration::ZERO),
            IdentityKeys::new(&settings.internal_secret),
            settings.body_limit,
            settings.upstream_timeout,
        )?;
        let app = App::bind(
            "gateway",
            &format!("{}:{}", settings.host, settings.port),
            router(state),
            Metrics::new("gateway"),
            HealthChecks::new("gateway"),
        )
        .await?;
        Ok(Self { app })
    }

    pub fn port(&self) -> u16 {
        self.app.port()
    }

    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.app.run_until_stopped(shutdown).await
    }
}
