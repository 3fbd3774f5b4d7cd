//! `POST /api/bookings`, `GET /api/bookings/my`, `GET /api/bookings/:id`,
//! `POST /api/bookings/:id/cancel`.

use std::collections::HashSet;

use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kit::bug_variants::{is_on, BugVariant};
use kit::kafka::{topic, Envelope};
use kit::messages::{BookingInitiated, ON_SALE};
use kit::openapi::ErrorResponses;
use kit::query::{whole_number, ApiQuery};
use kit::{ApiError, ApiJson, Identity};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{AppState, Limits};
use crate::state::{lock_booking, Booking, BookingDto, COLUMNS};

/// The routes, each with its OpenAPI description (`kit::openapi`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_booking))
        .routes(routes!(my_bookings))
        .routes(routes!(get_booking))
        .routes(routes!(cancel_booking))
}

/// A booking request: the event and 1 to `MAX_SEATS_PER_BOOKING` distinct seats of it. The
/// price and event name are the server's to decide; any other field is ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateBooking {
    #[schema(format = Uuid)]
    event_id: String,
    #[schema(inline, value_type = Vec<Uuid>, min_items = 1)]
    seat_ids: Vec<String>,
}

/// A validated booking request.
struct BookingRequest {
    event_id: Uuid,
    seat_ids: Vec<Uuid>,
}

impl BookingRequest {
    fn parse(dto: CreateBooking, limits: Limits) -> Result<Self, ApiError> {
        let event_id = Uuid::parse_str(dto.event_id.trim())
            .map_err(|_| ApiError::validation("eventId must be a UUID"))?;
        if dto.seat_ids.is_empty() || dto.seat_ids.len() > limits.max_seats {
            return Err(ApiError::validation(format!(
                "seatIds must hold 1 to {} seats",
                limits.max_seats
            )));
        }
        let mut seen = HashSet::new();
        let mut seat_ids = Vec::with_capacity(dto.seat_ids.len());
        for raw in &dto.seat_ids {
            let id = Uuid::parse_str(raw.trim())
                .map_err(|_| ApiError::validation(format!("seat id {raw:?} is not a UUID")))?;
            if !seen.insert(id) {
                return Err(ApiError::validation(format!("seat {id} appears twice")));
            }
            seat_ids.push(id);
        }
        Ok(Self { event_id, seat_ids })
    }

