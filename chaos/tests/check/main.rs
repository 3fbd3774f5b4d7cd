//! `chaos check` end to end: files in a temp dir, the binary run on them, the exit code, the
//! table on stdout, the one-line error on stderr, and the JSON verdict.
//!
//! Exit codes: 0 valid, 1 invalid, 2 bad input, 3 unknown. `chaos collect` is in `collect.rs`.

mod collect;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");

fn id(n: u128) -> String {
    uuid::Uuid::from_u128(n).to_string()
}

/// One confirmed booking (id 1) of seat 10 by user 900 for event 800, as the history shows it.
fn history_lines() -> Vec<String> {
    let book = json!({"user": id(900), "eventId": id(800), "seatIds": [id(10)]});
    let mut done = book.clone();
    done["bookingId"] = json!(id(1));
    done["status"] = json!("CONFIRMED");
    done["statuses"] = json!(["PENDING", "CONFIRMED"]);
    vec![
        json!({"index": 0, "process": 3, "type": "invoke", "f": "book", "time": 1000,
               "wall": "2026-11-22T05:00:00.000Z", "value": book, "error": null})
        .to_string(),
        json!({"index": 1, "process": 3, "type": "ok", "f": "book", "time": 2000,
               "wall": "2026-11-22T05:00:01.000Z", "value": done, "error": null})
        .to_string(),
    ]
}

fn final_state(booking_status: &str) -> Value {
    json!({
        "bookings": [{"id": id(1), "userId": id(900), "eventId": id(800), "seatIds": [id(10)],
                      "status": booking_status}],
        "seats": [{"id": id(10), "eventId": id(800), "status": "RESERVED", "bookingId": id(1)}],
        "payments": [{"bookingId": id(1), "status": "CAPTURED", "amountCents": 5000}],
        "notifications": [{"bookingId": id(1), "kind": "CONFIRMED"}],
        "capacity": {id(800): 1},
    })
}

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new(history: &str, state: &Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), history).unwrap();
        std::fs::write(dir.path().join("final-state.json"), state.to_string()).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn check(&self, extra: &[&str]) -> Output {
        run_chaos(
            Command::new(CHAOS)
                .arg("check")
                .arg("--history")
                .arg(self.path("history.jsonl"))
                .arg("--state")
                .arg(self.path("final-state.json"))
                .args(extra),
        )
    }
}

/// Runs the chaos binary, printing what it said (shown when the test fails).
fn run_chaos(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    println!(
        "exit {:?}\nstdout:\n{}stderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn line_of<'a>(table: &'a str, invariant: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{invariant} ")))
        .unwrap_or_else(|| panic!("no {invariant} line in\n{table}"))
}

#[test]
fn a_valid_run_exits_0_with_a_line_per_invariant_and_writes_the_json() {
    let run = Run::new(
        &(history_lines().join("\n") + "\n"),
        &final_state("CONFIRMED"),
    );
    let verdict_path = run.path("verdict.json");
    let output = run.check(&[
        "--json",
        verdict_path.to_str().unwrap(),
        "--history-complete",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let table = stdout(&output);
    assert_eq!(table.lines().count(), 8, "{table}");
    for invariant in [
        "double_booking",
        "seat_agreement",
        "liveness",
        "compensation",
        "acknowledged",
        "notifications",
        "dead_letters",
        "run",
    ] {
        assert!(line_of(&table, invariant).contains(" VALID "), "{table}");
    }
    let verdict: Value = serde_json::from_slice(&std::fs::read(&verdict_path).unwrap()).unwrap();
    assert_eq!(verdict["valid"], json!(true));
    assert_eq!(verdict["counts"]["attempted"], json!(1));
    assert_eq!(verdict["counts"]["acknowledged"], json!(1));
    assert_eq!(verdict["counts"]["unexpected"], json!(0));
    assert_eq!(verdict["invariants"]["liveness"]["valid"], json!(true));
}

#[test]
fn an_invalid_run_exits_1_and_names_the_counter_example() {
    // The client saw booking 1 CONFIRMED; it ended FAILED while its seat stayed RESERVED.
    let run = Run::new(&history_lines().join("\n"), &final_state("FAILED"));
    let output = run.check(&[]);
    assert_eq!(output.status.code(), Some(1));
    let table = stdout(&output);
    let acknowledged = line_of(&table, "acknowledged");
    assert!(acknowledged.contains("INVALID"), "{table}");
    assert!(acknowledged.contains("confirmed_not_kept=1"), "{table}");
    assert!(acknowledged.contains(&id(1)), "{table}");
    assert!(line_of(&table, "compensation").contains(&id(10)), "{table}");
    assert!(line_of(&table, "run").contains("INVALID"), "{table}");
}

#[test]
fn unobserved_payments_exit_3_unknown() {
    let mut state = final_state("CONFIRMED");
    state["payments"] = Value::Null;
    let run = Run::new(&history_lines().join("\n"), &state);
    let output = run.check(&["--invariants", "compensation,liveness"]);
    assert_eq!(output.status.code(), Some(3));
    let table = stdout(&output);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        line_of(&table, "compensation").contains("UNKNOWN"),
        "{table}"
    );
    assert!(
        line_of(&table, "compensation").contains("payments were not observed"),
        "{table}"
    );
}

fn assert_one_line_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn a_malformed_history_line_exits_2_naming_file_and_line() {
    let mut lines = history_lines();
    lines.insert(1, r#"{"index": 7, "process": "x"}"#.to_string());
    let run = Run::new(&(lines.join("\n") + "\n"), &final_state("CONFIRMED"));
    let output = run.check(&[]);
    assert_one_line_error(&output, &["history.jsonl line 2,"]);
}

#[test]
fn a_cut_off_last_history_line_is_tolerated() {
    let mut text = history_lines().join("\n");
    text.push_str("\n{\"index\": 2, \"process\": 4, \"ty");
    let run = Run::new(&text, &final_state("CONFIRMED"));
    let verdict_path = run.path("verdict.json");
    let output = run.check(&["--json", verdict_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let verdict: Value = serde_json::from_slice(&std::fs::read(&verdict_path).unwrap()).unwrap();
    assert_eq!(verdict["counts"]["truncated_lines"], json!(1));
}

#[test]
fn missing_or_malformed_files_exit_2_naming_the_file() {
    let run = Run::new(&history_lines().join("\n"), &final_state("CONFIRMED"));
    std::fs::remove_file(run.path("final-state.json")).unwrap();
    assert_one_line_error(&run.check(&[]), &["final-state.json"]);

    std::fs::write(run.path("final-state.json"), r#"{"bookings": 3}"#).unwrap();
    assert_one_line_error(&run.check(&[]), &["final-state.json", "not a final state"]);

    std::fs::remove_file(run.path("history.jsonl")).unwrap();
    assert_one_line_error(&run.check(&[]), &["history.jsonl"]);
}

#[test]
fn an_unknown_invariant_name_is_a_usage_error() {
    let run = Run::new("", &final_state("CONFIRMED"));
    let output = run.check(&["--invariants", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("double_booking"));
}
