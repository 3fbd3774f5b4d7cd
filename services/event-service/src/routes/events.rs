//! `GET /api/events?page&limit&search`, `GET /api/events/:id`, `POST /api/events` (admin),
//! `PUT /api/events/:id` (admin).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kit::kafka::{topic, Envelope};
use kit::messages::{EventCreated, EventUpdated};
use kit::openapi::ErrorResponses;
use kit::query::ApiQuery;
use kit::{ApiError, ApiJson, Identity};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::venues::VenueDto;
use super::{AppState, Limits};
use crate::domain::{bounded_text, Cents, Page, Pricing, SeatLayout};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events, create_event))
        .routes(routes!(get_event, update_event))
}

/// Prices per section in currency units; any omitted one follows the seed's ratio to `ticket_price`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
struct PricingDto {
    vip: Option<f64>,
    floor: Option<f64>,
    balcony: Option<f64>,
}

/// A new event. Prices are currency units with at most two decimals; `total_seats`
/// 1..=MAX_EVENT_SEATS (default 116) cannot change later. TicketFlow's body is taken as it is:
/// `date` for `event_date` (an offset-less time is UTC) and `price` for `ticket_price`.
#[derive(Deserialize, ToSchema)]
struct CreateEvent {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    description: String,
    #[schema(format = Uuid)]
    venue_id: String,
    #[serde(alias = "date")]
    #[schema(format = DateTime)]
    event_date: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    category: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1)]
    total_seats: Option<i64>,
    #[serde(alias = "price")]
    #[schema(minimum = 0)]
    ticket_price: f64,
    #[serde(default)]
    pricing: Option<PricingDto>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    image_url: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    tags: Option<Vec<String>>,
}

