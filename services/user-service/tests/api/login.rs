//! `POST /api/users/login`: fresh tokens for the right password, one answer for every wrong
//! one, and the per-account lockout as its policy says.

use std::time::Duration;

use reqwest::StatusCode;
use user_service::lockout::LockoutPolicy;

use crate::helpers::{assert_error, expect_json, header, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn login_accepts_the_email_in_any_case_and_issues_a_token_for_that_user() {
    // Arrange
    let app = spawn_app().await;
    let user = app.register_ok("cal").await;

    // Act
    let response = app
        .login(&format!("  {}  ", user.email.to_uppercase()), PASSWORD)
        .await;

    // Assert
    let body = expect_json(response, StatusCode::OK).await;
    assert_eq!(body["user"]["id"], user.id.to_string());
    assert_eq!(body["user"]["email"], user.email.as_str());
    assert_eq!(body["user"]["role"], "USER");
    let claims = app.claims(body["token"].as_str().unwrap());
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.role, "user");
}

#[tokio::test]
async fn every_wrong_login_gets_the_same_401_and_a_bad_body_a_400() {
    // Arrange
    let app = spawn_app().await;
    let user = app.register_ok("dan").await;

    // Act
    let wrong_password = app.login(&user.email, "Wrong1234!").await;
    let unknown_email = app.login("nobody@stampede.test", PASSWORD).await;
    let malformed_email = app.login("not an email", PASSWORD).await;
    let missing_password = app
        .post_json(
            "/api/users/login",
            &serde_json::json!({"email": user.email}),
            None,
        )
        .await;

    // Assert: nothing tells which accounts exist
    let messages = [
        assert_error(wrong_password, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await,
        assert_error(unknown_email, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await,
        assert_error(malformed_email, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await,
    ];
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
    assert_error(
        missing_password,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
}

#[tokio::test]
async fn lockout_follows_its_policy_for_known_and_unknown_emails_alike() {
    // Arrange: two free failures, then a 1 s lockout
    let app = spawn_app_with(|s| {
        s.lockout = LockoutPolicy {
            free_failures: 2,
            base: Duration::from_secs(1),
            max: Duration::from_secs(1),
        };
    })
    .await;
    let user = app.register_ok("eli").await;
    let bystander = app.register_ok("fay").await;
    let unknown = "ghost@stampede.test";

    // Act: three wrong passwords each (the third one arms the lockout)
    for attempt in 1..=3 {
        for email in [user.email.as_str(), unknown] {
            let response = app.login(email, "Wrong1234!").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{email}: attempt {attempt} is still answered"
            );
        }
    }

    // Assert: locked, even for the right password, with Retry-After; the unknown email alike
    for (email, password) in [(user.email.as_str(), PASSWORD), (unknown, PASSWORD)] {
        let locked = app.login(email, password).await;
        assert_eq!(
            header(&locked, "retry-after"),
            Some("1"),
            "{email}: Retry-After is the lockout rounded up"
        );
        let message =
            assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_ATTEMPTS").await;
        assert!(message.contains("1 s"), "{message}");
    }
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::OK,
        "other accounts are untouched"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK,
        "the lockout ends after LOGIN_LOCKOUT_MS"
    );
}
