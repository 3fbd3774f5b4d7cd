//! loadgen against the real services (in-process stack on real Postgres, Redis and the broker):
//! a short open-model run yields a history in which every acknowledged booking reached a
//! terminal status, and a summary whose counts match the history and the booking database; an
//! impossible threshold makes the process exit non-zero.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use stack::in_process::{InProcessStack, StackOptions, ADMIN_EMAIL, ADMIN_PASSWORD};
use uuid::Uuid;

use loadgen::cli::{PrepareArgs, RunArgs};

fn run_args(host: &str, data: PathBuf, out: PathBuf) -> RunArgs {
    RunArgs {
        host: Some(host.into()),
        data: Some(data),
        rate: Some("10/s".into()),
        duration: "10s".into(),
        inflight: 100,
        users: None,
        scenarios: "book=3,cancel=1".into(),
        strategy: "random".into(),
        seats_per_booking: "1..2".into(),
        hot_seats: 10,
        poll: "25ms..250ms".into(),
        long_poll: "5s".into(),
        target_kind: "auto".into(),
        confirm_timeout: "60s".into(),
        request_timeout: "10s".into(),
        retry_unknown: 0,
        think: "0s".into(),
        late_tolerance: "50ms".into(),
        max_start_delay: "5s".into(),
        thresholds: vec!["unknown=0".into(), "ttc-p99<30s".into()],
        threshold_abort: false,
        out: Some(out),
        seed: Some(42),
        users_slice: None,
        pool_users: 1,
        progress: "2s".into(),
        goose_args: vec!["--quiet".into()],
    }
}

