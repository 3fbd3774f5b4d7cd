//! `GET /api/inventory/events/:eventId/seats[?status&section&limit&offset]` and
//! `GET /api/inventory/events/:eventId/summary`.
//!
//! Without parameters the whole seat map comes back in the contract's shape
//! `{seats:[{id,eventId,seatNumber,row,section,status,bookingId,price}],total}` (a 10,000-seat map
//! is one indexed scan); `limit`/`offset` page it and `status`/`section` filter it, and `total`
//! counts the seats that match the filter.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use kit::query::{whole_number, ApiQuery};
use kit::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::seats::{self, SeatDto};

pub fn router() -> Router<PgPool> {
    Router::new()
        .route("/api/inventory/events/{event_id}/seats", get(list_seats))
        .route("/api/inventory/events/{event_id}/summary", get(summary))
}

#[derive(Deserialize)]
struct SeatQuery {
    status: Option<String>,
    section: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Serialize)]
struct SeatList {
    seats: Vec<SeatDto>,
    total: i64,
}

const STATUSES: [&str; 3] = ["AVAILABLE", "LOCKED", "RESERVED"];

fn parse_event_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::validation("eventId must be a UUID"))
}

async fn list_seats(
    State(pool): State<PgPool>,
    Path(event_id): Path<String>,
    ApiQuery(query): ApiQuery<SeatQuery>,
) -> Result<ApiJson<SeatList>, ApiError> {
    let event_id = parse_event_id(&event_id)?;
    let status = query.status.as_deref().map(str::to_ascii_uppercase);
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::validation(format!(
                "status must be one of {}",
                STATUSES.join(", ")
            )));
        }
    }
    let limit = whole_number("limit", query.limit.as_deref(), 0..=100_000)?;
    let offset =
        whole_number("offset", query.offset.as_deref(), 0..=i64::from(i32::MAX))?.unwrap_or(0);
    let (seats, total) = seats::list(
        &pool,
        event_id,
        status.as_deref(),
        query.section.as_deref(),
        limit,
        offset,
    )
    .await?;
    // An unknown event lists no seats (TicketFlow's answer, which its frontend relies on), where
    // /summary is a 404: the contract differs between the two routes.
    Ok(ApiJson(SeatList { seats, total }))
}

async fn summary(
    State(pool): State<PgPool>,
    Path(event_id): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let event_id = parse_event_id(&event_id)?;
    let counts = seats::summary(&pool, event_id).await?;
    if counts.is_empty() {
        return Err(ApiError::not_found("no seat map for this event"));
    }
    let count = |status: &str| {
        counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    Ok(ApiJson(json!({
        "eventId": event_id,
        "total": counts.iter().map(|(_, n)| n).sum::<i64>(),
        "available": count("AVAILABLE"),
        "locked": count("LOCKED"),
        "reserved": count("RESERVED"),
    })))
}
