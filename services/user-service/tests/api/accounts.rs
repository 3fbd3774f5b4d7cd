//! The admin account ensured at start from `ADMIN_EMAIL`/`ADMIN_PASSWORD`.

use kit::config::Secret;
use reqwest::StatusCode;

use crate::helpers::{expect_json, spawn_app, ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD};
use kit::app::Service;

#[tokio::test]
async fn the_admin_is_ensured_at_start_and_never_by_promoting_a_registered_user() {
    // Arrange
    let app = spawn_app().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = expect_json(login, StatusCode::OK).await;
    assert_eq!(admin["user"]["role"], "ADMIN");
    assert_eq!(app.claims(admin["token"].as_str().unwrap()).role, "admin");
    let user = app.register_ok("ivy").await;

    // Act: a second instance on the same database names the registered user as its admin
    let mut hijack = app.settings.clone();
    hijack.admin_email = user.email.clone();
    hijack.admin_password = Secret::new("Taken-over-admin-1");
    let second = user_service::Application::build(hijack)
        .await
        .expect("it starts, warning about ADMIN_EMAIL");
    drop(second);

    // Assert: the user is still a user with their own password, and there is one admin
    let login = app.login(&user.email, PASSWORD).await;
    let body = expect_json(login, StatusCode::OK).await;
    assert_eq!(body["user"]["role"], "USER");
    assert_eq!(
        app.login(&user.email, "Taken-over-admin-1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn an_admin_password_too_short_to_register_stops_the_start_and_names_the_variable() {
    // Arrange
    let app = spawn_app().await;
    let mut weak = app.settings.clone();
    weak.admin_password = Secret::new("admin");

    // Act
    let result = user_service::Application::build(weak).await;

    // Assert
    let error = format!("{:#}", result.err().expect("the start is refused"));
    assert!(error.contains("ADMIN_PASSWORD"), "{error}");
    assert!(error.contains("8 characters"), "{error}");
    assert_eq!(
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        StatusCode::OK,
        "the stored admin password is unchanged"
    );
}
