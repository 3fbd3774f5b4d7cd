//! Every file of a real run folder reads with its type: a chaos run folder written by an earlier
//! Stampede (reports/tests/fixtures/redis-down, kept as it was written), so older folders keep
//! loading; and what is written reads back the same, atomically, with file:line:column errors
//! and a clear refusal of a newer format.

use std::path::{Path, PathBuf};

use runfiles::folder::{self, FolderKind};
use runfiles::{
    read_json, read_versioned, write_json, Capacity, Ending, FaultWindow, FinalState, NemesisEvent,
    Op, RunFileError, RunInfo, RunReport, Summary, Validity, Verdict,
};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/tests/fixtures/redis-down")
}

#[test]
fn every_file_of_an_older_chaos_run_folder_reads() {
    let dir = fixture();
    assert_eq!(runfiles::detect(&dir), Some(FolderKind::Chaos));
    let loadgen = dir.join(folder::LOADGEN_DIR);
    assert_eq!(runfiles::detect(&loadgen), Some(FolderKind::Loadgen));

    let summary: Summary = read_versioned(&loadgen.join(folder::SUMMARY)).unwrap();
    assert_eq!(summary.version, Summary::VERSION);
    assert!(
        summary.bookings.attempted >= 2000,
        "{}",
        summary.bookings.attempted
    );
    assert!(summary.bookings.confirmed() > 0);
    assert!(!summary.timeline.is_empty());
    let run_info: RunInfo = read_json(&loadgen.join(folder::RUN_INFO)).unwrap();
    assert_eq!(run_info.event_id, summary.event_id);

    let faults: Vec<FaultWindow> = read_json(&dir.join(folder::FAULTS)).unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].action, "down");
    assert!(faults[0].end_s.is_some());

    let verdict: Verdict = read_json(&dir.join(folder::VERDICT)).unwrap();
    assert_eq!(verdict.valid, Validity::True);
    assert!(verdict.invariants.contains_key("double_booking"));

    let report: RunReport = read_json(&dir.join(folder::RUN_REPORT)).unwrap();
    assert_eq!(report.ending, Some(Ending::Passed));
    assert_eq!(report.scenario, "redis-down");
    assert_eq!(report.faults, faults);
    assert!(report.thresholds.iter().all(|t| t.passed));

    let nemesis: Vec<NemesisEvent> = read_json(&dir.join(folder::NEMESIS)).unwrap();
    assert!(!nemesis.is_empty());
    let _: runfiles::environment::Environment = read_json(&dir.join(folder::ENVIRONMENT)).unwrap();
}

#[test]
fn written_files_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let summary: Summary = read_versioned(&fixture.join("loadgen").join(folder::SUMMARY)).unwrap();
    let report: RunReport = read_json(&fixture.join(folder::RUN_REPORT)).unwrap();
    let state = FinalState::default();
    write_json(&dir.path().join(folder::SUMMARY), &summary).unwrap();
    write_json(&dir.path().join(folder::RUN_REPORT), &report).unwrap();
    write_json(&dir.path().join(folder::FINAL_STATE), &state).unwrap();
    let summary_back: Summary = read_versioned(&dir.path().join(folder::SUMMARY)).unwrap();
    assert_eq!(summary_back, summary);
    let report_back: RunReport = read_json(&dir.path().join(folder::RUN_REPORT)).unwrap();
    assert_eq!(report_back, report);
    let state_back: FinalState = read_json(&dir.path().join(folder::FINAL_STATE)).unwrap();
    assert_eq!(state_back, state);
    // Nothing but the files: the temporary name is gone after the rename.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["final-state.json", "run-report.json", "summary.json"]
    );
}

#[test]
fn a_history_line_reads_as_the_op_it_is() {
    let line = r#"{"index":5,"process":17,"type":"ok","f":"book","time":2234567,"wall":"2026-12-07T04:00:00.000Z","value":{"user":"00000000-0000-0000-0000-000000000001","eventId":"00000000-0000-0000-0000-000000000002","seatIds":["00000000-0000-0000-0000-000000000003"],"bookingId":"00000000-0000-0000-0000-000000000004","status":"CONFIRMED","statuses":["PENDING","CONFIRMED"],"http":202},"error":null}"#;
    let op: Op = serde_json::from_str(line).unwrap();
    assert_eq!(op.value.http, Some(202));
    assert!(op.value.observed_confirmed());
    let again: Op = serde_json::from_str(&serde_json::to_string(&op).unwrap()).unwrap();
    assert_eq!(again, op);
}

#[test]
fn malformed_json_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(folder::FAULTS);
    std::fs::write(&path, "[\n  {\"fault\": 0,\n   \"start_s\": oops}\n]\n").unwrap();
    let error = read_json::<Vec<FaultWindow>>(&path).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, RunFileError::Json { line: 3, .. }),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("{}:3:", path.display())),
        "{text}"
    );
}

#[test]
fn a_newer_format_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(folder::CAPACITY);
    std::fs::write(&path, r#"{"version": 99, "steps": []}"#).unwrap();
    let error = read_versioned::<Capacity>(&path).unwrap_err();
    assert!(
        matches!(
            error,
            RunFileError::Version {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("newer than this build reads"),
        "{error}"
    );
    std::fs::write(&path, r#"{"version": 1, "steps": []}"#).unwrap();
    read_versioned::<Capacity>(&path).unwrap();
}

/// Damaged files: every file of the fixture folder, cut short or with one byte changed, reads as
/// its type or fails naming the file (and line:column for bad JSON); never a panic.
mod damaged {
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;

    use super::*;

    fn assert_reads_or_names_the_file<T: DeserializeOwned>(
        name: &str,
        original: &[u8],
        cut: usize,
        flip: Option<(usize, u8)>,
    ) {
        let mut bytes = original[..cut.min(original.len())].to_vec();
        if let Some((at, byte)) = flip {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_json::<T>(&path) {
            let shown = e.to_string();
            assert!(shown.starts_with(&path.display().to_string()), "{shown}");
            if let RunFileError::Json { line, column, .. } = &e {
                assert!(*line >= 1 && *column <= bytes.len() + 1, "{shown}");
            }
            assert!(!shown.contains('\n'), "{shown:?}");
        }
    }

    fn file(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn a_cut_or_changed_file_reads_or_names_itself(
            cut in 0usize..200_000,
            flip in proptest::option::of((0usize..200_000, any::<u8>())),
        ) {
            let dir = fixture();
            let loadgen = dir.join(folder::LOADGEN_DIR);
            assert_reads_or_names_the_file::<Summary>(folder::SUMMARY, &file(&loadgen.join(folder::SUMMARY)), cut, flip);
            assert_reads_or_names_the_file::<RunInfo>(folder::RUN_INFO, &file(&loadgen.join(folder::RUN_INFO)), cut, flip);
            assert_reads_or_names_the_file::<Vec<FaultWindow>>(folder::FAULTS, &file(&dir.join(folder::FAULTS)), cut, flip);
            assert_reads_or_names_the_file::<Verdict>(folder::VERDICT, &file(&dir.join(folder::VERDICT)), cut, flip);
            assert_reads_or_names_the_file::<RunReport>(folder::RUN_REPORT, &file(&dir.join(folder::RUN_REPORT)), cut, flip);
            assert_reads_or_names_the_file::<Vec<NemesisEvent>>(folder::NEMESIS, &file(&dir.join(folder::NEMESIS)), cut, flip);
        }
    }
}
