//! Every run ends by saying what the generator itself cost, per user; and sharing one HTTP client
//! between users keeps each user's own account: 12 `visit` users against a fake target print the
//! footprint line, keep it in summary.json, and ask for their profile with 12 different tokens.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reports_its_memory_and_cpu_per_user_and_users_keep_their_own_token() {
    let target = support::start(Arc::new(|| Duration::from_millis(1))).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    target.data_file(&data, 12);
    let out = dir.path().join("run");
    let host = target.host.clone();
    let (data_arg, out_arg) = (data.clone(), out.clone());
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["--host", &host, "--scenarios", "visit", "--users", "12"])
            .args(["--think", "50ms", "--duration", "2s", "--progress", "0s"])
            .args(["--poll", "5ms..20ms", "--seed", "3"])
            .arg("--data")
            .arg(data_arg)
            .arg("--out")
            .arg(out_arg)
            .args(["--", "--quiet"])
            .output()
            .expect("loadgen runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "loadgen failed: {stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let line = stdout
        .lines()
        .find(|l| l.starts_with("generator: "))
        .unwrap_or_else(|| panic!("no generator line in:\n{stdout}"));
    assert!(line.starts_with("generator: 12 users, peak RSS "), "{line}");
    assert!(
        line.contains(" KiB/user") && line.contains(" ms/user"),
        "{line}"
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let generator = &summary["generator"];
    assert_eq!(generator["peak_users"], 12, "{generator}");
    let peak = generator["peak_rss_bytes"].as_u64().unwrap();
    assert!(
        peak > 1 << 20,
        "a peak RSS under 1 MiB is not a reading: {generator}"
    );
    let per_user = generator["kib_per_user"].as_f64().unwrap();
    assert!(
        (per_user - peak as f64 / 1024.0 / 12.0).abs() < 1e-6,
        "{generator}"
    );
    // The run folder's readers still read the summary.
    let read = loadgen::merge::read_summary(&out).expect("runfiles reads the summary");
    assert_eq!(read.closed_users, 12);

    let tokens = target.profile_tokens();
    let expected: std::collections::BTreeSet<String> = (0..12).map(|i| format!("t{i}")).collect();
    assert_eq!(
        tokens, expected,
        "each visit user signs in as its own account"
    );
    assert!(target.posts() > 0, "visit users book");
}
