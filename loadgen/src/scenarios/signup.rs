//! signup: a new user registers, logs in and reads its profile: argon2 on the user service.

use std::sync::atomic::Ordering;

use goose::prelude::*;
use serde_json::json;

use crate::common::{login, send, Call};
use crate::context::Ctx;

pub async fn iterate(user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    let t = ctx.ops.request_timeout;
    let n = ctx.signups.fetch_add(1, Ordering::Relaxed);
    let email = format!("loadgen-{}-{n}@stampede.test", ctx.run_id);
    let password = "loadgen-password";
    let body = json!({"name": format!("Loadgen {n}"), "email": email, "password": password});
    let register = "/api/users/register";
    send(user, ctx, Call::post(register, register, t, &body, &[201])).await?;
    if let Some(token) = login(user, ctx, &email, password, t).await? {
        let me = Call {
            token: Some(&token),
            ..Call::get("/api/users/me", "/api/users/me", t)
        };
        send(user, ctx, me).await?;
    }
    Ok(())
}
