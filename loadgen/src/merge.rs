//! `loadgen merge`: several generators' run folders into one, read by the checker and the
//! reports as a single run.
//!
//! ```text
//!  gen-0/ gen-1/ gen-2/ ──▶ merged/summary.json   counts and rates add up; percentiles come from
//!                                                 the merged HdrHistograms, never from averaging
//!                       ──▶ merged/history.jsonl  every op, re-indexed by wall time; processes
//!                                                 made distinct per generator
//!                       ──▶ merged/sources.json   which folders went in
//! ```
//! The merged timeline has each second's counts summed; its per-second latency percentiles are
//! left empty (the per-second histograms are not kept), so nothing shows a percentile that was
//! not measured.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde_json::Value;

use crate::stats::{new_histogram, Outcome, Second};
use crate::summary::{
    self, percentiles_of, Bookings, HistoryInfo, OpenModelSummary, RouteSummary, Summary,
};
use crate::thresholds::{is_saga_rule, Observed, SagaThreshold, Verdict};

/// Process ids of generator i are offset by i times this, so they never collide.
pub const PROCESS_STRIDE: u64 = 1_000_000_000_000_000;

/// A folder could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    /// A summary that cannot be read, is not JSON of its shape, or is of a newer format.
    #[error(transparent)]
    File(#[from] runfiles::RunFileError),
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
    #[error("merge needs at least one run folder")]
    Nothing,
}

fn input(path: &Path, message: impl std::fmt::Display) -> MergeError {
    MergeError::Input {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Decodes a histogram written by [`summary::encode`] (runfiles' one definition).
pub use runfiles::histogram::decode;

/// Reads a run folder's summary.
///
/// # Errors
/// When summary.json is missing or not a loadgen summary.
pub fn read_summary(dir: &Path) -> Result<Summary, MergeError> {
    let path = dir.join(runfiles::folder::SUMMARY);
    let summary: Summary = runfiles::read_versioned(&path)?;
    // Every field has a default (older summaries load), so an object that is not a summary at
    // all would read as an empty one: a summary always carries its format version.
    if summary.version == 0 {
        return Err(input(&path, "not a loadgen summary (no \"version\")"));
    }
    Ok(summary)
}

/// Merges `dirs` into `out`; returns the merged summary.
///
/// # Errors
/// [`MergeError`] naming the folder or file at fault; nothing is half-written on an input error
/// (inputs are all read before `out` is touched).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::Nothing);
    }
    let summaries: Vec<Summary> = dirs
        .iter()
        .map(|d| read_summary(d))
        .collect::<Result<_, _>>()?;
    let mut histories = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        histories.push(read_history(&dir.join("history.jsonl"), i as u64)?);
    }
    let mut histograms: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for (s, dir) in summaries.iter().zip(dirs) {
        for (name, text) in &s.histograms {
            let h = decode(text)
                .map_err(|e| input(&dir.join("summary.json"), format!("histogram {name}: {e}")))?;
            histograms
                .entry(name.clone())
                .or_insert_with(new_histogram)
                .add(&h)
                .map_err(|e| input(dir, format!("histogram {name}: {e:?}")))?;
        }
    }

    std::fs::create_dir_all(out).map_err(|source| MergeError::Output {
        path: out.display().to_string(),
        source,
    })?;
    let history_path = out.join("history.jsonl");
    let ops = write_history(&history_path, histories)?;
    let merged = combine(&summaries, histograms, &history_path, ops);
    write_json(out, "summary.json", &merged)?;
    let sources: Vec<Value> = dirs
        .iter()
        .zip(&summaries)
        .enumerate()
        .map(|(i, (d, s))| serde_json::json!({"generator": i, "folder": d.display().to_string(), "runId": s.run_id, "processOffset": i as u64 * PROCESS_STRIDE}))
        .collect();
    write_json(out, "sources.json", &sources)?;
    Ok(merged)
}

fn write_json(dir: &Path, name: &str, value: &impl serde::Serialize) -> Result<(), MergeError> {
    Ok(runfiles::write_json(&dir.join(name), value)?)
}

