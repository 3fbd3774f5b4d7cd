//! The run folders the reports read. The files' types are the `runfiles` crate's (the writers
//! use the same ones); this module puts a folder's files together into a [`Run`].
//!
//! ```text
//! loadgen run   summary.json  run.json  [environment.json]  (history.jsonl, goose-report.*: not read)
//! chaos run     scenario.toml  faults.json  verdict.json  run-report.json  nemesis.json
//!               [final-state.json: not read]  [environment.json]  loadgen/ = a loadgen run
//! capacity      capacity.json  steps/<NN>-<rate>/ = loadgen or chaos runs
//! ```

use std::path::{Path, PathBuf};

use runfiles::folder;
pub use runfiles::{
    Bookings, Capacity, CapacityStep, Ending, Example, FaultWindow, FolderKind, InvariantVerdict,
    NemesisEvent, OpRef, OpenModel, Outcome, Percentiles, Route, RouteSecond, RunInfo, RunReport,
    Second, Summary, Threshold, Validity, Verdict, Verification,
};
use serde::de::DeserializeOwned;

use crate::environment::Environment;
use crate::error::ReportError;

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
    runfiles::detect(dir).ok_or_else(|| ReportError::NoSummary {
        path: dir.join(folder::SUMMARY),
    })
}

/// Reads and parses a JSON run file.
///
/// # Errors
/// [`ReportError::File`], naming the file (and the line and column of malformed JSON).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ReportError> {
    Ok(runfiles::read_json(path)?)
}

/// Like [`read_json`], but a missing file is `None`.
///
/// # Errors
/// As [`read_json`] for a file that exists.
pub fn read_optional_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ReportError> {
    Ok(runfiles::read_optional_json(path)?)
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
        let summary: Summary = runfiles::read_versioned(&summary_path)?;
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
        if let Some(ending) = self.run_report.as_ref().and_then(|r| r.ending) {
            match ending {
                Ending::Passed => return Overall::Pass,
                Ending::ThresholdFailed | Ending::InvariantViolated | Ending::StackBroken => {
                    return Overall::Fail
                }
                Ending::InvariantUnknown => return Overall::Unknown,
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
