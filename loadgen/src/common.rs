//! Requests of the TicketFlow contract made through goose (so each lands in goose's metrics under
//! a route name such as `GET /api/bookings/:id`), and the checks of their answers.

use std::time::Duration;

use goose::prelude::*;
use serde_json::Value;

use crate::context::{Ctx, PoolUser};

/// What a request came back with, reduced to what the flows decide on.
#[derive(Debug)]
pub enum Reply {
    /// An HTTP answer: status, the JSON body (Null when it was not JSON), and whether the
    /// request counts as failed (a status outside the call's `ok`, or no JSON).
    Http {
        status: u16,
        body: Value,
        failed: bool,
        long_poll: LongPoll,
    },
    /// No HTTP answer: timeout, refused connection, reset.
    Transport(String),
}

/// Whether the target said it holds status requests until something changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongPoll {
    /// It did, up to this long (header `x-long-poll-max-ms`).
    Offered(Duration),
    /// It did not: poll on the grid.
    NotOffered,
}

impl LongPoll {
    /// Reads the `x-long-poll-max-ms` header.
    pub fn of(headers: &reqwest::header::HeaderMap) -> Self {
        headers
            .get("x-long-poll-max-ms")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(Self::NotOffered, |ms| {
                Self::Offered(Duration::from_millis(ms))
            })
    }
}

impl Reply {
    pub fn status(&self) -> Option<u16> {
        match self {
            Reply::Http { status, .. } => Some(*status),
            Reply::Transport(_) => None,
        }
    }

    /// The error code of the envelope `{"error":{"code"}}`, or a short description.
    pub fn error_text(&self) -> String {
        match self {
            Reply::Http { status, body, .. } => {
                let code = body["error"]["code"]
                    .as_str()
                    .or_else(|| body["error"].as_str())
                    .or_else(|| body["message"].as_str());
                match code {
                    Some(code) => format!("{status} {code}"),
                    None => format!("HTTP {status}"),
                }
            }
            Reply::Transport(e) => e.clone(),
        }
    }
}

/// A request to send: method, path, route name, bearer token, JSON body, extra header.
pub struct Call<'a> {
    pub method: GooseMethod,
    pub path: &'a str,
    pub name: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<&'a Value>,
    pub header: Option<(&'a str, &'a str)>,
    pub timeout: Duration,
    /// Statuses that are a success for goose's metrics (others are recorded as failures).
    pub ok: &'a [u16],
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str, name: &'a str, timeout: Duration) -> Self {
        Self {
            method: GooseMethod::Get,
            path,
            name,
            token: None,
            body: None,
            header: None,
            timeout,
            ok: &[200],
        }
    }

    /// A POST of a JSON body, a success when it answers one of `ok`.
    pub fn post(
        path: &'a str,
        name: &'a str,
        timeout: Duration,
        body: &'a Value,
        ok: &'a [u16],
    ) -> Self {
        Self {
            method: GooseMethod::Post,
            body: Some(body),
            ok,
            ..Self::get(path, name, timeout)
        }
    }
}

/// The route's name in the per-second timeline: `POST /api/bookings`, `GET /api/bookings/:id`.
fn route_key(method: &GooseMethod, name: &str) -> String {
    let method = match method {
        GooseMethod::Get => "GET",
        GooseMethod::Post => "POST",
        GooseMethod::Put => "PUT",
        GooseMethod::Patch => "PATCH",
        GooseMethod::Delete => "DELETE",
        GooseMethod::Head => "HEAD",
        GooseMethod::Custom => "CUSTOM",
    };
    format!("{method} {name}")
}

