//! Serving a service's router: the shared routes (/health, /metrics), the shared layers (tracing
//! span per matched route, metrics, timeout, envelope 404 and 405) and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{method_not_allowed_fallback, not_found_fallback};
use crate::health::{health_handler, ticketflow_alias, HealthChecks};
use crate::metrics::{metrics_handler, track_http, Metrics};

/// Adds /health (and TicketFlow's second health path, where the service has one), /metrics, the
/// envelope 404 and the shared layers to a service's routes.
pub fn with_common_routes(routes: Router, metrics: Metrics, health: HealthChecks) -> Router {
    let mut shared = Router::new();
    if let Some(alias) = ticketflow_alias(health.service()) {
        shared = shared.route(alias, get(health_handler).with_state(health.clone()));
    }
    let shared = shared
        .route("/health", get(health_handler).with_state(health))
        .route("/metrics", get(metrics_handler).with_state(metrics.clone()));
    routes
        .merge(shared)
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(axum::middleware::from_fn_with_state(metrics, track_http))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str);
                tracing::info_span!("http", method = %request.method(), route, path = %request.uri().path())
            }),
        )
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
