//! One booking operation, end to end: choose seats, POST /api/bookings, poll the booking until
//! the saga ends, optionally cancel, and record it all (history, stats, goose custom metrics).
//!
//! ```text
//!  due ──(queue)── start ── POST /api/bookings ──202── GET /api/bookings/:id … ── terminal
//!   │                                                                               │
//!   └────────────────────────── time-to-confirm (per outcome) ──────────────────────┘
//! ```

use std::time::{Duration, Instant};

use goose::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::common::{booking_of, relogin, send, Call, LongPoll, Reply};
use crate::context::{Ctx, PoolUser};
use crate::history::{OpFn, OpType, OpValue};
use crate::open_model::OpenModel;
use crate::persona::Persona;
use crate::seats::Strategy;
use crate::stats::Outcome;
use runfiles::final_state::BookingStatus;

/// An open-model worker's session: take arrivals until the queue closes, and run each as the
/// booking operation of a persona drawn by weight.
///
/// # Errors
/// Only goose's own (the run is shutting down).
pub async fn run_arrivals(open: &OpenModel, user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(ctx.ops.seed ^ user.weighted_users_index as u64);
    let dropped = || ctx.stats.record_drop(ctx.since_start());
    while let Some(arrival) = open.next_arrival(|| ctx.since_start(), dropped).await {
        let persona = Persona::pick(&ctx.open_personas, &mut rng);
        let ticket = arrival.ticket;
        let who = ctx.next_user();
        book(
            user,
            ctx,
            who,
            ticket.seq,
            ticket.due,
            arrival.late,
            persona,
        )
        .await?;
    }
    Ok(())
}

/// A closed-model user's booking: due now, never late, the next process number.
///
/// # Errors
/// Only goose's own (the run is shutting down).
pub async fn book_now(
    user: &mut GooseUser,
    ctx: &Ctx,
    who: &PoolUser,
    persona: Persona,
) -> TransactionResult {
    let process = ctx.next_process();
    book(user, ctx, who, process, Instant::now(), false, persona).await
}

