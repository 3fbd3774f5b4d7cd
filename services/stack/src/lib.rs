//! `stack`: the Stampede reference services on one machine.
//!
//! ```text
//!   stack up [--seed]   check infra (run infra/local/up if something is down), create topics,
//!                       spawn each service as `stack serve <name>` (its own process, so a
//!                       nemesis can kill -9 it), wait for /health/all, print the URLs, stop all
//!                       on Ctrl-C
//!   stack seed          demo venues and events (one of 10,000 seats), the admin, test@ticketflow.dev
//!   stack dlt list      every dead letter on the .DLT topics, parked or replayed
//!   stack dlt replay    re-publish parked letters (--all | --message-id ID) after fixing their cause
//!   stack serve NAME    run one service in this process (what `up` spawns)
//! ```

#[cfg(feature = "testing")]
pub mod in_process;
pub mod infra;
pub mod seed;
pub mod services;
pub mod supervisor;

/// Whether the services of this build carry their bug variants (`bug-variants` feature; off in
/// every normal build).
pub use inventory_service::locks::BUG_VARIANTS;
