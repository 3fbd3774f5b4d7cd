//! `GET /api/users/me`: the user the gateway proved, and nobody else.

use kit::config::Secret;
use kit::identity::{Identity, IdentityKeys, IDENTITY_HEADER};
use reqwest::StatusCode;

use crate::helpers::{assert_error, expect_json, identity, spawn_app};

#[tokio::test]
async fn me_answers_the_user_the_gateway_proved() {
    // Arrange
    let app = spawn_app().await;
    let user = app.register_ok("gus").await;
    let proof = Identity {
        user_id: user.id,
        email: user.email.clone(),
        role: "user".into(),
    };

    // Act
    let response = app.get("/api/users/me", Some(&proof)).await;

    // Assert
    let body = expect_json(response, StatusCode::OK).await;
    assert_eq!(body["user"]["id"], user.id.to_string());
    assert_eq!(body["user"]["name"], "gus");
    assert_eq!(body["user"]["email"], user.email.as_str());
    assert_eq!(body["user"]["role"], "USER");
    assert!(body["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn me_without_a_valid_proof_is_401_and_for_a_vanished_user_404() {
    // Arrange
    let app = spawn_app().await;
    let user = app.register_ok("hal").await;
    let forged = IdentityKeys::new(&Secret::new("not-the-internal-secret")).sign(&Identity {
        user_id: user.id,
        email: user.email.clone(),
        role: "user".into(),
    });

    // Act + Assert: no proof, the seed's header, a proof signed with another key, the user's
    // own JWT in place of the proof
    let cases = [
        ("no proof", None),
        ("x-user-id", Some(("x-user-id", user.id.to_string()))),
        ("forged proof", Some((IDENTITY_HEADER, forged))),
        (
            "user JWT as proof",
            Some((IDENTITY_HEADER, user.token.clone())),
        ),
    ];
    for (case, header) in cases {
        let mut request = app.client.get(app.url("/api/users/me"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    // a proven identity whose account does not exist here
    let response = app.get("/api/users/me", Some(&identity("user"))).await;
    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}
