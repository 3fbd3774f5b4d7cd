//! The sign-in limit per client address: a flood of logins and sign-ups from one address gets
//! 429 envelopes with `Retry-After` once its burst is spent, and nothing else is limited.

use reqwest::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{assert_error, send, spawn_gateway, spawn_stack};

#[tokio::test]
async fn a_sign_in_flood_from_one_address_gets_429_with_retry_after_and_other_routes_still_answer()
{
    let stack = spawn_stack().await;
    let user = stack.register("flo").await;
    let stop = CancellationToken::new();
    let gateway = spawn_gateway(
        &[
            ("USER_SERVICE_URL", stack.user_service.clone()),
            ("EVENT_SERVICE_URL", stack.event_service.clone()),
            ("AUTH_RATE_PER_IP", "1/min".into()),
            ("AUTH_BURST_PER_IP", "3".into()),
        ],
        10_000,
        &stop,
    )
    .await;
    let client = &stack.client;
    let login = || {
        client
            .post(format!("{gateway}/api/users/login"))
            .json(&json!({"email": user.email, "password": user.password}))
    };

    // The burst: three sign-ins go through to user-service.
    for _ in 0..3 {
        assert_eq!(send(login()).await.status(), StatusCode::OK);
    }
    // Then a flood: every further login and sign-up from this address is refused here.
    let flood: Vec<_> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                send(login())
            } else {
                send(client.post(format!("{gateway}/api/users/register")).json(
                    &json!({"name": "Spray", "email": format!("spray{i}@stampede.test"), "password": "Secret123!"}),
                ))
            }
        })
        .collect();
    for response in futures::future::join_all(flood).await {
        let retry_after: u64 = response
            .headers()
            .get("retry-after")
            .expect("a Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let message = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
        assert!(message.contains("retry in"), "{message}");
    }
    // No sign-up got through.
    let sprayed = stack
        .login("spray1@stampede.test", "Secret123!")
        .await
        .status();
    assert_eq!(sprayed, StatusCode::UNAUTHORIZED);

    // Everything else from the same address is served.
    let health = send(client.get(format!("{gateway}/health"))).await;
    assert_eq!(health.status(), StatusCode::OK);
    let events = send(client.get(format!("{gateway}/api/events"))).await;
    assert_eq!(events.status(), StatusCode::OK);
    let token = stack.login(&user.email, &user.password).await;
    let token: serde_json::Value = token.json().await.unwrap();
    let me = send(
        client
            .get(format!("{gateway}/api/users/me"))
            .bearer_auth(token["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(me.status(), StatusCode::OK);
    stop.cancel();
}
