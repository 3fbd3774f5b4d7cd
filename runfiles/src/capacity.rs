//! chaos's `capacity.json`: the steps of a capacity search, the sustainable rate it found and
//! the verification runs around it.

use serde::{Deserialize, Serialize};

use crate::io::Versioned;

/// One step of a capacity search (`capacity.json` `steps[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityStep {
    /// Why it ran: `ramp`, `refine` or `verify` (absent in older files).
    pub phase: String,
    pub rate_per_s: f64,
    /// Relative to the capacity folder.
    pub run_dir: String,
    pub start_rate_per_s: f64,
    pub confirmed_per_s: f64,
    /// None when no booking of the step reached a terminal status.
    pub ttc_p50_ms: Option<f64>,
    pub ttc_p99_ms: Option<f64>,
    /// Failed HTTP requests over all requests of the step, 0..1.
    pub error_rate: f64,
    pub dropped: Option<u64>,
    pub attempted: Option<u64>,
    pub passed: bool,
    pub failed_rules: Vec<String>,
    /// CPU of every process of the stack per confirmed booking over the step (its `cpu.json`);
    /// absent in older files.
    pub cpu_ms_per_confirmed: Option<f64>,
}

/// A verification run at a fraction of the sustainable rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Verification {
    pub fraction: f64,
    pub rate_per_s: f64,
    pub passed: bool,
    pub ttc_p99_ms: Option<f64>,
    pub error_rate: f64,
    /// Whether it came out as a correct capacity predicts (80 %: pass, 150 %: fail).
    pub as_expected: Option<bool>,
}

/// `capacity.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capacity {
    pub version: u32,
    pub scenario: String,
    /// The target's URL.
    pub target: String,
    pub slo: Vec<String>,
    pub step_seconds: f64,
    pub steps: Vec<CapacityStep>,
    pub sustainable_rate_per_s: Option<f64>,
    pub first_failing_rate_per_s: Option<f64>,
    pub knee_rate_per_s: Option<f64>,
    /// In words: the bracket, and what the verification showed.
    pub confidence: String,
    pub verification: Vec<Verification>,
}

impl Capacity {
    /// The format this build writes.
    pub const VERSION: u32 = 1;
}

impl Versioned for Capacity {
    const SUPPORTED: u32 = Capacity::VERSION;

    fn version(&self) -> u32 {
        self.version
    }
}
