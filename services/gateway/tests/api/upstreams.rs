//! Upstream failures become envelopes; /health/all reports each service.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::helpers::{assert_error, send, spawn_gateway, spawn_stack};

#[tokio::test]
async fn unreachable_upstream_is_a_502_and_a_silent_one_a_504() {
    // A port with nothing listening, and a listener that accepts but never answers.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let stop = CancellationToken::new();
    let gateway = spawn_gateway(
        &[
            ("USER_SERVICE_URL", dead_url),
            ("EVENT_SERVICE_URL", silent_url),
        ],
        500,
        &stop,
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str| send(client.get(format!("{gateway}{path}")));

    let response = get("/api/users/me").await;
    assert_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;

    let started = std::time::Instant::now();
    let response = get("/api/events").await;
    assert_error(response, StatusCode::GATEWAY_TIMEOUT, "UPSTREAM_TIMEOUT").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "timed out after {:?}",
        started.elapsed()
    );

    let response = get("/api/bookings/my").await;
    assert_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;

    let response = get("/nowhere").await;
    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    stop.cancel();
    held.abort();
}

#[tokio::test]
async fn health_all_reports_each_deployed_service() {
    let stack = spawn_stack().await;
    let response = stack.get("/health/all", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let services = body["services"].as_object().unwrap();
    assert_eq!(services.len(), 2, "only deployed services: {body}");
    assert_eq!(
        body["services"]["user-service"]["details"]["checks"]["postgres"]["status"],
        "ok"
    );
    assert_eq!(
        body["services"]["event-service"]["details"]["checks"]["kafka"]["status"],
        "ok"
    );

    let metrics = send(stack.client.get(format!("{}/metrics", stack.user_service))).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
}
