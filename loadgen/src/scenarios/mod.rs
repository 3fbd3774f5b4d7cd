//! The personas: one goose scenario each, usable alone or weighted together.
//!
//! | persona   | what a user does                                                     |
//! |-----------|----------------------------------------------------------------------|
//! | browse    | GET /api/events, GET /api/events/:id, GET the seat map               |
//! | signup    | POST /api/users/register, POST /api/users/login, GET /api/users/me   |
//! | book      | choose seats (--strategy), book, poll until the saga ends            |
//! | hot-seat  | book among the first --hot-seats seats, which everyone wants         |
//! | cancel    | book, and cancel once CONFIRMED                                      |
//! | health    | GET /health only: measures the generator itself (needs no data)      |
//!
//! With `--rate`, the booking personas (book, hot-seat, cancel) run as open-model arrivals, one
//! persona drawn by weight per arrival; with `--users`, every persona also runs as closed-model
//! goose users that loop until the load window ends.

mod browse;
mod signup;

use std::time::Instant;

use goose::prelude::*;

use crate::context::Ctx;
use crate::persona::Persona;

/// One iteration of the persona as a closed-model user.
///
/// # Errors
/// Only goose's own.
pub async fn iterate(persona: Persona, user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    match persona {
        Persona::Browse => browse::iterate(user, ctx).await,
        Persona::Signup => signup::iterate(user, ctx).await,
        Persona::Health => {
            crate::common::send(
                user,
                ctx,
                crate::common::Call::get("/health", "/health", ctx.ops.request_timeout),
            )
            .await?;
            Ok(())
        }
        booking => {
            let process = ctx.next_process();
            crate::flow::book(user, ctx, process, Instant::now(), false, booking).await
        }
    }
}

/// A closed-model session: loop the persona until the load window closes.
///
/// # Errors
/// Only goose's own.
pub async fn closed_session(
    user: &mut GooseUser,
    ctx: &Ctx,
    persona: Persona,
) -> TransactionResult {
    ctx.arrive().await;
    while !ctx.gate.is_closed() {
        iterate(persona, user, ctx).await?;
        if !ctx.ops.think.is_zero() {
            tokio::time::sleep(ctx.ops.think).await;
        }
    }
    Ok(())
}
