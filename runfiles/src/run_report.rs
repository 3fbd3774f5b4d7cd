//! chaos's `run-report.json`: how a scenario run ended, its thresholds, faults, verdict and CPU.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cpu::CpuUsage;
use crate::faults::FaultWindow;
use crate::summary::Threshold;
use crate::verdict::Verdict;

/// How `chaos run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Passed,
    ThresholdFailed,
    InvariantViolated,
    InvariantUnknown,
    /// A service's consumer group was still stalled after the quiesce: the saga stopped, which
    /// is a broken stack, not a slow one.
    StackBroken,
}

impl Ending {
    /// For people: `PASS`, `FAIL (threshold)`, ...
    pub fn label(self) -> &'static str {
        match self {
            Ending::Passed => "PASS",
            Ending::ThresholdFailed => "FAIL (threshold)",
            Ending::InvariantViolated => "FAIL (invariant violated)",
            Ending::InvariantUnknown => "UNKNOWN (invariant undecided)",
            Ending::StackBroken => "STACK BROKEN (a consumer group stalled)",
        }
    }

    /// The word in the file (`passed`, `threshold_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Passed => "passed",
            Ending::ThresholdFailed => "threshold_failed",
            Ending::InvariantViolated => "invariant_violated",
            Ending::InvariantUnknown => "invariant_unknown",
            Ending::StackBroken => "stack_broken",
        }
    }
}

/// chaos's `run-report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunReport {
    pub scenario: String,
    pub run_dir: String,
    /// How the run ended (absent: a file from before endings were recorded).
    pub ending: Option<Ending>,
    /// The summary's thresholds and the scenario's fault rules, judged.
    pub thresholds: Vec<Threshold>,
    pub faults: Vec<FaultWindow>,
    pub verdict: Option<Verdict>,
    pub bookings_attempted: u64,
    /// Booking operations by how they ended (loadgen's outcomes: CONFIRMED, FAILED, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Time-to-confirm p99 of the bookings in flight during a fault, and of the others (ms).
    pub ttc_p99_in_faults_ms: Option<f64>,
    pub ttc_p99_outside_faults_ms: Option<f64>,
    /// How many times longer than the file the run was (`--stretch`).
    pub stretch: u32,
    /// Wall-clock seconds of the whole run (stack start to verdict).
    pub seconds: f64,
    /// The HTML report (`report.html` in the run folder), once rendered.
    pub report: Option<String>,
    /// CPU by process over the load and the settling (also `cpu.json`).
    pub cpu: Option<CpuUsage>,
    /// Services whose consumer group was stalled after the quiesce, with the reason their
    /// /health gave.
    pub stalled_consumers: Vec<String>,
}