/// The fields to change; `status` is ON_SALE, SOLD_OUT, CANCELLED or DRAFT (only ON_SALE events
/// can be booked); `total_seats`, if given, must equal the current count; `available_seats`
/// (TicketFlow's, shown as it is set) is 0..=total_seats.
#[derive(Deserialize, ToSchema)]
struct UpdateEvent {
    name: Option<String>,
    description: Option<String>,
    #[serde(alias = "date")]
    #[schema(format = DateTime)]
    event_date: Option<String>,
    category: Option<String>,
    status: Option<String>,
    total_seats: Option<i64>,
    #[schema(max_length = 2000)]
    image_url: Option<String>,
    #[schema(max_items = 20)]
    tags: Option<Vec<String>>,
    #[schema(minimum = 0)]
    available_seats: Option<i64>,
    /// Only the current price: seats are priced when the event is created.
    #[serde(alias = "price")]
    ticket_price: Option<f64>,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    search: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    name: String,
    description: String,
    venue_id: Uuid,
    venue_name: String,
    venue_address: String,
    venue_city: String,
    venue_country: String,
    venue_capacity: i32,
    venue_created_at: DateTime<Utc>,
    event_date: DateTime<Utc>,
    category: String,
    total_seats: i32,
    available_seats: i32,
    pricing: Json<Pricing>,
    status: String,
    image_url: Option<String>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// An event as the API shows it, bare: TicketFlow's fields (`id, name, description, venue_id,
/// venue, date, price, total_seats, available_seats, image_url, tags, created_at`) and
/// Stampede's (`venue_name, event_date, ticket_price, category, pricing, status, updated_at`).
/// Prices are currency units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventDto {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub venue_id: Uuid,
    /// The venue (TicketFlow's `venue`).
    pub venue: VenueDto,
    pub venue_name: String,
    /// TicketFlow's `date`: `event_date` in UTC without an offset (`2027-01-01T20:00:00`).
    pub date: String,
    pub event_date: DateTime<Utc>,
    pub category: String,
    pub total_seats: i32,
    /// TicketFlow's count: `total_seats` unless an update set it; it does not follow bookings
    /// (the seat map does: `GET /api/inventory/events/{id}/summary`).
    pub available_seats: i32,
    /// TicketFlow's `price`: the same as `ticket_price`.
    pub price: f64,
    /// The lowest (BALCONY) price.
    pub ticket_price: f64,
    /// `{"VIP": .., "FLOOR": .., "BALCONY": ..}` in currency units.
    #[schema(value_type = Object)]
    pub pricing: serde_json::Value,
    pub status: String,
    pub image_url: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EventRow> for EventDto {
    fn from(row: EventRow) -> Self {
        let p = row.pricing.0;
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            venue_id: row.venue_id,
            venue: VenueDto {
                id: row.venue_id,
                name: row.venue_name.clone(),
                address: row.venue_address,
                city: row.venue_city,
                country: row.venue_country,
                capacity: row.venue_capacity,
                created_at: row.venue_created_at,
            },
            venue_name: row.venue_name,
            date: row.event_date.format("%Y-%m-%dT%H:%M:%S").to_string(),
            event_date: row.event_date,
            category: row.category,
            total_seats: row.total_seats,
            available_seats: row.available_seats,
            price: Cents(p.balcony).as_units(),
            ticket_price: Cents(p.balcony).as_units(),
            pricing: serde_json::json!({
                "VIP": Cents(p.vip).as_units(),
                "FLOOR": Cents(p.floor).as_units(),
                "BALCONY": Cents(p.balcony).as_units(),
            }),
            status: row.status,
            image_url: row.image_url,
            tags: row.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A page of events by date; `total` counts every match.
#[derive(Serialize, ToSchema)]
struct EventList {
    events: Vec<EventDto>,
    total: i64,
    page: u32,
    limit: u32,
}

const SELECT_EVENT: &str = "SELECT e.id, e.name, e.description, e.venue_id, v.name AS venue_name,
        v.address AS venue_address, v.city AS venue_city, v.country AS venue_country,
        v.capacity AS venue_capacity, v.created_at AS venue_created_at, e.event_date,
        e.category, e.total_seats, COALESCE(e.available_seats, e.total_seats) AS available_seats,
        e.pricing, e.status, e.image_url, e.tags, e.created_at, e.updated_at
   FROM events e JOIN venues v ON v.id = e.venue_id";

const STATUSES: [&str; 4] = ["ON_SALE", "SOLD_OUT", "CANCELLED", "DRAFT"];

/// A validated new event.
struct NewEvent {
    name: String,
    description: String,
    venue_id: Uuid,
    event_date: DateTime<Utc>,
    category: String,
    total_seats: u32,
    pricing: Pricing,
    image_url: Option<String>,
    tags: Vec<String>,
}

/// An image URL of at most 2,000 characters; empty is none.
fn parse_image_url(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|url| bounded_text("image_url", url, 2000, false).map_err(ApiError::validation))
        .transpose()
        .map(|url| url.filter(|u| !u.is_empty()))
}

/// At most 20 tags of 1-50 characters each, trimmed, duplicates dropped in order.
fn parse_tags(raw: Vec<String>) -> Result<Vec<String>, ApiError> {
    if raw.len() > 20 {
        return Err(ApiError::validation("tags must hold at most 20 tags"));
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for tag in &raw {
        let tag = bounded_text("each tag", tag, 50, true).map_err(ApiError::validation)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

impl NewEvent {
    fn parse(dto: CreateEvent, limits: Limits) -> Result<Self, ApiError> {
        let v = ApiError::validation;
        let base = Cents::parse("ticket_price", dto.ticket_price).map_err(v)?;
        let defaults = Pricing::from_base(base.0);
        let dto_pricing = dto.pricing.unwrap_or_default();
        let price = |field: &str, value: Option<f64>, default: i64| match value {
            None => Ok(default),
            Some(x) => Cents::parse(field, x).map(|c| c.0).map_err(v),
        };
        let total_seats = dto.total_seats.unwrap_or(116);
        if total_seats < 1 || total_seats > i64::from(limits.max_event_seats) {
            return Err(v(format!(
                "total_seats must be between 1 and {}",
                limits.max_event_seats
            )));
        }
        Ok(Self {
            name: bounded_text("name", &dto.name, 200, true).map_err(v)?,
            description: bounded_text("description", &dto.description, 5000, false).map_err(v)?,
            venue_id: Uuid::parse_str(dto.venue_id.trim())
                .map_err(|_| ApiError::validation("venue_id must be a UUID"))?,
            event_date: parse_date(&dto.event_date)?,
            category: bounded_text(
                "category",
                dto.category.as_deref().unwrap_or("general"),
                100,
                true,
            )
            .map_err(v)?,
            total_seats: total_seats as u32,
            pricing: Pricing {
                vip: price("pricing.VIP", dto_pricing.vip, defaults.vip)?,
                floor: price("pricing.FLOOR", dto_pricing.floor, defaults.floor)?,
                balcony: price("pricing.BALCONY", dto_pricing.balcony, defaults.balcony)?,
            },
            image_url: parse_image_url(dto.image_url.as_deref())?,
            tags: parse_tags(dto.tags.unwrap_or_default())?,
        })
    }
}

/// An RFC 3339 time, or TicketFlow's ISO time without an offset, taken as UTC.
fn parse_date(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|d| d.and_utc())
        })
        .map_err(|_| {
            ApiError::validation(
                "event_date must be an RFC 3339 timestamp, e.g. 2027-06-01T20:00:00Z (without an offset: UTC)",
            )
        })
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| event_not_found())
}

fn parse_number(field: &str, raw: Option<&str>) -> Result<Option<u32>, ApiError> {
    raw.map(|s| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| ApiError::validation(format!("{field} must be a positive integer")))
    })
    .transpose()
}

