//! `chaos selftest`: proof that the checker can fail. Two runs on the local stack:
//!
//! 1. hot-seat contention with inventory's `LOCK_STRATEGY=unsafe` (no atomic lock, no Postgres
//!    guard): the checker must report double booking, with the seat and both bookings;
//! 2. a clean short run whose databases are then tampered with (a CONFIRMED booking turned
//!    FAILED while its seats stay RESERVED, and a PENDING booking left behind): the checker must
//!    name that seat and booking, and the pending one.
//!
//! It succeeds only when every expected violation is found.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::Connection;
use uuid::Uuid;

use crate::checker::{self, Opts, Validity, Verdict};
use crate::collect::collect_from_databases;
use crate::local_stack::drop_databases;
use crate::runner::{self, RunOptions};
use crate::scenario::Scenario;

const UNSAFE: &str = r#"# self-test: hot-seat contention without a lock; the checker must see double bookings
name = "selftest-unsafe-lock"
description = "LOCK_STRATEGY=unsafe under hot-seat contention"
quiesce = "60s"
[target]
mode = "local"
[stack]
lock_strategy = "unsafe"
[data]
seats = 200
users = 20
[load]
rate = "20/s"
duration = "6s"
scenarios = "hot-seat"
hot_seats = 2
seats_per_booking = "1"
"#;

const CLEAN: &str = r#"# self-test: a clean short run whose databases the self-test then tampers with
name = "selftest-tampered"
description = "a clean run, then a FAILED booking holding seats and a PENDING booking"
quiesce = "60s"
[target]
mode = "local"
[data]
seats = 500
users = 10
[load]
rate = "10/s"
duration = "6s"
scenarios = "book"
"#;

/// One expectation of the self-test and whether it held.
#[derive(Debug)]
pub struct Finding {
    pub expectation: String,
    pub found: bool,
    pub evidence: String,
}

fn first_example(verdict: &Verdict, invariant: &str, anomaly: &str) -> Option<String> {
    verdict
        .invariants
        .get(invariant)?
        .examples
        .iter()
        .find(|e| e.anomaly == anomaly)
        .map(|e| e.message.clone())
}

fn scenario(dir: &Path, name: &str, text: &str) -> anyhow::Result<Scenario> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)?;
    Scenario::load(&path).map_err(|e| anyhow::anyhow!("built-in scenario {name}: {e}"))
}

/// Runs both parts; returns each expectation with its evidence.
///
/// # Errors
/// When a run could not be carried out.
pub async fn run(out: &Path) -> anyhow::Result<Vec<Finding>> {
    std::fs::create_dir_all(out)?;
    let mut findings = Vec::new();

    eprintln!("selftest 1/2: hot-seat contention with LOCK_STRATEGY=unsafe");
    // The services inherit this process's environment. Two bookings of one seat that pass the
    // unsafe strategy's check within this window meet and both win the seat (inventory's `race`
    // module), so the first two bookings of each hot seat double-book it: certain, one run.
    std::env::set_var("UNSAFE_RACE_WINDOW_MS", "2000");
    let unsafe_run = runner::run(
        &scenario(out, "selftest-unsafe-lock", UNSAFE)?,
        &RunOptions {
            out: Some(out.join("unsafe-lock")),
            keep_databases: false,
            stretch: 1,
        },
    )
    .await;
    std::env::remove_var("UNSAFE_RACE_WINDOW_MS");
    let unsafe_run = unsafe_run.map_err(|e| anyhow::anyhow!("{e}"))?;
    let double = unsafe_run
        .verdict
        .invariants
        .get("double_booking")
        .map(|v| v.valid);
    let example = first_example(&unsafe_run.verdict, "double_booking", "double_booked_seats")
        .or_else(|| {
            unsafe_run
                .verdict
                .invariants
                .get("double_booking")
                .and_then(|v| v.examples.first())
                .map(|e| e.message.clone())
        });
    findings.push(Finding {
        expectation: "unsafe locks: double_booking INVALID".into(),
        found: double == Some(Validity::False),
        evidence: example.unwrap_or_else(|| format!("double_booking was {double:?}")),
    });

    eprintln!("selftest 2/2: a clean run, then tampered databases");
    let clean = runner::run(
        &scenario(out, "selftest-tampered", CLEAN)?,
        &RunOptions {
            out: Some(out.join("tampered")),
            keep_databases: true,
            stretch: 1,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = tamper_and_check(&clean).await;
    drop_databases(&clean.kept_databases).await;
    let (tampered_booking, pending_booking, verdict) = result?;
    findings.push(Finding {
        expectation: "clean run before tampering: every invariant VALID".into(),
        found: clean.verdict.valid == Validity::True,
        evidence: format!("verdict {:?}", clean.verdict.valid),
    });
    let held = first_example(&verdict, "compensation", "seats_held_by_closed_bookings")
        .unwrap_or_default();
    findings.push(Finding {
        expectation: format!(
            "a FAILED booking holding RESERVED seats is named ({tampered_booking})"
        ),
        found: held.contains(&tampered_booking.to_string()),
        evidence: held,
    });
    let pending = verdict
        .invariants
        .get("liveness")
        .map(|v| {
            v.examples
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    findings.push(Finding {
        expectation: format!("a PENDING booking left behind is named ({pending_booking})"),
        found: pending.contains(&pending_booking.to_string()),
        evidence: pending,
    });
    std::fs::write(
        out.join("tampered-verdict.json"),
        serde_json::to_vec_pretty(&verdict)?,
    )?;
    Ok(findings)
}

/// Turns one CONFIRMED booking FAILED (its seats stay RESERVED) and adds a PENDING booking; then
/// reads the state again and checks it against the same history.
async fn tamper_and_check(report: &runner::RunReport) -> anyhow::Result<(Uuid, Uuid, Verdict)> {
    let databases = report
        .databases
        .as_ref()
        .context("the clean run read no databases")?;
    let event = report.event_id.context("the clean run has no event")?;
    let mut bookings = sqlx::PgConnection::connect(&databases.bookings).await?;
    let (victim, user): (Uuid, Uuid) =
        sqlx::query_as("SELECT id, user_id FROM bookings WHERE status = 'CONFIRMED' AND event_id = $1 ORDER BY created_at LIMIT 1")
            .bind(event)
            .fetch_one(&mut bookings)
            .await
            .context("the clean run confirmed no booking to tamper with")?;
    sqlx::query("UPDATE bookings SET status = 'FAILED', failure_reason = 'TAMPERED' WHERE id = $1")
        .bind(victim)
        .execute(&mut bookings)
        .await?;
    let pending = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO bookings (id, user_id, event_id, event_name, seat_ids, amount_cents, status, expires_at)
         VALUES ($1, $2, $3, 'tampered', '{}', 0, 'PENDING', now() + interval '1 hour')",
    )
    .bind(pending)
    .bind(user)
    .bind(event)
    .execute(&mut bookings)
    .await?;
    let state = collect_from_databases(databases, Some(&[event])).await?;
    let history = report
        .history
        .as_ref()
        .context("the clean run kept no history")?;
    let verdict = checker::check(
        history,
        &state,
        &Opts {
            history_complete: false,
            ..Opts::default()
        },
    );
    Ok((victim, pending, verdict))
}

/// The default folder of a self-test.
pub fn default_out() -> PathBuf {
    PathBuf::from(format!(
        "reports/out/{}-selftest",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ))
}
