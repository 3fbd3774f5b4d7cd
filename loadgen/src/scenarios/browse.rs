//! browse: the event list, one event, its seat map. Wrong bodies are failures even on 200.

use goose::prelude::*;

use crate::common::{send, Call, Reply};
use crate::context::Ctx;

pub async fn iterate(user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
    let t = ctx.ops.request_timeout;
    let list = send(
        user,
        ctx,
        Call::get("/api/events?page=1&limit=20", "/api/events", t),
    )
    .await?;
    if let Reply::Http {
        status: 200, body, ..
    } = &list
    {
        if !body["events"].is_array() {
            return Err(Box::new(TransactionError::Custom(
                "/api/events: no events array".into(),
            )));
        }
    }
    let path = format!("/api/events/{}", ctx.event_id);
    send(user, ctx, Call::get(&path, "/api/events/:id", t)).await?;
    let path = format!("/api/inventory/events/{}/seats", ctx.event_id);
    let seats = send(
        user,
        ctx,
        Call::get(&path, "/api/inventory/events/:id/seats", t),
    )
    .await?;
    if let Reply::Http {
        status: 200, body, ..
    } = &seats
    {
        if !body["seats"].is_array() {
            return Err(Box::new(TransactionError::Custom(
                "seat map: no seats array".into(),
            )));
        }
    }
    Ok(())
}
