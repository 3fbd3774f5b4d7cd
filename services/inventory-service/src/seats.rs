//! Seats in Postgres: the seat map, the guarded state changes, and the queries behind the API.
//! Every state change here is conditional on the current state and owner, so it is the last line
//! of defence whatever Redis says.

use chrono::{DateTime, Utc};
use kit::messages::{seat_id, EventCreated};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A seat as the API shows it: TicketFlow's shape plus its price.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatDto {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The number within its row, as TicketFlow numbers seats (`"7"` of row `"A"`).
    #[schema(example = "7")]
    pub seat_number: String,
    #[sqlx(rename = "row_label")]
    pub row: String,
    pub section: String,
    pub status: String,
    pub booking_id: Option<Uuid>,
    #[serde(skip)]
    #[schema(ignore)]
    pub price_cents: i64,
    pub price: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Inserts the seat map of an event in one statement; seats that exist are left alone, so a
/// redelivered `event.created` changes nothing. Returns how many seats were inserted.
///
/// # Errors
/// When the insert fails.
pub async fn insert_seat_map(
    tx: &mut PgConnection,
    event: &EventCreated,
) -> Result<u64, sqlx::Error> {
    let mut ids = Vec::new();
    let mut positions = Vec::new();
    let mut sections = Vec::new();
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    let mut prices = Vec::new();
    for (position, seat) in event.seats().enumerate() {
        ids.push(seat_id(event.event_id, &seat.section, &seat.seat_number));
        positions.push(position as i32);
        sections.push(seat.section);
        rows.push(seat.row);
        numbers.push(seat.seat_number);
        prices.push(seat.price_cents);
    }
    let inserted = sqlx::query(
        "INSERT INTO seats (id, event_id, position, section, row_label, seat_number, price_cents)
         SELECT id, $1, position, section, row_label, seat_number, price_cents
           FROM UNNEST($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bigint[])
             AS s(id, position, section, row_label, seat_number, price_cents)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(&ids)
    .bind(&positions)
    .bind(&sections)
    .bind(&rows)
    .bind(&numbers)
    .bind(&prices)
    .execute(&mut *tx)
    .await?;
    Ok(inserted.rows_affected())
}

/// How many of `seats` exist for `event_id`.
///
/// # Errors
/// When the query fails.
pub async fn count_known(
    tx: &mut PgConnection,
    event_id: Uuid,
    seats: &[Uuid],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM seats WHERE event_id = $1 AND id = ANY($2)")
        .bind(event_id)
        .bind(seats)
        .fetch_one(&mut *tx)
        .await
}

/// The event `seats` belong to (the first known seat's), for a seats.confirm or seats.release
/// from TicketFlow's booking-service, which does not name the event.
///
/// # Errors
/// When the query fails.
pub async fn event_of(tx: &mut PgConnection, seats: &[Uuid]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT event_id FROM seats WHERE id = ANY($1) LIMIT 1")
        .bind(seats)
        .fetch_optional(&mut *tx)
        .await
}

/// Whether the event's seat map exists at all.
///
/// # Errors
/// When the query fails.
pub async fn event_known(tx: &mut PgConnection, event_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM seats WHERE event_id = $1)")
        .bind(event_id)
        .fetch_one(&mut *tx)
        .await
}

/// Locks every seat for `booking` if each is AVAILABLE (or already locked by it); else changes
/// nothing and returns the seats held by others. Runs in a savepoint so a partial update is undone.
///
/// # Errors
/// When a query fails (deadlocks included: the consumer retries).
pub async fn lock_guarded(
    tx: &mut PgConnection,
    event_id: Uuid,
    booking: Uuid,
    seats: &[Uuid],
    until: DateTime<Utc>,
) -> Result<Result<(), Vec<Uuid>>, sqlx::Error> {
    sqlx::query("SAVEPOINT lock_seats")
        .execute(&mut *tx)
        .await?;
    let locked: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE seats SET status = 'LOCKED', booking_id = $2, locked_until = $4, updated_at = now()
          WHERE event_id = $1 AND id = ANY($3)
            AND (status = 'AVAILABLE' OR (status = 'LOCKED' AND booking_id = $2))
         RETURNING id",
    )
    .bind(event_id)
    .bind(booking)
    .bind(seats)
    .bind(until)
    .fetch_all(&mut *tx)
    .await?;
    if locked.len() == seats.len() {
        sqlx::query("RELEASE SAVEPOINT lock_seats")
            .execute(&mut *tx)
            .await?;
        return Ok(Ok(()));
    }
    sqlx::query("ROLLBACK TO SAVEPOINT lock_seats")
        .execute(&mut *tx)
        .await?;
    Ok(Err(seats
        .iter()
        .filter(|s| !locked.contains(s))
        .copied()
        .collect()))
}

