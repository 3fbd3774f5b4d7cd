//! `loadgen merge`: two generators' real run folders (against fake targets of different speeds)
//! merge into counts that add up and a p99 that is the p99 of all samples together, which the
//! mean of the two p99s is not: the test would catch a merge that averaged percentiles.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use loadgen::merge::{decode, read_summary};

fn run(host: &str, data: &std::path::Path, out: &std::path::Path, seed: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--host",
            host,
            "--rate",
            "50/s",
            "--duration",
            "4s",
            "--poll",
            "5ms..20ms",
            "--progress",
            "0s",
            "--seed",
            seed,
        ])
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--", "--quiet"])
        .output()
        .expect("loadgen runs");
    assert!(
        status.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The p99 of raw values, nearest-rank.
fn p99(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[((values.len() as f64 * 0.99).ceil() as usize).saturating_sub(1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_counts_add_up_and_p99_comes_from_the_merged_histogram() {
    let fast = support::start(Arc::new(|| Duration::from_millis(10))).await;
    let slow = support::start(Arc::new(|| Duration::from_millis(300))).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b, merged) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("merged"),
    );
    fast.data_file(&dir.path().join("fast.json"), 3);
    slow.data_file(&dir.path().join("slow.json"), 3);
    let (fh, sh) = (fast.host.clone(), slow.host.clone());
    let (fd, sd) = (dir.path().join("fast.json"), dir.path().join("slow.json"));
    let (a2, b2) = (a.clone(), b.clone());
    tokio::task::spawn_blocking(move || {
        run(&fh, &fd, &a2, "1");
        run(&sh, &sd, &b2, "2");
    })
    .await
    .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("merge")
        .arg("--out")
        .arg(&merged)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (sa, sb, sm) = (
        read_summary(&a).unwrap(),
        read_summary(&b).unwrap(),
        read_summary(&merged).unwrap(),
    );
    assert_eq!(
        sm.bookings.attempted,
        sa.bookings.attempted + sb.bookings.attempted
    );
    assert_eq!(
        sm.bookings.acknowledged,
        sa.bookings.acknowledged + sb.bookings.acknowledged
    );
    assert_eq!(sm.history.ops, sa.history.ops + sb.history.ops);
    assert!(
        (sm.bookings.confirmed_per_s - (sa.bookings.confirmed_per_s + sb.bookings.confirmed_per_s))
            .abs()
            < 1e-9
    );
    let history = std::fs::read_to_string(merged.join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count() as u64, sm.history.ops);

    // The raw samples of both runs, concatenated.
    let mut raw: Vec<u64> = Vec::new();
    for s in [&sa, &sb] {
        let h = decode(&s.histograms["all"]).unwrap();
        for v in h.iter_recorded() {
            raw.extend(std::iter::repeat_n(
                v.value_iterated_to(),
                v.count_at_value() as usize,
            ));
        }
    }
    let raw_p99_ms = p99(&mut raw) as f64 / 1000.0;
    let merged_p99_ms = sm.time_to_confirm["all"].p99_ms;
    let mean_of_p99s = (sa.time_to_confirm["all"].p99_ms + sb.time_to_confirm["all"].p99_ms) / 2.0;
    eprintln!("p99: merged {merged_p99_ms:.2} ms, raw {raw_p99_ms:.2} ms, mean of the two p99s {mean_of_p99s:.2} ms");
    assert!(
        (merged_p99_ms - raw_p99_ms).abs() <= raw_p99_ms * 0.002 + 0.01,
        "merged p99 {merged_p99_ms} vs raw {raw_p99_ms}"
    );
    assert!(
        (mean_of_p99s - raw_p99_ms).abs() > raw_p99_ms * 0.2,
        "averaging would not be caught: {mean_of_p99s} vs {raw_p99_ms}"
    );
}

#[test]
fn merging_nothing_or_a_foreign_folder_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("merge")
        .arg("--out")
        .arg(dir.path().join("m"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("summary.json"), "{stderr}");
    assert!(
        !dir.path().join("m").exists(),
        "nothing is written on bad input"
    );
}
