//! `spawn_app()`: user-service on port 0 with its own database and topics, and typed helpers for
//! its three routes and its `users` table.

use std::time::Duration;

use kit::config::Secret;
use kit::kafka::topic;
use kit::testing::{self, TestService, TEST_JWT_SECRET};
use kit::token::{Claims, TokenKeys};
use reqwest::StatusCode;
use serde_json::json;
use user_service::lockout::LockoutPolicy;

pub use kit::testing::{assert_error, expect_json, header, identity};

/// The admin account every test instance ensures at start.
pub const ADMIN_EMAIL: &str = "admin@stampede.test";
pub const ADMIN_PASSWORD: &str = kit::seed::ADMIN_PASSWORD;
/// The password test users register with.
pub const PASSWORD: &str = "Secret123!";
/// Lifetime of issued tokens in tests; an odd number, so a token that used another lifetime shows.
pub const JWT_TTL: Duration = Duration::from_secs(1_234);

/// A running user-service (see [`TestService`]) and the settings it runs with.
pub struct TestApp {
    service: TestService,
    pub settings: user_service::Settings,
}

kit::deref_test_service!(TestApp);

/// user-service with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// user-service with the test defaults as changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut user_service::Settings)) -> TestApp {
    let mut settings = user_service::Settings {
        common: testing::fresh_common("ticketflow_users", &[topic::USER_REGISTERED]).await,
        jwt_secret: Secret::new(TEST_JWT_SECRET),
        jwt_ttl: JWT_TTL,
        admin_email: ADMIN_EMAIL.into(),
        admin_password: Secret::new(ADMIN_PASSWORD),
        hash_slots: user_service::configuration::default_hash_slots(),
        hash_queue_wait: Duration::from_secs(2),
        lockout: LockoutPolicy::default(),
    };
    configure(&mut settings);
    TestApp {
        service: TestService::build::<user_service::Application>(
            settings.clone(),
            &settings.common,
        )
        .await,
        settings,
    }
}

/// A registered user as the service answered.
pub struct Registered {
    pub id: uuid::Uuid,
    pub email: String,
    pub token: String,
}

impl TestApp {
    /// `POST /api/users/register`.
    pub async fn register(&self, name: &str, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/users/register",
            &json!({"name": name, "email": email, "password": password}),
            None,
        )
        .await
    }

    /// Registers `name` with a fresh email and [`PASSWORD`], asserting the 201.
    pub async fn register_ok(&self, name: &str) -> Registered {
        let email = format!("{name}-{}@stampede.test", testing::unique_suffix());
        let response = self.register(name, &email, PASSWORD).await;
        let body = expect_json(response, StatusCode::CREATED).await;
        Registered {
            id: body["user"]["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("user.id is a UUID"),
            email,
            token: body["token"].as_str().expect("a token").to_string(),
        }
    }

    /// `POST /api/users/login`.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/users/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    /// The claims of a token this service issued, verified as the gateway verifies them.
    ///
    /// # Panics
    /// When the token does not verify.
    pub fn claims(&self, token: &str) -> Claims {
        TokenKeys::new(&self.settings.jwt_secret, self.settings.jwt_ttl)
            .verify(token)
            .expect("the token verifies with JWT_SECRET")
    }

    /// How many users have `email` (as stored: lower case).
    pub async fn users_with_email(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .expect("users query")
    }

    /// How many users the table holds, the admin included.
    pub async fn user_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .expect("users query")
    }
}