/// A generator's ops with their process ids offset; a torn last line is skipped.
fn read_history(path: &Path, generator: u64) -> Result<Vec<(String, u64, Value)>, MergeError> {
    let file = std::fs::File::open(path).map_err(|e| input(path, e))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| input(path, e))?;
    let last = lines.len();
    let mut ops = Vec::new();
    for (n, line) in lines.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut op: Value = match serde_json::from_str(&line) {
            Ok(op) => op,
            Err(_) if n + 1 == last => continue,
            Err(e) => {
                return Err(input(
                    path,
                    format!("line {}: not a history op: {e}", n + 1),
                ))
            }
        };
        let process = op["process"]
            .as_u64()
            .ok_or_else(|| input(path, format!("line {}: no process", n + 1)))?;
        op["process"] = Value::from(process + generator * PROCESS_STRIDE);
        let wall = op["wall"].as_str().unwrap_or_default().to_string();
        ops.push((wall, generator, op));
    }
    Ok(ops)
}

/// Writes every op ordered by wall time (stable: a generator's own order is kept on ties),
/// re-indexed, with `time` rebased on the earliest wall time.
fn write_history(
    path: &Path,
    histories: Vec<Vec<(String, u64, Value)>>,
) -> Result<u64, MergeError> {
    let mut all: Vec<(String, u64, Value)> = histories.into_iter().flatten().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let parse = |w: &str| {
        chrono::DateTime::parse_from_rfc3339(w)
            .ok()
            .map(|t| t.timestamp_nanos_opt().unwrap_or(0))
    };
    let origin = all
        .iter()
        .filter_map(|(w, _, _)| parse(w))
        .min()
        .unwrap_or(0);
    let file = std::fs::File::create(path).map_err(|source| MergeError::Output {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = std::io::BufWriter::new(file);
    let mut index = 0u64;
    for (wall, _, mut op) in all {
        op["index"] = Value::from(index);
        if let Some(t) = parse(&wall) {
            op["time"] = Value::from(u64::try_from(t - origin).unwrap_or(0));
        }
        index += 1;
        serde_json::to_writer(&mut out, &op)
            .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
            .map_err(|e| MergeError::Output {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            })?;
    }
    out.flush().map_err(|source| MergeError::Output {
        path: path.display().to_string(),
        source,
    })?;
    Ok(index)
}

fn combine(
    summaries: &[Summary],
    histograms: BTreeMap<String, Histogram<u64>>,
    history: &Path,
    ops: u64,
) -> Summary {
    let first = &summaries[0];
    let load_seconds = summaries.iter().map(|s| s.load_seconds).fold(0.0, f64::max);
    let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
    for s in summaries {
        for (o, n) in &s.bookings.outcomes {
            *outcomes.entry(*o).or_default() += n;
        }
    }
    let sum = |f: &dyn Fn(&Summary) -> u64| summaries.iter().map(f).sum::<u64>();
    let bookings = Bookings {
        attempted: sum(&|s| s.bookings.attempted),
        acknowledged: sum(&|s| s.bookings.acknowledged),
        outcomes: outcomes.clone(),
        confirmed_per_s: summaries.iter().map(|s| s.bookings.confirmed_per_s).sum(),
        sold_out: sum(&|s| s.bookings.sold_out),
        cancels_ok: sum(&|s| s.bookings.cancels_ok),
        cancels_failed: sum(&|s| s.bookings.cancels_failed),
        // Generators peak at different moments: the sum is an upper bound.
        max_in_flight: sum(&|s| s.bookings.max_in_flight),
    };
    let opens: Vec<&OpenModelSummary> = summaries
        .iter()
        .filter_map(|s| s.open_model.as_ref())
        .collect();
    let open_model = (!opens.is_empty()).then(|| OpenModelSummary {
        shape: opens
            .iter()
            .map(|o| o.shape.clone())
            .collect::<Vec<_>>()
            .join(" + "),
        workers: opens.iter().map(|o| o.workers).sum(),
        scheduled: opens.iter().map(|o| o.scheduled).sum(),
        started: opens.iter().map(|o| o.started).sum(),
        dropped: opens.iter().map(|o| o.dropped).sum(),
        late: opens.iter().map(|o| o.late).sum(),
        target_rate_per_s: opens.iter().map(|o| o.target_rate_per_s).sum(),
        start_rate_per_s: opens.iter().map(|o| o.start_rate_per_s).sum(),
        // Start delays are not kept as histograms; the worst generator's figures are shown.
        start_delay: opens
            .iter()
            .map(|o| o.start_delay.clone())
            .max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms))
            .unwrap_or_default(),
    });
    let mut routes: BTreeMap<String, RouteSummary> = BTreeMap::new();
    for s in summaries {
        for r in &s.routes {
            let e = routes.entry(r.name.clone()).or_insert(RouteSummary {
                name: r.name.clone(),
                count: 0,
                failures: 0,
                per_s: 0.0,
                latency: None,
            });
            e.count += r.count;
            e.failures += r.failures;
            e.per_s += r.per_s;
        }
    }
    for r in routes.values_mut() {
        r.latency = histograms
            .get(&format!("route:{}", r.name))
            .map(percentiles_of);
    }
    // Time-to-confirm rules judge the ttc histograms only, not the routes'.
    let ttc: BTreeMap<String, Histogram<u64>> = histograms
        .iter()
        .filter(|(k, _)| !k.starts_with("route:"))
        .map(|(k, h)| (k.clone(), h.clone()))
        .collect();
    let observed = Observed {
        ttc_ms: ttc.clone(),
        confirmed_per_s: bookings.confirmed_per_s,
        started_per_s: open_model.as_ref().map_or(0.0, |o| o.start_rate_per_s),
        started: summaries.iter().map(|s| s.bookings.attempted).sum(),
        outcomes,
        dropped: opens.iter().map(|o| o.dropped).sum(),
        late: opens.iter().map(|o| o.late).sum(),
    };
    // Saga rules are judged again on the merged numbers; goose's rules keep each generator's verdict.
    let mut thresholds: Vec<Verdict> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in summaries.iter().enumerate() {
        for t in &s.thresholds {
            if is_saga_rule(&t.rule) {
                if seen.insert(t.rule.clone()) {
                    if let Ok(rule) = SagaThreshold::parse(&t.rule) {
                        thresholds.push(rule.judge(&observed));
                    }
                }
            } else {
                thresholds.push(Verdict {
                    rule: format!("{} (generator {i})", t.rule),
                    passed: t.passed,
                    observed: t.observed.clone(),
                });
            }
        }
    }
    let passed = thresholds.iter().all(|t| t.passed)
        && summaries.iter().all(|s| s.history.write_error.is_none());
    Summary {
        version: first.version,
        loadgen: first.loadgen.clone(),
        run_id: format!(
            "merged-{}",
            summaries
                .iter()
                .map(|s| s.run_id.as_str())
                .collect::<Vec<_>>()
                .join("+")
        ),
        host: first.host.clone(),
        event_id: first.event_id.clone(),
        started_at: summaries
            .iter()
            .map(|s| s.started_at.clone())
            .min()
            .unwrap_or_default(),
        ended_at: summaries
            .iter()
            .map(|s| s.ended_at.clone())
            .max()
            .unwrap_or_default(),
        load_seconds,
        total_seconds: summaries
            .iter()
            .map(|s| s.total_seconds)
            .fold(0.0, f64::max),
        open_model,
        closed_users: summaries.iter().map(|s| s.closed_users).sum(),
        bookings,
        time_to_confirm: ttc
            .iter()
            .map(|(k, h)| (k.clone(), percentiles_of(h)))
            .collect(),
        histograms: histograms
            .iter()
            .map(|(k, h)| (k.clone(), summary::encode(h)))
            .collect(),
        routes: routes.into_values().collect(),
        thresholds,
        passed,
        history: HistoryInfo {
            file: history.display().to_string(),
            ops,
            write_error: None,
        },
        timeline: merge_timelines(summaries),
    }
}

