//! Stampede's load generator for TicketFlow-compatible stacks.
//!
//! - [`persona`]: the personas (browse, signup, book, hot-seat, cancel, health) and their weights;
//! - [`scenarios`]: what each persona does as a closed-model goose user;
//! - [`open_model`]: the arrival-rate executor goose lacks; [`rate`]: its load shapes;
//! - [`flow`]: one booking end to end (POST, poll until the saga ends, cancel);
//! - [`stats`], [`thresholds`], [`summary`], [`progress`]: what a run measures and judges;
//! - [`footprint`]: what the generator itself used (memory, CPU, per user);
//! - [`history`]: every booking operation as JSON lines, for the chaos checker;
//! - [`data`], [`target`], [`prepare`]: prepared users and events, and checks of the target;
//! - [`run`]: the whole run; [`cli`]: its flags.
//!
//! Modules depend downwards only (no cycles):
//!
//! ```text
//!   run ─▶ scenarios ─▶ flow ─▶ common ─▶ context ─▶ open_model ─▶ rate
//!                                           └──────▶ persona, history, seats, stats
//! ```
//!
//! What it must never import: the services or their kit (it drives any TicketFlow-compatible
//! target over HTTP, so it may not share code with the one it measures), or chaos. The run folder's
//! files are the `runfiles` crate's. `chaos/tests/dependencies.rs` checks the services.

pub mod cli;
pub mod common;
pub mod context;
pub mod data;
pub mod flow;
pub mod footprint;
pub mod history;
pub mod merge;
pub mod open_model;
pub mod persona;
pub mod prepare;
pub mod progress;
pub mod rate;
pub mod run;
pub mod scenarios;
pub mod seats;
pub mod stats;
pub mod summary;
pub mod target;
pub mod target_kind;
pub mod thresholds;
