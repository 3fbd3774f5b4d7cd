//! The reset_peer toxic: when the first data (or the end of input) arrives, wait `timeout` ms,
//! then reset the connection: both sockets are closed with `SO_LINGER` 0, so both peers get a
//! TCP RST ("connection reset by peer"). Data it held is dropped, as a reset does.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{deadline, CloseKind, Pipe, Piped, ToxicStub};

/// Delay before the reset, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResetPeer {
    /// ms after the first data.
    pub timeout: u64,
}

impl Pipe for ResetPeer {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        // Any data, or the end of input, starts the countdown.
        let _ = stub.next().await?;
        let due = deadline(
            tokio::time::Instant::now(),
            Duration::from_millis(self.timeout),
        );
        stub.sleep_until(due).await?;
        Err(stub.close(CloseKind::Reset))
    }
}