/// The `unsafe` strategy's Postgres step: read, meet a rival booking of the same seat (at most
/// `race_window`, see [`crate::race`]), write, no condition. Two bookings that meet both read
/// AVAILABLE and both write (the second waits for the first's row lock, then overwrites); that
/// is the point.
///
/// # Errors
/// When a query fails.
pub async fn lock_unguarded(
    tx: &mut PgConnection,
    event_id: Uuid,
    booking: Uuid,
    seats: &[Uuid],
    until: DateTime<Utc>,
    rendezvous: &crate::race::Rendezvous,
    race_window: std::time::Duration,
) -> Result<Result<(), Vec<Uuid>>, sqlx::Error> {
    let taken: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM seats WHERE event_id = $1 AND id = ANY($2) AND status <> 'AVAILABLE' AND booking_id <> $3",
    )
    .bind(event_id)
    .bind(seats)
    .bind(booking)
    .fetch_all(&mut *tx)
    .await?;
    if !taken.is_empty() {
        return Ok(Err(taken));
    }
    if let Some(first) = seats.first() {
        rendezvous
            .meet(format!("postgres:{event_id}:{first}"), race_window)
            .await;
    }
    // `lock_guarded`'s UPDATE without its status condition, on purpose: not to be shared with it.
    sqlx::query(
        "UPDATE seats SET status = 'LOCKED', booking_id = $2, locked_until = $4, updated_at = now()
          WHERE event_id = $1 AND id = ANY($3)",
    )
    .bind(event_id)
    .bind(booking)
    .bind(seats)
    .bind(until)
    .execute(&mut *tx)
    .await?;
    Ok(Ok(()))
}

/// Marks `booking`'s seats RESERVED. A seat the sweeper freed meanwhile is taken back if still
/// AVAILABLE; a booking already released takes nothing ([`Confirmed`]).
///
/// # Errors
/// When a query fails.
pub async fn confirm(
    tx: &mut PgConnection,
    booking: Uuid,
    seats: &[Uuid],
    guarded: bool,
) -> Result<Confirmed, sqlx::Error> {
    lock_booking(tx, booking).await?;
    if guarded && was_released(tx, booking).await? {
        // Its cancel's release overtook this confirm (another topic): the booking is over, and its
        // seats may rightly belong to someone else by now. Nothing to take, nothing lost.
        return Ok(Confirmed::AfterRelease);
    }
    // A seat whose lock was swept may be taken back while free; a released booking takes nothing.
    let condition = if guarded {
        "AND (booking_id = $1 OR status = 'AVAILABLE')
         AND NOT EXISTS (SELECT 1 FROM released_bookings WHERE booking_id = $1)"
    } else {
        ""
    };
    let reserved: Vec<Uuid> = sqlx::query_scalar(&format!(
        "UPDATE seats SET status = 'RESERVED', booking_id = $1, locked_until = NULL, updated_at = now()
          WHERE id = ANY($2) {condition}
         RETURNING id"
    ))
    .bind(booking)
    .bind(seats)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Confirmed::Reserved {
        lost: seats
            .iter()
            .filter(|s| !reserved.contains(s))
            .copied()
            .collect(),
    })
}

/// What a confirm did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The seats are RESERVED for the booking, except `lost`: held by another booking (its lock
    /// expired and was swept, then someone else took them).
    Reserved { lost: Vec<Uuid> },
    /// The booking was released before its confirm arrived; the confirm took nothing.
    AfterRelease,
}

