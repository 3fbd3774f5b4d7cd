//! TicketFlow's own clients against Stampede: the calls of its demo script (`scripts/demo.sh` of
//! OmLanke/fms: register, log in, list events, list seats, book with `{eventId, seatIds}`, poll
//! until the booking leaves PENDING, list my bookings) and of its Makefile's health targets, each
//! read the way that client reads it (its `jq` paths, its `curl -f`), against the in-process stack.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{json_of, SagaStack, StackOptions};

/// `curl -sf`: a 2xx with a JSON body, or the test fails naming the call.
async fn curl_f(request: reqwest::RequestBuilder, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "{what}: curl -f fails on {status}: {body}"
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"))
}

#[tokio::test]
async fn ticketflow_demo_script_runs_to_a_confirmed_booking() {
    let (stack, _event, _seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let call = |method: Method, path: &str, token: Option<&str>| stack.request(method, path, token);

    // "Waiting for gateway": curl -sf /health.
    curl_f(call(Method::GET, "/health", None), "GET /health").await;

    // Register, then log in: `.token`.
    let email = format!("demo-user-{}@ticketflow.dev", uuid::Uuid::new_v4().simple());
    let body = json!({"name": "Demo User", "email": email, "password": "Demo1234!"});
    curl_f(
        call(Method::POST, "/api/users/register", None).json(&body),
        "register",
    )
    .await;
    let login = curl_f(
        call(Method::POST, "/api/users/login", None)
            .json(&json!({"email": email, "password": "Demo1234!"})),
        "login",
    )
    .await;
    let token = login["token"].as_str().expect(".token").to_string();
    let token = Some(token.as_str());

    // `.events[0].id`, `.events[0].name`.
    let events = curl_f(call(Method::GET, "/api/events", token), "GET /api/events").await;
    let event_id = events["events"][0]["id"].as_str().expect(".events[0].id");
    assert!(events["events"][0]["name"].is_string(), "{events}");

    // What TicketFlow's frontend reads besides: the bare event (id, name, description, date,
    // price, venue?.name, image_url) and the signed-in user (`.user`, role in capitals).
    let event = curl_f(
        call(Method::GET, &format!("/api/events/{event_id}"), token),
        "GET event",
    )
    .await;
    assert_eq!(event["id"], event_id, "{event}");
    assert!(
        event["date"].as_str().is_some_and(|d| !d.ends_with('Z')),
        "naive ISO: {event}"
    );
    assert!(
        event["price"].is_number() && event["venue"]["name"].is_string(),
        "{event}"
    );
    assert!(
        event.get("image_url").is_some() && event["description"].is_string(),
        "{event}"
    );
    let me = curl_f(
        call(Method::GET, "/api/users/me", token),
        "GET /api/users/me",
    )
    .await;
    assert_eq!(me["user"]["role"], "USER", "{me}");
    assert_eq!(me["user"]["email"], email.as_str(), "{me}");

    // `[.seats[] | select(.status == "AVAILABLE")] | .[0:2]`, then `[.[].id]`.
    let seats = curl_f(
        call(
            Method::GET,
            &format!("/api/inventory/events/{event_id}/seats"),
            token,
        ),
        "GET seats",
    )
    .await;
    let seat_ids: Vec<&str> = seats["seats"]
        .as_array()
        .expect(".seats[]")
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .inspect(|s| {
            assert!(
                s["seatNumber"]
                    .as_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok()),
                "{s}"
            )
        })
        .take(2)
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(seat_ids.len(), 2, "{seats}");

    // POST /api/bookings with the two-field body; exactly 202; `.bookingId // .id`.
    let response = call(Method::POST, "/api/bookings", token)
        .json(&json!({"eventId": event_id, "seatIds": seat_ids}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let booking: Value = response.json().await.unwrap();
    let booking_id = booking["id"].as_str().expect(".id").to_string();

    // Poll `.status // .booking.status` until it is not PENDING (the script allows 40 s).
    let started = Instant::now();
    let status = loop {
        let polled = curl_f(
            call(Method::GET, &format!("/api/bookings/{booking_id}"), token),
            "poll",
        )
        .await;
        let status = polled["status"].as_str().expect(".status").to_string();
        if status != "PENDING" {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "still PENDING after 40 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, "CONFIRMED");

    // The frontend's pay step (EventPage.tsx): create-order with the UI's total, then verify
    // with the checkout's result. The simulated processor has settled it: SUCCESS.
    let order = curl_f(
        call(Method::POST, "/api/payments/create-order", token).json(&json!({
            "booking_id": booking_id, "user_id": me["user"]["id"],
            "amount": event["price"].as_f64().unwrap() * 2.0, "currency": "INR",
        })),
        "create-order",
    )
    .await;
    assert!(order["amount"].is_i64(), "paise, an integer: {order}");
    assert!(order["razorpay_key_id"].is_string(), "{order}");
    let verified = curl_f(
        call(Method::POST, "/api/payments/verify", token).json(&json!({
            "payment_id": order["payment_id"], "razorpay_order_id": order["order_id"],
            "razorpay_payment_id": "pay_demo", "signature": "0",
        })),
        "verify",
    )
    .await;
    assert_eq!(verified["status"], "SUCCESS", "{verified}");
    let payment = curl_f(
        call(
            Method::GET,
            &format!("/api/payments/booking/{booking_id}"),
            token,
        ),
        "GET payment",
    )
    .await;
    assert_eq!(payment["id"], order["payment_id"], "{payment}");

    // `[.[] | {id, status, totalAmount}]`: a bare array.
    let mine = curl_f(call(Method::GET, "/api/bookings/my", token), "GET my").await;
    let mine = mine
        .as_array()
        .expect("GET /api/bookings/my is a bare array");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], booking_id.as_str());
    assert_eq!(mine[0]["status"], "CONFIRMED");
    assert!(mine[0]["totalAmount"].is_number(), "{mine:?}");

    // Cancelling twice: TicketFlow's 400 BAD_REQUEST the second time.
    let path = format!("/api/bookings/{booking_id}/cancel");
    curl_f(call(Method::POST, &path, token), "cancel").await;
    let again = json_of(call(Method::POST, &path, token)).await;
    assert_eq!(
        again,
        json!({"error": {"code": "BAD_REQUEST", "message": "Cannot cancel booking in status: CANCELLED"}})
    );
}

#[tokio::test]
async fn ticketflow_health_probes_read_up_on_every_path_and_port() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let get = |url: String| stack.client.get(url);

    // The Makefile's health-individual: `.status` of each, curl -f; "up" is healthy.
    let mut probes = vec![(format!("{}/health", stack.gateway), "gateway")];
    for (service, path) in [
        ("user-service", "/api/users/health"),
        ("event-service", "/health"),
        ("booking-service", "/api/bookings/health"),
        ("inventory-service", "/health"),
        ("payment-service", "/health"),
        ("notification-service", "/health"),
    ] {
        probes.push((format!("{}{path}", stack.service_urls[service]), service));
    }
    // Through the gateway only these two reach a service (/health is the gateway's own).
    probes.push((
        format!("{}/api/users/health", stack.gateway),
        "user-service",
    ));
    probes.push((
        format!("{}/api/bookings/health", stack.gateway),
        "booking-service",
    ));
    for (url, service) in probes {
        let body = curl_f(get(url.clone()), &url).await;
        assert_eq!(body["status"], "up", "{url}: {body}");
        assert_eq!(body["service"], service, "{url}: {body}");
    }

    // `make health`: /health/all is {"gateway":"up","services":[{"name":"user","status":"up",…}]}.
    let all = curl_f(get(format!("{}/health/all", stack.gateway)), "/health/all").await;
    assert_eq!(all["gateway"], "up", "{all}");
    let entries: Vec<(&str, &str)> = all["services"]
        .as_array()
        .expect("services is an array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("?"),
                s["status"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("user", "up"),
            ("event", "up"),
            ("booking", "up"),
            ("inventory", "up"),
            ("payment", "up"),
            ("notification", "up")
        ]
    );
}