    /// Identifies the request body for Idempotency-Key reuse checks (order of seats ignored).
    fn fingerprint(&self) -> String {
        let mut seats: Vec<String> = self.seat_ids.iter().map(Uuid::to_string).collect();
        seats.sort();
        format!("{}:{}", self.event_id, seats.join(","))
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::validation("Idempotency-Key must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::validation(
            "Idempotency-Key must be 1 to 200 characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// Books seats: 202 with the PENDING booking; the saga confirms or fails it (poll
/// `GET /api/bookings/{id}`, or long-poll with `waitMs`).
#[utoipa::path(
    post,
    path = "/api/bookings",
    tag = "bookings",
    request_body = CreateBooking,
    params(
        ("Idempotency-Key" = Option<String>, Header,
         description = "1-200 characters: the same user, key and body answer the same booking (`idempotent-replayed: true`); another body is a 422 IDEMPOTENCY_KEY_REUSED"),
    ),
    responses(
        (status = 202, description = "accepted, PENDING", body = BookingDto),
        ErrorResponses,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn create_booking(
    State(state): State<AppState>,
    identity: Identity,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateBooking>,
) -> Result<Response, ApiError> {
    let request = BookingRequest::parse(body, state.limits)?;
    let key = idempotency_key(&headers)?;
    if let Some(key) = &key {
        if let Some(existing) = find_by_key(&state.pool, identity.user_id, key).await? {
            return replay(existing, &request);
        }
    }
    let (event_name, amount_cents) = price(&state.pool, &request).await?;
    let timeout = chrono::Duration::from_std(state.limits.booking_timeout)
        .unwrap_or(chrono::Duration::minutes(1));
    let row = NewBooking {
        id: Uuid::new_v4(),
        user_id: identity.user_id,
        user_email: identity.email.clone(),
        request,
        event_name,
        amount_cents,
        key,
        timeout,
    };
    if is_on(state.bug_variant, BugVariant::AckBeforeCommit) {
        return Ok(broken::ack_before_commit(state, row));
    }
    if is_on(state.bug_variant, BugVariant::DualWrite) {
        return broken::dual_write(&state, row).await;
    }
    let mut tx = state.pool.begin().await?;
    if let Some(max) = state.limits.max_open_bookings {
        let open = open_bookings(&mut tx, row.user_id).await?;
        if open >= i64::from(max) {
            tx.rollback().await?;
            return Err(ApiError::too_many_requests(
                "TOO_MANY_OPEN_BOOKINGS",
                format!("you have {open} bookings waiting for payment (at most {max}); wait until one is confirmed or closed"),
                1,
            ));
        }
    }
    let Some(booking) = row.write(&mut tx, &state.transitions.topics).await? else {
        // A concurrent request with the same key won; answer with its booking.
        tx.rollback().await?;
        return replay_winner(&state.pool, &row).await;
    };
    kit::outbox::commit(tx).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(BookingDto::from(booking))).into_response())
}

/// The user's PENDING bookings, counted under a per-user transaction lock: two concurrent
/// requests of one user cannot both see room under the cap.
async fn open_bookings(tx: &mut sqlx::PgConnection, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 3003))")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar("SELECT count(*) FROM bookings WHERE user_id = $1 AND status = 'PENDING'")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
}

/// A booking about to be written: the checked request with its price and key.
struct NewBooking {
    id: Uuid,
    user_id: Uuid,
    user_email: String,
    request: BookingRequest,
    event_name: String,
    amount_cents: i64,
    key: Option<String>,
    timeout: chrono::Duration,
}

impl NewBooking {
    /// Inserts the PENDING row; `None` when another request with the same key has one.
    async fn insert(&self, tx: &mut sqlx::PgConnection) -> Result<Option<Booking>, sqlx::Error> {
        sqlx::query_as(&format!(
            "INSERT INTO bookings (id, user_id, event_id, event_name, seat_ids, amount_cents, status,
                                   idempotency_key, request_hash, expires_at, user_email)
             VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $8, now() + $9, $10)
             ON CONFLICT (user_id, idempotency_key) DO NOTHING
             RETURNING {COLUMNS}"
        ))
        .bind(self.id)
        .bind(self.user_id)
        .bind(self.request.event_id)
        .bind(&self.event_name)
        .bind(&self.request.seat_ids)
        .bind(self.amount_cents)
        .bind(&self.key)
        .bind(self.request.fingerprint())
        .bind(self.timeout)
        .bind(&self.user_email)
        .fetch_optional(&mut *tx)
        .await
    }

    /// [`NewBooking::insert`] and its `booking.initiated` in the outbox, in the caller's
    /// transaction; `None` (nothing written) when another request with the same key has a row.
    async fn write(
        &self,
        tx: &mut sqlx::PgConnection,
        topics: &kit::kafka::Topics,
    ) -> anyhow::Result<Option<Booking>> {
        let Some(booking) = self.insert(tx).await.context("database query failed")? else {
            return Ok(None);
        };
        kit::outbox::enqueue(
            tx,
            topics,
            topic::BOOKING_INITIATED,
            &booking.id.to_string(),
            &initiated(&booking),
        )
        .await?;
        Ok(Some(booking))
    }
}

/// The `booking.initiated` message of a new booking.
fn initiated(booking: &Booking) -> Envelope<BookingInitiated> {
    Envelope::new(topic::BOOKING_INITIATED, booking.details())
}

