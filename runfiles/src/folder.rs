//! The names of a run folder's files, and what kind of run a folder holds, told from the files
//! present.

use std::path::Path;

/// loadgen's summary ([`crate::Summary`]).
pub const SUMMARY: &str = "summary.json";
/// loadgen's run info ([`crate::RunInfo`]).
pub const RUN_INFO: &str = "run.json";
/// chaos's fault windows (`Vec<`[`crate::FaultWindow`]`>`).
pub const FAULTS: &str = "faults.json";
/// The checker's verdict ([`crate::Verdict`]).
pub const VERDICT: &str = "verdict.json";
/// chaos's run report ([`crate::RunReport`]).
pub const RUN_REPORT: &str = "run-report.json";
/// chaos's process actions (`Vec<`[`crate::NemesisEvent`]`>`).
pub const NEMESIS: &str = "nemesis.json";
/// A capacity search ([`crate::Capacity`]).
pub const CAPACITY: &str = "capacity.json";
/// CPU by process over the run ([`crate::cpu::CpuUsage`]).
pub const CPU: &str = "cpu.json";
/// The machine and build the run ran on ([`crate::environment::Environment`]).
pub const ENVIRONMENT: &str = "environment.json";
/// The final state of the databases ([`crate::FinalState`]).
pub const FINAL_STATE: &str = "final-state.json";
/// The operations, one [`crate::Op`] a line.
pub const HISTORY: &str = "history.jsonl";
/// The scenario a chaos run ran, as given.
pub const SCENARIO: &str = "scenario.toml";
/// The loadgen run inside a chaos run folder.
pub const LOADGEN_DIR: &str = "loadgen";

/// What a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    Loadgen,
    Chaos,
    Capacity,
}

/// What kind of run `dir` is, from the files present; `None` when it holds none of a run's
/// files (or is not a folder).
pub fn detect(dir: &Path) -> Option<FolderKind> {
    if !dir.is_dir() {
        return None;
    }
    if dir.join(CAPACITY).is_file() {
        return Some(FolderKind::Capacity);
    }
    let chaos_files = [FAULTS, VERDICT, RUN_REPORT, SCENARIO];
    if chaos_files.iter().any(|f| dir.join(f).is_file())
        || dir.join(LOADGEN_DIR).join(SUMMARY).is_file()
    {
        return Some(FolderKind::Chaos);
    }
    if dir.join(SUMMARY).is_file() {
        return Some(FolderKind::Loadgen);
    }
    None
}
