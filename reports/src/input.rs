//! The run folders the reports read, with their own serde structs so `reports` depends on
//! neither loadgen nor chaos (loadgen depends on reports). Every field is optional
//! (`#[serde(default)]`) and unknown fields are ignored, so older and newer files both load.
//!
//! ```text
//! loadgen run   summary.json  run.json  [environment.json]  (history.jsonl, goose-report.*: not read)
//! chaos run     scenario.toml  faults.json  verdict.json  run-report.json  nemesis.json
//!               [final-state.json: not read]  [environment.json]  loadgen/ = a loadgen run
//! capacity      capacity.json  steps/<NN>-<rate>/ = loadgen or chaos runs
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::environment::Environment;
use crate::error::ReportError;

/// Percentiles of a histogram, in milliseconds (loadgen's `Percentiles`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The open model's part of the summary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OpenModel {
    pub shape: String,
    pub workers: u64,
    pub scheduled: u64,
    pub started: u64,
    pub dropped: u64,
    pub late: u64,
    pub target_rate_per_s: f64,
    pub start_rate_per_s: f64,
}

/// Booking operations by outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Bookings {
    pub attempted: u64,
    pub acknowledged: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub confirmed_per_s: f64,
    pub sold_out: u64,
    pub cancels_ok: u64,
    pub cancels_failed: u64,
    pub max_in_flight: u64,
}

/// One goose route over the run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Route {
    pub name: String,
    pub count: u64,
    pub failures: u64,
    pub per_s: f64,
    /// Absent in summaries written before per-route latency was recorded.
    pub latency: Option<Percentiles>,
}

/// A threshold rule's verdict.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Threshold {
    pub rule: String,
    pub passed: bool,
    pub observed: String,
}

/// One route in one second of the timeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteSecond {
    pub count: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// One second of the timeline, counted from the load start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Second {
    pub started: u64,
    pub late: u64,
    pub dropped: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub ttc_p50_ms: Option<f64>,
    pub ttc_p95_ms: Option<f64>,
    pub ttc_p99_ms: Option<f64>,
    pub in_flight: u64,
    /// Absent in summaries written before per-route timelines were recorded.
    pub routes: BTreeMap<String, RouteSecond>,
}

impl Second {
    /// Completions of `outcome` in this second.
    pub fn outcome(&self, outcome: &str) -> u64 {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }
}

/// loadgen's `summary.json` (see loadgen/README.md, "summary.json").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub version: u32,
    pub loadgen: String,
    pub run_id: String,
    pub host: String,
    pub event_id: String,
    pub started_at: String,
    pub ended_at: String,
    pub load_seconds: f64,
    pub total_seconds: f64,
    pub open_model: Option<OpenModel>,
    pub closed_users: u64,
    pub bookings: Bookings,
    pub time_to_confirm: BTreeMap<String, Percentiles>,
    /// HdrHistogram V2 + base64, microseconds: `all`, each outcome, `route:<name>`.
    pub histograms: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub thresholds: Vec<Threshold>,
    pub passed: bool,
    pub timeline: Vec<Second>,
}

/// One fault as it happened (chaos's `FaultWindow`), from `faults.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FaultWindow {
    pub fault: u64,
    pub description: String,
    pub target: String,
    pub action: String,
    /// Seconds from the load start (the origin of the timeline).
    pub start_s: f64,
    /// None when the fault was never healed.
    pub end_s: Option<f64>,
    pub start_wall: String,
    pub end_wall: Option<String>,
    pub max_in_flight: Option<u64>,
    pub started: Option<u64>,
    pub error: Option<String>,
    pub bookings_in_flight: Option<Value>,
}

/// A history operation named in a counter-example (camelCase, as the checker writes it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OpRef {
    pub index: u64,
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub f: String,
    pub wall: Option<String>,
    pub invoke_index: Option<u64>,
    pub invoke_wall: Option<String>,
}

/// One counter-example of an invariant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Example {
    pub anomaly: String,
    pub message: String,
    pub booking_ids: Vec<String>,
    pub seat_ids: Vec<String>,
    pub event_id: Option<String>,
    pub ops: Vec<OpRef>,
}

/// VALID, INVALID or UNKNOWN, from JSON `true`, `false` or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validity {
    True,
    False,
    #[default]
    Unknown,
}

impl Validity {
    /// The label tables use.
    pub fn label(self) -> &'static str {
        match self {
            Validity::True => "VALID",
            Validity::False => "INVALID",
            Validity::Unknown => "UNKNOWN",
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Bool(true) => Validity::True,
            Value::Bool(false) => Validity::False,
            _ => Validity::Unknown,
        })
    }
}

/// The answer for one invariant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InvariantVerdict {
    pub valid: Validity,
    pub counts: BTreeMap<String, u64>,
    pub examples: Vec<Example>,
    pub notes: Vec<String>,
}

