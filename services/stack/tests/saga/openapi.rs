//! The OpenAPI document the gateway serves (`GET /openapi.json`, merged from each service's own,
//! which `kit::openapi` generates from the handlers that serve the routes): it names exactly the
//! API below, and every operation it names is served through the gateway (never "no route" or
//! 405), answering JSON, with the error envelope for every 4xx and 5xx.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

/// Every operation of the API, by path then method. A route added without its
/// `#[utoipa::path]` cannot be served (`utoipa_axum::routes!` registers both); one added with it
/// must be added here, so the document never changes unnoticed.
const API: [(&str, &str); 26] = [
    ("/api/bookings", "post"),
    ("/api/bookings/health", "get"),
    ("/api/bookings/my", "get"),
    ("/api/bookings/{id}", "get"),
    ("/api/bookings/{id}/cancel", "post"),
    ("/api/events", "get"),
    ("/api/events", "post"),
    ("/api/events/{id}", "get"),
    ("/api/events/{id}", "put"),
    ("/api/inventory/events/{event_id}/seats", "get"),
    ("/api/inventory/events/{event_id}/summary", "get"),
    ("/api/notifications/recent", "get"),
    ("/api/payments/booking/{booking_id}", "get"),
    ("/api/payments/create-order", "post"),
    ("/api/payments/verify", "post"),
    ("/api/payments/{id}", "get"),
    ("/api/users/health", "get"),
    ("/api/users/login", "post"),
    ("/api/users/me", "get"),
    ("/api/users/register", "post"),
    ("/api/venues", "get"),
    ("/api/venues", "post"),
    ("/api/venues/{id}", "get"),
    ("/health", "get"),
    ("/health/all", "get"),
    ("/openapi.json", "get"),
];

/// `{name}` segments replaced by a fresh UUID: an id that names nothing, so each call is
/// answered by the route's own handler (a 404 from it says "no such ..."), not by a fallback.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                Uuid::new_v4().to_string()
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_gateway_document_names_the_whole_api_and_every_operation_in_it_is_served() {
    // Arrange
    let stack = SagaStack::start(StackOptions::default()).await;
    let admin = stack.admin_token().await;

    // Act
    let response = stack
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();

    // Assert: the document
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document: {}",
        document["openapi"]
    );
    let mut named: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    named.sort();
    let expected: Vec<(String, String)> = API
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(named, expected, "the operations the document names");
    for schema in [
        "ErrorEnvelope",
        "BookingDto",
        "EventDto",
        "SeatDto",
        "PaymentDto",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} is in the document"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Assert: every operation is served, as JSON, with the envelope on errors
    for (path, method) in API {
        let url = concrete(path);
        let method: Method = method.to_uppercase().parse().unwrap();
        let mut request = stack.request(method.clone(), &url, Some(&admin));
        if method != Method::GET {
            request = request.json(&json!({}));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.text().await.unwrap();
        let what = format!("{method} {url} -> {status} {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {what}"));
        if status.is_client_error() || status.is_server_error() {
            assert!(body["error"]["code"].is_string(), "the envelope: {what}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.starts_with("no route"), "routed: {what}");
        }
    }

    // a method a route does not take: 405 in the envelope too (axum's own has no body)
    let response = stack
        .request(Method::DELETE, "/api/events", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED", "{body}");
}
