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
    // TicketFlow's bare Payment, with Stampede's fields beside it
    let shown = &body;
    assert_eq!(shown["id"], payment.id.to_string());
    assert_eq!(shown["bookingId"], booking_id.to_string());
    assert_eq!(shown["userId"], owner.user_id.to_string());
    assert_eq!(shown["amount"], 75.5);
    assert_eq!(shown["currency"], "INR");
    assert_eq!(shown["status"], "SUCCESS");
    assert!(shown["reason"].is_null());
    assert!(shown["providerRef"]
        .as_str()
        .is_some_and(|r| r.starts_with("mock-txn-")));
    assert_eq!(shown["amountCents"], 7_550);
    assert_eq!(shown["paymentStatus"], "CAPTURED");
    assert!(shown["failureReason"].is_null());
    assert!(shown["refundedAt"].is_null());
    assert!(shown["createdAt"].is_string() && shown["updatedAt"].is_string());
    let response = app.get(&by_booking, Some(&owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], payment.id.to_string());

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
        assert_error(response, StatusCode::NOT_FOUND, "PAYMENT_NOT_FOUND").await;
    }
}

/// TicketFlow's checkout against the simulated processor: create-order before the charge records
/// an order under the id the payment will get (PENDING on verify, the client's amount); after the
/// charge both answer the settled payment with the server's amount.
#[tokio::test]
async fn ticketflows_checkout_answers_the_order_then_the_settled_payment() {
    let app = spawn_app().await;
    let owner = identity("user");
    let booking_id = Uuid::new_v4();
    let create_order = serde_json::json!({"booking_id": booking_id, "user_id": owner.user_id,
                                          "amount": 1.5, "currency": "INR"});
    let response = app
        .post_json("/api/payments/create-order", &create_order, Some(&owner))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        order["amount"], 150,
        "the client's amount, in paise, before the charge"
    );
    assert_eq!(order["currency"], "INR");
    assert_eq!(
        order["razorpay_key_id"],
        payment_service::routes::SIMULATED_KEY_ID
    );
    let payment_id = order["payment_id"].as_str().unwrap().to_string();
    let order_id = order["order_id"].as_str().unwrap().to_string();
    let verify = |order_id: &str| {
        serde_json::json!({"payment_id": payment_id, "razorpay_order_id": order_id,
                           "razorpay_payment_id": "pay_x", "signature": "00"})
    };
    let verified: Value = app
        .post_json("/api/payments/verify", &verify(&order_id), Some(&owner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["status"], "PENDING", "{verified}");
    assert_error(
        app.post_json(
            "/api/payments/create-order",
            &create_order,
            Some(&identity("user")),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;

    // The saga asks for the payment; the processor settles it under the order's payment id.
    app.request_payment(booking_id, owner.user_id, 12_050).await;
    let payment = app
        .wait_for_status(booking_id, PaymentStatus::Captured)
        .await;
    assert_eq!(payment.id.to_string(), payment_id);
    let response = app
        .post_json("/api/payments/verify", &verify(&order_id), Some(&owner))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let verified: Value = response.json().await.unwrap();
    assert_eq!(verified["id"], payment_id.as_str());
    assert_eq!(verified["status"], "SUCCESS");
    assert!(verified["providerRef"].is_string() && verified["updatedAt"].is_string());
    let again: Value = app
        .post_json("/api/payments/create-order", &create_order, Some(&owner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["amount"], 12_050,
        "the server's amount once settled: {again}"
    );
    assert_eq!(again["order_id"], order_id.as_str());

    // another order id, another user, an unknown payment, a body without the signature
    assert_error(
        app.post_json("/api/payments/verify", &verify("order_other"), Some(&owner))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/payments/verify",
            &verify(&order_id),
            Some(&identity("user")),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    let unknown = serde_json::json!({"payment_id": Uuid::new_v4(), "razorpay_order_id": "o",
                                     "razorpay_payment_id": "p", "signature": "s"});
    assert_error(
        app.post_json("/api/payments/verify", &unknown, Some(&owner))
            .await,
        StatusCode::NOT_FOUND,
        "PAYMENT_NOT_FOUND",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/payments/verify",
            &serde_json::json!({"payment_id": payment_id}),
            Some(&owner),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    )
    .await;
}
