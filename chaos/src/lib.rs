//! `chaos`: Stampede's fault injection.
//!
//! ```text
//!   collect  the final state from the services' databases (`chaos collect`), for the checker
//!            (the `checker` crate, re-exported here as `chaos::checker`; `chaos check`)
//!   scenario scenario files (TOML): target, stack, data, load, fault timeline, thresholds,
//!            invariants, validated up front with file:line: field messages
//!   nemesis  faults on processes: kill -9, SIGSTOP/SIGCONT, restart, with timestamped events
//!   local_stack  the seven services (`chaos serve`), a private broker and the proxy for one run
//!   exposure what the load did during each fault window (in flight, ttc in vs out of faults)
//!   runner   `chaos run`: stack, loadgen, fault timeline, heal, quiesce, checker, run folder
//!   capacity `chaos capacity`: the highest booking rate that holds an SLO (ramp, bisect, verify)
//!   suite    `chaos suite`: several scenarios in a row, one table
//!   selftest `chaos selftest`: unsafe locks must double-book, tampered state must be named
//!   cli      the command line: flags, one async function a subcommand, its `runfiles::Exit`
//! ```
//!
//! chaos is the top of the harness: it may use every other crate (loadgen's typed `LoadPlan`, the
//! checker, the fault proxy, the reports, the services to run them in-process), and nothing may
//! use it; the services must never import it (`chaos/tests/dependencies.rs`).

pub mod capacity;
pub mod cli;
pub mod collect;
pub mod exposure;
pub mod local_stack;
pub mod matrix;
pub mod nemesis;
pub mod run_log;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod suite;

/// The Jepsen-style checker (its own crate: pure functions, no I/O beyond reading files).
pub use checker;
// The fault proxy and its client are the `faultproxy` crate; `chaos proxy` serves it.
pub use faultproxy::{ClientError, ProxyServer, ServerHandle, ToxiproxyClient};
