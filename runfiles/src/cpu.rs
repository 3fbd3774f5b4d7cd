//! chaos's `cpu.json`: CPU by process over a run's load and settling, per confirmed booking
//! (measured by `reports::cpu`).

use serde::{Deserialize, Serialize};

/// The file's format; bumped when a field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// One role's CPU over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessCpu {
    pub name: String,
    pub cpu_seconds: f64,
    /// Milliseconds of CPU per confirmed booking (absent without confirmed bookings).
    pub ms_per_confirmed: Option<f64>,
}

/// `cpu.json`: CPU by process over a run's load and settling, per confirmed booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUsage {
    pub format_version: u32,
    /// Wall-clock seconds between the snapshots.
    pub wall_seconds: f64,
    /// Bookings confirmed in the window.
    pub confirmed: u64,
    /// Largest first.
    pub processes: Vec<ProcessCpu>,
    pub total_cpu_seconds: f64,
    /// Cores busy on average over the window.
    pub cores_busy: f64,
    pub ms_per_confirmed: Option<f64>,
}

impl CpuUsage {
    /// One line for a terminal: `12.3 ms CPU per confirmed booking (tansu 5.1, postgres 3.0, ...)`.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self
            .processes
            .iter()
            .take(6)
            .map(|p| match p.ms_per_confirmed {
                Some(ms) => format!("{} {ms:.1}", p.name),
                None => format!("{} {:.1}s", p.name, p.cpu_seconds),
            })
            .collect();
        match self.ms_per_confirmed {
            Some(ms) => format!(
                "{ms:.1} ms CPU per confirmed booking ({}), {:.2} cores busy over {:.0} s",
                parts.join(", "),
                self.cores_busy,
                self.wall_seconds
            ),
            None => format!(
                "{:.1} s CPU, nothing confirmed ({})",
                self.total_cpu_seconds,
                parts.join(", ")
            ),
        }
    }
}
