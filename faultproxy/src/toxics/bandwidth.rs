//! The bandwidth toxic: data leaves at most at `rate` KB/s (1 KB = 1000 bytes, as toxiproxy).
//!
//! Large chunks are cut into pieces of 100 ms worth of data so the rate holds at a fine grain;
//! idle time earns no credit, so bursts after a pause are not sent faster than the rate.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{deadline, Pipe, PipeEnd, Piped, StreamChunk, ToxicStub};

/// Rate cap in KB/s; 0 means no cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bandwidth {
    /// KB/s (1000 bytes per second per unit).
    pub rate: u64,
}

impl Pipe for Bandwidth {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        let bytes_per_sec = self.rate.saturating_mul(1000);
        // 100 ms worth of data per piece, at least one byte.
        let piece = (bytes_per_sec / 10).max(1) as usize;
        let mut next_free = tokio::time::Instant::now();
        loop {
            let mut chunk = stub.next().await?.ok_or(PipeEnd::Closed)?;
            if bytes_per_sec == 0 {
                stub.forward(chunk).await?;
                continue;
            }
            let now = tokio::time::Instant::now();
            if next_free < now {
                next_free = now;
            }
            while !chunk.data.is_empty() {
                let n = piece.min(chunk.data.len());
                let cost = Duration::from_nanos(
                    ((n as u128 * 1_000_000_000) / bytes_per_sec as u128).min(u64::MAX as u128)
                        as u64,
                );
                next_free = deadline(next_free, cost);
                chunk = stub.hold_until(chunk, next_free).await?;
                let head = StreamChunk {
                    data: chunk.data.split_to(n),
                    timestamp: chunk.timestamp,
                };
                if let Err(end) = stub.forward(head).await {
                    // The piece is pending now; the rest goes behind it.
                    if !chunk.data.is_empty() {
                        stub.keep(chunk);
                    }
                    return Err(end);
                }
            }
        }
    }
}
