//! `GET /api/notifications/recent`: the caller's latest notifications, newest first.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use kit::{ApiError, ApiJson, Identity};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::AppState;

/// At most this many notifications per answer.
const RECENT_LIMIT: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/notifications/recent", get(recent))
}

/// A notification as the API shows it (camelCase).
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow)]
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

#[derive(Serialize)]
struct RecentResponse {
    notifications: Vec<NotificationDto>,
}

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
