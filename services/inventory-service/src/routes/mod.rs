//! HTTP routes of inventory-service (public reads; seats change only through the saga).

mod seats;

use axum::Router;
use sqlx::PgPool;

/// The routes with their OpenAPI document (`kit::openapi`).
pub fn router(pool: PgPool) -> Router {
    kit::openapi::documented("inventory-service", seats::router(), pool)
}
