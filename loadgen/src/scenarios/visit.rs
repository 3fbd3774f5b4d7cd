//! visit: a signed-in person. Each goose user is one account of the pool for the whole run (goose
//! user i is account i mod the accounts), sends that account's token with every request, and
//! thinks `--think` between steps, as a person reads and decides: the event list, the event, its
//! own profile, then a booking followed to the saga's end.

use goose::prelude::*;

use crate::common::{relogin, send, Call, Reply};
use crate::context::Ctx;
use crate::persona::Persona;

pub async fn iterate(user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    let who = &ctx.users[user.weighted_users_index % ctx.users.len()];
    let t = ctx.ops.request_timeout;
    let event = format!("/api/events/{}", ctx.event_id);
    let steps = [
        ("/api/events?page=1&limit=20", "/api/events"),
        (event.as_str(), "/api/events/:id"),
        ("/api/users/me", "/api/users/me"),
    ];
    for (path, name) in steps {
        let token = who.token();
        let call = Call {
            token: Some(&token),
            ..Call::get(path, name, t)
        };
        // A token the target no longer takes is the generator's problem: sign in again, and the
        // next step carries the new one.
        if let Reply::Http { status: 401, .. } = send(user, ctx, call).await? {
            relogin(user, ctx, who, t).await?;
        }
        ctx.gate.pause(ctx.ops.think).await;
        if ctx.gate.is_closed() {
            return Ok(());
        }
    }
    crate::flow::book_now(user, ctx, who, Persona::Visit).await
}