/// Runs one booking operation of `persona` as the pool user `who`. `due` is when the schedule
/// wanted it to start; `late` says it started later than the open model tolerates (counted, not
/// hidden).
///
/// # Errors
/// Only goose's own (the run is shutting down).
pub async fn book(
    user: &mut GooseUser,
    ctx: &Ctx,
    who: &PoolUser,
    process: u64,
    due: Instant,
    late: bool,
    persona: Persona,
) -> TransactionResult {
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        ctx.ops.seed ^ process.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let (lo, hi) = ctx.ops.seats_per_booking;
    let k = rng.gen_range(lo..=hi);
    let strategy = match persona {
        Persona::HotSeat => Strategy::HotSpot {
            seats: ctx.ops.hot_seats,
        },
        _ => ctx.ops.strategy.clone(),
    };
    let Some(seats) = ctx.seats.take(&strategy, k, &mut rng) else {
        // Nothing left to ask for: not an operation, but counted so a run that sold out says so.
        ctx.stats
            .sold_out
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    };
    ctx.stats
        .record_start(ctx.since_start(), due.elapsed(), late);
    let mut value = OpValue::book(who.id, ctx.event_id, seats.clone());
    ctx.history
        .append(process, OpType::Invoke, OpFn::Book, &value, None);

    // TicketFlow's four fields (it needs the name and trusts the amount); Stampede takes the
    // event and seats and prices them itself.
    let total = (ctx.event_price * seats.len() as f64 * 100.0).round() / 100.0;
    let body = json!({"eventId": ctx.event_id, "eventName": ctx.event_name, "seatIds": seats,
                      "totalAmount": total});
    let key = uuid::Uuid::new_v4().to_string();
    let mut reply = post_booking(user, ctx, who, &body, &key).await?;
    let mut attempts = 0;
    while is_unknown(&reply) && attempts < ctx.ops.retry_unknown {
        attempts += 1;
        reply = post_booking(user, ctx, who, &body, &key).await?;
    }

    // The booking's id as the target wrote it (the cancel persona needs it even when it is not a
    // UUID the history can carry).
    let mut booking_ref = String::new();
    let outcome = match &reply {
        Reply::Http {
            status: 200..=202,
            body,
            ..
        } => {
            let booking = booking_of(body);
            let id = booking["id"].as_str().unwrap_or_default().to_string();
            // The checker's ids are UUIDs; an id that is not one is left out (the op still
            // says the booking was acknowledged).
            value.booking_id = uuid::Uuid::parse_str(&id).ok();
            booking_ref.clone_from(&id);
            let first = booking["status"].as_str().unwrap_or("PENDING").to_string();
            let statuses = wait_for_end(user, ctx, who, &id, first).await?;
            let last = statuses.last().cloned().unwrap_or_else(|| "PENDING".into());
            let observed: Vec<BookingStatus> = statuses.iter().map(|s| s.as_str().into()).collect();
            // wait_for_end starts from the first status seen: `with_statuses` makes the last one
            // `status`.
            value = value.with_statuses(&observed);
            value.http = reply.status();
            ctx.history
                .append(process, OpType::Ok, OpFn::Book, &value, None);
            Outcome::from_status(&last).unwrap_or(Outcome::Pending)
        }
        Reply::Http { status, .. }
            if (400..500).contains(status) && *status != 408 && *status != 429 =>
        {
            value.http = Some(*status);
            ctx.history.append(
                process,
                OpType::Fail,
                OpFn::Book,
                &value,
                Some(&reply.error_text()),
            );
            Outcome::Rejected
        }
        other => {
            value.http = other.status();
            ctx.history.append(
                process,
                OpType::Info,
                OpFn::Book,
                &value,
                Some(&other.error_text()),
            );
            Outcome::Unknown
        }
    };

    let ttc = outcome.is_terminal().then(|| due.elapsed());
    ctx.stats.record_end(ctx.since_start(), outcome, ttc);
    let name = format!("time-to-confirm {}", outcome.as_str());
    let elapsed = due.elapsed();
    match outcome {
        o if o.is_terminal() => {
            user.record_custom_request_duration("SAGA", &name, elapsed, true, None, None)
                .await?
        }
        Outcome::Pending => {
            user.record_custom_request_duration(
                "SAGA",
                &name,
                elapsed,
                false,
                None,
                Some("saga did not end in time"),
            )
            .await?
        }
        _ => {}
    }
    // Seats a booking did not keep go back to the pool; unknown ones stay out (they may be held).
    if matches!(
        outcome,
        Outcome::Failed | Outcome::Expired | Outcome::Cancelled | Outcome::Rejected
    ) {
        ctx.seats.give_back(&seats);
    }
    if outcome == Outcome::Confirmed && persona == Persona::Cancel {
        cancel(user, ctx, process, who, &booking_ref).await?;
        ctx.seats.give_back(&seats);
    }
    Ok(())
}

fn is_unknown(reply: &Reply) -> bool {
    match reply {
        Reply::Transport(_) => true,
        Reply::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
    }
}

async fn post_booking(
    user: &mut GooseUser,
    ctx: &Ctx,
    who: &PoolUser,
    body: &Value,
    key: &str,
) -> Result<Reply, Box<TransactionError>> {
    for attempt in 0..2 {
        let token = who.token();
        let path = "/api/bookings";
        let call = Call {
            token: Some(&token),
            header: Some(("Idempotency-Key", key)),
            ..Call::post(path, path, ctx.ops.request_timeout, body, &[202])
        };
        let reply = send(user, ctx, call).await?;
        // An expired token is the generator's problem, not the target's: log in and try again.
        if reply.status() == Some(401)
            && attempt == 0
            && relogin(user, ctx, who, ctx.ops.request_timeout).await?
        {
            continue;
        }
        return Ok(reply);
    }
    unreachable!("the loop returns on its second pass")
}

