//! loadgen's `run.json`: how the run was started (its arguments, id, target, seed).

use serde::{Deserialize, Serialize};

/// loadgen's `run.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunInfo {
    pub args: Vec<String>,
    pub run_id: String,
    pub host: String,
    pub event_id: String,
    /// The seed of the run's random choices (seats, personas).
    pub seed: Option<u64>,
    /// Users in the pool the run signed in with.
    pub users: Option<u64>,
}
