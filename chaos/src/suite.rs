//! `chaos suite`: several scenarios one after the other (each a whole `chaos run` with its own
//! stack), one table at the end.
//!
//! ```text
//!   validate every file (exit 2, nothing started) ─▶ run 1 ─▶ run 2 ─▶ ... ─▶ suite.json, suite.md
//! ```
//! Runs share nothing (fresh databases, topics, keys and broker each), so one failing does not
//! stop the others; the suite's exit code is the gravest of its runs: failed (1: a threshold or
//! an invariant) over broken (3: harness error, stack broken, invariant undecided) over pass (0).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::runner::{self, RunOptions, RunReport};
use crate::scenario::Scenario;

/// One line of the suite's table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    /// `passed`, `threshold_failed`, `invariant_violated`, `invariant_unknown`, or `harness_error`.
    pub ending: String,
    pub exit_code: i32,
    pub attempted: u64,
    pub confirmed: u64,
    /// FAILED and EXPIRED bookings (the saga said no, or ran out of time).
    pub failed: u64,
    /// The fewest booking operations in flight during any fault window (`None`: no fault).
    pub min_in_flight_during_faults: Option<u64>,
    pub ttc_p99_in_faults_ms: Option<f64>,
    pub ttc_p99_outside_faults_ms: Option<f64>,
    /// VALID, INVALID or UNKNOWN.
    pub invariants: String,
    pub seconds: f64,
    pub run_dir: PathBuf,
    pub error: Option<String>,
}

impl Row {
    fn of(report: &RunReport) -> Self {
        let count = |o: &str| report.outcomes.get(o).copied().unwrap_or(0);
        Self {
            scenario: report.scenario.clone(),
            ending: serde_json::to_value(report.ending)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            exit_code: crate::runner::exit_code(report.ending),
            attempted: report.bookings_attempted,
            confirmed: count("CONFIRMED"),
            failed: count("FAILED") + count("EXPIRED"),
            min_in_flight_during_faults: report
                .faults
                .iter()
                .filter_map(|w| w.bookings_in_flight)
                .min(),
            ttc_p99_in_faults_ms: report.ttc_p99_in_faults_ms,
            ttc_p99_outside_faults_ms: report.ttc_p99_outside_faults_ms,
            invariants: report.verdict.valid.label().to_string(),
            seconds: report.seconds,
            run_dir: report.run_dir.clone(),
            error: None,
        }
    }

    fn harness_error(scenario: &Scenario, run_dir: PathBuf, seconds: f64, error: String) -> Self {
        Self {
            scenario: scenario.name.clone(),
            ending: "harness_error".into(),
            exit_code: 3,
            attempted: 0,
            confirmed: 0,
            failed: 0,
            min_in_flight_during_faults: None,
            ttc_p99_in_faults_ms: None,
            ttc_p99_outside_faults_ms: None,
            invariants: "UNKNOWN".into(),
            seconds,
            run_dir,
            error: Some(error),
        }
    }
}

/// The suite's exit code: the gravest of its runs ([`runfiles::Exit::graver`]).
pub fn exit_code(rows: &[Row]) -> i32 {
    let gravest = rows
        .iter()
        .map(|r| runfiles::Exit::from_code(r.exit_code))
        .fold(runfiles::Exit::Pass, runfiles::Exit::graver);
    i32::from(gravest.code())
}

/// Runs `scenarios` in order, each into `out/<name>`; writes `suite.json` and `suite.md` after
/// every run (a suite cut short keeps what it did).
///
/// # Errors
/// Only when the suite's own files cannot be written.
pub async fn run(scenarios: &[Scenario], out: &Path, stretch: u32) -> anyhow::Result<Vec<Row>> {
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    let mut rows = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        eprintln!(
            "chaos suite: [{}/{}] {}",
            i + 1,
            scenarios.len(),
            scenario.name
        );
        let run_dir = out.join(&scenario.name);
        let options = RunOptions {
            out: Some(run_dir.clone()),
            keep_databases: false,
            stretch,
            before_load: None,
            after_load: None,
        };
        let began = std::time::Instant::now();
        let row = match runner::run(&scenario.stretched(stretch), &options).await {
            Ok(report) => {
                println!("{}", runner::table(&report));
                Row::of(&report)
            }
            Err(e) => {
                eprintln!("chaos suite: {}: harness error: {e}", scenario.name);
                Row::harness_error(
                    scenario,
                    run_dir,
                    began.elapsed().as_secs_f64(),
                    e.to_string(),
                )
            }
        };
        rows.push(row);
        write(out, &rows)?;
    }
    Ok(rows)
}

fn write(out: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let json = out.join("suite.json");
    std::fs::write(&json, serde_json::to_vec_pretty(rows)?)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", json.display()))?;
    let md = out.join("suite.md");
    std::fs::write(&md, markdown(rows))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", md.display()))?;
    Ok(())
}

/// The table as Markdown (also what the suite prints at the end).
pub fn markdown(rows: &[Row]) -> String {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), loadgen::thresholds::format_ms);
    let mut out = String::from(
        "| scenario | attempted | confirmed | failed | in flight during fault (min) | ttc p99 during faults | ttc p99 outside | invariants | result | seconds |\n\
         |---|---:|---:|---:|---:|---:|---:|---|---|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
            r.scenario,
            r.attempted,
            r.confirmed,
            r.failed,
            r.min_in_flight_during_faults
                .map_or("-".into(), |n| n.to_string()),
            ms(r.ttc_p99_in_faults_ms),
            ms(r.ttc_p99_outside_faults_ms),
            r.invariants,
            match &r.error {
                Some(e) => format!("harness error: {}", e.replace('|', "/")),
                None => r.ending.replace('_', " "),
            },
            r.seconds
        ));
    }
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    out.push_str(&format!(
        "\n{} scenarios in {:.0} s; exit code {}\n",
        rows.len(),
        total,
        exit_code(rows)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, code: i32) -> Row {
        let s = Scenario::parse(
            &format!("name = \"{name}\"\n[target]\nmode = \"local\"\n[load]\nrate = \"1/s\"\nduration = \"1s\"\n"),
            "x.toml",
        )
        .unwrap();
        Row {
            exit_code: code,
            ..Row::harness_error(&s, PathBuf::from("x"), 1.0, "e".into())
        }
    }

    #[test]
    fn the_gravest_run_decides_the_exit_code() {
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(&[row("a", 0), row("b", 0)]), 0);
        assert_eq!(exit_code(&[row("a", 1), row("b", 0)]), 1);
        assert_eq!(exit_code(&[row("a", 3), row("b", 0)]), 3);
        assert_eq!(
            exit_code(&[row("a", 1), row("b", 3)]),
            1,
            "a finding outweighs a broken run"
        );
    }

    #[test]
    fn the_table_has_a_line_per_run_and_the_total() {
        let table = markdown(&[row("smoke", 0), row("redis-down", 3)]);
        assert_eq!(
            table
                .lines()
                .filter(|l| l.starts_with("| smoke") || l.starts_with("| redis-down"))
                .count(),
            2
        );
        assert!(table.contains("harness error: e"), "{table}");
        assert!(table.contains("2 scenarios in 2 s; exit code 3"), "{table}");
    }
}
