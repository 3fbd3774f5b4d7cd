//! `runfiles`: the one definition of the files in a run folder, shared by the crates that write
//! them (loadgen, chaos) and the ones that read them (reports, chaos's capacity search).
//!
//! ```text
//! loadgen run   summary.json (Summary)  run.json (RunInfo)  history.jsonl (one history::Op a line)
//! chaos run     faults.json (Vec<FaultWindow>)  verdict.json (Verdict)  run-report.json
//!               (RunReport)  nemesis.json (Vec<NemesisEvent>)  final-state.json (FinalState)
//!               loadgen/ = a loadgen run
//! capacity      capacity.json (Capacity)  steps/<NN>-<rate>/ = loadgen or chaos runs
//! ```
//!
//! The latency histograms inside summary.json are encoded and decoded by [`histogram`].
//!
//! Reading is lenient where it can be and strict where it must be: every field has a default, so
//! a file written before a field existed still loads, and unknown fields are ignored; but a file
//! whose `version` is newer than this build reads is refused with a message that says so
//! ([`io::RunFileError::Version`]), and malformed JSON is reported as `file:line:column`.
//! Writing goes through a temporary file and a rename, so a reader never sees half a file.
//!
//! It also holds the harness's exit-code convention ([`exit::Exit`]): 0 pass, 1 failed, 2 bad
//! input, 3 broken.
//!
//! What it must never import: an async runtime, a network or database client, the services or
//! any other Stampede crate (`chaos/tests/dependencies.rs` checks the last two).

pub mod capacity;
pub mod cpu;
pub mod environment;
pub mod exit;
pub mod faults;
pub mod final_state;
pub mod folder;
pub mod histogram;
pub mod history;
pub mod io;
pub mod nemesis;
pub mod run_info;
pub mod run_report;
pub mod summary;
pub mod verdict;

pub use capacity::{Capacity, CapacityStep, Verification};
pub use exit::Exit;
pub use faults::FaultWindow;
pub use final_state::FinalState;
pub use folder::{detect, FolderKind};
pub use history::Op;
pub use io::{read_json, read_optional_json, read_versioned, write_json, RunFileError, Versioned};
pub use nemesis::{NemesisAction, NemesisEvent};
pub use run_info::RunInfo;
pub use run_report::{Ending, RunReport};
pub use summary::{
    Bookings, HistoryInfo, OpenModel, Outcome, Percentiles, Route, RouteSecond, Second, Summary,
    Threshold,
};
pub use verdict::{Example, InvariantVerdict, OpRef, Validity, Verdict};
