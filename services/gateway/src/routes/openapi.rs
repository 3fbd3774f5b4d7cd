//! `GET /openapi.json`: one OpenAPI 3 document for the whole API, the services' own documents
//! (each generated from its handlers, `kit::openapi`) merged with the gateway's routes.
//!
//! Asked of every deployed service at each request, so it always describes what is running; if
//! one does not answer, the answer is a 503 naming it rather than a document that silently lacks
//! its operations.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use kit::openapi::ErrorResponses;
use kit::{ApiError, ApiJson};
use utoipa::openapi::OpenApi;

use super::GatewayState;

/// `GET /health/all`: every deployed service's `/health`.
#[utoipa::path(
    get,
    path = "/health/all",
    tag = "health",
    responses(
        (status = 200, description = "every service is healthy", body = Object),
        (status = 503, description = "a service is down or degraded; the body says which", body = Object),
    )
)]
#[allow(dead_code)] // documents super::health::health_all
fn health_all() {}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    responses((status = 200, description = "the OpenAPI 3 document of the whole API", body = Object), ErrorResponses)
)]
#[allow(dead_code)] // documents document() below
fn openapi_json() {}

#[derive(utoipa::OpenApi)]
#[openapi(paths(health_all, openapi_json))]
struct GatewayRoutes;

/// The merged document, or 503 `DOCUMENT_INCOMPLETE` naming the services that did not answer.
pub async fn document(State(state): State<GatewayState>) -> Result<ApiJson<OpenApi>, ApiError> {
    let client = &state.inner.client;
    let asks = state.inner.routes.deployed().map(|(name, url)| async move {
        let answer = async {
            client
                .get(format!("{url}{}", kit::openapi::DOCUMENT_PATH))
                .timeout(Duration::from_secs(3))
                .send()
                .await?
                .error_for_status()?
                .json::<OpenApi>()
                .await
        };
        (name, answer.await)
    });
    let mut merged = <GatewayRoutes as utoipa::OpenApi>::openapi();
    let mut missing = Vec::new();
    for (name, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(document) => merged.merge(document),
            Err(error) => {
                tracing::warn!(service = name, %error, "no OpenAPI document");
                missing.push(name);
            }
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "DOCUMENT_INCOMPLETE",
            format!(
                "the OpenAPI document of {} did not come; try again when /health/all is ok",
                missing.join(", ")
            ),
        ));
    }
    merged.info.title = "Stampede API (through the gateway)".into();
    merged.info.version = env!("CARGO_PKG_VERSION").into();
    merged.info.description = Some(
        "TicketFlow's API as the Stampede reference stack serves it. Every 4xx and 5xx is \
         {\"error\":{\"code\",\"message\"}}. Operations marked with the bearer scheme need \
         `Authorization: Bearer <token>` from /api/users/login or /api/users/register."
            .into(),
    );
    Ok(ApiJson(merged))
}
