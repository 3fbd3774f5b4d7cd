//! signup: a new user registers, logs in and reads its profile: argon2 on the user service.

use std::sync::atomic::Ordering;

use goose::prelude::*;
use serde_json::json;

use crate::common::{send, Call, Reply};
use crate::context::Ctx;

pub async fn iterate(user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    let t = ctx.ops.request_timeout;
    let n = ctx.signups.fetch_add(1, Ordering::Relaxed);
    let email = format!("loadgen-{}-{n}@stampede.test", ctx.run_id);
    let password = "loadgen-password";
    let body = json!({"name": format!("Loadgen {n}"), "email": email, "password": password});
    send(
        user,
        ctx,
        Call {
            method: GooseMethod::Post,
            body: Some(&body),
            ok: &[201],
            ..Call::get("/api/users/register", "/api/users/register", t)
        },
    )
    .await?;
    let body = json!({"email": email, "password": password});
    let login = send(
        user,
        ctx,
        Call {
            method: GooseMethod::Post,
            body: Some(&body),
            ok: &[200],
            ..Call::get("/api/users/login", "/api/users/login", t)
        },
    )
    .await?;
    if let Reply::Http {
        status: 200, body, ..
    } = login
    {
        if let Some(token) = body["token"].as_str() {
            send(
                user,
                ctx,
                Call {
                    token: Some(token),
                    ..Call::get("/api/users/me", "/api/users/me", t)
                },
            )
            .await?;
        }
    }
    Ok(())
}
