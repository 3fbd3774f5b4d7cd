//! `chaos`: Stampede's fault injection.
//!
//! ```text
//!   proxy    a TCP fault proxy speaking toxiproxy's v2 HTTP API: proxies, toxics (latency,
//!            bandwidth, slow_close, timeout, reset_peer, slicer, limit_data), down/up, reset;
//!            in-process via ProxyServer::start, or `chaos proxy`
//!   client   an async client for that API, for our proxy or a real toxiproxy alike
//!   checker  the Jepsen-style checker: history + final state -> valid / invalid / unknown per
//!            invariant (ARCHITECTURE.md section 5), counts, counter-examples; `chaos check`,
//!            and `chaos collect` for the final state
//!   scenario scenario files (TOML): target, stack, data, load, fault timeline, thresholds,
//!            invariants, validated up front with file:line: field messages
//!   nemesis  faults on processes: kill -9, SIGSTOP/SIGCONT, restart, with timestamped events
//!   local_stack  the seven services (`chaos serve`), a private broker and the proxy for one run
//!   exposure what the load did during each fault window (in flight, ttc in vs out of faults)
//!   runner   `chaos run`: stack, loadgen, fault timeline, heal, quiesce, checker, run folder
//!   capacity `chaos capacity`: the highest booking rate that holds an SLO (ramp, bisect, verify)
//!   suite    `chaos suite`: several scenarios in a row, one table
//!   selftest `chaos selftest`: unsafe locks must double-book, tampered state must be named
//! ```

pub mod capacity;
pub mod checker;
pub mod client;
pub mod exposure;
pub mod local_stack;
pub mod nemesis;
pub mod proxy;
pub mod run_log;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod suite;

pub use client::{ClientError, ToxiproxyClient};
pub use proxy::{ProxyServer, ServerHandle};
