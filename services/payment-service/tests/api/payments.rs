//! `GET /api/payments/:id` and `GET /api/payments/booking/:bookingId`: the owner and admins see a
//! payment, others are refused.

use kit::config::Secret;
use kit::identity::{IdentityKeys, IDENTITY_HEADER};
use payment_service::domain::PaymentStatus;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{assert_error, identity, spawn_app};

#[tokio::test]
async fn payment_is_visible_to_its_user_and_admins_only() {
    // Arrange
    let app = spawn_app().await;
    let owner = identity("user");
    let booking_id = Uuid::new_v4();
    app.request_payment(booking_id, owner.user_id, 7_550).await;
    let payment = app
        .wait_for_status(booking_id, PaymentStatus::Captured)
        .await;
    let by_id = format!("/api/payments/{}", payment.id);
    let by_booking = format!("/api/payments/booking/{booking_id}");

    // Act + Assert: the owner
    let response = app.get(&by_id, Some(&owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let shown = &body["payment"];
    assert_eq!(shown["id"], payment.id.to_string());
    assert_eq!(shown["bookingId"], booking_id.to_string());
    assert_eq!(shown["userId"], owner.user_id.to_string());
    assert_eq!(shown["amount"], 75.5);
    assert_eq!(shown["amountCents"], 7_550);
    assert_eq!(shown["status"], "CAPTURED");
    assert!(shown["failureReason"].is_null());
    assert!(shown["refundedAt"].is_null());
    assert!(shown["createdAt"].is_string() && shown["updatedAt"].is_string());
    let response = app.get(&by_booking, Some(&owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["payment"]["id"], payment.id.to_string());

    // an admin
    assert_eq!(
        app.get(&by_id, Some(&identity("admin"))).await.status(),
        StatusCode::OK
    );

    // another user
    for path in [&by_id, &by_booking] {
        assert_error(
            app.get(path, Some(&identity("user"))).await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        )
        .await;
    }

    // nobody, or a proof the gateway did not sign
    assert_error(
        app.get(&by_id, None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let forged = IdentityKeys::new(&Secret::new("not-the-internal-secret")).sign(&owner);
    for (name, value) in [
        (IDENTITY_HEADER, forged),
        ("x-user-id", owner.user_id.to_string()),
    ] {
        let response = app
            .request(reqwest::Method::GET, &by_id, None)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
}

#[tokio::test]
async fn unknown_or_malformed_payment_ids_are_404() {
    let app = spawn_app().await;
    let caller = identity("user");
    let cases = [
        format!("/api/payments/{}", Uuid::new_v4()),
        "/api/payments/not-a-uuid".to_string(),
        format!("/api/payments/booking/{}", Uuid::new_v4()),
        "/api/payments/booking/42".to_string(),
    ];
    for path in cases {
        let response = app.get(&path, Some(&caller)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
}