/// Sums each second's counts, aligning the generators on their start times.
fn merge_timelines(summaries: &[Summary]) -> Vec<Second> {
    let start = |s: &Summary| {
        chrono::DateTime::parse_from_rfc3339(&s.started_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    };
    let origin = summaries.iter().map(start).min().unwrap_or(0);
    let mut out: Vec<Second> = Vec::new();
    for s in summaries {
        let offset = usize::try_from((start(s) - origin) / 1000).unwrap_or(0);
        for (i, sec) in s.timeline.iter().enumerate() {
            let at = i + offset;
            if out.len() <= at {
                out.resize_with(at + 1, Second::default);
            }
            let m = &mut out[at];
            m.started += sec.started;
            m.late += sec.late;
            m.dropped += sec.dropped;
            m.in_flight += sec.in_flight;
            for (o, n) in &sec.outcomes {
                *m.outcomes.entry(*o).or_default() += n;
            }
            // Counts add up; per-second percentiles cannot be merged from percentiles.
            for (route, r) in &sec.routes {
                let e = m.routes.entry(route.clone()).or_default();
                e.count += r.count;
                e.errors += r.errors;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_survives_encoding() {
        let mut h = new_histogram();
        for v in [1u64, 10, 100, 1000, 123_456] {
            h.record(v).unwrap();
        }
        let back = decode(&summary::encode(&h)).unwrap();
        assert_eq!(back, h);
        assert!(decode("%%%").unwrap_err().contains("base64"));
    }
}
