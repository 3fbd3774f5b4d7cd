//! `chaos run` and `chaos selftest` end to end on the local stack: a short load with a Redis latency fault ends with
//! every invariant valid and the fault window recorded with load in flight; a bad scenario file
//! exits 2 naming file, line and field before anything starts.

use std::process::Command;
use std::sync::Mutex;

/// Each run starts a whole stack; two at once on a 2-core machine measure each other. One at a
/// time (a poisoned lock only means the other test failed).
static ONE_STACK_AT_A_TIME: Mutex<()> = Mutex::new(());

fn chaos() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chaos"))
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_field_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"bad\"\ndescription = \"x\"\n[target]\nmode = \"local\"\n[load]\nrate = \"10/s\"\nduration = \"10s\"\nscenarios = \"book\"\n[[faults]]\nat = \"5s\"\nfor = \"soon\"\ntarget = \"redis\"\naction = \"down\"\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let output = chaos()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:11") && stderr.contains("faults[0].for"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may start for a bad scenario");
}

#[test]
fn a_short_run_with_a_redis_fault_holds_every_invariant() {
    let _one = ONE_STACK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ci-redis-latency.toml");
    std::fs::write(
        &path,
        r#"name = "ci-redis-latency"
description = "20 bookings/s for 12 s; Redis 100 ms late from 4 s to 8 s"
quiesce = "60s"

[target]
mode = "local"

[stack]
booking_timeout = "20s"

[data]
seats = 1000
users = 10

[load]
rate = "20/s"
duration = "12s"
scenarios = "book=8,hot-seat=1,cancel=1"

[[faults]]
at = "4s"
for = "4s"
target = "redis"
action = "latency"
attributes = { latency = 100 }

[thresholds]
rules = ["pending=0"]
"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    let output = chaos()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr tail:\n{}",
        tail(&stderr)
    );
    for file in [
        "scenario.toml",
        "faults.json",
        "verdict.json",
        "final-state.json",
        "loadgen/history.jsonl",
        "loadgen/summary.json",
        "logs/gateway.log",
        "logs/broker.log",
    ] {
        assert!(
            out.join(file).exists(),
            "{file} missing from the run folder"
        );
    }
    let verdict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    let faults: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("faults.json")).unwrap()).unwrap();
    let window = &faults[0];
    assert_eq!(window["target"], "redis");
    assert!(window["error"].is_null(), "{window}");
    let (start, end) = (
        window["start_s"].as_f64().unwrap(),
        window["end_s"].as_f64().unwrap(),
    );
    // Applied on schedule (a loaded machine may be a little late) and healed 4 s later.
    assert!(
        (3.9..6.0).contains(&start) && end - start >= 3.9,
        "window {start}..{end}"
    );
    assert!(
        window["started"].as_u64().unwrap() >= 60,
        "load ran during the fault: {window}"
    );
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains(" WARN ")).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The last lines of the gateway's and user-service's logs of every selftest part that ended in
/// a harness error (`<part>: ...` after "harness error: "), so a failure in CI says what the
/// stack answered and why, after the temporary folder is gone.
fn logs_of_broken_parts(stderr: &str, dir: &std::path::Path) -> String {
    let mut out = String::new();
    for line in stderr.lines() {
        let Some((_, rest)) = line.split_once("harness error: ") else {
            continue;
        };
        let part = rest.split(':').next().unwrap_or_default().trim();
        for service in ["gateway", "user-service"] {
            let log = dir.join(part).join("logs").join(format!("{service}.log"));
            let text = std::fs::read_to_string(&log).unwrap_or_else(|e| format!("({e})"));
            let lines: Vec<&str> = text.lines().collect();
            out += &format!(
                "\n--- {} (last 20 lines)\n{}",
                log.display(),
                lines[lines.len().saturating_sub(20)..].join("\n")
            );
        }
    }
    out
}

