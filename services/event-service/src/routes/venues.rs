//! `POST /api/venues` (admin), `GET /api/venues`, `GET /api/venues/:id`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kit::{ApiError, ApiJson, Identity};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::AppState;
use crate::domain::bounded_text;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/venues", post(create_venue).get(list_venues))
        .route("/api/venues/{id}", get(get_venue))
}

#[derive(Deserialize)]
struct CreateVenue {
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    capacity: Option<i64>,
}

/// A venue as the API shows it (snake_case as in the seed).
#[derive(Debug, Serialize, sqlx::FromRow)]
struct VenueDto {
    id: Uuid,
    name: String,
    address: String,
    city: String,
    capacity: i32,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct VenueResponse {
    venue: VenueDto,
}

#[derive(Serialize)]
struct VenueList {
    venues: Vec<VenueDto>,
}

async fn create_venue(
    State(pool): State<PgPool>,
    identity: Identity,
    ApiJson(body): ApiJson<CreateVenue>,
) -> Result<(StatusCode, ApiJson<VenueResponse>), ApiError> {
    identity.require_admin()?;
    let name = bounded_text("name", &body.name, 200, true).map_err(ApiError::validation)?;
    let address =
        bounded_text("address", &body.address, 500, false).map_err(ApiError::validation)?;
    let city = bounded_text("city", &body.city, 200, false).map_err(ApiError::validation)?;
    let capacity = match body.capacity {
        None => 0,
        Some(c) if (0..=1_000_000).contains(&c) => c as i32,
        Some(_) => {
            return Err(ApiError::validation(
                "capacity must be between 0 and 1000000",
            ))
        }
    };
    let venue: VenueDto = sqlx::query_as(
        "INSERT INTO venues (id, name, address, city, capacity) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, address, city, capacity, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(address)
    .bind(city)
    .bind(capacity)
    .fetch_one(&pool)
    .await?;
    Ok((StatusCode::CREATED, ApiJson(VenueResponse { venue })))
}

async fn list_venues(State(pool): State<PgPool>) -> Result<ApiJson<VenueList>, ApiError> {
    let venues = sqlx::query_as(
        "SELECT id, name, address, city, capacity, created_at FROM venues ORDER BY name, id LIMIT 1000",
    )
    .fetch_all(&pool)
    .await?;
    Ok(ApiJson(VenueList { venues }))
}

async fn get_venue(
    State(pool): State<PgPool>,
    Path(id): Path<String>,
) -> Result<ApiJson<VenueResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("no such venue"))?;
    let venue: Option<VenueDto> = sqlx::query_as(
        "SELECT id, name, address, city, capacity, created_at FROM venues WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&pool)
    .await?;
    venue
        .map(|venue| ApiJson(VenueResponse { venue }))
        .ok_or_else(|| ApiError::not_found("no such venue"))
}