async fn was_released(tx: &mut PgConnection, booking: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM released_bookings WHERE booking_id = $1)")
        .bind(booking)
        .fetch_one(&mut *tx)
        .await
}

/// Serialises confirm and release of one booking (transaction-scoped advisory lock). Without it
/// a confirm running beside the release re-checks the freed seats after the release commits but
/// judges `released_bookings` with its older snapshot, and reserves them anyway.
async fn lock_booking(tx: &mut PgConnection, booking: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(booking)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Frees the seats `booking` holds (LOCKED or RESERVED); others' seats are untouched. Returns how
/// many were freed. Records the booking as released, so a confirm that arrives later (it travels
/// on another topic) cannot reserve its seats again.
///
/// # Errors
/// When the update fails.
pub async fn release(
    tx: &mut PgConnection,
    booking: Uuid,
    seats: &[Uuid],
    owner_checked: bool,
) -> Result<u64, sqlx::Error> {
    lock_booking(tx, booking).await?;
    sqlx::query("INSERT INTO released_bookings (booking_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(booking)
        .execute(&mut *tx)
        .await?;
    // Without the owner check (the `release-without-owner-check` bug variant) a release frees
    // the seats it names whoever holds them. Two fixed statements: nothing built per release.
    let statement = if owner_checked {
        "UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, locked_until = NULL, updated_at = now()
          WHERE id = ANY($2) AND booking_id = $1"
    } else {
        "UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, locked_until = NULL, updated_at = now()
          WHERE id = ANY($2) AND booking_id IS NOT NULL AND $1::uuid IS NOT NULL"
    };
    let released = sqlx::query(statement)
        .bind(booking)
        .bind(seats)
        .execute(&mut *tx)
        .await?;
    Ok(released.rows_affected())
}

/// A seat whose lock expired and was freed.
#[derive(Debug, sqlx::FromRow)]
pub struct SweptSeat {
    pub id: Uuid,
    pub event_id: Uuid,
    pub booking_id: Uuid,
}

/// Frees LOCKED seats whose lock expired (at most `limit`), returning them.
///
/// # Errors
/// When the update fails.
pub async fn sweep_expired(pool: &PgPool, limit: i64) -> Result<Vec<SweptSeat>, sqlx::Error> {
    sqlx::query_as(
        "WITH expired AS (
             SELECT id, booking_id FROM seats WHERE status = 'LOCKED' AND locked_until < now()
             ORDER BY locked_until LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE seats s SET status = 'AVAILABLE', booking_id = NULL, locked_until = NULL, updated_at = now()
           FROM expired e
          WHERE s.id = e.id
         RETURNING s.id, s.event_id, e.booking_id",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Seats of an event in layout order, optionally filtered; and how many match.
///
/// # Errors
/// When the query fails.
pub async fn list(
    pool: &PgPool,
    event_id: Uuid,
    status: Option<&str>,
    section: Option<&str>,
    limit: Option<i64>,
    offset: i64,
) -> Result<(Vec<SeatDto>, i64), sqlx::Error> {
    let filter = "WHERE event_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR section = $3)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM seats {filter}"))
        .bind(event_id)
        .bind(status)
        .bind(section)
        .fetch_one(pool)
        .await?;
    let seats = sqlx::query_as(&format!(
        "SELECT id, event_id, row_label, section, status, booking_id, price_cents,
                price_cents::float8 / 100 AS price, created_at, updated_at,
                -- stored as the layout names it (\"A7\", part of the seat's id); shown as
                -- TicketFlow numbers it, within the row
                CASE WHEN starts_with(seat_number, row_label)
                     THEN substr(seat_number, length(row_label) + 1) ELSE seat_number END
                  AS seat_number
           FROM seats {filter} ORDER BY position LIMIT $4 OFFSET $5"
    ))
    .bind(event_id)
    .bind(status)
    .bind(section)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok((seats, total))
}

/// Seat counts per status for one event.
///
/// # Errors
/// When the query fails.
pub async fn summary(pool: &PgPool, event_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, count(*) FROM seats WHERE event_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await
}