/// Sends `call` through the goose user; marks the request failed in goose's metrics when its
/// status is not in `call.ok` or the body is not JSON, and records it in the run's per-second,
/// per-route latency timeline (`ctx.stats`), which goose does not keep.
///
/// # Errors
/// Only goose's own (throttle shut down); HTTP and transport failures are a [`Reply`].
pub async fn send(
    user: &mut GooseUser,
    ctx: &Ctx,
    call: Call<'_>,
) -> Result<Reply, Box<TransactionError>> {
    let route = route_key(&call.method, call.name);
    let began = std::time::Instant::now();
    let forwarded_for = ctx
        .target
        .forwards_per_user()
        .then(|| crate::target_kind::simulated_address(user.weighted_users_index));
    let result = send_unrecorded(user, call, forwarded_for.as_deref()).await;
    let failed = match &result {
        Ok(Reply::Http { failed, .. }) => *failed,
        _ => true,
    };
    ctx.stats
        .record_request(ctx.since_start(), &route, began.elapsed(), failed);
    result
}

async fn send_unrecorded(
    user: &mut GooseUser,
    call: Call<'_>,
    forwarded_for: Option<&str>,
) -> Result<Reply, Box<TransactionError>> {
    let mut builder = user
        .get_request_builder(&call.method, call.path)?
        .timeout(call.timeout);
    if let Some(token) = call.token {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = call.body {
        builder = builder.json(body);
    }
    if let Some((name, value)) = call.header {
        builder = builder.header(name, value);
    }
    if let Some(address) = forwarded_for {
        builder = builder.header("x-forwarded-for", address);
    }
    let mut request = GooseRequest::builder()
        .method(call.method)
        .path(call.path)
        .name(call.name);
    if let Some(first) = call.ok.first() {
        request = request.expect_status_code(*first);
    }
    let request = request.set_request_builder(builder).build();
    let mut goose = user.request(request).await?;
    match goose.response {
        Err(e) => Ok(Reply::Transport(describe(&e))),
        Ok(response) => {
            let status = response.status().as_u16();
            let long_poll = LongPoll::of(response.headers());
            let text = response.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let failed = !call.ok.contains(&status) || body.is_null();
            if call.ok.contains(&status) {
                if body.is_null() {
                    user.set_failure(
                        "response is not JSON",
                        &mut goose.request,
                        None,
                        Some(&text),
                    )?;
                }
            } else if goose.request.success {
                user.set_failure(
                    &format!("unexpected status {status}"),
                    &mut goose.request,
                    None,
                    Some(&text),
                )?;
            }
            Ok(Reply::Http {
                status,
                body,
                failed,
                long_poll,
            })
        }
    }
}

fn describe(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("timed out") || lower.contains("timeout") {
        "timeout".into()
    } else if lower.contains("connect") {
        format!("connection error: {text}")
    } else {
        text
    }
}

/// Logs `user` in again (its token was refused) and stores the new token.
///
/// # Errors
/// Only goose's own.
pub async fn relogin(
    user: &mut GooseUser,
    ctx: &Ctx,
    who: &PoolUser,
    timeout: Duration,
) -> Result<bool, Box<TransactionError>> {
    match login(user, ctx, &who.email, &who.password, timeout).await? {
        Some(token) => {
            *who.token.write().unwrap_or_else(|e| e.into_inner()) = token;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `POST /api/users/login`: the token, or `None` when the service does not give one.
pub async fn login(
    user: &mut GooseUser,
    ctx: &Ctx,
    email: &str,
    password: &str,
    timeout: Duration,
) -> Result<Option<String>, Box<TransactionError>> {
    let body = serde_json::json!({"email": email, "password": password});
    let path = "/api/users/login";
    let reply = send(user, ctx, Call::post(path, path, timeout, &body, &[200])).await?;
    Ok(match reply {
        Reply::Http {
            status: 200, body, ..
        } => body["token"].as_str().map(str::to_string),
        _ => None,
    })
}

/// The booking object of a response: the contract answers it bare; some deployments wrap it
/// as `{"booking": {...}}`.
pub fn booking_of(body: &Value) -> &Value {
    if body["booking"].is_object() {
        &body["booking"]
    } else {
        body
    }
}
