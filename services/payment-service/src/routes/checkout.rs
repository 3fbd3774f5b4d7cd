//! TicketFlow's checkout: `POST /api/payments/create-order` and `POST /api/payments/verify`, the
//! two calls its frontend makes to pay for a booking (contract section 3).
//!
//! TicketFlow creates a Razorpay order, the browser pays it, and `verify` checks Razorpay's
//! signature and settles the payment. Stampede has no payment gateway: its simulated processor
//! settles every booking's payment as soon as the saga asks (`payment.requested`), as TicketFlow
//! did before its Razorpay checkout (fms fc48ec0). So:
//!
//! - `create-order` answers the booking's payment when the processor has settled it (with the
//!   server's amount); before that it records an order (`payment_orders`) under the id the
//!   payment will get ([`Payment::id_for_booking`]) and answers it with the client's amount;
//! - `verify` answers the payment's status (SUCCESS, FAILED; PENDING while only the order
//!   exists) and changes nothing: there is no signature to check, and the saga has already been
//!   told. A `razorpay_order_id` that is not the payment's order is a 400.

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

use super::payments::{find_payment, owned_by, parse_id, payment_not_found, Lookup};
use super::AppState;
use crate::domain::Payment;

/// What `create-order` answers as `razorpay_key_id`: there is no Razorpay account behind it.
pub const SIMULATED_KEY_ID: &str = "rzp_test_stampede_simulated";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(verify))
}

/// TicketFlow's create-order request. `user_id` and `amount` are required as in TicketFlow but
/// not trusted: the payment is the signed-in user's and its amount the server's.
#[derive(Deserialize, ToSchema)]
struct CreateOrder {
    #[schema(format = Uuid)]
    booking_id: String,
    user_id: String,
    amount: f64,
    #[serde(default)]
    currency: Option<String>,
}

/// TicketFlow's create-order answer (snake_case, as TicketFlow's payment-service writes it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderCreated {
    pub payment_id: Uuid,
    pub order_id: String,
    /// In paise (cents): the server's amount once the payment is settled, the client's before.
    pub amount: i64,
    pub currency: String,
    pub razorpay_key_id: String,
}

