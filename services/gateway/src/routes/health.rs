//! `GET /health/all`: each deployed service's own /health, asked concurrently.
//!
//! TicketFlow's shape: `{"gateway":"up","services":[{"name":"user","status":"up",…}]}`, one entry
//! per service in the order user, event, booking, inventory, payment, notification, each the
//! service's short name plus every field of its /health body (`service`, `timestamp`, `checks`)
//! and what the gateway saw (`httpStatus`, `latencyMs`, or `error` when it got no answer).
//! Stampede adds a top-level `status` and answers 503 while a service is down (TicketFlow
//! always answers 200), so the endpoint serves as the stack's readiness probe.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kit::health::{DOWN, UP};
use serde_json::{json, Value};

use super::GatewayState;

/// TicketFlow's key for a service: its name without `-service`.
fn short_name(service: &str) -> &str {
    service.strip_suffix("-service").unwrap_or(service)
}

/// One service's entry: its name, its health body's fields, and how the call went.
fn entry(service: &str, answer: Result<(u16, Value), String>, latency_ms: f64) -> Value {
    let mut entry = json!({"name": short_name(service)});
    match answer {
        Ok((code, body)) => {
            if let Value::Object(fields) = body {
                for (key, value) in fields {
                    entry[key] = value;
                }
            }
            entry["status"] = json!(if code == 200 { UP } else { DOWN });
            entry["httpStatus"] = json!(code);
        }
        Err(error) => {
            entry["status"] = json!(DOWN);
            entry["error"] = json!(error);
        }
    }
    entry["latencyMs"] = json!(latency_ms);
    entry
}

/// 200 when every deployed service answers healthy, else 503; one entry per service.
pub async fn health_all(State(state): State<GatewayState>) -> Response {
    let client = &state.inner.client;
    let checks = state.inner.routes.deployed().map(|(name, url)| async move {
        let started = Instant::now();
        let answer = async {
            let response = client
                .get(format!("{url}/health"))
                .timeout(Duration::from_secs(3))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let code = response.status().as_u16();
            Ok((code, response.json::<Value>().await.unwrap_or(Value::Null)))
        }
        .await;
        entry(name, answer, started.elapsed().as_secs_f64() * 1000.0)
    });
    let services = futures::future::join_all(checks).await;
    let healthy = services.iter().all(|e| e["status"] == UP);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "gateway": UP,
        "status": if healthy { UP } else { DOWN },
        "services": services,
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_the_short_name_and_the_service_body_with_the_gateway_verdict() {
        let up = entry(
            "user-service",
            Ok((
                200,
                json!({"status": "up", "service": "user-service", "checks": {}}),
            )),
            1.5,
        );
        assert_eq!(up["name"], "user");
        assert_eq!(up["status"], "up");
        assert_eq!(up["service"], "user-service");
        assert_eq!(up["httpStatus"], 200);
        // A body that says "up" with a 503 is down; a body that is not JSON is no field at all.
        let odd = entry("event-service", Ok((503, json!({"status": "up"}))), 1.0);
        assert_eq!(
            (odd["name"].as_str(), odd["status"].as_str()),
            (Some("event"), Some("down"))
        );
        let gone = entry("payment-service", Err("connection refused".into()), 3.0);
        assert_eq!(gone["status"], "down");
        assert_eq!(gone["error"], "connection refused");
    }
}