/// The booking of the request that won a race for the same Idempotency-Key.
async fn replay_winner(pool: &PgPool, row: &NewBooking) -> Result<Response, ApiError> {
    let key = row.key.as_deref().unwrap_or_default();
    let existing = find_by_key(pool, row.user_id, key)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency conflict without a row")))?;
    replay(existing, &row.request)
}

/// The bug variants of booking creation (`kit::bug_variants`): reachable only in builds made for
/// `chaos selftest`.
mod broken {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    /// How long [`ack_before_commit`] keeps an acknowledged booking before writing it.
    pub(super) const ACK_DELAY: Duration = Duration::from_secs(2);

    /// Answers 202 at once and writes the booking [`ACK_DELAY`] later, in the background: a
    /// crash in between loses a booking its client was told exists.
    pub(super) fn ack_before_commit(state: AppState, row: NewBooking) -> Response {
        let now = chrono::Utc::now();
        let promised = BookingDto::from(Booking {
            id: row.id,
            user_id: row.user_id,
            user_email: row.user_email.clone(),
            event_id: row.request.event_id,
            event_name: row.event_name.clone(),
            seat_ids: row.request.seat_ids.clone(),
            amount_cents: row.amount_cents,
            status: "PENDING".into(),
            stage: "AWAITING_SEATS".into(),
            failure_reason: None,
            request_hash: Some(row.request.fingerprint()),
            payment_id: None,
            lock_expires_at: None,
            expires_at: now + row.timeout,
            created_at: now,
            updated_at: now,
        });
        tokio::spawn(async move {
            tokio::time::sleep(ACK_DELAY).await;
            let write = async {
                let mut tx = state.pool.begin().await?;
                row.write(&mut tx, &state.transitions.topics).await?;
                kit::outbox::commit(tx).await?;
                anyhow::Ok(())
            };
            if let Err(e) = write.await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "ack-before-commit: the late write failed"
                );
            }
        });
        (StatusCode::ACCEPTED, ApiJson(promised)).into_response()
    }

    /// Bookings created so far by [`dual_write`]; every [`CRASH_EVERY`]th one crashes.
    static CREATED: AtomicU64 = AtomicU64::new(0);
    pub(super) const CRASH_EVERY: u64 = 5;

    /// Publishes `booking.initiated` straight to the broker, then commits; every
    /// [`CRASH_EVERY`]th booking "crashes" between the two (rolls back, answers 500), leaving a
    /// message about a booking that does not exist.
    pub(super) async fn dual_write(
        state: &AppState,
        row: NewBooking,
    ) -> Result<Response, ApiError> {
        let mut tx = state.pool.begin().await?;
        let Some(booking) = row.insert(&mut tx).await? else {
            tx.rollback().await?;
            return replay_winner(&state.pool, &row).await;
        };
        kit::bug_variants::publish_directly(
            &state.producer,
            &state.transitions.topics,
            topic::BOOKING_INITIATED,
            &booking.id.to_string(),
            &initiated(&booking),
        )
        .await
        .map_err(ApiError::internal)?;
        if CREATED.fetch_add(1, Ordering::Relaxed) % CRASH_EVERY == CRASH_EVERY - 1 {
            tx.rollback().await?;
            return Err(ApiError::internal(anyhow::anyhow!(
                "dual-write: crashed between publishing booking.initiated and committing booking {}",
                booking.id
            )));
        }
        tx.commit().await?;
        Ok((StatusCode::ACCEPTED, ApiJson(BookingDto::from(booking))).into_response())
    }
}

/// The earlier booking made with this key, if the request is the same; 422 if it differs.
fn replay(existing: Booking, request: &BookingRequest) -> Result<Response, ApiError> {
    if existing.request_hash.as_deref() != Some(request.fingerprint().as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used for a different booking request",
        ));
    }
    let mut response = (StatusCode::ACCEPTED, ApiJson(BookingDto::from(existing))).into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

