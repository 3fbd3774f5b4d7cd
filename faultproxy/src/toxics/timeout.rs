//! The timeout toxic: no data gets through (it is swallowed, as in toxiproxy), and the
//! connection is closed after `timeout` ms; with 0 it stays open and silent until the toxic is
//! removed.
//!
//! Removing it closes the connections it ran on (toxiproxy's cleanup): the bytes it swallowed
//! are gone, so the stream cannot continue. Clients see a dead connection, then a reset one.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{deadline, Cleanup, CloseKind, Pipe, PipeEnd, Piped, ToxicStub};

/// Close after this many ms; 0 = never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timeout {
    /// ms; 0 holds the connection open until the toxic is removed.
    pub timeout: u64,
}

impl Pipe for Timeout {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        let close_at = (self.timeout > 0).then(|| {
            deadline(
                tokio::time::Instant::now(),
                Duration::from_millis(self.timeout),
            )
        });
        loop {
            let next = match close_at {
                Some(at) => tokio::select! {
                    biased;
                    next = stub.next() => next,
                    () = tokio::time::sleep_until(at) => return Err(stub.close(CloseKind::Abort)),
                },
                None => stub.next().await,
            };
            // Swallow data; pass the end of input through.
            if next?.is_none() {
                return Err(PipeEnd::Closed);
            }
        }
    }

    fn cleanup(&self) -> Cleanup {
        Cleanup::Close(CloseKind::Abort)
    }
}
