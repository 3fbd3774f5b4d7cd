//! Building and running the gateway.

use kit::app::{App, Service};
use kit::health::HealthChecks;
use kit::identity::IdentityKeys;
use kit::metrics::Metrics;
use kit::token::TokenKeys;

use crate::auth_limit::AuthLimiter;
use crate::configuration::Settings;
use crate::routes::{router, GatewayState};

/// Builds a bound, ready-to-run gateway: a [`kit::app::App`] (`port()`, `run_until_stopped`).
pub struct Application;

impl Service for Application {
    /// # Errors
    /// When the port cannot be bound.
    async fn build(settings: Settings) -> anyhow::Result<App> {
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
        let limiter = settings
            .auth_limit
            .map(|limit| AuthLimiter::new(limit, settings.trusted_proxy_hops));
        let mut app = App::bind(
            "gateway",
            &format!("{}:{}", settings.host, settings.port),
            router(state, limiter.clone()),
            Metrics::new("gateway"),
            HealthChecks::new("gateway"),
        )
        .await?;
        if let Some(limiter) = limiter {
            app = app.worker("auth-limit", move |token| limiter.forget_idle(token));
        }
        Ok(app)
    }

    type Settings = Settings;
    // No database here, so no sqlx logs to quiet.
    const LOG_FILTER: &'static str = "info";
}
