//! `login-flood`: a sign-in flood against user-service, and what it does to the service.
//!
//! Starts user-service (`stack serve user-service`, the `stack` binary beside this one) on a
//! fresh database, signs one user up, then holds `--connections` connections each sending
//! correct sign-ins back to back for `--duration`: every one that gets a hashing slot costs an
//! argon2 verification (~19 MiB, ~tens of ms). Meanwhile a separate connection asks
//! `GET /health` every 100 ms. Prints what the flood got (200, 503 `BUSY`, other), how `/health`
//! answered, and user-service's resident memory before and at its peak (`VmHWM`), then stops
//! the service and drops its database.
//!
//! ```text
//! cargo build --release -p benches -p stack
//! target/release/login-flood --connections 1000 --duration 30s
//! ```

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::Connection;

#[derive(Parser)]
#[command(about = "A sign-in flood against user-service: its memory, and whether /health answers")]
struct Args {
    /// Concurrent connections, each sending sign-ins back to back.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// How long the flood lasts (`30s`, `2m`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// The `stack` binary that serves user-service (default: beside this binary).
    #[arg(long)]
    stack_bin: Option<std::path::PathBuf>,
    /// Postgres server (the flood's own database is created and dropped on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// `PASSWORD_HASH_SLOTS` for the service (default: its own, the CPUs).
    #[arg(long)]
    hash_slots: Option<usize>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: use 30s or 2m"))?;
    match unit {
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{text:?}: use 30s or 2m")),
    }
    .and_then(|d| {
        if d.is_zero() {
            Err("must be longer than 0s".into())
        } else {
            Ok(d)
        }
    })
}

/// Resident memory of `pid` now and at its peak, in MiB, from /proc.
fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} missing from /proc/{pid}/status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("no number")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Counts of the flood's answers.
#[derive(Default)]
struct Answers {
    ok: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
    transport: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let stack_bin = match &args.stack_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary has no directory")?
            .join("stack"),
    };
    if !stack_bin.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p stack) or pass --stack-bin",
            stack_bin.display()
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let database = format!("stampede_login_flood_{}", std::process::id());
    let database_url = format!("{}/{database}", args.postgres.trim_end_matches('/'));
    let mut command = tokio::process::Command::new(&stack_bin);
    command
        .args(["serve", "user-service"])
        .env("STAMPEDE_ENV", "dev")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", &database_url)
        .env(
            "KAFKA_TOPIC_PREFIX",
            format!("flood{}.", std::process::id()),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true);
    if let Some(slots) = args.hash_slots {
        command.env("PASSWORD_HASH_SLOTS", slots.to_string());
    }
    let mut service = command.spawn().context("starting user-service")?;
    let pid = service.id().context("user-service exited at once")?;
    let base = format!("http://127.0.0.1:{port}");
    let result = flood(&args, &base, pid).await;
    let _ = service.start_kill();
    let _ = service.wait().await;
    if let Ok(mut admin) =
        sqlx::PgConnection::connect(&format!("{}/postgres", args.postgres.trim_end_matches('/')))
            .await
    {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
    result
}

async fn flood(args: &Args, base: &str, pid: u32) -> anyhow::Result<()> {
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let started = Instant::now();
    loop {
        if probe.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("user-service did not answer /health within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (email, password) = ("flood@stampede.test", "Flood-password-1");
    let signed_up = probe
        .post(format!("{base}/api/users/register"))
        .json(&json!({"name": "Flood", "email": email, "password": password}))
        .send()
        .await?;
    if signed_up.status().as_u16() != 201 {
        bail!(
            "signing the flood's user up answered {}",
            signed_up.status()
        );
    }
    let (rss_before, _) = memory_mib(pid)?;

    let answers = Arc::new(Answers::default());
    let until = Instant::now() + args.duration;
    // One client per connection: each holds its own keep-alive connection for the whole flood.
    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1)
            .build()?;
        let answers = answers.clone();
        let url = format!("{base}/api/users/login");
        let body = json!({"email": email, "password": password});
        senders.push(tokio::spawn(async move {
            while Instant::now() < until {
                let counter = match client.post(&url).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 200 => &answers.ok,
                    Ok(r) if r.status().as_u16() == 503 => &answers.busy,
                    Ok(_) => &answers.other,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        &answers.transport
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut health = Histogram::<u64>::new(3)?;
    let mut health_failed = 0u64;
    let mut rss_peak_seen = rss_before;
    while Instant::now() < until {
        let asked = Instant::now();
        match probe.get(format!("{base}/health")).send().await {
            Ok(r) if r.status().is_success() => {
                health.record(asked.elapsed().as_micros().try_into().unwrap_or(u64::MAX))?;
            }
            _ => health_failed += 1,
        }
        rss_peak_seen = rss_peak_seen.max(memory_mib(pid)?.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for sender in senders {
        let _ = sender.await;
    }
    let (_, peak) = memory_mib(pid)?;
    let seconds = args.duration.as_secs_f64();
    let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "login flood: {} connections for {seconds:.0} s against user-service (pid {pid})",
        args.connections
    );
    println!(
        "  sign-ins: {} ok ({:.1}/s), {} 503 BUSY, {} other, {} transport errors",
        count(&answers.ok),
        count(&answers.ok) as f64 / seconds,
        count(&answers.busy),
        count(&answers.other),
        count(&answers.transport)
    );
    let ms = |q: f64| health.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "  GET /health every 100 ms: {} answered, {health_failed} failed; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        health.len(),
        ms(0.5),
        ms(0.99),
        health.max() as f64 / 1000.0
    );
    println!(
        "  user-service RSS: {rss_before:.0} MiB before, {peak:.0} MiB peak (VmHWM), {rss_peak_seen:.0} MiB highest sampled"
    );
    Ok(())
}
