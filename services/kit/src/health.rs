//! `GET /health`: the service and each dependency it needs, checked concurrently with a deadline.
//!
//! TicketFlow's shape, `{"status":"up","service":"<name>","timestamp":"<Z ISO>"}`, plus one entry
//! per dependency under `checks` (`status`, `latencyMs`, `error`). 200 with `"up"` when every
//! check passes; 503 with `"down"` otherwise (TicketFlow's services answer 200 `"up"` whatever
//! their dependencies do; Stampede's health is a readiness probe, so it says when one is down).
//!
//! user-service and booking-service also answer it at TicketFlow's own probe paths,
//! `/api/users/health` and `/api/bookings/health` ([`ticketflow_alias`]), which reach them
//! through the gateway too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Health is "up" (TicketFlow's word), or "down".
pub const UP: &str = "up";
/// A failing check, or a service with one.
pub const DOWN: &str = "down";

/// The second path at which TicketFlow's probes (its Makefile, compose and Kubernetes files) ask a
/// service's health, where it has one.
pub fn ticketflow_alias(service: &str) -> Option<&'static str> {
    match service {
        "user-service" => Some("/api/users/health"),
        "booking-service" => Some("/api/bookings/health"),
        _ => None,
    }
}

/// The dependency checks of one service.
#[derive(Clone)]
pub struct HealthChecks {
    service: String,
    checks: Vec<(String, CheckFn)>,
    deadline: Duration,
}

impl HealthChecks {
    /// The service's name, as its health body says it.
    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
            checks: Vec::new(),
            deadline: Duration::from_secs(2),
        }
    }

    /// Adds a named check.
    pub fn with<F, Fut>(mut self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.checks
            .push((name.to_string(), Arc::new(move || Box::pin(check()))));
        self
    }

    /// `SELECT 1` on the pool.
    pub fn with_postgres(self, pool: sqlx::PgPool) -> Self {
        self.with("postgres", move || {
            let pool = pool.clone();
            async move {
                sqlx::query("SELECT 1").execute(&pool).await?;
                Ok(())
            }
        })
    }

    /// A metadata request to the broker.
    pub fn with_kafka(self, producer: rdkafka::producer::FutureProducer) -> Self {
        self.with("kafka", move || {
            let producer = producer.clone();
            async move { crate::kafka::ping(&producer, Duration::from_millis(1500)).await }
        })
    }

    /// The service's consumer groups: down while one is stalled (assigned nothing, or lag
    /// without progress, for longer than the watch's limit), with the reason.
    pub fn with_consumers(self, watch: crate::consumer_watch::ConsumerWatch) -> Self {
        self.with("consumers", move || {
            let stalls = watch.stalls();
            async move {
                if stalls.is_empty() {
                    Ok(())
                } else {
                    let reasons: Vec<String> = stalls.iter().map(ToString::to_string).collect();
                    anyhow::bail!("{}", reasons.join("; "))
                }
            }
        })
    }

    /// `PING` on Redis.
    pub fn with_redis(self, connection: redis::aio::ConnectionManager) -> Self {
        self.with("redis", move || {
            let mut connection = connection.clone();
            async move {
                let _: String = redis::cmd("PING").query_async(&mut connection).await?;
                Ok(())
            }
        })
    }

    /// Runs every check; returns whether all passed and the JSON report.
    pub async fn report(&self) -> (bool, Value) {
        let runs = self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            let deadline = self.deadline;
            async move {
                let started = Instant::now();
                let outcome = tokio::time::timeout(deadline, check()).await;
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                let entry = match outcome {
                    Ok(Ok(())) => json!({"status": UP, "latencyMs": latency_ms}),
                    Ok(Err(e)) => json!({"status": DOWN, "latencyMs": latency_ms, "error": format!("{e:#}")}),
                    Err(_) => json!({"status": DOWN, "latencyMs": latency_ms, "error": format!("no answer within {deadline:?}")}),
                };
                (name.clone(), entry)
            }
        });
        let results = futures::future::join_all(runs).await;
        let healthy = results.iter().all(|(_, e)| e["status"] == UP);
        let checks: Map<String, Value> = results.into_iter().collect();
        let body = json!({
            "status": if healthy { UP } else { DOWN },
            "service": self.service,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "checks": checks,
        });
        (healthy, body)
    }
}

/// `GET /health`.
pub async fn health_handler(State(checks): State<HealthChecks>) -> Response {
    let (healthy, body) = checks.report().await;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_dependency_degrades_health() {
        let checks = HealthChecks::new("svc")
            .with("ok-dep", || async { Ok(()) })
            .with("bad-dep", || async { anyhow::bail!("connection refused") });
        let (healthy, body) = checks.report().await;
        assert!(!healthy);
        assert_eq!(body["status"], "down");
        assert_eq!(body["service"], "svc");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
        assert_eq!(body["checks"]["ok-dep"]["status"], "up");
        assert_eq!(body["checks"]["bad-dep"]["error"], "connection refused");
    }
}
