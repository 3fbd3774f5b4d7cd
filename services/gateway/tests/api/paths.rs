//! A path with a dot segment (`..`, `.`, literal or percent-encoded) or an encoded slash never
//! reaches a route it does not name: the gateway answers 400 `INVALID_PATH` itself. Without that,
//! `/api/events/../../metrics` matched the event-service prefix, and the HTTP client's URL parser
//! resolved the dots upstream, serving the service's `/metrics` (and any other unrouted path)
//! to the internet.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::spawn_stack;

/// Sends `path` byte for byte (an HTTP client would normalise it first) and returns the status
/// and the whole response.
async fn raw_get(gateway: &str, path: &str) -> (u16, String) {
    let address = gateway.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn dot_segments_and_encoded_slashes_never_reach_a_route_they_do_not_name() {
    let stack = spawn_stack().await;
    for path in [
        "/api/events/../../metrics",
        "/api/events/%2e%2e/%2E%2E/metrics",
        "/api/events/.%2e/%2e./metrics",
        "/api/events/./../../health",
        "/api/users/../../metrics?x=1",
        "/api/events/..%2f..%2fmetrics",
        "/api/events/%5c..%5cmetrics",
    ] {
        let (status, text) = raw_get(&stack.gateway, path).await;
        assert!(
            !text.contains("version=0.0.4"),
            "{path} reached a service's /metrics:\n{text}"
        );
        assert_eq!(status, 400, "{path}:\n{text}");
        assert!(text.contains("\"INVALID_PATH\""), "{path}:\n{text}");
    }
    let (status, text) = raw_get(&stack.gateway, "/api/events?limit=1").await;
    assert_eq!(status, 200, "a plain path still works:\n{text}");
}