/// The booking's payment and its order (see the module docs).
#[utoipa::path(
    post,
    path = "/api/payments/create-order",
    tag = "payments",
    request_body = CreateOrder,
    responses(
        (status = 200, description = "the booking's payment (or the order it will settle) and its order", body = OrderCreated),
        ErrorResponses
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn create_order(
    State(pool): State<PgPool>,
    identity: Identity,
    ApiJson(request): ApiJson<CreateOrder>,
) -> Result<ApiJson<OrderCreated>, ApiError> {
    let booking_id = Uuid::parse_str(request.booking_id.trim())
        .map_err(|_| ApiError::validation("booking_id must be a UUID"))?;
    if !request.amount.is_finite() || request.amount < 0.0 {
        return Err(ApiError::validation(
            "amount must be a number of at least 0",
        ));
    }
    if request.user_id.trim().is_empty() {
        return Err(ApiError::validation("user_id is required"));
    }
    if let Some(currency) = request.currency.as_deref() {
        if currency != kit::messages::CURRENCY {
            return Err(ApiError::validation(format!(
                "currency {currency:?} is not supported: only {}",
                kit::messages::CURRENCY
            )));
        }
    }
    let (payment_id, amount_cents) =
        match find_payment(&pool, Lookup::BookingId, booking_id).await? {
            Some(payment) => {
                owned_by(payment.user_id, &identity)?;
                (payment.id, payment.amount_cents)
            }
            None => {
                let order = record_order(
                    &pool,
                    booking_id,
                    &identity,
                    kit::messages::cents(request.amount),
                )
                .await?;
                (order.payment_id, order.amount_cents)
            }
        };
    Ok(ApiJson(OrderCreated {
        payment_id,
        order_id: Payment::order_id(payment_id),
        amount: amount_cents,
        currency: kit::messages::CURRENCY.to_string(),
        razorpay_key_id: SIMULATED_KEY_ID.to_string(),
    }))
}

/// An order a client will pay (one per booking; asking again returns the first).
#[derive(Debug, sqlx::FromRow)]
struct Order {
    payment_id: Uuid,
    user_id: Uuid,
    amount_cents: i64,
    created_at: DateTime<Utc>,
}

/// Records the booking's order for `identity` (or returns the one recorded before); 403 when
/// another user ordered it.
async fn record_order(
    pool: &PgPool,
    booking_id: Uuid,
    identity: &Identity,
    amount_cents: i64,
) -> Result<Order, ApiError> {
    let order: Order = sqlx::query_as(
        "INSERT INTO payment_orders (booking_id, payment_id, user_id, amount_cents)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (booking_id) DO UPDATE SET booking_id = EXCLUDED.booking_id
         RETURNING payment_id, user_id, amount_cents, created_at",
    )
    .bind(booking_id)
    .bind(Payment::id_for_booking(booking_id))
    .bind(identity.user_id)
    .bind(amount_cents)
    .fetch_one(pool)
    .await?;
    owned_by(order.user_id, identity)?;
    Ok(order)
}

/// TicketFlow's verify request (Razorpay's checkout result).
#[derive(Deserialize, ToSchema)]
struct Verify {
    #[schema(format = Uuid)]
    payment_id: String,
    razorpay_order_id: String,
    razorpay_payment_id: String,
    signature: String,
}

/// TicketFlow's verify answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub id: Uuid,
    /// SUCCESS or FAILED; PENDING before the processor settles the order; REFUNDED or VOIDED
    /// for a payment the booking's close undid.
    pub status: String,
    pub provider_ref: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The payment's status as the processor settled it (PENDING before); nothing changes.
#[utoipa::path(
    post,
    path = "/api/payments/verify",
    tag = "payments",
    request_body = Verify,
    responses((status = 200, description = "the payment's status", body = Verified), ErrorResponses),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(user_id = %identity.user_id))]
async fn verify(
    State(pool): State<PgPool>,
    identity: Identity,
    ApiJson(request): ApiJson<Verify>,
) -> Result<ApiJson<Verified>, ApiError> {
    for (name, value) in [
        ("razorpay_order_id", &request.razorpay_order_id),
        ("razorpay_payment_id", &request.razorpay_payment_id),
        ("signature", &request.signature),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::validation(format!("{name} is required")));
        }
    }
    let payment_id = parse_id(&request.payment_id)?;
    let answer = match find_payment(&pool, Lookup::Id, payment_id).await? {
        Some(payment) => {
            owned_by(payment.user_id, &identity)?;
            Verified {
                id: payment.id,
                status: payment.status.ticketflow_status().to_string(),
                provider_ref: payment.provider_ref(),
                updated_at: payment.updated_at,
            }
        }
        None => {
            let order: Order = sqlx::query_as(
                "SELECT payment_id, user_id, amount_cents, created_at FROM payment_orders
                  WHERE payment_id = $1",
            )
            .bind(payment_id)
            .fetch_optional(&pool)
            .await?
            .ok_or_else(payment_not_found)?;
            owned_by(order.user_id, &identity)?;
            Verified {
                id: order.payment_id,
                status: PENDING.to_string(),
                provider_ref: None,
                updated_at: order.created_at,
            }
        }
    };
    if request.razorpay_order_id != Payment::order_id(answer.id) {
        return Err(ApiError::validation(format!(
            "razorpay_order_id {:?} is not this payment's order ({})",
            request.razorpay_order_id,
            Payment::order_id(answer.id)
        )));
    }
    Ok(ApiJson(answer))
}

/// `verify`'s status for an order the processor has not settled yet.
const PENDING: &str = "PENDING";
