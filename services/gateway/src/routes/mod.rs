//! The gateway's routes: the proxy for `/api/...`, `/health/all` and the merged OpenAPI
//! document at `/openapi.json`.

mod health;
mod openapi;
mod proxy;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get};
use axum::Router;
use kit::identity::IdentityKeys;
use kit::token::TokenKeys;

use crate::auth_limit::AuthLimiter;
use crate::upstream::RoutingTable;

/// Shared handles; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    routes: RoutingTable,
    tokens: TokenKeys,
    identity: IdentityKeys,
    body_limit: usize,
}

impl GatewayState {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        routes: RoutingTable,
        tokens: TokenKeys,
        identity: IdentityKeys,
        body_limit: usize,
        upstream_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(upstream_timeout)
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(512)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                routes,
                tokens,
                identity,
                body_limit,
            }),
        })
    }
}

/// The gateway's own routes (the shared /health and /metrics are added by `kit`); with
/// `limiter`, sign-in and sign-up are limited per client address (`crate::auth_limit`).
pub fn router(state: GatewayState, limiter: Option<AuthLimiter>) -> Router {
    Router::new()
        .route("/api", any(proxy::forward))
        .route("/api/{*rest}", any(proxy::forward))
        .route("/health/all", get(health::health_all))
        .route(kit::openapi::DOCUMENT_PATH, get(openapi::document))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::auth_limit::limit,
        ))
}
