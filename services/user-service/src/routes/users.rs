//! `POST /api/users/register`, `POST /api/users/login`, `GET /api/users/me`.

use axum::extract::State;
use axum::http::StatusCode;
use kit::kafka::{topic, Envelope, Topics};
use kit::messages::UserRegistered;
use kit::openapi::ErrorResponses;
use kit::{ApiError, ApiJson, Identity};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use crate::domain::{Email, Password, UserName};
use crate::password::Hashing;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(me))
}

/// A new account: a name, an email (one account per address) and a password of 8 to 128
/// characters.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// A user as the API shows it: TicketFlow's `{id, name, email, role}`.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// `USER` or `ADMIN` in the API, as TicketFlow's clients compare it; stored and carried in
    /// Stampede's tokens in lower case.
    #[serde(serialize_with = "upper_case")]
    #[schema(example = "USER")]
    pub role: String,
}

fn upper_case<S: serde::Serializer>(role: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&role.to_ascii_uppercase())
}

/// A bearer token (HS256 JWT) and the user it names.
#[derive(Serialize, ToSchema)]
struct AuthResponse {
    token: String,
    user: UserDto,
}

/// `{"user": ...}`.
#[derive(Serialize, ToSchema)]
struct MeResponse {
    user: UserDto,
}

struct NewUser {
    name: UserName,
    email: Email,
    password: Password,
}

impl TryFrom<RegisterRequest> for NewUser {
    type Error = ApiError;

    fn try_from(dto: RegisterRequest) -> Result<Self, ApiError> {
        Ok(Self {
            name: UserName::parse(&dto.name).map_err(ApiError::validation)?,
            email: Email::parse(&dto.email).map_err(ApiError::validation)?,
            password: Password::parse(dto.password).map_err(ApiError::validation)?,
        })
    }
}

/// Creates an account and signs it in; 409 CONFLICT "Email already registered: <email>" when the
/// address has one (TicketFlow's refusal).
#[utoipa::path(
    post,
    path = "/api/users/register",
    tag = "users",
    request_body = RegisterRequest,
    responses((status = 201, description = "the account and its token", body = AuthResponse), ErrorResponses)
)]
#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<AuthResponse>), ApiError> {
    let new_user = NewUser::try_from(body)?;
    let hash = state
        .hashing
        .hash(new_user.password.clone().into_inner())
        .await?;
    let user = insert_user(&state.pool, &state.topics, &new_user, &hash, "user")
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "CONFLICT",
                format!("Email already registered: {}", new_user.email.as_str()),
            )
        })?;
    let token = state.tokens.issue(user.id, &user.email, &user.role);
    Ok((StatusCode::CREATED, ApiJson(AuthResponse { token, user })))
}

/// Inserts the user and its `user.registered` message in one transaction; `None` when the email
/// is taken (the unique index decides, so concurrent registrations cannot both win).
async fn insert_user(
    pool: &PgPool,
    topics: &Topics,
    user: &NewUser,
    password_hash: &str,
    role: &str,
) -> Result<Option<UserDto>, ApiError> {
    let mut tx = pool.begin().await?;
    let inserted: Option<UserDto> = sqlx::query_as(
        "INSERT INTO users (id, name, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING id, name, email, role",
    )
    .bind(Uuid::new_v4())
    .bind(user.name.as_str())
    .bind(user.email.as_str())
    .bind(password_hash)
    .bind(role)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(inserted) = inserted else {
        return Ok(None);
    };
    let message = Envelope::new(
        topic::USER_REGISTERED,
        UserRegistered {
            user_id: inserted.id,
            name: inserted.name.clone(),
            email: inserted.email.clone(),
        },
    );
    kit::outbox::enqueue(
        &mut tx,
        topics,
        topic::USER_REGISTERED,
        &inserted.id.to_string(),
        &message,
    )
    .await?;
    kit::outbox::commit(tx).await?;
    Ok(Some(inserted))
}

