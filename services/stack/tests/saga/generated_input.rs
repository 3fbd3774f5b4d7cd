//! Generated bad input through the gateway: schemathesis (PyPI; `infra/local/up` installs it)
//! reads the gateway's OpenAPI document and sends every operation valid and invalid requests,
//! signed in as the admin (so admin-only operations are reached too). Zero 5xx, zero responses
//! that break the document (status, content type, headers, body schema): every error is the
//! JSON envelope the document names.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{SagaStack, StackOptions};

/// Examples per operation in the fuzzing phase (the coverage phase adds its own boundary and
/// negative cases): about 3,000 requests in all, under a minute against the debug build.
const EXAMPLES_PER_OPERATION: &str = "100";

/// Fewer test cases than this means schemathesis skipped operations or phases.
const AT_LEAST_CASES: u64 = 1_500;

/// Fixed, so a failure is reproduced by running the test again.
const SEED: &str = "20261207";

/// `$SCHEMATHESIS_BIN`, else the virtualenv `infra/local/up` makes, else `schemathesis` on PATH.
fn schemathesis() -> PathBuf {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS_BIN") {
        return bin.into();
    }
    let state_dir = std::env::var_os("STAMPEDE_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/stampede"))
        });
    if let Some(bin) = state_dir.map(|d| d.join("venv/bin/schemathesis")) {
        if bin.is_file() {
            return bin;
        }
    }
    PathBuf::from("schemathesis")
}

#[tokio::test]
async fn generated_requests_to_every_operation_get_no_5xx_and_only_documented_answers() {
    // Arrange
    let stack = SagaStack::start(StackOptions::default()).await;
    let admin = stack.admin_token().await;
    let workdir = tempfile::tempdir().unwrap(); // schemathesis keeps its .hypothesis folder here
    let bin = schemathesis();

    // Act
    let run = tokio::task::spawn_blocking({
        let document = format!("{}/openapi.json", stack.gateway);
        let workdir = workdir.path().to_path_buf();
        let bin = bin.clone();
        move || {
            Command::new(&bin)
                .current_dir(&workdir)
                .env("NO_COLOR", "1")
                .args(["run", &document])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_headers_conformance,response_schema_conformance",
                ])
                .args(["--phases", "examples,coverage,fuzzing"])
                .args(["--max-examples", EXAMPLES_PER_OPERATION])
                .args(["--seed", SEED])
                // One worker: with two, hypothesis's lambda-source cache (not thread-safe) once
                // failed an operation with "AST constructor recursion depth mismatch", an error
                // of the tool, not of the API.
                .args(["--workers", "1"])
                .args(["--request-timeout", "20"])
                .args(["-H", &format!("Authorization: Bearer {admin}")])
                .output()
        }
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): run infra/local/up, which installs schemathesis into a \
             virtualenv, or set SCHEMATHESIS_BIN",
            bin.display()
        )
    });

    // Assert
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The summary says how many test cases (requests) ran; the test's output shows it.
    println!("{stdout}");
    assert!(
        run.status.success(),
        "schemathesis found failures (exit {:?}):\n{stdout}\n{stderr}",
        run.status.code()
    );
    let cases = generated_cases(&stdout)
        .unwrap_or_else(|| panic!("a \"Test cases: N generated\" line:\n{stdout}"));
    println!("schemathesis: {cases} generated requests, 0 failures");
    assert!(
        cases >= AT_LEAST_CASES,
        "{cases} test cases, expected at least {AT_LEAST_CASES}:\n{stdout}"
    );
}

/// N of the summary's "Test cases:" / "  N generated, ..." lines.
fn generated_cases(stdout: &str) -> Option<u64> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("Test cases:"));
    lines.next()?;
    lines.next()?.split_whitespace().next()?.parse().ok()
}
