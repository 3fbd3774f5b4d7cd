//! The noop toxic: forwards every chunk unchanged. It heads every chain (so the toxic after it
//! can always be interrupted and rewired) and stands in for a toxic whose toxicity roll missed.

use super::{Pipe, PipeEnd, Piped, ToxicStub};

/// Passes data through untouched.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Noop;

impl Pipe for Noop {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        loop {
            let chunk = stub.next().await?.ok_or(PipeEnd::Closed)?;
            stub.forward(chunk).await?;
        }
    }
}
