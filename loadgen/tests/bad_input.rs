//! Bad input gets one clear line on stderr and exit code 2, before any load is sent.

use std::process::Command;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use uuid::Uuid;

use loadgen::data::{PreparedData, PreparedUser, VERSION};

/// Runs the binary; returns (exit code, stderr).
fn loadgen(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("loadgen runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_line_exit_2(args: &[&str], needle: &str) {
    let (code, stderr) = loadgen(args);
    assert_eq!(code, 2, "{args:?}: exit {code}, stderr {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: want one line, got {stderr}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: {:?} does not say {needle:?}",
        lines[0]
    );
}

#[test]
fn unknown_flags_bad_rates_and_missing_host_exit_2() {
    assert_one_line_exit_2(
        &["--host", "http://127.0.0.1:9", "--frobnicate"],
        "--frobnicate",
    );
    assert_one_line_exit_2(
        &["--host", "http://127.0.0.1:9", "--rate", "fast"],
        "--rate",
    );
    assert_one_line_exit_2(
        &["--host", "http://127.0.0.1:9", "--rate", "-3/s"],
        "non-negative",
    );
    assert_one_line_exit_2(
        &[
            "--host",
            "http://127.0.0.1:9",
            "--rate",
            "10/s",
            "--threshold",
            "ttc-p99<soon",
        ],
        "ttc-p99<soon",
    );
    assert_one_line_exit_2(
        &[
            "--host",
            "http://127.0.0.1:9",
            "--rate",
            "10/s",
            "--scenarios",
            "shop",
        ],
        "unknown scenario",
    );
    assert_one_line_exit_2(&["--rate", "10/s"], "--host is required");
    assert_one_line_exit_2(&["--host", "not a url", "--rate", "10/s"], "not a URL");
}

#[test]
fn an_unreachable_host_exits_2() {
    // Port 9 (discard) is closed on loopback here; nothing listens.
    assert_one_line_exit_2(
        &[
            "--host",
            "http://127.0.0.1:9",
            "--rate",
            "10/s",
            "--duration",
            "1s",
        ],
        "cannot reach http://127.0.0.1:9",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_data_file_for_another_target_exits_2() {
    // A target that knows no event but its list.
    let app = Router::new()
        .route(
            "/api/events",
            get(|| async { Json(json!({"events": [], "total": 0})) }),
        )
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                Json(json!({"error": {"code": "NOT_FOUND", "message": "no"}})),
            )
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.json");
    PreparedData {
        version: VERSION,
        host: "http://elsewhere:3000".into(),
        created_at: "test".into(),
        event_id: Uuid::new_v4(),
        event_name: "gone".into(),
        seats: 10,
        users: vec![PreparedUser {
            id: Uuid::new_v4(),
            email: "a@b".into(),
            password: "p".into(),
            token: "t".into(),
        }],
    }
    .save(&path)
    .unwrap();
    let path = path.display().to_string();
    let (host2, path2) = (host.clone(), path.clone());
    tokio::task::spawn_blocking(move || {
        assert_one_line_exit_2(
            &[
                "--host",
                &host2,
                "--data",
                &path2,
                "--rate",
                "10/s",
                "--duration",
                "1s",
            ],
            "does not match",
        );
    })
    .await
    .unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    tokio::task::spawn_blocking(move || {
        assert_one_line_exit_2(
            &[
                "--host",
                &host,
                "--data",
                &path,
                "--rate",
                "10/s",
                "--duration",
                "1s",
            ],
            "not a loadgen data file",
        );
    })
    .await
    .unwrap();
}
