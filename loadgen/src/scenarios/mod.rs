//! The personas: one goose scenario each, usable alone or weighted together.
//!
//! | persona   | what a user does                                                     |
//! |-----------|----------------------------------------------------------------------|
//! | browse    | GET /api/events, GET /api/events/:id, GET the seat map               |
//! | signup    | POST /api/users/register, POST /api/users/login, GET /api/users/me   |
//! | book      | choose seats (--strategy), book, poll until the saga ends            |
//! | hot-seat  | book among the first --hot-seats seats, which everyone wants         |
//! | cancel    | book, and cancel once CONFIRMED                                      |
//! | visit     | signed in as its own account: events, an event, its profile, a       |
//! |           | booking to its end, thinking --think between steps                   |
//! | health    | GET /health only: measures the generator itself (needs no data)      |
//!
//! With `--rate`, the booking personas (book, hot-seat, cancel) run as open-model arrivals, one
//! persona drawn by weight per arrival; with `--users`, every persona also runs as closed-model
//! goose users that loop until the load window ends.

mod browse;
mod signup;
mod visit;

use goose::prelude::*;
use rand::{Rng, SeedableRng};

use crate::context::Ctx;
use crate::persona::Persona;

/// One iteration of the persona as a closed-model user.
///
/// Each persona's iteration is boxed: a user's session future is allocated once and lives for
/// the whole run, and unboxed it would be as large as the largest persona's iteration (a booking
/// followed to its end) for every user, thinking or not. Boxed, a user pays for the iteration it
/// runs, while it runs.
///
/// # Errors
/// Only goose's own.
pub async fn iterate(persona: Persona, user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    match persona {
        Persona::Browse => Box::pin(browse::iterate(user, ctx)).await,
        Persona::Signup => Box::pin(signup::iterate(user, ctx)).await,
        Persona::Visit => Box::pin(visit::iterate(user, ctx)).await,
        Persona::Health => {
            let call = crate::common::Call::get("/health", "/health", ctx.ops.request_timeout);
            Box::pin(crate::common::send(user, ctx, call)).await?;
            Ok(())
        }
        booking => {
            let who = ctx.next_user();
            Box::pin(crate::flow::book_now(user, ctx, who, booking)).await
        }
    }
}

/// A closed-model session: loop the persona until the load window closes, thinking `--think`
/// after each iteration.
///
/// # Errors
/// Only goose's own.
pub async fn closed_session(
    user: &mut GooseUser,
    ctx: &Ctx,
    persona: Persona,
) -> TransactionResult {
    ctx.arrive().await;
    let think = ctx.ops.think;
    if !think.is_zero() {
        // People do not all click at the same instant: each user starts at its own point of its
        // first iteration's think times, so N users are spread over the whole cycle from the
        // start instead of acting at once (which would need N connections at once, too). Spread
        // over one think only, 10,000 visit users all booked within the same 30 s: a burst of
        // 330 bookings/s no steady state of the same users ever makes.
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            ctx.ops.seed ^ (user.weighted_users_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let cycle = think * persona.thinks_per_iteration();
        ctx.gate.pause(cycle.mul_f64(rng.gen::<f64>())).await;
    }
    while !ctx.gate.is_closed() {
        iterate(persona, user, ctx).await?;
        if !think.is_zero() {
            ctx.gate.pause(think).await;
        }
    }
    Ok(())
}