/// Events by date, paged, optionally searched (name, description, category).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    params(
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "page size (default 20)"),
        ("search" = Option<String>, Query, description = "case-insensitive substring of name, description or category, or a tag exactly"),
    ),
    responses((status = 200, description = "a page of events", body = EventList), ErrorResponses)
)]
#[tracing::instrument(skip_all)]
async fn list_events(
    State(pool): State<PgPool>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<EventList>, ApiError> {
    let page = Page::parse(
        parse_number("page", query.page.as_deref())?,
        parse_number("limit", query.limit.as_deref())?,
    )
    .map_err(ApiError::validation)?;
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let pattern = search.map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    // TicketFlow also matches a tag exactly.
    let filter = " WHERE ($1::text IS NULL OR e.name ILIKE $1 OR e.description ILIKE $1
                          OR e.category ILIKE $1 OR $2 = ANY (e.tags))";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM events e{filter}"))
        .bind(&pattern)
        .bind(search)
        .fetch_one(&pool)
        .await?;
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "{SELECT_EVENT}{filter} ORDER BY e.event_date, e.id LIMIT $3 OFFSET $4"
    ))
    .bind(&pattern)
    .bind(search)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(&pool)
    .await?;
    Ok(ApiJson(EventList {
        events: rows.into_iter().map(EventDto::from).collect(),
        total,
        page: page.page,
        limit: page.limit,
    }))
}

async fn fetch_event(pool: &PgPool, id: Uuid) -> Result<EventDto, ApiError> {
    let row: Option<EventRow> = sqlx::query_as(&format!("{SELECT_EVENT} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(EventDto::from).ok_or_else(event_not_found)
}

/// One event.
#[utoipa::path(
    get,
    path = "/api/events/{id}",
    tag = "events",
    params(("id" = Uuid, Path, description = "the event")),
    responses((status = 200, description = "the event, bare (TicketFlow's shape)", body = EventDto), ErrorResponses)
)]
#[tracing::instrument(skip_all)]
async fn get_event(
    State(pool): State<PgPool>,
    Path(id): Path<String>,
) -> Result<ApiJson<EventDto>, ApiError> {
    Ok(ApiJson(fetch_event(&pool, parse_id(&id)?).await?))
}

