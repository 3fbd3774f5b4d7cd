//! Upstream failures become envelopes; /health/all reports each service.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::helpers::{assert_error, send, spawn_gateway, spawn_stack};

#[tokio::test]
async fn unreachable_upstream_is_a_503_and_a_silent_one_a_504() {
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
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    )
    .await;

    let started = std::time::Instant::now();
    let response = get("/api/events").await;
    assert_error(response, StatusCode::GATEWAY_TIMEOUT, "UPSTREAM_TIMEOUT").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "timed out after {:?}",
        started.elapsed()
    );

    let response = get("/api/bookings/my").await;
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    )
    .await;

    let response = get("/nowhere").await;
    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    stop.cancel();
    held.abort();
}

#[tokio::test]
async fn health_all_reports_each_deployed_service_in_ticketflow_shape() {
    let stack = spawn_stack().await;
    let response = stack.get("/health/all", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    // TicketFlow: {"gateway":"up","services":[{"name":"user","status":"up",...}]}, in its order.
    assert_eq!(body["gateway"], "up", "{body}");
    assert_eq!(body["status"], "up", "{body}");
    let services = body["services"].as_array().expect("an array of services");
    let names: Vec<&str> = services.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["user", "event"], "only deployed services: {body}");
    assert!(services.iter().all(|s| s["status"] == "up"), "{body}");
    assert_eq!(services[0]["service"], "user-service");
    assert_eq!(services[0]["checks"]["postgres"]["status"], "up");
    assert_eq!(services[1]["checks"]["kafka"]["status"], "up");

    // The gateway's own /health, and TicketFlow's second path of user-service, through the
    // gateway and on the service's port: {"status":"up","service":...,"timestamp":"...Z"}.
    for (base, path, service) in [
        (stack.gateway.as_str(), "/health", "gateway"),
        (stack.gateway.as_str(), "/api/users/health", "user-service"),
        (
            stack.user_service.as_str(),
            "/api/users/health",
            "user-service",
        ),
        (stack.user_service.as_str(), "/health", "user-service"),
    ] {
        let response = send(stack.client.get(format!("{base}{path}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{base}{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["status"].as_str(), body["service"].as_str()),
            (Some("up"), Some(service)),
            "{base}{path}: {body}"
        );
        assert!(
            body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{body}"
        );
    }

    let metrics = send(stack.client.get(format!("{}/metrics", stack.user_service))).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
}
