//! The `reports` binary: exit codes and what it prints.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fixture, RunSpec};

fn reports(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reports"))
        .args(args)
        .output()
        .expect("runs reports")
}

fn assert_bad_input(out: &Output, file: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "names {}: {stderr}",
        file.display()
    );
}

#[test]
fn render_prints_the_report_path_and_exits_0() {
    let run = Fixture::loadgen(&RunSpec::default());
    let out = reports(&["render", run.dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed.trim(),
        run.dir.join("report.html").display().to_string()
    );
    assert!(run.dir.join("report.html").is_file());

    let other = run.dir.join("elsewhere/r.html");
    let out = reports(&[
        "render",
        run.dir.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--slo-p99",
        "250ms",
    ]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&other)
        .unwrap()
        .contains("(from --slo-p99)"));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert_bad_input(&reports(&["render", missing.to_str().unwrap()]), &missing);

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_bad_input(
        &reports(&["render", empty.to_str().unwrap()]),
        &empty.join("summary.json"),
    );

    let run = Fixture::loadgen(&RunSpec::default());
    let summary = run.dir.join("summary.json");
    std::fs::write(&summary, "{\"version\": 1, \"timeline\": [").unwrap();
    assert_bad_input(&reports(&["render", run.dir.to_str().unwrap()]), &summary);

    let chaos = Fixture::chaos(&RunSpec {
        faults: vec![(5.0, Some(10.0))],
        ..RunSpec::default()
    });
    let faults = chaos.dir.join("faults.json");
    std::fs::write(&faults, "[{\"start_s\": \"soon\"}]").unwrap();
    assert_bad_input(&reports(&["render", chaos.dir.to_str().unwrap()]), &faults);

    let chaos = Fixture::chaos(&RunSpec::default());
    std::fs::remove_file(chaos.dir.join("loadgen/summary.json")).unwrap();
    assert_bad_input(
        &reports(&["render", chaos.dir.to_str().unwrap()]),
        &chaos.dir.join("loadgen/summary.json"),
    );

    let out = reports(&[
        "diff",
        missing.to_str().unwrap(),
        chaos.dir.to_str().unwrap(),
    ]);
    assert_bad_input(&out, &missing);
}

#[test]
fn diff_prints_the_path_and_a_table_of_deltas() {
    let a = Fixture::loadgen(&RunSpec::default());
    let b = Fixture::loadgen(&RunSpec {
        ttc_base_ms: 160.0,
        seed: 9,
        ..RunSpec::default()
    });
    let out = reports(&["diff", a.dir.to_str().unwrap(), b.dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let path = lines.next().unwrap();
    assert!(Path::new(path).is_file(), "{path}");
    assert!(path.ends_with(&format!(
        "diff-{}.html",
        a.dir.file_name().unwrap().to_string_lossy()
    )));
    let table: Vec<&str> = lines.collect();
    assert!(table[0].starts_with("metric"));
    let p99 = table
        .iter()
        .find(|l| l.starts_with("ttc p99 ms"))
        .expect("ttc p99 row");
    assert!(p99.contains("worse"), "B doubled the latency: {p99}");
    assert!(table.iter().any(|l| l.starts_with("verdict")));
}
