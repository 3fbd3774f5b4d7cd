//! `/metrics` in Prometheus text format, one registry per service instance (tests start several
//! services in one process, so nothing here is global).
//!
//! Shared series: `http_requests_total{method,route,status}`,
//! `http_request_duration_seconds{method,route}`, and `messages_total{topic,outcome}` with
//! outcome one of published, publish_failed, consumed, deduped, retried, dead_lettered.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// A service's metrics registry and the series every service has. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    messages: IntCounterVec,
}

impl Metrics {
    /// A registry whose series carry the constant label `service`.
    pub fn new(service: &str) -> Self {
        let labels = std::iter::once(("service".to_string(), service.to_string())).collect();
        let registry = Registry::new_custom(None, Some(labels)).expect("constant labels are valid");
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )
        .expect("metric definition is valid");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            ),
            &["method", "route"],
        )
        .expect("metric definition is valid");
        let messages = IntCounterVec::new(
            Opts::new("messages_total", "Kafka messages by topic and outcome"),
            &["topic", "outcome"],
        )
        .expect("metric definition is valid");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(messages.clone()),
        ] {
            registry
                .register(collector)
                .expect("series registered once");
        }
        Self {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_duration,
                messages,
            }),
        }
    }

    /// The registry, for a service's own series.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Registers one of the service's own series and hands it back.
    ///
    /// # Errors
    /// When a series of that name is registered already (the error names it).
    pub fn register<C: Collector + Clone + 'static>(&self, series: C) -> anyhow::Result<C> {
        let name = series
            .desc()
            .first()
            .map(|d| d.fq_name.clone())
            .unwrap_or_default();
        self.registry()
            .register(Box::new(series.clone()))
            .with_context(|| format!("cannot register {name}"))?;
        Ok(series)
    }

    /// Counts a Kafka message outcome.
    pub fn message(&self, topic: &str, outcome: &str) {
        self.inner
            .messages
            .with_label_values(&[topic, outcome])
            .inc();
    }

    /// The value of `messages_total{topic,outcome}` (tests and /health details).
    pub fn message_count(&self, topic: &str, outcome: &str) -> u64 {
        self.inner
            .messages
            .with_label_values(&[topic, outcome])
            .get()
    }

    /// The text exposition of every series.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.inner.registry.gather(), &mut buffer)
            .expect("text encoding of gathered metrics cannot fail");
        String::from_utf8(buffer).expect("prometheus text format is UTF-8")
    }
}

/// `GET /metrics`.
pub async fn metrics_handler(State(metrics): State<Metrics>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        metrics.render(),
    )
        .into_response()
}

/// Middleware: counts and times each request under its matched route (never the raw path, so ids
/// do not explode the label set).
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics
        .inner
        .http_requests
        .with_label_values(&[&method, &route, &status])
        .inc();
    metrics
        .inner
        .http_duration
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_includes_service_label_and_message_counts() {
        let metrics = Metrics::new("user-service");
        metrics.message("ticketflow.user.registered", "published");
        let text = metrics.render();
        assert!(
            text.contains(r#"messages_total{outcome="published",topic="ticketflow.user.registered",service="user-service"} 1"#),
            "{text}"
        );
    }
}
