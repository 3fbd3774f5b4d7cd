//! The broker micro-benchmark behind `broker-bench` (`src/bin/broker-bench.rs`): a Kafka-protocol
//! broker measured from outside, with librdkafka clients configured the way Stampede's services
//! configure theirs (`kit::kafka`).
//!
//! ```text
//!   client::Admin       metadata (loopback check), fresh topics bench.<run>.*; groups deleted at
//!                       the end, topics never (tansu 0.6.0's DeleteTopics empties the broker)
//!   latency::run        1 producer at a fixed rate -> 1 topic x 3 partitions -> G consumer groups
//!                         send -> delivery report, send -> consume, every message accounted for,
//!                         broker CPU (/proc/PID/stat) over the producing window
//!   idle::run           G groups on T empty topics x 3 partitions: broker CPU, fetch requests/s
//! ```
//!
//! - [`client`]: client settings (the services' own), the admin client, run names.
//! - [`cpu`]: CPU time of a process from `/proc/PID/stat`.
//! - [`latency`], [`idle`]: the two measurements; each returns a report, the binary prints it.

pub mod client;
pub mod cpu;
mod group;
pub mod idle;
pub mod latency;
mod stats;

pub use group::ConsumerErrors;
pub use stats::{FetchCounter, FetchSnapshot, Percentiles};

/// How long the broker's CPU is sampled before a run (what else keeps it busy: other clients).
pub const BASELINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Partitions of every topic a run creates (the saga's topics have 3, `infra/local/up`).
pub const PARTITIONS: i32 = 3;

/// The load average (1, 5, 15 min) from `/proc/loadavg`, as printed there; "?" when unreadable.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
