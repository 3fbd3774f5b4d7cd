//! `GET /api/payments/:id`, `GET /api/payments/booking/:bookingId`: a payment for its user (or an
//! admin), bare and in TicketFlow's shape (contract section 3) with Stampede's fields beside it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
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
use crate::domain::Payment;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_payment))
        .routes(routes!(get_payment_by_booking))
}

/// A payment as the API shows it: TicketFlow's fields (`amount` in currency units, `status`
/// SUCCESS/FAILED, `reason`, `providerRef`) and Stampede's (`amountCents`, `paymentStatus`,
/// `refundedAt`). `status` adds REFUNDED and VOIDED, which TicketFlow does not have.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDto {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub user_id: Uuid,
    pub amount: f64,
    /// Always `INR`, TicketFlow's one currency.
    pub currency: String,
    /// SUCCESS (captured), FAILED (declined), REFUNDED (captured, then given back when the
    /// booking closed), VOIDED (the booking closed before any charge).
    pub status: String,
    /// Why it failed (TicketFlow's name for `failureReason`).
    pub reason: Option<String>,
    /// The simulated processor's reference of a captured payment.
    pub provider_ref: Option<String>,
    pub amount_cents: i64,
    /// The stored state: CAPTURED, FAILED, REFUNDED or VOIDED.
    pub payment_status: String,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl From<Payment> for PaymentDto {
    fn from(payment: Payment) -> Self {
        Self {
            id: payment.id,
            booking_id: payment.booking_id,
            user_id: payment.user_id,
            amount: payment.amount(),
            currency: kit::messages::CURRENCY.to_string(),
            status: payment.status.ticketflow_status().to_string(),
            reason: payment.failure_reason.clone(),
            provider_ref: payment.provider_ref(),
            amount_cents: payment.amount_cents,
            payment_status: payment.status.to_string(),
            failure_reason: payment.failure_reason,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
            refunded_at: payment.refunded_at,
        }
    }
}

/// Which column a lookup goes by.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lookup {
    Id,
    BookingId,
}

impl Lookup {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::BookingId => "booking_id",
        }
    }
}

/// An unknown or malformed id is the same 404: ids are not guessable either way.
pub(super) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| payment_not_found())
}

/// TicketFlow's 404 for a payment it does not have.
pub(super) fn payment_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "PAYMENT_NOT_FOUND",
        "no such payment",
    )
}

/// A payment, for its user or an admin.
#[utoipa::path(
    get,
    path = "/api/payments/{id}",
    tag = "payments",
    params(("id" = Uuid, Path, description = "the payment")),
    responses((status = 200, description = "the payment", body = PaymentDto), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn get_payment(
    State(pool): State<PgPool>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<ApiJson<PaymentDto>, ApiError> {
    let payment = fetch_payment(&pool, Lookup::Id, parse_id(&id)?).await?;
    visible_to(payment, &identity)
}

/// The payment of a booking, for its user or an admin.
#[utoipa::path(
    get,
    path = "/api/payments/booking/{booking_id}",
    tag = "payments",
    params(("booking_id" = Uuid, Path, description = "the booking")),
    responses((status = 200, description = "the booking's payment", body = PaymentDto), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn get_payment_by_booking(
    State(pool): State<PgPool>,
    identity: Identity,
    Path(booking_id): Path<String>,
) -> Result<ApiJson<PaymentDto>, ApiError> {
    let payment = fetch_payment(&pool, Lookup::BookingId, parse_id(&booking_id)?).await?;
    visible_to(payment, &identity)
}

/// The payment `lookup` finds, if any.
#[tracing::instrument(skip(pool))]
pub(super) async fn find_payment(
    pool: &PgPool,
    lookup: Lookup,
    id: Uuid,
) -> Result<Option<Payment>, ApiError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM payments WHERE {} = $1",
        Payment::COLUMNS,
        lookup.column()
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// [`find_payment`], a 404 `PAYMENT_NOT_FOUND` when there is none.
async fn fetch_payment(pool: &PgPool, lookup: Lookup, id: Uuid) -> Result<Payment, ApiError> {
    find_payment(pool, lookup, id)
        .await?
        .ok_or_else(payment_not_found)
}

/// 403 unless the caller owns the payment or is an admin.
pub(super) fn owned_by(owner: Uuid, identity: &Identity) -> Result<(), ApiError> {
    if owner != identity.user_id && !identity.is_admin() {
        return Err(ApiError::forbidden("this payment belongs to another user"));
    }
    Ok(())
}

fn visible_to(payment: Payment, identity: &Identity) -> Result<ApiJson<PaymentDto>, ApiError> {
    owned_by(payment.user_id, identity)?;
    Ok(ApiJson(payment.into()))
}
