//! TicketFlow's wire contract (`../shared/TICKETFLOW-CONTRACT.md`, section 3), row by row, against
//! the in-process stack through the gateway: each endpoint's success and error statuses, the
//! response's shape (wrapping, field names, field types, enum values) and the error code.
//!
//! Where Stampede differs on purpose (README, "API notes") the row asserts Stampede's documented
//! answer and says so: a verified token where TicketFlow trusts headers, the error envelope where
//! FastAPI answers `{"detail": ...}`, 400 where FastAPI answers 422, EXPIRED/REFUNDED/VOIDED
//! beside TicketFlow's statuses, RFC 3339 times where TicketFlow's Java writes naive ones.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

/// What one field of a response must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    Uuid,
    Int,
    Num,
    Arr,
    Obj,
    Null,
    /// ISO-8601 without an offset (`2025-06-15T20:00:00`).
    NaiveIso,
    /// ISO-8601 with or without an offset (TicketFlow writes naive times, Stampede RFC 3339).
    Time,
    /// One of these strings.
    OneOf(&'static [&'static str]),
}

impl Kind {
    fn admits(self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Self::Str => value.is_string(),
            Self::Uuid => text.is_some_and(|t| Uuid::parse_str(t).is_ok()),
            Self::Int => value.is_i64() || value.is_u64(),
            Self::Num => value.is_number(),
            Self::Arr => value.is_array(),
            Self::Obj => value.is_object(),
            Self::Null => value.is_null(),
            Self::NaiveIso => text.is_some_and(|t| {
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            }),
            Self::Time => text.is_some_and(|t| kit::kafka::lenient_time::parse(t).is_some()),
            Self::OneOf(allowed) => text.is_some_and(|t| allowed.contains(&t)),
        }
    }
}

use Kind::*;

/// A response's required fields and what each may be.
type Shape = &'static [(&'static str, &'static [Kind])];

const USER: Shape = &[
    ("id", &[Uuid]),
    ("name", &[Str]),
    ("email", &[Str]),
    ("role", &[OneOf(&["USER", "ADMIN"])]),
];
const AUTH: Shape = &[("token", &[Str]), ("user", &[Obj])];
const VENUE: Shape = &[
    ("id", &[Uuid]),
    ("name", &[Str]),
    ("address", &[Str]),
    ("city", &[Str]),
    ("country", &[Str]),
    ("capacity", &[Int]),
];
const EVENT: Shape = &[
    ("id", &[Uuid]),
    ("name", &[Str]),
    ("description", &[Str]),
    ("venue_id", &[Uuid]),
    ("venue", &[Obj, Null]),
    ("date", &[NaiveIso]),
    ("price", &[Num]),
    ("total_seats", &[Int]),
    ("available_seats", &[Int]),
    ("image_url", &[Str, Null]),
    ("tags", &[Arr]),
    ("created_at", &[Time]),
];
const EVENT_LIST: Shape = &[
    ("events", &[Arr]),
    ("total", &[Int]),
    ("page", &[Int]),
    ("limit", &[Int]),
];
const SEAT: Shape = &[
    ("id", &[Uuid]),
    ("eventId", &[Uuid]),
    ("seatNumber", &[Str]),
    ("row", &[Str]),
    ("section", &[Str]),
    ("status", &[OneOf(&["AVAILABLE", "LOCKED", "RESERVED"])]),
    ("bookingId", &[Str, Null]),
    ("createdAt", &[Time]),
    ("updatedAt", &[Time]),
];
const BOOKING: Shape = &[
    ("id", &[Uuid]),
    ("userId", &[Uuid]),
    ("eventId", &[Uuid]),
    ("eventName", &[Str]),
    // EXPIRED is Stampede's (a booking whose saga outlived its timeout).
    (
        "status",
        &[OneOf(&[
            "PENDING",
            "CONFIRMED",
            "FAILED",
            "CANCELLED",
            "EXPIRED",
        ])],
    ),
    ("totalAmount", &[Num]),
    ("seatIds", &[Arr]),
    ("createdAt", &[Time]),
];
const PAYMENT: Shape = &[
    ("id", &[Uuid]),
    ("bookingId", &[Uuid]),
    ("userId", &[Uuid]),
    ("amount", &[Num]),
    ("currency", &[OneOf(&["INR"])]),
    // REFUNDED and VOIDED are Stampede's (a capture given back, a booking closed before any).
    (
        "status",
        &[OneOf(&[
            "PENDING", "SUCCESS", "FAILED", "REFUNDED", "VOIDED",
        ])],
    ),
    ("reason", &[Str, Null]),
    ("providerRef", &[Str, Null]),
    ("createdAt", &[Time]),
    ("updatedAt", &[Time]),
];
const ORDER: Shape = &[
    ("payment_id", &[Uuid]),
    ("order_id", &[Str]),
    ("amount", &[Int]),
    ("currency", &[OneOf(&["INR"])]),
    ("razorpay_key_id", &[Str]),
];
const VERIFIED: Shape = &[
    ("id", &[Uuid]),
    (
        "status",
        &[OneOf(&[
            "PENDING", "SUCCESS", "FAILED", "REFUNDED", "VOIDED",
        ])],
    ),
    ("providerRef", &[Str, Null]),
    ("updatedAt", &[Time]),
];
const NOTIFICATION: Shape = &[
    ("id", &[Uuid]),
    // BOOKING_EXPIRED and BOOKING_CANCELLED are Stampede's.
    (
        "type",
        &[OneOf(&[
            "WELCOME",
            "BOOKING_CONFIRMED",
            "BOOKING_FAILED",
            "BOOKING_EXPIRED",
            "BOOKING_CANCELLED",
        ])],
    ),
    ("recipientEmail", &[Str, Null]),
    ("subject", &[Str]),
    ("status", &[Str]),
    ("error", &[Str, Null]),
    ("metadata", &[Obj]),
    ("createdAt", &[Time]),
];

