//! `POST /api/users/register`: a token the gateway accepts, one user and one `user.registered`
//! per email, envelopes for bad input, and load shed rather than queued.

use std::time::Duration;

use kit::kafka::topic;
use kit::testing::WAIT;
use reqwest::StatusCode;

use crate::helpers::{
    assert_error, expect_json, header, spawn_app, spawn_app_with, JWT_TTL, PASSWORD,
};

#[tokio::test]
async fn registration_answers_a_token_for_the_new_user_and_stores_no_password() {
    // Arrange
    let app = spawn_app().await;
    let registered = app.reader(topic::USER_REGISTERED);

    // Act
    let response = app
        .register("  Ann  ", "Ann.Lee@Stampede.TEST", PASSWORD)
        .await;

    // Assert: the answer
    let body = expect_json(response, StatusCode::CREATED).await;
    let user = &body["user"];
    let id = user["id"].as_str().expect("an id").to_string();
    assert_eq!(user["name"], "Ann", "the name is trimmed");
    assert_eq!(
        user["email"], "ann.lee@stampede.test",
        "the email is lower-cased"
    );
    assert_eq!(user["role"], "USER");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    // the token is one the gateway accepts, for this user, with the configured lifetime
    let claims = app.claims(body["token"].as_str().unwrap());
    assert_eq!(claims.sub.to_string(), id);
    assert_eq!(claims.email, "ann.lee@stampede.test");
    assert_eq!(claims.role, "user");
    assert_eq!(claims.exp - claims.iat, JWT_TTL.as_secs() as i64);
    // the row holds an argon2id hash, never the password
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind("ann.lee@stampede.test")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    // and the message left through the outbox, keyed by the user
    let (key, message) = registered
        .wait_for(WAIT, |m| m["userId"] == id.as_str())
        .await
        .expect("user.registered is published");
    assert_eq!(key.as_deref(), Some(id.as_str()));
    assert_eq!(message["email"], "ann.lee@stampede.test");
    assert_eq!(message["name"], "Ann");
}

#[tokio::test]
async fn a_taken_email_is_a_409_and_makes_neither_a_second_user_nor_a_second_message() {
    // Arrange
    let app = spawn_app().await;
    let registered = app.reader(topic::USER_REGISTERED);
    let first = app.register_ok("bea").await;

    // Act: the same address in other case, another name and password
    let again = app
        .register("Impostor", &first.email.to_uppercase(), "Another123!")
        .await;

    // Assert
    assert_error(again, StatusCode::CONFLICT, "CONFLICT").await;
    assert_eq!(app.users_with_email(&first.email).await, 1);
    let login = app.login(&first.email, PASSWORD).await;
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "the first password still holds"
    );
    let messages = registered
        .collect(Duration::from_secs(5), |m| {
            m["email"] == first.email.as_str()
        })
        .await;
    assert_eq!(messages.len(), 1, "one user.registered: {messages:?}");
    assert_eq!(messages[0]["userId"], first.id.to_string());
}

#[tokio::test]
async fn bad_registrations_are_400_envelopes_and_create_nobody() {
    // Arrange
    let app = spawn_app().await;
    let before = app.user_count().await;
    let cases: [(&str, &str, StatusCode, &str, &str); 7] = [
        ("not JSON", r#"{"name": "x", "#, StatusCode::BAD_REQUEST, "INVALID_JSON", ""),
        (
            "missing name",
            r#"{"email": "a@stampede.test", "password": "Secret123!"}"#,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "name",
        ),
        (
            "password not a string",
            r#"{"name": "A", "email": "a@stampede.test", "password": 12345678}"#,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "password",
        ),
        (
            "short password",
            r#"{"name": "A", "email": "a@stampede.test", "password": "Short1!"}"#,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "8 characters",
        ),
        (
            "malformed email",
            r#"{"name": "A", "email": "a@stampede", "password": "Secret123!"}"#,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "email",
        ),
        (
            "blank name",
            r#"{"name": " ", "email": "a@stampede.test", "password": "Secret123!"}"#,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "name",
        ),
        (
            "control character in name",
            "{\"name\": \"A\\u0007\", \"email\": \"a@stampede.test\", \"password\": \"Secret123!\"}",
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "control",
        ),
    ];

    for (case, body, status, code, mentions) in cases {
        // Act
        let response = app
            .post_raw("/api/users/register", Some("application/json"), body, None)
            .await;

        // Assert
        assert_eq!(response.status(), status, "{case}");
        let message = assert_error(response, status, code).await;
        assert!(message.contains(mentions), "{case}: {message}");
    }
    let body = r#"{"name": "A", "email": "a@stampede.test", "password": "Secret123!"}"#;
    let no_content_type = app.post_raw("/api/users/register", None, body, None).await;
    assert_error(
        no_content_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    assert_eq!(app.user_count().await, before, "nobody was created");
}

#[tokio::test]
async fn a_flood_of_sign_ups_is_shed_with_503_busy_and_retry_after_not_queued() {
    // Arrange: one hashing slot, and a request waits at most 1 ms for it
    let app = spawn_app_with(|s| {
        s.hash_slots = 1;
        s.hash_queue_wait = Duration::from_millis(1);
    })
    .await;
    let before = app.user_count().await;
    let emails: Vec<String> = (0..8)
        .map(|i| format!("flood{i}-{}@stampede.test", kit::testing::unique_suffix()))
        .collect();

    // Act: eight sign-ups at once
    let mut attempts = tokio::task::JoinSet::new();
    for email in &emails {
        let request = app
            .client
            .post(app.url("/api/users/register"))
            .json(&serde_json::json!({"name": "Flood", "email": email, "password": PASSWORD}));
        attempts.spawn(async move { request.send().await.expect("user-service answers") });
    }
    let mut created = 0;
    let mut shed = 0;
    while let Some(response) = attempts.join_next().await {
        let response = response.unwrap();
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(
                    header(&response, "retry-after"),
                    Some("1"),
                    "a shed request says when to come back"
                );
                assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "BUSY").await;
                shed += 1;
            }
            other => panic!("only 201 or 503 are expected, got {other}"),
        }
    }

    // Assert
    assert!(created >= 1, "the slot's holder is served");
    assert!(
        shed >= 1,
        "eight concurrent sign-ups on one slot: some are shed"
    );
    assert_eq!(
        app.user_count().await,
        before + created,
        "a shed sign-up created no user"
    );
    let health = app.get("/health", None).await;
    assert_eq!(health.status(), StatusCode::OK, "the service stays healthy");
}
