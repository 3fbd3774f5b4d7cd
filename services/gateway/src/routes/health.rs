//! `GET /health/all`: each deployed service's own /health, asked concurrently.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::GatewayState;

/// 200 when every deployed service answers healthy, else 503; one entry per service.
pub async fn health_all(State(state): State<GatewayState>) -> Response {
    let client = &state.inner.client;
    let checks = state
        .inner
        .routes
        .deployed()
        .map(|(name, url)| async move {
            let started = Instant::now();
            let answer = client
                .get(format!("{url}/health"))
                .timeout(Duration::from_secs(3))
                .send()
                .await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let entry = match answer {
                Ok(response) => {
                    let code = response.status().as_u16();
                    let details = response.json::<Value>().await.unwrap_or(Value::Null);
                    let status = if code == 200 { "ok" } else { "down" };
                    json!({"status": status, "httpStatus": code, "latencyMs": latency_ms, "details": details})
                }
                Err(e) => json!({"status": "down", "latencyMs": latency_ms, "error": e.to_string()}),
            };
            (name.to_string(), entry)
        });
    let results = futures::future::join_all(checks).await;
    let healthy = results.iter().all(|(_, e)| e["status"] == "ok");
    let services: Map<String, Value> = results.into_iter().collect();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if healthy { "ok" } else { "degraded" }, "service": "gateway", "services": services});
    (status, axum::Json(body)).into_response()
}