/// Creates an event (admin) and announces its seat map (`event.created`).
#[utoipa::path(
    post,
    path = "/api/events",
    tag = "events",
    request_body = CreateEvent,
    responses((status = 201, description = "the event, ON_SALE", body = EventDto), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
async fn create_event(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(body): ApiJson<CreateEvent>,
) -> Result<(StatusCode, ApiJson<EventDto>), ApiError> {
    identity.require_admin()?;
    let event = NewEvent::parse(body, state.limits)?;
    let id = insert_event(&state, &event).await?;
    let event = fetch_event(&state.pool, id).await?;
    Ok((StatusCode::CREATED, ApiJson(event)))
}

/// Inserts the event and its `event.created` message (with the seat layout) in one transaction.
async fn insert_event(state: &AppState, event: &NewEvent) -> Result<Uuid, ApiError> {
    let mut tx = state.pool.begin().await?;
    let venue_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM venues WHERE id = $1)")
            .bind(event.venue_id)
            .fetch_one(&mut *tx)
            .await?;
    if !venue_exists {
        return Err(ApiError::validation("venue_id names no venue"));
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (id, name, description, venue_id, event_date, category, total_seats,
                             pricing, image_url, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(&event.name)
    .bind(&event.description)
    .bind(event.venue_id)
    .bind(event.event_date)
    .bind(&event.category)
    .bind(event.total_seats as i32)
    .bind(Json(event.pricing))
    .bind(&event.image_url)
    .bind(&event.tags)
    .execute(&mut *tx)
    .await?;
    let layout = SeatLayout::build(event.total_seats, &event.pricing);
    let message = Envelope::new(
        topic::EVENT_CREATED,
        EventCreated {
            event_id: id,
            name: event.name.clone(),
            venue_id: Some(event.venue_id),
            event_date: Some(event.event_date),
            total_seats: event.total_seats,
            sections: layout.sections,
        },
    );
    kit::outbox::enqueue(
        &mut tx,
        &state.topics,
        topic::EVENT_CREATED,
        &id.to_string(),
        &message,
    )
    .await?;
    kit::outbox::commit(tx).await?;
    Ok(id)
}

/// Changes an event (admin) and announces its name and status (`event.updated`).
#[utoipa::path(
    put,
    path = "/api/events/{id}",
    tag = "events",
    params(("id" = Uuid, Path, description = "the event")),
    request_body = UpdateEvent,
    responses((status = 200, description = "the event as changed", body = EventDto), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
async fn update_event(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateEvent>,
) -> Result<ApiJson<EventDto>, ApiError> {
    identity.require_admin()?;
    let id = parse_id(&id)?;
    let pool = &state.pool;
    let current = fetch_event(pool, id).await?;
    if body
        .total_seats
        .is_some_and(|n| n != i64::from(current.total_seats))
    {
        return Err(ApiError::validation(
            "total_seats cannot change after creation: the seat map is already built",
        ));
    }
    let v = ApiError::validation;
    if body
        .ticket_price
        .is_some_and(|p| (p - current.ticket_price).abs() > 0.001)
    {
        return Err(ApiError::validation(
            "price cannot change after creation: the seats are priced when the event is created",
        ));
    }
    let name = match body.name {
        Some(n) => bounded_text("name", &n, 200, true).map_err(v)?,
        None => current.name,
    };
    let description = match body.description {
        Some(d) => bounded_text("description", &d, 5000, false).map_err(v)?,
        None => current.description,
    };
    let category = match body.category {
        Some(c) => bounded_text("category", &c, 100, true).map_err(v)?,
        None => current.category,
    };
    let event_date = match body.event_date {
        Some(d) => parse_date(&d)?,
        None => current.event_date,
    };
    let status = match body.status {
        Some(s) if STATUSES.contains(&s.as_str()) => s,
        Some(_) => return Err(v(format!("status must be one of {}", STATUSES.join(", ")))),
        None => current.status,
    };
    let image_url = match body.image_url {
        Some(url) => parse_image_url(Some(&url))?,
        None => current.image_url,
    };
    let tags = match body.tags {
        Some(tags) => parse_tags(tags)?,
        None => current.tags,
    };
    let available_seats = match body.available_seats {
        Some(n) if (0..=i64::from(current.total_seats)).contains(&n) => n as i32,
        Some(_) => {
            return Err(v(format!(
                "available_seats must be between 0 and total_seats ({})",
                current.total_seats
            )))
        }
        None => current.available_seats,
    };
    // The row and its event.updated commit together: booking-service, which refuses bookings for
    // events not on sale, learns every change of name or status, in order (key = event id).
    // clock_timestamp(), not now(): taken under the row lock, so of two concurrent updates the
    // one written last also carries the later time, which is what booking-service keeps.
    let mut tx = pool.begin().await?;
    let updated_at: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE events SET name = $2, description = $3, category = $4, event_date = $5, status = $6,
                image_url = $7, tags = $8, available_seats = $9, updated_at = clock_timestamp()
          WHERE id = $1 RETURNING updated_at",
    )
    .bind(id)
    .bind(&name)
    .bind(description)
    .bind(category)
    .bind(event_date)
    .bind(&status)
    .bind(image_url)
    .bind(tags)
    .bind(available_seats)
    .fetch_one(&mut *tx)
    .await?;
    // Sent on every update, not only when name or status changed: `current` was read before
    // this transaction, and a concurrent update may have changed what it says.
    let message = Envelope::new(
        topic::EVENT_UPDATED,
        EventUpdated {
            event_id: id,
            name,
            status,
            updated_at,
        },
    );
    kit::outbox::enqueue(
        &mut tx,
        &state.topics,
        topic::EVENT_UPDATED,
        &id.to_string(),
        &message,
    )
    .await?;
    kit::outbox::commit(tx).await?;
    Ok(ApiJson(fetch_event(pool, id).await?))
}

/// TicketFlow's 404 for an event it does not have (its code, in Stampede's envelope).
fn event_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "EVENT_NOT_FOUND", "no such event")
}
