//! The gateway refuses bad tokens (except on the public reads, served anonymously); client-sent
//! identity headers neither authenticate nor elevate;
//! services refuse identities that did not come from the gateway.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use kit::config::Secret;
use kit::identity::{Identity, IdentityKeys};
use kit::testing::TEST_JWT_SECRET;
use kit::token::{Claims, TokenKeys};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, event_body, send, spawn_stack};

fn claims(sub: Uuid, role: &str, exp_offset: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub,
        email: "forged@stampede.test".into(),
        role: role.into(),
        iat: now,
        exp: now + exp_offset,
    }
}

fn alg_none_token(sub: Uuid) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(sub, "admin", 3600)).unwrap());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401_envelopes() {
    let stack = spawn_stack().await;
    let user = stack.register("tok").await;
    let sub: Uuid = user.id.parse().unwrap();
    let right_key = TokenKeys::new(
        &Secret::new(TEST_JWT_SECRET),
        std::time::Duration::from_secs(60),
    );
    let wrong_key = TokenKeys::new(
        &Secret::new("some-other-secret-entirely"),
        std::time::Duration::from_secs(60),
    );
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(sub, "user", 3600),
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let cases = [
        ("alg none", alg_none_token(sub)),
        ("wrong key", wrong_key.issue(sub, &user.email, "admin")),
        (
            "expired",
            right_key.sign_claims(&claims(sub, "user", -3600)),
        ),
        ("other algorithm", hs512),
        ("garbage", "garbage".to_string()),
        ("empty", String::new()),
    ];
    for (case, token) in cases {
        let response = stack.get("/api/users/me", Some(&token)).await;
        let message = assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        println!("{case}: {message}");
        // The catalogue is read anonymously whatever the token (TicketFlow's gateway serves it
        // too): a browser holding yesterday's token still sees the events.
        let response = stack.get("/api/events", Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{case}: a public read");
    }
    // A non-Bearer scheme is refused too.
    let response = send(
        stack
            .request(Method::GET, "/api/users/me", None)
            .header("authorization", format!("Basic {}", user.token)),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn client_identity_headers_neither_authenticate_nor_elevate() {
    let stack = spawn_stack().await;
    let alice = stack.register("alice").await;
    let bob = stack.register("bob").await;

    // No token, only the seed's identity headers: anonymous.
    let response = send(
        stack
            .request(Method::GET, "/api/users/me", None)
            .header("x-user-id", &alice.id)
            .header("x-user-role", "admin")
            .header("x-user-email", &alice.email),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // Bob's token plus a header naming Alice: still Bob.
    let response = send(
        stack
            .request(Method::GET, "/api/users/me", Some(&bob.token))
            .header("x-user-id", &alice.id),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["user"]["id"], bob.id.as_str());

    // Bob's token plus x-user-role: admin does not make him an admin.
    let admin = stack.admin_token().await;
    let venue = stack.create_venue(&admin).await;
    let response = send(
        stack
            .request(Method::POST, "/api/events", Some(&bob.token))
            .header("x-user-role", "admin")
            .json(&event_body("Gig", &venue, 50)),
    )
    .await;
    assert_error(response, StatusCode::FORBIDDEN, "FORBIDDEN").await;
}

#[tokio::test]
async fn services_refuse_identities_not_proven_by_the_gateway() {
    let stack = spawn_stack().await;
    let user = stack.register("direct").await;

    // The seed's headers straight to the service port: anonymous, so 401.
    let me = format!("{}/api/users/me", stack.user_service);
    let response = send(
        stack
            .client
            .get(&me)
            .header("x-user-id", &user.id)
            .header("x-user-role", "admin"),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // A proof signed with a key other than INTERNAL_SECRET: 401.
    let forged = IdentityKeys::new(&Secret::new("attacker-guessed-secret")).sign(&Identity {
        user_id: user.id.parse().unwrap(),
        email: user.email.clone(),
        role: "admin".into(),
    });
    let response = send(
        stack
            .client
            .post(format!("{}/api/venues", stack.event_service))
            .header("x-stampede-identity", forged)
            .json(&json!({"name": "Stolen venue"})),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // The user's own JWT presented as the proof: 401 (different key and issuer).
    let response = send(
        stack
            .client
            .get(&me)
            .header("x-stampede-identity", &user.token),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}