/// Panics naming the row, the field and the value when `value` does not have `shape`.
fn assert_shape(row: &str, value: &Value, shape: Shape) {
    assert!(value.is_object(), "{row}: not an object: {value}");
    for (field, kinds) in shape {
        let got = value.get(*field).unwrap_or(&Value::Null);
        let present = value.get(*field).is_some();
        assert!(
            present && kinds.iter().any(|k| k.admits(got)),
            "{row}: field `{field}` should be {kinds:?}, is {got} in {value}"
        );
    }
}

/// [`assert_shape`] for every element of a bare array (and that it is one).
fn assert_array_of(row: &str, value: &Value, shape: Shape) -> usize {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("{row}: not a bare array: {value}"));
    for item in items {
        assert_shape(row, item, shape);
    }
    items.len()
}

/// One call of a row: its status and JSON body.
async fn call(
    stack: &SagaStack,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = stack.request(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A row that must succeed with `status`; its body.
async fn ok(
    stack: &SagaStack,
    row: &str,
    (method, path): (Method, &str),
    token: Option<&str>,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let (got, answer) = call(stack, method, path, token, body).await;
    assert_eq!(got, status, "{row}: {answer}");
    answer
}

/// A row that must fail with `status` and the error envelope with `code` (and `message`, when
/// the contract fixes it).
async fn refused(
    stack: &SagaStack,
    row: &str,
    (method, path): (Method, &str),
    token: Option<&str>,
    body: Option<Value>,
    (status, code, message): (StatusCode, &str, Option<&str>),
) {
    let (got, answer) = call(stack, method, path, token, body).await;
    assert_eq!(got, status, "{row}: {answer}");
    assert_eq!(answer["error"]["code"], code, "{row}: {answer}");
    assert!(answer["error"]["message"].is_string(), "{row}: {answer}");
    if let Some(message) = message {
        assert_eq!(answer["error"]["message"], message, "{row}: {answer}");
    }
}

/// user-service, event-service (events and venues) and inventory-service rows.
#[tokio::test]
async fn the_catalogue_and_account_rows_of_the_contract() {
    let stack = SagaStack::start(StackOptions::default()).await;
    let email = format!("contract-{}@ticketflow.dev", Uuid::new_v4().simple());

    // POST /api/users/register: 201 {token, user}; 400 VALIDATION_ERROR; 409 CONFLICT.
    let register = (Method::POST, "/api/users/register");
    let body = json!({"name": "Contract", "email": email, "password": "Contract1!"});
    let created = ok(
        &stack,
        "register",
        register.clone(),
        None,
        Some(body.clone()),
        StatusCode::CREATED,
    )
    .await;
    assert_shape("register", &created, AUTH);
    assert_shape("register .user", &created["user"], USER);
    assert_eq!(created["user"]["role"], "USER");
    refused(
        &stack,
        "register, bad email",
        register.clone(),
        None,
        Some(json!({"name": "X", "email": "not-an-email", "password": "Contract1!"})),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR", None),
    )
    .await;
    let taken = format!("Email already registered: {email}");
    refused(
        &stack,
        "register, taken",
        register,
        None,
        Some(body),
        (StatusCode::CONFLICT, "CONFLICT", Some(&taken)),
    )
    .await;

    // POST /api/users/login: 200 {token, user}; 401 UNAUTHORIZED "Invalid credentials". An
    // unknown email is the same 401 in Stampede (TicketFlow: 404, which tells who has an account).
    let login = (Method::POST, "/api/users/login");
    let signed_in = ok(
        &stack,
        "login",
        login.clone(),
        None,
        Some(json!({"email": email, "password": "Contract1!"})),
        StatusCode::OK,
    )
    .await;
    assert_shape("login", &signed_in, AUTH);
    assert_shape("login .user", &signed_in["user"], USER);
    for (row, who) in [
        ("login, wrong password", email.as_str()),
        ("login, unknown email", "nobody@ticketflow.dev"),
    ] {
        refused(
            &stack,
            row,
            login.clone(),
            None,
            Some(json!({"email": who, "password": "Wrong123!"})),
            (
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                Some("Invalid credentials"),
            ),
        )
        .await;
    }
    let token = signed_in["token"].as_str().unwrap().to_string();
    let user = Some(token.as_str());

    // GET /api/users/me: 200 {user}; without a user a 401 (TicketFlow: 500).
    let me = ok(
        &stack,
        "me",
        (Method::GET, "/api/users/me"),
        user,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("me .user", &me["user"], USER);
    refused(
        &stack,
        "me, nobody",
        (Method::GET, "/api/users/me"),
        None,
        None,
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", None),
    )
    .await;

    // POST /api/venues (ADMIN): 201 Venue; 403. GET /api/venues/{id}: 200 Venue; 404.
    let admin = stack.admin_token().await;
    let admin = Some(admin.as_str());
    let venue_body = json!({"name": "Contract Hall", "address": "1 Main St", "city": "Pune",
                            "country": "India", "capacity": 500});
    let venue = ok(
        &stack,
        "POST venue",
        (Method::POST, "/api/venues"),
        admin,
        Some(venue_body.clone()),
        StatusCode::CREATED,
    )
    .await;
    assert_shape("POST venue", &venue, VENUE);
    refused(
        &stack,
        "POST venue, not admin",
        (Method::POST, "/api/venues"),
        user,
        Some(venue_body),
        (StatusCode::FORBIDDEN, "FORBIDDEN", None),
    )
    .await;
    let venue_id = venue["id"].as_str().unwrap().to_string();
    let shown = ok(
        &stack,
        "GET venue",
        (Method::GET, &format!("/api/venues/{venue_id}")),
        None,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("GET venue", &shown, VENUE);
    refused(
        &stack,
        "GET venue, unknown",
        (Method::GET, &format!("/api/venues/{}", Uuid::new_v4())),
        None,
        None,
        (StatusCode::NOT_FOUND, "VENUE_NOT_FOUND", None),
    )
    .await;

    // POST /api/events (ADMIN): 201 Event with TicketFlow's body; 403; a bad field is a 400
    // VALIDATION_ERROR (FastAPI: 422).
    let event_body = json!({"name": "Contract Night", "description": "rows of the contract",
        "venue_id": venue_id, "date": "2027-06-15T20:00:00", "price": 75.0, "total_seats": 120,
        "image_url": "/src/assets/contract.jpg", "tags": ["contract", "music"]});
    let event = ok(
        &stack,
        "POST event",
        (Method::POST, "/api/events"),
        admin,
        Some(event_body.clone()),
        StatusCode::CREATED,
    )
    .await;
    assert_shape("POST event", &event, EVENT);
    assert_shape("POST event .venue", &event["venue"], VENUE);
    assert_eq!(event["date"], "2027-06-15T20:00:00", "{event}");
    assert_eq!(event["price"], 75.0);
    assert_eq!(event["available_seats"], 120);
    refused(
        &stack,
        "POST event, not admin",
        (Method::POST, "/api/events"),
        user,
        Some(event_body),
        (StatusCode::FORBIDDEN, "FORBIDDEN", None),
    )
    .await;
    refused(
        &stack,
        "POST event, bad field",
        (Method::POST, "/api/events"),
        admin,
        Some(json!({"name": "X", "venue_id": venue_id, "date": "not a date", "price": 1.0})),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR", None),
    )
    .await;
    let event_id = event["id"].as_str().unwrap().to_string();
    let event_path = format!("/api/events/{event_id}");

    // GET /api/events: {events, total, page, limit}, 10 a page by default; GET and PUT
    // /api/events/{id}: the bare Event; 404 EVENT_NOT_FOUND.
    let list = ok(
        &stack,
        "GET events",
        (Method::GET, "/api/events"),
        None,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("GET events", &list, EVENT_LIST);
    assert_eq!(list["limit"], 10, "TicketFlow's default page: {list}");
    assert_array_of("GET events .events", &list["events"], EVENT);
    let found = ok(
        &stack,
        "GET events?search=<tag>",
        (Method::GET, "/api/events?search=contract"),
        None,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        found["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == event_id.as_str()),
        "{found}"
    );
    let shown = ok(
        &stack,
        "GET event",
        (Method::GET, &event_path),
        None,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("GET event", &shown, EVENT);
    let updated = ok(
        &stack,
        "PUT event",
        (Method::PUT, &event_path),
        admin,
        Some(json!({"description": "updated", "available_seats": 100})),
        StatusCode::OK,
    )
    .await;
    assert_shape("PUT event", &updated, EVENT);
    assert_eq!(updated["available_seats"], 100);
    refused(
        &stack,
        "PUT event, not admin",
        (Method::PUT, &event_path),
        user,
        Some(json!({"name": "x"})),
        (StatusCode::FORBIDDEN, "FORBIDDEN", None),
    )
    .await;
    let unknown_event = format!("/api/events/{}", Uuid::new_v4());
    refused(
        &stack,
        "GET event, unknown",
        (Method::GET, &unknown_event),
        None,
        None,
        (StatusCode::NOT_FOUND, "EVENT_NOT_FOUND", None),
    )
    .await;
    refused(
        &stack,
        "PUT event, unknown",
        (Method::PUT, &unknown_event),
        admin,
        Some(json!({"name": "x"})),
        (StatusCode::NOT_FOUND, "EVENT_NOT_FOUND", None),
    )
    .await;

    // GET /api/inventory/events/{eventId}/seats: {seats: [Seat], total}; an unknown event
    // {seats: [], total: 0}. Stampede's map holds every seat asked for (TicketFlow's cuts a
    // 120-seat event at 116; Stampede repeats its pattern as `VIP 2`, ...: README, API notes).
    let seats_path = format!("/api/inventory/events/{event_id}/seats");
    let mut seats = Value::Null;
    for _ in 0..100 {
        seats = ok(
            &stack,
            "GET seats",
            (Method::GET, &seats_path),
            None,
            None,
            StatusCode::OK,
        )
        .await;
        if seats["total"] == 120 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seats["total"], 120, "{seats}");
    assert_eq!(
        assert_array_of("GET seats .seats", &seats["seats"], SEAT),
        120
    );
    assert!(seats["seats"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["seatNumber"].as_str().unwrap().parse::<u32>().is_ok()));
    let none = ok(
        &stack,
        "GET seats, unknown event",
        (
            Method::GET,
            &format!("/api/inventory/events/{}/seats", Uuid::new_v4()),
        ),
        None,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none, json!({"seats": [], "total": 0}));
}

/// booking-service, payment-service and notification-service rows.
#[tokio::test]
async fn the_booking_payment_and_notification_rows_of_the_contract() {
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let (owner_id, owner_token) = stack.register("contract-owner").await;
    let (_, other) = stack.register("contract-other").await;
    let owner = Some(owner_token.as_str());
    let other = Some(other.as_str());
    let event_name = stack.get_json(&format!("/api/events/{event}"), None).await["name"]
        .as_str()
        .unwrap()
        .to_string();

    // POST /api/bookings: exactly 202 and the Booking, PENDING, with TicketFlow's four-field
    // body and demo.sh's two-field one; 400 VALIDATION_ERROR.
    let book = (Method::POST, "/api/bookings");
    let booking = ok(&stack, "POST booking", book.clone(), owner,
        Some(json!({"eventId": event, "eventName": event_name, "seatIds": [seats[0]], "totalAmount": 150.0})),
        StatusCode::ACCEPTED).await;
    assert_shape("POST booking", &booking, BOOKING);
    assert_eq!(booking["status"], "PENDING");
    let second = ok(
        &stack,
        "POST booking, two fields",
        book.clone(),
        owner,
        Some(json!({"eventId": event, "seatIds": [seats[1]]})),
        StatusCode::ACCEPTED,
    )
    .await;
    assert_shape("POST booking, two fields", &second, BOOKING);
    refused(
        &stack,
        "POST booking, no seats",
        book,
        owner,
        Some(json!({"eventId": event, "seatIds": []})),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR", None),
    )
    .await;
    let booking_id = booking["id"].as_str().unwrap().to_string();
    let booking_path = format!("/api/bookings/{booking_id}");

    // GET /api/bookings/{id}: the Booking; 404 NOT_FOUND; 403 FORBIDDEN for another user.
    let done = stack
        .wait_terminal(
            &owner_token,
            booking_id.parse().unwrap(),
            std::time::Duration::from_secs(30),
        )
        .await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    let shown = ok(
        &stack,
        "GET booking",
        (Method::GET, &booking_path),
        owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("GET booking", &shown, BOOKING);
    refused(
        &stack,
        "GET booking, unknown",
        (Method::GET, &format!("/api/bookings/{}", Uuid::new_v4())),
        owner,
        None,
        (StatusCode::NOT_FOUND, "NOT_FOUND", None),
    )
    .await;
    refused(
        &stack,
        "GET booking, another user's",
        (Method::GET, &booking_path),
        other,
        None,
        (StatusCode::FORBIDDEN, "FORBIDDEN", None),
    )
    .await;

    // GET /api/bookings/my: a bare array of Booking.
    let mine = ok(
        &stack,
        "GET my",
        (Method::GET, "/api/bookings/my"),
        owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(assert_array_of("GET my", &mine, BOOKING), 2);

    // The payment: create-order, verify, GET by id and by booking; 404 PAYMENT_NOT_FOUND.
    let order = ok(&stack, "create-order", (Method::POST, "/api/payments/create-order"), owner,
        Some(json!({"booking_id": booking_id, "user_id": owner_id, "amount": 150.0, "currency": "INR"})),
        StatusCode::OK).await;
    assert_shape("create-order", &order, ORDER);
    let verified = ok(
        &stack,
        "verify",
        (Method::POST, "/api/payments/verify"),
        owner,
        Some(
            json!({"payment_id": order["payment_id"], "razorpay_order_id": order["order_id"],
                    "razorpay_payment_id": "pay_contract", "signature": "0"}),
        ),
        StatusCode::OK,
    )
    .await;
    assert_shape("verify", &verified, VERIFIED);
    assert_eq!(verified["status"], "SUCCESS");
    let payment_id = order["payment_id"].as_str().unwrap();
    for (row, path) in [
        ("GET payment", format!("/api/payments/{payment_id}")),
        (
            "GET payment by booking",
            format!("/api/payments/booking/{booking_id}"),
        ),
    ] {
        let payment = ok(
            &stack,
            row,
            (Method::GET, &path),
            owner,
            None,
            StatusCode::OK,
        )
        .await;
        assert_shape(row, &payment, PAYMENT);
        assert_eq!(payment["status"], "SUCCESS", "{row}: {payment}");
    }
    refused(
        &stack,
        "GET payment, unknown",
        (Method::GET, &format!("/api/payments/{}", Uuid::new_v4())),
        owner,
        None,
        (StatusCode::NOT_FOUND, "PAYMENT_NOT_FOUND", None),
    )
    .await;
    refused(&stack, "verify, unknown", (Method::POST, "/api/payments/verify"), owner,
        Some(json!({"payment_id": Uuid::new_v4(), "razorpay_order_id": "o", "razorpay_payment_id": "p", "signature": "s"})),
        (StatusCode::NOT_FOUND, "PAYMENT_NOT_FOUND", None)).await;

    // POST /api/bookings/{id}/cancel: 200 Booking CANCELLED; again 400 BAD_REQUEST.
    let cancel = format!("{booking_path}/cancel");
    let cancelled = ok(
        &stack,
        "cancel",
        (Method::POST, &cancel),
        owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_shape("cancel", &cancelled, BOOKING);
    assert_eq!(cancelled["status"], "CANCELLED");
    refused(
        &stack,
        "cancel, another user's",
        (
            Method::POST,
            &format!("/api/bookings/{}/cancel", second["id"].as_str().unwrap()),
        ),
        other,
        None,
        (StatusCode::FORBIDDEN, "FORBIDDEN", None),
    )
    .await;
    refused(
        &stack,
        "cancel, closed",
        (Method::POST, &cancel),
        owner,
        None,
        (
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            Some("Cannot cancel booking in status: CANCELLED"),
        ),
    )
    .await;

    // GET /api/notifications/recent: a bare array of TicketFlow's notifications (the caller's:
    // Stampede needs a user; TicketFlow lists everyone's).
    stack
        .wait_notifications(booking_id.parse().unwrap(), &["CANCELLED", "CONFIRMED"])
        .await;
    let recent = ok(
        &stack,
        "recent",
        (Method::GET, "/api/notifications/recent"),
        owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        assert_array_of("recent", &recent, NOTIFICATION) >= 2,
        "{recent}"
    );
    assert!(
        recent
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "BOOKING_CONFIRMED"),
        "{recent}"
    );
}
