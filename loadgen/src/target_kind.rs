//! Which API the target speaks: Stampede's, or an original TicketFlow's (`OmLanke/fms`). The two
//! share the contract loadgen drives (`../shared/TICKETFLOW-CONTRACT.md`); what differs is what
//! loadgen may lean on:
//!
//! | | Stampede | TicketFlow |
//! |---|---|---|
//! | status wait | long poll (`?waitMs=`, when `x-long-poll-max-ms` says so) | polling only |
//! | sign-in and request limits | off in development mode | 100 requests a minute per client address at the gateway: each simulated user sends its own `X-Forwarded-For` |
//! | booking body | `{eventId, seatIds}` (the server prices) | `{eventId, eventName, seatIds, totalAmount}` (trusted as sent); loadgen sends the four fields to both |
//!
//! `auto` asks the gateway for `/openapi.json`: Stampede serves its OpenAPI document there
//! (`info.title` "Stampede ..."); TicketFlow's gateway has no such route.

use std::fmt;
use std::str::FromStr;

/// What `--target-kind` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetChoice {
    /// Detect it (the default).
    #[default]
    Auto,
    /// Stampede's reference stack.
    Stampede,
    /// An original TicketFlow deployment.
    TicketFlow,
}

impl FromStr for TargetChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "stampede" => Ok(Self::Stampede),
            "ticketflow" => Ok(Self::TicketFlow),
            other => Err(format!(
                "unknown target kind {other:?}: auto, stampede or ticketflow"
            )),
        }
    }
}

/// The API the run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Stampede,
    TicketFlow,
}

impl TargetKind {
    /// Whether each simulated user sends its own `X-Forwarded-For` (TicketFlow's gateway limits
    /// every client address to 100 requests a minute, and keys on that header).
    pub fn forwards_per_user(self) -> bool {
        self == Self::TicketFlow
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stampede => "stampede",
            Self::TicketFlow => "ticketflow",
        })
    }
}

/// The address simulated user `index` claims in `X-Forwarded-For`: a distinct private (10/8)
/// address for each of the first 16,777,214 users.
pub fn simulated_address(index: usize) -> String {
    let n = (index % 0x00ff_fffe) + 1;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_a_bad_one_is_named() {
        assert_eq!("auto".parse(), Ok(TargetChoice::Auto));
        assert_eq!("TicketFlow".parse(), Ok(TargetChoice::TicketFlow));
        assert_eq!("stampede".parse(), Ok(TargetChoice::Stampede));
        assert!("kafka"
            .parse::<TargetChoice>()
            .unwrap_err()
            .contains("auto, stampede or ticketflow"));
    }

    #[test]
    fn each_simulated_user_has_its_own_address() {
        assert_eq!(simulated_address(0), "10.0.0.1");
        assert_eq!(simulated_address(255), "10.0.1.0");
        let addresses: std::collections::HashSet<String> =
            (0..100_000).map(simulated_address).collect();
        assert_eq!(addresses.len(), 100_000);
    }
}
