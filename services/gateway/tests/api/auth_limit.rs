//! The sign-in limit per client address: a flood of logins and sign-ups from one address gets
//! 429 envelopes with `Retry-After` once its burst is spent, and nothing else is limited.

use reqwest::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{assert_error, retry_after_secs, send, spawn_gateway, spawn_stack};

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
        let retry_after = retry_after_secs(&response);
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

/// Behind one trusted proxy the limit keys on the address that proxy appended to
/// `X-Forwarded-For`: two clients of one proxy get their own buckets, and a client that writes
/// its own entries in front cannot get a fresh one.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let stack = spawn_stack().await;
    let user = stack.register("prox").await;
    let stop = CancellationToken::new();
    let gateway = spawn_gateway(
        &[
            ("USER_SERVICE_URL", stack.user_service.clone()),
            ("AUTH_RATE_PER_IP", "1/min".into()),
            ("AUTH_BURST_PER_IP", "2".into()),
            ("TRUSTED_PROXY_HOPS", "1".into()),
        ],
        10_000,
        &stop,
    )
    .await;
    let login = |forwarded: &str| {
        send(
            stack
                .client
                .post(format!("{gateway}/api/users/login"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": user.email, "password": user.password})),
        )
    };
    for _ in 0..2 {
        assert_eq!(login("198.51.100.1").await.status(), StatusCode::OK);
    }
    // The client forges a new leftmost entry; the proxy's own entry still names it.
    let forged = login("192.0.2.77, 198.51.100.1").await;
    assert_error(forged, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // Another client of the same proxy is not affected.
    assert_eq!(login("198.51.100.2").await.status(), StatusCode::OK);
    stop.cancel();
}
