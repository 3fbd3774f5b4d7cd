//! The slow_close toxic: data flows untouched, but the close waits `delay` ms.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{Pipe, PipeEnd, Piped, ToxicStub};

/// Delay before the close passes through, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlowClose {
    /// ms.
    pub delay: u64,
}

impl Pipe for SlowClose {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        loop {
            match stub.next().await? {
                Some(chunk) => stub.forward(chunk).await?,
                None => {
                    let due = super::deadline(
                        tokio::time::Instant::now(),
                        Duration::from_millis(self.delay),
                    );
                    stub.sleep_until(due).await?;
                    return Err(PipeEnd::Closed);
                }
            }
        }
    }
}
