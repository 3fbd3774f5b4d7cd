//! `GET /api/notifications/recent`: the caller's latest notifications, newest first.

use axum::extract::State;
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

/// At most this many notifications per answer.
const RECENT_LIMIT: i64 = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recent))
}

/// A notification as the API shows it (camelCase).
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDto {
    pub id: Uuid,
    pub booking_id: Option<Uuid>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub recipient: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The caller's latest notifications, newest first.
#[derive(Serialize, ToSchema)]
struct RecentResponse {
    notifications: Vec<NotificationDto>,
}

/// The caller's latest 50 notifications, newest first.
#[utoipa::path(
    get,
    path = "/api/notifications/recent",
    tag = "notifications",
    responses((status = 200, description = "the notifications", body = RecentResponse), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn recent(
    State(pool): State<PgPool>,
    identity: Identity,
) -> Result<ApiJson<RecentResponse>, ApiError> {
    let notifications = fetch_recent(&pool, identity.user_id).await?;
    Ok(ApiJson(RecentResponse { notifications }))
}

async fn fetch_recent(pool: &PgPool, user_id: Uuid) -> Result<Vec<NotificationDto>, ApiError> {
    let rows = sqlx::query_as(
        "SELECT id, booking_id, kind, subject, body, recipient, status, created_at, sent_at
           FROM notifications WHERE user_id = $1
          ORDER BY created_at DESC, id DESC
          LIMIT $2",
    )
    .bind(user_id)
    .bind(RECENT_LIMIT)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}