/// Signs in: TicketFlow's 401 UNAUTHORIZED "Invalid credentials" for a wrong password, and for
/// an unknown email too (TicketFlow answers 404 there, which tells who has an account); 429
/// TOO_MANY_ATTEMPTS after repeated failures on one account.
#[utoipa::path(
    post,
    path = "/api/users/login",
    tag = "users",
    request_body = LoginRequest,
    responses((status = 200, description = "a token and the user", body = AuthResponse), ErrorResponses)
)]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<ApiJson<AuthResponse>, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Invalid credentials",
        )
    };
    let email = Email::parse(&body.email).map_err(|_| invalid())?;
    if let Err(wait) = state.lockout.check(email.as_str()) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::too_many_requests(
            "TOO_MANY_ATTEMPTS",
            format!("too many failed sign-ins for this account; try again in {secs} s"),
            secs,
        ));
    }
    let found: Option<(Uuid, String, String, String, String)> =
        sqlx::query_as("SELECT id, name, email, role, password_hash FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&state.pool)
            .await?;
    let Some((id, name, email, role, stored)) = found else {
        // Same work as a wrong password: no user enumeration by timing.
        let dummy = state.hashing.dummy_hash().await?;
        let _ = state
            .hashing
            .verify(body.password, dummy.to_string())
            .await?;
        state.lockout.failed(email.as_str());
        return Err(invalid());
    };
    if !state.hashing.verify(body.password, stored).await? {
        state.lockout.failed(&email);
        return Err(invalid());
    }
    state.lockout.succeeded(&email);
    let token = state.tokens.issue(id, &email, &role);
    Ok(ApiJson(AuthResponse {
        token,
        user: UserDto {
            id,
            name,
            email,
            role,
        },
    }))
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "users",
    responses((status = 200, description = "the caller", body = MeResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn me(
    State(pool): State<PgPool>,
    identity: Identity,
) -> Result<ApiJson<MeResponse>, ApiError> {
    let user: Option<UserDto> =
        sqlx::query_as("SELECT id, name, email, role FROM users WHERE id = $1")
            .bind(identity.user_id)
            .fetch_optional(&pool)
            .await?;
    let user = user.ok_or_else(|| ApiError::not_found("user no longer exists"))?;
    Ok(ApiJson(MeResponse { user }))
}

/// Creates the admin account when no user has its email. An existing non-admin user with that
/// email is left alone (and reported): promoting it silently would hand admin to whoever
/// registered first.
///
/// # Errors
/// When the database fails.
pub async fn ensure_admin(
    pool: &PgPool,
    topics: &Topics,
    hashing: &Hashing,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let existing: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, role, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?;
    let admin_password = Password::parse(password.to_string())
        .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD: {e}"))?;
    match existing {
        Some((id, role, stored)) if role == "admin" => {
            // The password follows ADMIN_PASSWORD on every start: rotating the variable and
            // restarting is how an operator changes it (and retires a published default).
            if !hashing.verify(password.to_string(), stored).await? {
                let hash = hashing.hash(admin_password.into_inner()).await?;
                sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(hash)
                    .execute(pool)
                    .await?;
                tracing::info!(email, "admin password updated from ADMIN_PASSWORD");
            }
            return Ok(());
        }
        Some(_) => {
            tracing::warn!(
                email,
                "ADMIN_EMAIL belongs to a non-admin user; no admin account ensured"
            );
            return Ok(());
        }
        None => {}
    }
    let admin = NewUser {
        name: UserName::parse("Admin").map_err(anyhow::Error::msg)?,
        email: Email::parse(email).map_err(anyhow::Error::msg)?,
        password: admin_password,
    };
    let hash = hashing.hash(admin.password.clone().into_inner()).await?;
    insert_user(pool, topics, &admin, &hash, "admin")
        .await
        .map_err(|e| anyhow::anyhow!("cannot create admin account: {e}"))?;
    Ok(())
}