/// Asks for the booking until a terminal status or the confirm timeout; returns the distinct
/// statuses seen, in order. A target that long-polls (see [`LongPoll`]) is asked again at once,
/// each request held until the status changes; any other is polled with backoff on the grid.
async fn wait_for_end(
    user: &mut GooseUser,
    ctx: &Ctx,
    who: &PoolUser,
    id: &str,
    first: String,
) -> Result<Vec<String>, Box<TransactionError>> {
    let mut statuses = vec![first];
    if id.is_empty() {
        return Ok(statuses);
    }
    let plain = format!("/api/bookings/{id}");
    let deadline = Instant::now() + ctx.ops.confirm_timeout;
    let (mut wait, cap) = ctx.ops.poll;
    // Ask with waitMs until the target says whether it holds the request; while it does, ask
    // again at once, otherwise (and after an error) wait on the grid first.
    let mut long_poll = if ctx.ops.long_poll.is_zero() {
        LongPoll::NotOffered
    } else {
        LongPoll::Offered(ctx.ops.long_poll)
    };
    let mut held = false;
    while !is_terminal(statuses.last().map(String::as_str).unwrap_or_default())
        && Instant::now() < deadline
    {
        if !held {
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
            wait = (wait.mul_f64(1.5)).min(cap);
        }
        // A held request is named apart (its latency is the saga's, not the endpoint's), and its
        // timeout covers the hold.
        let (path, name, hold) = match long_poll {
            LongPoll::Offered(hold) => {
                let hold = hold
                    .min(ctx.ops.long_poll)
                    .min(deadline.saturating_duration_since(Instant::now()));
                (
                    format!("{plain}?waitMs={}", hold.as_millis()),
                    "/api/bookings/:id?waitMs",
                    hold,
                )
            }
            LongPoll::NotOffered => (plain.clone(), "/api/bookings/:id", Duration::ZERO),
        };
        let token = who.token();
        let reply = send(
            user,
            ctx,
            Call {
                token: Some(&token),
                ..Call::get(&path, name, ctx.ops.request_timeout + hold)
            },
        )
        .await?;
        match reply {
            Reply::Http {
                status: 200,
                body,
                long_poll: offered,
                ..
            } => {
                if let Some(status) = booking_of(&body)["status"].as_str() {
                    if statuses.last().map(String::as_str) != Some(status) {
                        statuses.push(status.to_string());
                    }
                }
                held = matches!(offered, LongPoll::Offered(_)) && !ctx.ops.long_poll.is_zero();
                long_poll = if held { offered } else { LongPoll::NotOffered };
            }
            Reply::Http { status: 401, .. } => {
                relogin(user, ctx, who, ctx.ops.request_timeout).await?;
            }
            // Errors while polling change nothing we know; keep asking until the deadline, on
            // the grid (a failing target must not be asked in a tight loop).
            _ => held = false,
        }
    }
    Ok(statuses)
}

fn is_terminal(status: &str) -> bool {
    Outcome::from_status(status).is_some()
}

/// Cancels a confirmed booking and records the cancel op.
async fn cancel(
    user: &mut GooseUser,
    ctx: &Ctx,
    process: u64,
    who: &PoolUser,
    id: &str,
) -> TransactionResult {
    let mut value = OpValue {
        user: Some(who.id),
        booking_id: uuid::Uuid::parse_str(id).ok(),
        ..OpValue::default()
    };
    ctx.history
        .append(process, OpType::Invoke, OpFn::Cancel, &value, None);
    let path = format!("/api/bookings/{id}/cancel");
    let token = who.token();
    let reply = send(
        user,
        ctx,
        Call {
            method: GooseMethod::Post,
            token: Some(&token),
            ok: &[200],
            ..Call::get(&path, "/api/bookings/:id/cancel", ctx.ops.request_timeout)
        },
    )
    .await?;
    let (kind, error) = match &reply {
        Reply::Http { status: 200, .. } => (OpType::Ok, None),
        Reply::Http { status, .. }
            if (400..500).contains(status) && *status != 408 && *status != 429 =>
        {
            (OpType::Fail, Some(reply.error_text()))
        }
        _ => (OpType::Info, Some(reply.error_text())),
    };
    let counter = if kind == OpType::Ok {
        &ctx.stats.cancels_ok
    } else {
        &ctx.stats.cancels_failed
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    value.http = reply.status();
    ctx.history
        .append(process, kind, OpFn::Cancel, &value, error.as_deref());
    Ok(())
}