/// The checker can fail: `chaos selftest` must catch every bug variant with the invariant it
/// breaks, pass the correct build on the same schedules, and name what it tampered with.
#[test]
fn the_selftest_catches_every_bug_variant_and_tampered_state() {
    let _one = ONE_STACK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let output = chaos()
        .arg("selftest")
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr tail:\n{}{}",
        tail(&stderr),
        logs_of_broken_parts(&stderr, dir.path())
    );
    for caught in [
        "unsafe-lock: double_booking INVALID (double_booked_seats)",
        "no-status-guard: notifications INVALID (confirmation_for_unconfirmed_booking)",
        "no-refund: compensation INVALID (captured_not_confirmed)",
        "ack-before-commit: acknowledged INVALID (lost)",
        "dual-write: compensation INVALID (seats_locked_by_unknown_bookings)",
        "no-sweeper: liveness INVALID (locked_seats)",
        "dead-letters-dropped: dead_letters INVALID (dropped_dead_letters)",
        "release-without-owner-check: seat_agreement INVALID (confirmed_without_their_seats)",
        "inbox-off: compensation INVALID (confirmed_with_several_captures)",
        "inbox-off: notifications INVALID (confirmed_with_several_notifications)",
    ] {
        assert!(
            stdout.contains(&format!("FOUND   {caught}")),
            "{caught}: {stdout}"
        );
    }
    assert!(
        stdout.contains("CONFIRMED bookings:"),
        "the double-booked seat and its bookings are shown: {stdout}"
    );
    assert!(
        stdout.contains("is RESERVED for FAILED booking"),
        "{stdout}"
    );
    assert!(stdout.contains("is still PENDING"), "{stdout}");
    assert!(!stdout.contains("MISSING"), "{stdout}");
}

/// `chaos selftest --variant` refuses a name it does not know, listing the known ones.
#[test]
fn the_selftest_refuses_an_unknown_variant() {
    let output = chaos()
        .args(["selftest", "--variant", "no-such-bug"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-such-bug") && stderr.contains("no-sweeper"),
        "{stderr}"
    );
}

/// `chaos capacity` on the local stack finds a sustainable rate, and the rate holds: 80 % of it
/// passes the SLO while 150 % fails it (the verification runs the search ends with).
#[test]
fn the_capacity_search_finds_a_rate_that_80_percent_holds_and_150_percent_breaks() {
    let _one = ONE_STACK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capacity.toml");
    std::fs::write(
        &path,
        "name = \"capacity\"\n[target]\nmode = \"local\"\n[data]\nseats = 200\nusers = 10\n[load]\nrate = \"1/s\"\nduration = \"1s\"\nscenarios = \"book\"\nseats_per_booking = \"1\"\n",
    )
    .unwrap();
    let out = dir.path().join("capacity");
    let output = chaos()
        .args([
            "capacity",
            path.to_str().unwrap(),
            "--slo",
            "ttc-p99<1500ms",
            "--slo",
            "dropped<1%",
            "--from",
            "4",
            "--growth",
            "2",
            "--refine",
            "2",
            "--step",
            "8s",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let capacity: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("capacity.json")).unwrap_or_default())
            .unwrap_or_default();
    eprintln!("{stdout}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr tail:\n{}",
        tail(&stderr)
    );
    let rate = capacity["sustainable_rate_per_s"]
        .as_f64()
        .expect("a sustainable rate");
    assert!(rate >= 4.0, "{capacity}");
    let verification = capacity["verification"].as_array().unwrap();
    assert_eq!(verification.len(), 2, "{capacity}");
    assert_eq!(
        (
            verification[0]["fraction"].as_f64(),
            verification[0]["passed"].as_bool()
        ),
        (Some(0.8), Some(true)),
        "{capacity}"
    );
    assert_eq!(
        (
            verification[1]["fraction"].as_f64(),
            verification[1]["passed"].as_bool()
        ),
        (Some(1.5), Some(false)),
        "{capacity}"
    );
    for step in capacity["steps"].as_array().unwrap() {
        assert!(
            out.join(step["run_dir"].as_str().unwrap())
                .join("summary.json")
                .exists(),
            "{step}"
        );
    }
    assert!(
        stdout.contains("sustainable: ") && stdout.contains("verified: 80 % passed, 150 % failed"),
        "{stdout}"
    );
}