async fn find_by_key(pool: &PgPool, user: Uuid, key: &str) -> Result<Option<Booking>, ApiError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user)
    .bind(key)
    .fetch_optional(pool)
    .await?)
}

/// The event's name and the seats' total price, from the catalog built from event.created and
/// event.updated; an event that is not on sale (DRAFT, SOLD_OUT, CANCELLED) is refused here.
async fn price(pool: &PgPool, request: &BookingRequest) -> Result<(String, i64), ApiError> {
    let event: Option<(String, String)> =
        sqlx::query_as("SELECT name, status FROM events WHERE event_id = $1")
            .bind(request.event_id)
            .fetch_optional(pool)
            .await?;
    let Some((name, status)) = event else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "EVENT_NOT_FOUND",
            "no such event is on sale",
        ));
    };
    if status != ON_SALE {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "EVENT_NOT_ON_SALE",
            format!(
                "event {} is {status}: only events ON_SALE can be booked",
                request.event_id
            ),
        ));
    }
    let priced: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT seat_id, price_cents FROM seat_catalog WHERE event_id = $1 AND seat_id = ANY($2)",
    )
    .bind(request.event_id)
    .bind(&request.seat_ids)
    .fetch_all(pool)
    .await?;
    if priced.len() != request.seat_ids.len() {
        let unknown: Vec<String> = request
            .seat_ids
            .iter()
            .filter(|s| !priced.iter().any(|(id, _)| id == *s))
            .map(Uuid::to_string)
            .collect();
        return Err(ApiError::validation(format!(
            "seats not in this event: {}",
            unknown.join(", ")
        )));
    }
    Ok((name, priced.iter().map(|(_, p)| p).sum()))
}

#[derive(Deserialize)]
struct MyQuery {
    limit: Option<String>,
}

/// The caller's bookings, newest first, as a bare array (TicketFlow's shape; its demo script
/// reads `.[]`).
#[utoipa::path(
    get,
    path = "/api/bookings/my",
    tag = "bookings",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "page size (default 100; a Stampede addition)")),
    responses((status = 200, description = "the caller's bookings, newest first", body = Vec<BookingDto>), ErrorResponses),
    security(("bearer" = []))
)]
async fn my_bookings(
    State(pool): State<PgPool>,
    identity: Identity,
    ApiQuery(query): ApiQuery<MyQuery>,
) -> Result<ApiJson<Vec<BookingDto>>, ApiError> {
    let limit = whole_number("limit", query.limit.as_deref(), 1..=1000)?.unwrap_or(100);
    let rows: Vec<Booking> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(identity.user_id)
    .bind(limit)
    .fetch_all(&pool)
    .await?;
    Ok(ApiJson(rows.into_iter().map(BookingDto::from).collect()))
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no such booking"))
}

/// The longest `waitMs` honoured: below the gateway's upstream timeout (10 s by default) and the
/// services' request timeout (30 s), so a long poll never ends as a 504.
pub const MAX_WAIT_MS: u64 = 5_000;

/// The header that tells a client this server long-polls and up to how long.
pub const LONG_POLL_HEADER: &str = "x-long-poll-max-ms";

/// `waitMs`: 0..=60000, more is clamped to [`MAX_WAIT_MS`].
fn wait_of(
    query: &std::collections::HashMap<String, String>,
) -> Result<Option<std::time::Duration>, ApiError> {
    let Some(raw) = query.get("waitMs") else {
        return Ok(None);
    };
    let ms: u64 = raw
        .trim()
        .parse()
        .ok()
        .filter(|ms| *ms <= 60_000)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "waitMs must be a whole number of milliseconds from 0 to 60000, not {raw:?}"
            ))
        })?;
    Ok(Some(std::time::Duration::from_millis(ms.min(MAX_WAIT_MS))))
}