fn read_history(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_model_run_records_every_booking_to_its_end() {
    let stack = InProcessStack::start(StackOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data.json");
    let data = loadgen::prepare::prepare(&PrepareArgs {
        host: stack.gateway.clone(),
        seats: 300,
        users: 4,
        out: data_path.clone(),
        admin_email: ADMIN_EMAIL.into(),
        admin_password: ADMIN_PASSWORD.into(),
        wait: "60s".into(),
        target_kind: loadgen::target_kind::TargetChoice::Auto,
    })
    .await
    .expect("prepare");
    assert_eq!(data.users.len(), 4);

    let outcome = loadgen::run::run(&run_args(
        &stack.gateway,
        data_path.clone(),
        dir.path().join("run"),
    ))
    .await
    .expect("run");
    let summary = &outcome.summary;
    assert!(summary.passed, "thresholds: {:?}", summary.thresholds);

    // History: one completion per invoke, and every acknowledged booking ended.
    let ops = read_history(&outcome.out_dir.join("history.jsonl"));
    let mut open: HashMap<u64, Value> = HashMap::new();
    let mut completions: Vec<(String, Value)> = Vec::new();
    for op in &ops {
        let process = op["process"].as_u64().unwrap();
        match op["type"].as_str().unwrap() {
            "invoke" => assert!(
                open.insert(process, op.clone()).is_none(),
                "process {process} invoked twice: {op}"
            ),
            kind => {
                let invoke = open
                    .remove(&process)
                    .unwrap_or_else(|| panic!("completion without invoke: {op}"));
                assert_eq!(invoke["f"], op["f"]);
                completions.push((kind.to_string(), op.clone()));
            }
        }
    }
    assert!(open.is_empty(), "invokes never completed: {open:?}");
    let books: Vec<&(String, Value)> = completions
        .iter()
        .filter(|(_, op)| op["f"] == "book")
        .collect();
    assert!(
        books.len() >= 90,
        "a 10 s run at 10/s attempts about 100 bookings, got {}",
        books.len()
    );
    let acked: Vec<&Value> = books
        .iter()
        .filter(|(k, _)| k == "ok")
        .map(|(_, op)| op)
        .collect();
    for op in &acked {
        let status = op["value"]["status"].as_str().unwrap();
        assert!(
            ["CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"].contains(&status),
            "not terminal: {op}"
        );
    }

    // Summary counts = history counts.
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for op in &acked {
        *by_status
            .entry(op["value"]["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let b = &summary.bookings;
    assert_eq!(b.attempted, books.len() as u64);
    assert_eq!(b.acknowledged, acked.len() as u64);
    let outcomes: BTreeMap<String, u64> = b
        .outcomes
        .iter()
        .map(|(o, n)| (o.as_str().to_string(), *n))
        .collect();
    for (status, n) in &by_status {
        assert_eq!(
            outcomes.get(status),
            Some(n),
            "{status}: summary {outcomes:?} vs history {by_status:?}"
        );
    }
    let rejected = books.iter().filter(|(k, _)| k == "fail").count() as u64;
    assert_eq!(outcomes.get("REJECTED").copied().unwrap_or(0), rejected);
    assert_eq!(summary.history.ops, ops.len() as u64);
    assert!(
        b.outcomes
            .get(&loadgen::stats::Outcome::Confirmed)
            .copied()
            .unwrap_or(0)
            > 0,
        "nothing confirmed: {outcomes:?}"
    );
    let cancels = completions
        .iter()
        .filter(|(k, op)| k == "ok" && op["f"] == "cancel")
        .count() as u64;
    assert_eq!(b.cancels_ok, cancels);

    // Every acknowledged booking exists in the booking database.
    let pool = &stack.pools["booking-service"];
    for op in &acked {
        let id: Uuid = op["value"]["bookingId"].as_str().unwrap().parse().unwrap();
        let found: Option<(String,)> = sqlx::query_as("SELECT status FROM bookings WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "acknowledged booking {id} is not in the database"
        );
    }

    // Run folder.
    for file in [
        "summary.json",
        "history.jsonl",
        "goose-report.html",
        "goose-report.json",
        "run.json",
    ] {
        assert!(
            outcome.out_dir.join(file).exists(),
            "{file} missing from the run folder"
        );
    }

    // An impossible threshold: the binary exits 1 and names the rule.
    let out = dir.path().join("run2");
    let host = stack.gateway.clone();
    let data = data_path.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "--host",
                &host,
                "--data",
                &data,
                "--rate",
                "5/s",
                "--duration",
                "3s",
                "--threshold",
                "ttc-p99<1ms",
                "--progress",
                "0s",
            ])
            .arg("--out")
            .arg(&out)
            .args(["--", "--quiet"])
            .output()
            .expect("loadgen runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("FAIL ttc-p99<1ms"), "{stdout}");
    assert!(stdout.contains("verdict: FAIL"), "{stdout}");
}

/// A gateway that limits sign-ups per address (as Stampede's does outside dev mode) slows
/// `prepare`'s registrations down instead of failing them: loadgen waits out each
/// `Retry-After` and every user is registered.
#[tokio::test]
async fn prepare_waits_out_a_sign_up_limit_instead_of_failing() {
    let mut stack = InProcessStack::start(StackOptions::default()).await;
    stack.stop_service_and_wait("gateway").await;
    let port = stack
        .start_service_with(
            "gateway",
            &[("AUTH_RATE_PER_IP", "2/s"), ("AUTH_BURST_PER_IP", "2")],
        )
        .await;
    let gateway = format!("http://127.0.0.1:{port}");
    let target = loadgen::target::Target::new(&gateway).unwrap();
    let users = target
        .register_many(&format!("limited-{}", Uuid::new_v4()), 8, false)
        .await
        .expect("every sign-up goes through, slowed down");
    assert_eq!(users.len(), 8);
    assert!(users.iter().all(|u| !u.token.is_empty()));
    // The limit was on: an immediate burst past it is refused.
    let client = reqwest::Client::new();
    let mut refused = 0;
    for i in 0..6 {
        let answer = client
            .post(format!("{gateway}/api/users/login"))
            .json(
                &serde_json::json!({"email": format!("nobody{i}@stampede.test"), "password": "x"}),
            )
            .send()
            .await
            .unwrap();
        refused += usize::from(answer.status() == reqwest::StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 3, "{refused} of 6 refused");
}
