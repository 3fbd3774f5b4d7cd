//! `POST /api/venues` (admin), `GET /api/venues`, `GET /api/venues/:id`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::openapi::ErrorResponses;
use kit::{ApiError, ApiJson, Identity};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use crate::domain::bounded_text;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_venue, list_venues))
        .routes(routes!(get_venue))
}

/// A new venue: a name (1-200 characters), optional address, city and country, capacity
/// 0..=1000000.
#[derive(Deserialize, ToSchema)]
struct CreateVenue {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    address: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    city: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    country: String,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    capacity: Option<i64>,
}

/// A venue as the API shows it: TicketFlow's `{id, name, address, city, country, capacity}`,
/// bare, plus `created_at`.
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct VenueDto {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub city: String,
    pub country: String,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
}

const VENUE_COLUMNS: &str = "id, name, address, city, country, capacity, created_at";

/// Every venue, by name (at most 1,000).
#[derive(Serialize, ToSchema)]
struct VenueList {
    venues: Vec<VenueDto>,
}

/// Creates a venue (admin).
#[utoipa::path(
    post,
    path = "/api/venues",
    tag = "venues",
    request_body = CreateVenue,
    responses((status = 201, description = "the venue", body = VenueDto), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_venue(
    State(pool): State<PgPool>,
    identity: Identity,
    ApiJson(body): ApiJson<CreateVenue>,
) -> Result<(StatusCode, ApiJson<VenueDto>), ApiError> {
    identity.require_admin()?;
    let name = bounded_text("name", &body.name, 200, true).map_err(ApiError::validation)?;
    let address =
        bounded_text("address", &body.address, 500, false).map_err(ApiError::validation)?;
    let city = bounded_text("city", &body.city, 200, false).map_err(ApiError::validation)?;
    let country =
        bounded_text("country", &body.country, 200, false).map_err(ApiError::validation)?;
    let capacity = match body.capacity {
        None => 0,
        Some(c) if (0..=1_000_000).contains(&c) => c as i32,
        Some(_) => {
            return Err(ApiError::validation(
                "capacity must be between 0 and 1000000",
            ))
        }
    };
    let venue: VenueDto = sqlx::query_as(&format!(
        "INSERT INTO venues (id, name, address, city, country, capacity)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {VENUE_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(address)
    .bind(city)
    .bind(country)
    .bind(capacity)
    .fetch_one(&pool)
    .await?;
    Ok((StatusCode::CREATED, ApiJson(venue)))
}

/// Every venue, by name.
#[utoipa::path(
    get,
    path = "/api/venues",
    tag = "venues",
    responses((status = 200, description = "the venues", body = VenueList), ErrorResponses)
)]
async fn list_venues(State(pool): State<PgPool>) -> Result<ApiJson<VenueList>, ApiError> {
    let venues = sqlx::query_as(&format!(
        "SELECT {VENUE_COLUMNS} FROM venues ORDER BY name, id LIMIT 1000"
    ))
    .fetch_all(&pool)
    .await?;
    Ok(ApiJson(VenueList { venues }))
}

/// One venue.
#[utoipa::path(
    get,
    path = "/api/venues/{id}",
    tag = "venues",
    params(("id" = Uuid, Path, description = "the venue")),
    responses((status = 200, description = "the venue", body = VenueDto), ErrorResponses)
)]
async fn get_venue(
    State(pool): State<PgPool>,
    Path(id): Path<String>,
) -> Result<ApiJson<VenueDto>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| venue_not_found())?;
    let venue: Option<VenueDto> =
        sqlx::query_as(&format!("SELECT {VENUE_COLUMNS} FROM venues WHERE id = $1"))
            .bind(id)
            .fetch_optional(&pool)
            .await?;
    venue.map(ApiJson).ok_or_else(venue_not_found)
}

/// TicketFlow's 404 for a venue it does not have (its code, in Stampede's envelope).
fn venue_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "VENUE_NOT_FOUND", "no such venue")
}