/// The checker's `verdict.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Verdict {
    pub valid: Validity,
    pub invariants: BTreeMap<String, InvariantVerdict>,
    pub counts: BTreeMap<String, u64>,
}

/// chaos's `run-report.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunReport {
    pub scenario: String,
    pub run_dir: String,
    /// `passed`, `threshold_failed`, `invariant_violated`, `invariant_unknown`.
    pub ending: String,
    pub thresholds: Vec<Threshold>,
    pub faults: Vec<FaultWindow>,
    pub verdict: Option<Verdict>,
    pub bookings_attempted: u64,
    pub ttc_p99_in_faults_ms: Option<f64>,
    pub ttc_p99_outside_faults_ms: Option<f64>,
}

/// One nemesis action (`nemesis.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NemesisEvent {
    pub wall: String,
    pub process: String,
    pub action: String,
    pub pid: u64,
    /// `{"code": n}` or `{"signal": n}`.
    pub exit: Option<Value>,
    pub note: Option<String>,
}

/// loadgen's `run.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunInfo {
    pub args: Vec<String>,
    pub run_id: String,
    pub host: String,
    pub event_id: String,
    pub seed: Option<Value>,
    pub users: Option<u64>,
}

/// One step of a capacity search (`capacity.json` `steps[]`).
#[derive(Debug, Clone, Default, Deserialize)]
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
}

/// A verification run at a fraction of the sustainable rate.
#[derive(Debug, Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
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
    pub confidence: String,
    pub verification: Vec<Verification>,
}

/// What a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    Loadgen,
    Chaos,
    Capacity,
}

/// Tells what kind of run `dir` is from the files present.
///
/// # Errors
/// [`ReportError::MissingFolder`] when `dir` is not a folder, [`ReportError::NoSummary`] when it
/// holds none of the files of a run.
pub fn detect(dir: &Path) -> Result<FolderKind, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::MissingFolder {
            path: dir.to_path_buf(),
        });
    }
    if dir.join("capacity.json").is_file() {
        return Ok(FolderKind::Capacity);
    }
    let chaos_files = [
        "faults.json",
        "verdict.json",
        "run-report.json",
        "scenario.toml",
        "loadgen/summary.json",
    ];
    if chaos_files.iter().any(|f| dir.join(f).is_file()) {
        return Ok(FolderKind::Chaos);
    }
    if dir.join("summary.json").is_file() {
        return Ok(FolderKind::Loadgen);
    }
    Err(ReportError::NoSummary {
        path: dir.join("summary.json"),
    })
}

/// Reads and parses a JSON file.
///
/// # Errors
/// [`ReportError::Read`] or [`ReportError::Json`], naming the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Like [`read_json`], but a missing file is `None`.
///
/// # Errors
/// As [`read_json`] for a file that exists.
pub fn read_optional_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ReportError> {
    if !path.exists() {
        return Ok(None);
    }
    read_json(path).map(Some)
}

/// A loadgen or chaos run folder, loaded.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub kind: FolderKind,
    /// The loadgen folder (`dir` itself, or `dir/loadgen` for a chaos run).
    pub loadgen_dir: PathBuf,
    pub summary: Summary,
    pub run_info: Option<RunInfo>,
    pub environment: Option<Environment>,
    pub faults: Vec<FaultWindow>,
    pub verdict: Option<Verdict>,
    pub run_report: Option<RunReport>,
    pub nemesis: Vec<NemesisEvent>,
    /// CPU by process over the run (`cpu.json`, chaos runs).
    pub cpu: Option<crate::cpu::CpuUsage>,
    /// Scenario name and description (chaos: scenario.toml; loadgen: the run id and shape).
    pub name: String,
    pub description: String,
}

