//! The limit_data toxic: lets `bytes` bytes through per connection, then closes it.
//!
//! The count is per-connection state, so it survives interrupts and attribute updates.

use serde::{Deserialize, Serialize};

use super::{CloseKind, Pipe, PipeEnd, Piped, StreamChunk, ToxicState, ToxicStub};

/// Byte budget of a connection in this direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitData {
    /// Bytes to let through before closing.
    pub bytes: u64,
}

/// Bytes this connection already sent through the toxic.
struct Transmitted(u64);

impl Pipe for LimitData {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        loop {
            let mut chunk = stub.next().await?.ok_or(PipeEnd::Closed)?;
            let sent = transmitted(stub);
            let remaining = self.bytes.saturating_sub(sent);
            if (chunk.data.len() as u64) > remaining {
                chunk = StreamChunk {
                    data: chunk.data.slice(..remaining as usize),
                    timestamp: chunk.timestamp,
                };
            }
            let n = chunk.data.len() as u64;
            if n > 0 {
                // Count it first: an interrupt keeps the chunk pending, still to be sent.
                set_transmitted(stub, sent + n);
                stub.forward(chunk).await?;
            }
            if sent + n >= self.bytes {
                return Err(stub.close(CloseKind::Abort));
            }
        }
    }

    fn new_state(&self) -> Option<ToxicState> {
        Some(Box::new(Transmitted(0)))
    }
}

fn transmitted(stub: &ToxicStub) -> u64 {
    stub.state
        .as_ref()
        .and_then(|s| s.downcast_ref::<Transmitted>())
        .map_or(0, |t| t.0)
}

fn set_transmitted(stub: &mut ToxicStub, n: u64) {
    stub.state = Some(Box::new(Transmitted(n)));
}
