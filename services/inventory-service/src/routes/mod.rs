//! HTTP routes of inventory-service (public reads; seats change only through the saga).

mod seats;

use axum::Router;
use sqlx::PgPool;

pub fn router(pool: PgPool) -> Router {
    seats::router().with_state(pool)
}