impl Run {
    /// Loads a loadgen or chaos run folder.
    ///
    /// # Errors
    /// A [`ReportError`] naming the missing or malformed file; a capacity folder is
    /// [`ReportError::Invalid`] (render it with [`crate::render_run`]).
    pub fn load(dir: &Path) -> Result<Run, ReportError> {
        let kind = detect(dir)?;
        let loadgen_dir = match kind {
            FolderKind::Loadgen => dir.to_path_buf(),
            FolderKind::Chaos => dir.join("loadgen"),
            FolderKind::Capacity => {
                return Err(ReportError::Invalid {
                    path: dir.join("capacity.json"),
                    reason: "a capacity folder, not a single run".into(),
                })
            }
        };
        let summary_path = loadgen_dir.join("summary.json");
        if !summary_path.is_file() {
            return Err(ReportError::NoSummary { path: summary_path });
        }
        let summary: Summary = read_json(&summary_path)?;
        let run_info: Option<RunInfo> = read_optional_json(&loadgen_dir.join("run.json"))?;
        let environment = match read_optional_json::<Environment>(&dir.join("environment.json"))? {
            Some(e) => Some(e),
            None if kind == FolderKind::Chaos => {
                read_optional_json(&loadgen_dir.join("environment.json"))?
            }
            None => None,
        };
        let (mut faults, mut verdict, mut run_report, mut nemesis) =
            (Vec::new(), None, None, Vec::new());
        let cpu = read_optional_json::<crate::cpu::CpuUsage>(&dir.join("cpu.json"))?;
        let (mut name, mut description) = (String::new(), String::new());
        if kind == FolderKind::Chaos {
            run_report = read_optional_json::<RunReport>(&dir.join("run-report.json"))?;
            faults = match read_optional_json::<Vec<FaultWindow>>(&dir.join("faults.json"))? {
                Some(f) => f,
                None => run_report
                    .as_ref()
                    .map(|r| r.faults.clone())
                    .unwrap_or_default(),
            };
            verdict = match read_optional_json::<Verdict>(&dir.join("verdict.json"))? {
                Some(v) => Some(v),
                None => run_report.as_ref().and_then(|r| r.verdict.clone()),
            };
            nemesis = read_optional_json(&dir.join("nemesis.json"))?.unwrap_or_default();
            let scenario_path = dir.join("scenario.toml");
            if let Ok(text) = std::fs::read_to_string(&scenario_path) {
                name = toml_top_string(&text, "name").unwrap_or_default();
                description = toml_top_string(&text, "description").unwrap_or_default();
            }
            if name.is_empty() {
                name = run_report
                    .as_ref()
                    .map(|r| r.scenario.clone())
                    .unwrap_or_default();
            }
        }
        if name.is_empty() {
            name = match summary.run_id.as_str() {
                "" => "loadgen run".to_string(),
                id => format!("loadgen run {id}"),
            };
        }
        if description.is_empty() {
            if let Some(open) = &summary.open_model {
                description = format!("open model {} ({} workers)", open.shape, open.workers);
            }
            if summary.closed_users > 0 {
                if !description.is_empty() {
                    description.push_str(", ");
                }
                description.push_str(&format!("{} closed-model users", summary.closed_users));
            }
        }
        Ok(Run {
            dir: dir.to_path_buf(),
            kind,
            loadgen_dir,
            summary,
            run_info,
            environment,
            faults,
            verdict,
            run_report,
            nemesis,
            cpu,
            name,
            description,
        })
    }

    /// The thresholds judged: the chaos run's when it has them, else the summary's.
    pub fn thresholds(&self) -> &[Threshold] {
        match &self.run_report {
            Some(r) if !r.thresholds.is_empty() => &r.thresholds,
            _ => &self.summary.thresholds,
        }
    }

    /// The run's overall verdict.
    pub fn overall(&self) -> Overall {
        if let Some(report) = &self.run_report {
            match report.ending.as_str() {
                "passed" => return Overall::Pass,
                "threshold_failed" | "invariant_violated" => return Overall::Fail,
                "invariant_unknown" => return Overall::Unknown,
                _ => {}
            }
        }
        match (&self.verdict, self.summary.passed) {
            (Some(v), _) if v.valid == Validity::False => Overall::Fail,
            (_, false) => Overall::Fail,
            (Some(v), true) if v.valid == Validity::Unknown => Overall::Unknown,
            _ => Overall::Pass,
        }
    }
}

/// PASS, FAIL or UNKNOWN for a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    Pass,
    Fail,
    Unknown,
}

impl Overall {
    /// The label tables use.
    pub fn label(self) -> &'static str {
        match self {
            Overall::Pass => "PASS",
            Overall::Fail => "FAIL",
            Overall::Unknown => "UNKNOWN",
        }
    }
}

/// A top-level `key = "string"` of a TOML file (before its first table): enough for a scenario's
/// name and description without a TOML parser.
pub fn toml_top_string(text: &str, key: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() != key {
            continue;
        }
        let v = v.trim();
        let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &v[1..];
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                c if c == quote => return Some(out),
                '\\' if quote == '"' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_top_string_reads_name_and_description_before_tables() {
        let text = "# c\nname = \"redis-latency\"\ndescription = \"Redis \\\"slow\\\" for 15 s\"\n[target]\nname = \"x\"\n";
        assert_eq!(
            toml_top_string(text, "name").as_deref(),
            Some("redis-latency")
        );
        assert_eq!(
            toml_top_string(text, "description").as_deref(),
            Some("Redis \"slow\" for 15 s")
        );
        assert_eq!(toml_top_string(text, "quiesce"), None);
    }

    #[test]
    fn validity_reads_true_false_and_unknown() {
        let v: Vec<Validity> = serde_json::from_str(r#"[true, false, "unknown"]"#).unwrap();
        assert_eq!(v, vec![Validity::True, Validity::False, Validity::Unknown]);
    }
}
