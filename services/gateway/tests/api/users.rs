use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, retry_after_secs, spawn_stack};
use kit::app::Service;

#[tokio::test]
async fn register_login_me_round_trip_through_the_gateway() {
    let stack = spawn_stack().await;
    let user = stack.register("ann").await;

    let login = stack.login(&user.email, &user.password).await;
    assert_eq!(login.status(), StatusCode::OK);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["user"]["id"], user.id.as_str());
    assert_eq!(login["user"]["role"], "USER");

    let me = stack.get("/api/users/me", login["token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"]["email"], user.email.as_str());
    assert_eq!(me["user"]["name"], "ann");
    assert!(me["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn duplicate_email_is_a_409_envelope_even_with_other_case() {
    let stack = spawn_stack().await;
    let user = stack.register("bob").await;
    let again = stack
        .post_json(
            "/api/users/register",
            &json!({"name": "Bob", "email": user.email.to_uppercase(), "password": "Another123"}),
            None,
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "CONFLICT").await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_user() {
    let stack = spawn_stack().await;
    let body = json!({"name": "Cy", "email": "cy-race@stampede.test", "password": "Secret123!"});
    let attempts = (0..8).map(|_| stack.post_json("/api/users/register", &body, None));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn bad_json_is_a_400_envelope() {
    let stack = spawn_stack().await;
    let response = stack
        .post_raw("/api/users/register", "{\"name\": \"x\", ")
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn invalid_fields_are_400_validation_errors() {
    let stack = spawn_stack().await;
    let cases = [
        (
            json!({"name": "x", "email": "not-an-email", "password": "Secret123!"}),
            "email",
        ),
        (
            json!({"name": "x", "email": "ok@stampede.test", "password": "short"}),
            "8 characters",
        ),
        (
            json!({"name": "  ", "email": "ok@stampede.test", "password": "Secret123!"}),
            "name",
        ),
        (
            json!({"email": "ok@stampede.test", "password": "Secret123!"}),
            "name",
        ),
    ];
    for (body, expected) in cases {
        let response = stack.post_json("/api/users/register", &body, None).await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn two_megabyte_body_is_a_413_envelope() {
    let stack = spawn_stack().await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let response = stack.post_raw("/api/users/register", big).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let stack = spawn_stack().await;
    let user = stack.register("dee").await;
    let wrong = stack.login(&user.email, "Wrong1234!").await;
    let m1 = assert_error(wrong, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let unknown = stack.login("nobody@stampede.test", "Wrong1234!").await;
    let m2 = assert_error(unknown, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(m1, m2);
}

#[tokio::test]
async fn registration_emits_user_registered_on_the_broker() {
    let stack = spawn_stack().await;
    let reader = kit::testing::TopicReader::new(&format!(
        "{}ticketflow.user.registered",
        stack.topic_prefix
    ));
    let user = stack.register("eve").await;
    let (key, message) = reader
        .wait_for(std::time::Duration::from_secs(30), |m| {
            m["email"] == user.email.as_str()
        })
        .await
        .expect("user.registered arrives within 30 s");
    assert_eq!(key.as_deref(), Some(user.id.as_str()));
    assert_eq!(message["eventType"], "user.registered");
    assert_eq!(message["userId"], user.id.as_str());
    assert!(message["messageId"].is_string());
    assert_eq!(message["name"], "eve");
}

/// Password guessing is refused: after five wrong passwords the sixth locks the account for a
/// second (429 with Retry-After, even for the right password); other accounts are untouched;
/// once the lockout has passed the right password works and clears the count.
#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_with_a_429_and_retry_after() {
    let stack = spawn_stack().await;
    let user = stack.register("guessed").await;
    let bystander = stack.register("bystander").await;
    let login = |email, password| stack.login(email, password);
    for attempt in 1..=6 {
        let wrong = login(&user.email, "Wrong1234!").await;
        assert_eq!(
            wrong.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let locked = login(&user.email, &user.password).await;
    let retry_after = retry_after_secs(&locked);
    assert_eq!(
        retry_after, 1,
        "the first lockout is LOGIN_LOCKOUT_MS = 1 s"
    );
    assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_ATTEMPTS").await;
    assert_eq!(
        login(&bystander.email, &bystander.password).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        login(&user.email, &user.password).await.status(),
        StatusCode::OK,
        "the lockout ends"
    );
    let wrong = login(&user.email, "Wrong1234!").await;
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "a success cleared the count: the next failure is free again"
    );
}

/// The seeded admin's password follows ADMIN_PASSWORD on every start: a user-service started
/// again with a new value (as after rotating a published default) makes the old one fail.
#[tokio::test]
async fn the_admin_password_follows_its_variable_on_every_start() {
    let stack = spawn_stack().await;
    let stack = &stack;
    let login = |password: &'static str| async move {
        stack
            .login(crate::helpers::ADMIN_EMAIL, password)
            .await
            .status()
    };
    assert_eq!(login(crate::helpers::ADMIN_PASSWORD).await, StatusCode::OK);
    let mut rotated = stack.user_settings.clone();
    rotated.admin_password = kit::config::Secret::new("Rotated-admin-password-7");
    // Building runs the start-up work (ensure_admin) against the same database.
    let second = user_service::Application::build(rotated)
        .await
        .expect("a second user-service starts on the same database");
    drop(second);
    assert_eq!(login("Rotated-admin-password-7").await, StatusCode::OK);
    assert_eq!(
        login(crate::helpers::ADMIN_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}
