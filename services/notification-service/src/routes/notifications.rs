//! `GET /api/notifications/recent`: the caller's latest notifications, newest first, as a bare
//! array with TicketFlow's fields (`type`, `recipientEmail`, `error`, `metadata`) beside
//! Stampede's.

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

/// A notification as stored and shown (camelCase).
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

/// One entry of `/recent`: the notification with TicketFlow's names beside Stampede's.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RecentNotification {
    #[serde(flatten)]
    notification: NotificationDto,
    /// TicketFlow's type: `WELCOME`, `BOOKING_CONFIRMED`, `BOOKING_FAILED`, and Stampede's
    /// `BOOKING_EXPIRED`, `BOOKING_CANCELLED` (`kind` without the prefix).
    r#type: String,
    /// TicketFlow's name for `recipient` ("" when unknown).
    recipient_email: String,
    /// Why sending failed (TicketFlow's `error`); null otherwise.
    error: Option<String>,
    /// `{bookingId}` for a booking's notification, `{userId}` for a welcome.
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
}

impl RecentNotification {
    fn new(notification: NotificationDto, user_id: Uuid) -> Self {
        let r#type = match notification.kind.as_str() {
            "WELCOME" => "WELCOME".to_string(),
            kind => format!("BOOKING_{kind}"),
        };
        let metadata = match notification.booking_id {
            Some(booking) => serde_json::json!({"bookingId": booking}),
            None => serde_json::json!({"userId": user_id}),
        };
        let error = (notification.status == "SEND_FAILED").then(|| "sending failed".to_string());
        Self {
            r#type,
            recipient_email: notification.recipient.clone().unwrap_or_default(),
            error,
            metadata,
            notification,
        }
    }
}

/// The caller's latest 50 notifications, newest first, as a bare array (TicketFlow's shape).
#[utoipa::path(
    get,
    path = "/api/notifications/recent",
    tag = "notifications",
    responses((status = 200, description = "the notifications, newest first", body = Vec<RecentNotification>), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn recent(
    State(pool): State<PgPool>,
    identity: Identity,
) -> Result<ApiJson<Vec<RecentNotification>>, ApiError> {
    let notifications = fetch_recent(&pool, identity.user_id).await?;
    Ok(ApiJson(
        notifications
            .into_iter()
            .map(|n| RecentNotification::new(n, identity.user_id))
            .collect(),
    ))
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
