//! `GET /api/inventory/events/:eventId/seats[?status&section&limit&offset]` and
//! `GET /api/inventory/events/:eventId/summary`.
//!
//! The seat map comes back in the contract's shape
//! `{seats:[{id,eventId,seatNumber,row,section,status,bookingId,price}],total}`, 1,000 seats at
//! most without `limit` (so every TicketFlow-sized map, at most 116 seats, comes whole) and
//! 10,000 at most with it; `limit`/`offset` page it, `status`/`section` filter it, and `total`
//! counts the seats that match the filter, so a client knows when it has read them all.

use axum::extract::{Path, State};
use kit::openapi::ErrorResponses;
use kit::query::{whole_number, ApiQuery};
use kit::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::seats::{self, SeatDto};

pub fn router() -> OpenApiRouter<PgPool> {
    OpenApiRouter::new()
        .routes(routes!(list_seats))
        .routes(routes!(summary))
}

#[derive(Deserialize)]
struct SeatQuery {
    status: Option<String>,
    section: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// Seats of an event; `total` counts every seat that matches the filter, not only this page.
#[derive(Serialize, ToSchema)]
struct SeatList {
    seats: Vec<SeatDto>,
    total: i64,
}

/// Seats of an event per status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SeatSummary {
    event_id: Uuid,
    total: i64,
    available: i64,
    locked: i64,
    reserved: i64,
}

const STATUSES: [&str; 3] = ["AVAILABLE", "LOCKED", "RESERVED"];

/// Seats per answer without `limit`: every TicketFlow-sized map (at most 116 seats) comes whole,
/// while an anonymous caller cannot pull a 100,000-seat map (~20 MB) in one request.
const DEFAULT_PAGE: i64 = 1_000;

/// The largest `limit`; bigger maps are read in pages (`offset`, and `total` says how many).
const MAX_PAGE: i64 = 10_000;

fn parse_event_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::validation("eventId must be a UUID"))
}

/// The seat map of an event in pages of 1,000 seats (`limit` up to 10,000), filtered on request;
/// an unknown event has no seats.
#[utoipa::path(
    get,
    path = "/api/inventory/events/{event_id}/seats",
    tag = "inventory",
    params(
        ("event_id" = Uuid, Path, description = "the event"),
        ("status" = Option<String>, Query, description = "AVAILABLE, LOCKED or RESERVED (any case)"),
        ("section" = Option<String>, Query, description = "VIP, FLOOR, BALCONY, ..."),
        ("limit" = Option<u32>, Query, maximum = 10000, description = "page size (default 1000; `total` counts every match)"),
        ("offset" = Option<u32>, Query, description = "seats to skip"),
    ),
    responses((status = 200, description = "the seats", body = SeatList), ErrorResponses)
)]
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
    let limit =
        whole_number("limit", query.limit.as_deref(), 0..=MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let offset =
        whole_number("offset", query.offset.as_deref(), 0..=i64::from(i32::MAX))?.unwrap_or(0);
    let (seats, total) = seats::list(
        &pool,
        event_id,
        status.as_deref(),
        query.section.as_deref(),
        Some(limit),
        offset,
    )
    .await?;
    // An unknown event lists no seats (TicketFlow's answer, which its frontend relies on), where
    // /summary is a 404: the contract differs between the two routes.
    Ok(ApiJson(SeatList { seats, total }))
}

/// How many seats of an event are available, locked and reserved.
#[utoipa::path(
    get,
    path = "/api/inventory/events/{event_id}/summary",
    tag = "inventory",
    params(("event_id" = Uuid, Path, description = "the event")),
    responses((status = 200, description = "seat counts", body = SeatSummary), ErrorResponses)
)]
async fn summary(
    State(pool): State<PgPool>,
    Path(event_id): Path<String>,
) -> Result<ApiJson<SeatSummary>, ApiError> {
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
    Ok(ApiJson(SeatSummary {
        event_id,
        total: counts.iter().map(|(_, n)| n).sum::<i64>(),
        available: count("AVAILABLE"),
        locked: count("LOCKED"),
        reserved: count("RESERVED"),
    }))
}
