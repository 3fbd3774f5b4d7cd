//! The latency toxic: every chunk leaves `latency` ± `jitter` ms after it was read.
//!
//! The delay counts from the chunk's read timestamp, so chunks in flight overlap (a burst of
//! small writes is delayed once, not once per chunk) and toxics chained after it do not add up.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{deadline, Pipe, PipeEnd, Piped, ToxicStub};

/// Added delay, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    /// Delay in ms.
    pub latency: u64,
    /// Uniform ± variation in ms.
    pub jitter: u64,
}

impl Latency {
    fn delay(&self) -> Duration {
        let mut ms = self.latency as i128;
        if self.jitter > 0 {
            let j = self.jitter as i128;
            // toxiproxy: latency + rand.Int63n(2*jitter) - jitter
            ms += rand::thread_rng().gen_range(-j..j);
        }
        Duration::from_millis(ms.clamp(0, u64::MAX as i128) as u64)
    }
}

impl Pipe for Latency {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        loop {
            let chunk = stub.next().await?.ok_or(PipeEnd::Closed)?;
            let due = deadline(chunk.timestamp, self.delay());
            let chunk = stub.hold_until(chunk, due).await?;
            stub.forward(chunk).await?;
        }
    }

    /// Chunks queue up here while earlier ones wait, so a delayed link keeps reading.
    fn buffer_size(&self) -> usize {
        1024
    }
}