/// The booking, if `identity` may see it.
fn owned(booking: Booking, identity: &Identity) -> Result<Booking, ApiError> {
    if booking.user_id != identity.user_id && !identity.is_admin() {
        return Err(ApiError::forbidden("this booking belongs to another user"));
    }
    Ok(booking)
}

async fn read_booking(pool: &PgPool, id: Uuid, lock: bool) -> Result<Booking, ApiError> {
    // FOR SHARE waits for a transaction that is changing the row (see crate::watchers).
    let sql = if lock {
        format!("SELECT {COLUMNS} FROM bookings WHERE id = $1 FOR SHARE")
    } else {
        format!("SELECT {COLUMNS} FROM bookings WHERE id = $1")
    };
    let booking: Option<Booking> = sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
    booking.ok_or_else(|| ApiError::not_found("no such booking"))
}

/// `GET /api/bookings/{id}`, and with `?waitMs=N` a long poll: the answer comes as soon as the
/// booking is no longer PENDING, or after N ms (at most [`MAX_WAIT_MS`]) with what it is then.
#[utoipa::path(
    get,
    path = "/api/bookings/{id}",
    tag = "bookings",
    params(
        ("id" = Uuid, Path, description = "the booking"),
        ("waitMs" = Option<u32>, Query, minimum = 0, maximum = 60000,
         description = "long poll: answer when the booking leaves PENDING, or after this many ms (at most 5000 honoured)"),
    ),
    responses(
        (status = 200, description = "the booking (the caller's own, or any for an admin)", body = BookingDto,
         headers(("x-long-poll-max-ms" = u64, description = "with waitMs: the longest wait honoured"))),
        ErrorResponses,
    ),
    security(("bearer" = []))
)]
async fn get_booking(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let wait = wait_of(&query)?;
    let id = parse_id(&id)?;
    let Some(wait) = wait else {
        let booking = owned(read_booking(&state.pool, id, false).await?, &identity)?;
        return Ok(ApiJson(BookingDto::from(booking)).into_response());
    };
    let watch = state.transitions.watchers.watch(id);
    let deadline = tokio::time::Instant::now() + wait;
    let mut woken = false;
    let booking = loop {
        // Armed before the read, so a change between the read and the wait is not missed.
        let notified = watch.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let booking = owned(read_booking(&state.pool, id, woken).await?, &identity)?;
        if !booking.is_pending() {
            break booking;
        }
        tokio::select! {
            _ = &mut notified => woken = true,
            _ = tokio::time::sleep_until(deadline) => break booking,
        }
    };
    let mut response = ApiJson(BookingDto::from(booking)).into_response();
    response
        .headers_mut()
        .insert(LONG_POLL_HEADER, HeaderValue::from(MAX_WAIT_MS));
    Ok(response)
}

/// Cancels a PENDING or CONFIRMED booking (a capture is refunded, the seats freed); any other
/// status is TicketFlow's 400 `BAD_REQUEST` "Cannot cancel booking in status: FAILED".
#[utoipa::path(
    post,
    path = "/api/bookings/{id}/cancel",
    tag = "bookings",
    params(("id" = Uuid, Path, description = "the booking")),
    responses((status = 200, description = "the booking, CANCELLED", body = BookingDto), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn cancel_booking(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<ApiJson<BookingDto>, ApiError> {
    let id = parse_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let booking = lock_booking(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such booking"))?;
    if booking.user_id != identity.user_id && !identity.is_admin() {
        return Err(ApiError::forbidden("this booking belongs to another user"));
    }
    if !matches!(booking.status.as_str(), "PENDING" | "CONFIRMED") {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            format!("Cannot cancel booking in status: {}", booking.status),
        ));
    }
    state
        .transitions
        .close(&mut tx, &booking, "CANCELLED", "CANCELLED")
        .await?;
    let updated = lock_booking(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("booking vanished during cancel")))?;
    kit::outbox::commit(tx).await?;
    Ok(ApiJson(BookingDto::from(updated)))
}
