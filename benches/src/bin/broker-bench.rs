//! `broker-bench`: the Kafka-protocol broker (tansu, as `infra/local/up` runs it) measured from
//! outside, with librdkafka clients set up like the services' (`kit::kafka`: idempotent acks=all
//! producer with linger.ms=1; group consumers storing offsets by hand, fetch.wait.max.ms 500).
//!
//! ```text
//!   broker-bench latency --rate N --seconds S [--groups G] [--wait-ms W] [--pid BROKER_PID]
//!       N keyed 100-byte msg/s for S s into a fresh topic (3 partitions), read by G groups:
//!       send -> ack and send -> consume p50/p90/p99/max, every message accounted for,
//!       the broker's CPU (utime + stime of /proc/PID/stat) over the producing window
//!   broker-bench idle --groups G --topics T --seconds S [--wait-ms W] --pid BROKER_PID
//!       G idle groups on T fresh topics x 3 partitions: broker CPU (cores), fetch requests/s
//!   broker-bench sweep [--rates 100,1000,3000] [--seconds 20] [--pid P]
//!       latency at each rate, then idle (4 groups x 4 topics): one table, about 100 s
//! ```
//!
//! Loopback brokers only (`--brokers`, default 127.0.0.1:9092). Every run makes its own topics
//! and groups, `bench.<12 hex>.*`, and deletes its groups at the end. Its topics stay: tansu
//! 0.6.0's DeleteTopics (sqlite engine) deletes every topic of the broker, with their records, so
//! nothing here ever sends one. Every wait has a deadline, so a run stops by itself.
//!
//! Exit status: 0 every message arrived, 1 FAIL (a message was not acknowledged or did not reach
//! a group), 2 bad input (nothing was run), 3 the run broke (broker unreachable, groups never
//! assigned, broker process gone).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use benches::broker::client::Brokers;
use benches::broker::cpu::Proc;
use benches::broker::{idle, latency, loadavg, Percentiles};
use clap::{Args, Parser, Subcommand};

/// The local broker of `infra/local/up`.
const LOCAL_BROKER: &str = "127.0.0.1:9092";

/// Measures the Kafka-protocol broker from outside, with the services' client settings.
#[derive(Debug, Parser)]
#[command(name = "broker-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Produce -> consume latency at a fixed rate; every message must reach every group.
    Latency(LatencyArgs),
    /// Broker CPU and fetch requests of idle consumer groups.
    Idle(IdleArgs),
    /// Latency at several rates, then idle: one table.
    Sweep(SweepArgs),
}

/// Where and how the clients connect.
#[derive(Debug, Args, Clone)]
struct Target {
    /// Bootstrap servers; loopback addresses only.
    #[arg(long, value_name = "HOST:PORT", default_value = LOCAL_BROKER, value_parser = Brokers::parse)]
    brokers: Brokers,
    /// The consumers' fetch.wait.max.ms (the services use 500).
    #[arg(long, value_name = "MS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(0..=30_000))]
    wait_ms: u32,
}

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    target: Target,
    /// Messages per second.
    #[arg(long, value_name = "MSG_PER_S", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    rate: u32,
    /// Length of the producing window.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=600))]
    seconds: u32,
    /// Consumer groups, each reading every message.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    groups: u32,
    /// The broker's pid, for its CPU time over the producing window.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pid: Option<u32>,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Idle consumer groups (one member each), each subscribed to every topic.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    groups: u32,
    /// Fresh empty topics, 3 partitions each.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    topics: u32,
    /// Length of the measured window.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=600))]
    seconds: u32,
    /// Wait after every group has its partitions, before the window opens.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=60))]
    settle_secs: u32,
    /// The broker's pid.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pid: u32,
}

#[derive(Debug, Args)]
struct SweepArgs {
    #[command(flatten)]
    target: Target,
    /// The broker's pid [default: $STAMPEDE_STATE_DIR/tansu.pid (~/.local/share/stampede/tansu.pid)
    /// when --brokers is the local broker; without it, no CPU figures].
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pid: Option<u32>,
    /// Latency runs, messages per second.
    #[arg(long, value_name = "MSG_PER_S,...", value_delimiter = ',', default_value = "100,1000,3000",
          value_parser = clap::value_parser!(u32).range(1..=20_000))]
    rates: Vec<u32>,
    /// Producing window of each latency run.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=600))]
    seconds: u32,
    /// Consumer groups of the latency runs.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    groups: u32,
    /// Idle groups (0: no idle run).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=16))]
    idle_groups: u32,
    /// Idle topics.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    idle_topics: u32,
    /// Idle window.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=600))]
    idle_seconds: u32,
}

/// A pid of a running process.
fn parse_pid(s: &str) -> Result<u32, String> {
    let pid: u32 = s.parse().map_err(|_| format!("{s} is not a pid"))?;
    Proc::Pid(pid)
        .name()
        .map_err(|_| format!("no process {pid} is running"))?;
    Ok(pid)
}

/// The local broker's pid from infra/local/up's pid file.
fn local_broker_pid() -> Result<u32, String> {
    let dir = std::env::var_os("STAMPEDE_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/stampede"))
        })
        .ok_or("no --pid, and neither STAMPEDE_STATE_DIR nor HOME is set to find tansu.pid")?;
    let file = dir.join("tansu.pid");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "no --pid, and cannot read {}: {e} (run infra/local/up)",
            file.display()
        )
    })?;
    parse_pid(text.trim())
        .map_err(|e| format!("{} (from {}; run infra/local/up)", e, file.display()))
}

fn main() -> ExitCode {
    let cli: Cli = match runfiles::exit::parse_args("broker-bench") {
        Ok(cli) => cli,
        Err(ended) => return ended.into(),
    };
    match cli.command {
        Command::Latency(args) => latency_command(&args),
        Command::Idle(args) => idle_command(&args),
        Command::Sweep(args) => sweep(&args),
    }
}

fn latency_command(args: &LatencyArgs) -> ExitCode {
    let config = latency::Config {
        brokers: args.target.brokers.clone(),
        rate: args.rate,
        seconds: args.seconds,
        groups: args.groups,
        wait_ms: args.target.wait_ms,
        pid: args.pid,
    };
    match latency::run(&config) {
        Ok(report) => {
            print_latency(&report);
            verdict(&report)
        }
        Err(e) => broke("latency", &e),
    }
}

fn idle_command(args: &IdleArgs) -> ExitCode {
    let config = idle::Config {
        brokers: args.target.brokers.clone(),
        groups: args.groups,
        topics: args.topics,
        seconds: args.seconds,
        settle_secs: args.settle_secs,
        wait_ms: args.target.wait_ms,
        pid: args.pid,
    };
    match idle::run(&config) {
        Ok(report) => {
            print_idle(&report);
            ExitCode::SUCCESS
        }
        Err(e) => broke("idle", &e),
    }
}

fn broke(what: &str, e: &anyhow::Error) -> ExitCode {
    eprintln!("broker-bench {what}: {e:#}");
    ExitCode::from(3)
}

fn verdict(report: &latency::Report) -> ExitCode {
    let failures = report.failures();
    if failures.is_empty() {
        println!(
            "PASS: {} messages, each acknowledged and received by every group",
            report.sent
        );
        ExitCode::SUCCESS
    } else {
        for f in failures {
            println!("FAIL: {f}");
        }
        ExitCode::from(1)
    }
}

fn percentiles(p: Option<Percentiles>) -> String {
    p.map_or_else(|| "none".into(), |p| p.to_string())
}

fn print_latency(r: &latency::Report) {
    println!(
        "latency: {} msg/s x {} s, {} group(s), fetch.wait.max.ms {}, topic {} (3 partitions); load {} -> {}",
        r.rate,
        r.seconds,
        r.groups.len(),
        r.wait_ms,
        r.topic,
        r.load_start,
        r.load_end
    );
    println!(
        "  sent {} in {:.2} s (producer at most {:.1} ms behind its schedule), acknowledged {}",
        r.sent, r.produce_s, r.max_behind_ms, r.acked
    );
    println!("  send -> ack:     {}", percentiles(r.ack));
    println!("  send -> consume: {}", percentiles(r.e2e));
    for g in &r.groups {
        println!(
            "  group {}: received {} of {}, {} duplicates, {} consumer errors{}{}",
            g.name,
            g.delivered.map_or("?".into(), |n| n.to_string()),
            r.sent,
            g.duplicates,
            g.errors.count,
            g.errors
                .first
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
            if g.closed { "" } else { ", still closing" }
        );
    }
    if let Some(d) = r.drain_s {
        println!(
            "  the last message reached the last group {:.0} ms after the last ack",
            d * 1e3
        );
    }
    let broker = match (r.broker, r.broker_us_per_message()) {
        (Some(b), Some(us)) => format!(
            "broker {:.3} cores, {us:.0} µs CPU per message ({} cores before the run)",
            b.cores(),
            r.broker_before
                .map_or("?".into(), |b| format!("{:.3}", b.cores()))
        ),
        _ => "broker CPU not measured (no --pid)".into(),
    };
    println!(
        "  over the producing window: {broker}; this process {:.3} cores; fetch requests {}",
        r.bench.cores(),
        r.fetches_per_s.map_or("?".into(), |f| format!("{f:.1}/s"))
    );
    println!("  cleanup: {}", r.cleanup);
}

fn print_idle(r: &idle::Report) {
    println!(
        "idle: {} group(s) x {} topics x 3 partitions ({} per group), fetch.wait.max.ms {}; load {} -> {}",
        r.groups,
        r.topics.len(),
        r.partitions_per_group,
        r.wait_ms,
        r.load_start,
        r.load_end
    );
    println!(
        "  over {:.1} s: broker {:.3} cores ({:.3} before the run), this process {:.3} cores, fetch requests {}",
        r.broker.wall_s,
        r.broker.cores(),
        r.broker_before.cores(),
        r.bench.cores(),
        r.fetches_per_s.map_or("?".into(), |f| format!("{f:.1}/s"))
    );
    if r.unexpected_messages > 0 || r.errors.count > 0 {
        println!(
            "  {} messages arrived on the idle topics, {} consumer errors{}",
            r.unexpected_messages,
            r.errors.count,
            r.errors
                .first
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
    println!("  cleanup: {}", r.cleanup);
}

/// One row of the sweep's table.
enum Row {
    Latency(Box<latency::Report>),
    Idle(Box<idle::Report>),
    Broke(String, String),
}

fn sweep(args: &SweepArgs) -> ExitCode {
    let pid = match args.pid {
        Some(pid) => Some(pid),
        None if args.target.brokers.as_str() == LOCAL_BROKER => match local_broker_pid() {
            Ok(pid) => Some(pid),
            Err(e) => {
                eprintln!("broker-bench: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let started = Instant::now();
    let broker = pid.map_or_else(
        || "pid not given: no CPU figures".to_string(),
        |pid| {
            format!(
                "pid {pid}: {}",
                Proc::Pid(pid)
                    .command_line()
                    .unwrap_or_else(|e| format!("{e:#}"))
            )
        },
    );
    println!(
        "# broker-bench sweep, {}, broker {} ({broker}), fetch.wait.max.ms {}, load {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        args.target.brokers,
        args.target.wait_ms,
        loadavg()
    );
    let mut rows = Vec::new();
    let mut code = ExitCode::SUCCESS;
    let mut broke_any = false;
    for &rate in &args.rates {
        let config = latency::Config {
            brokers: args.target.brokers.clone(),
            rate,
            seconds: args.seconds,
            groups: args.groups,
            wait_ms: args.target.wait_ms,
            pid,
        };
        match latency::run(&config) {
            Ok(report) => {
                print_latency(&report);
                if !report.passed() {
                    code = ExitCode::from(1);
                }
                let _ = verdict(&report);
                rows.push(Row::Latency(Box::new(report)));
            }
            Err(e) => {
                eprintln!("broker-bench latency {rate}/s: {e:#}");
                broke_any = true;
                rows.push(Row::Broke(format!("latency {rate}/s"), format!("{e:#}")));
            }
        }
    }
    if args.idle_groups > 0 {
        match pid {
            Some(pid) => {
                let config = idle::Config {
                    brokers: args.target.brokers.clone(),
                    groups: args.idle_groups,
                    topics: args.idle_topics,
                    seconds: args.idle_seconds,
                    settle_secs: 5,
                    wait_ms: args.target.wait_ms,
                    pid,
                };
                match idle::run(&config) {
                    Ok(report) => {
                        print_idle(&report);
                        rows.push(Row::Idle(Box::new(report)));
                    }
                    Err(e) => {
                        eprintln!("broker-bench idle: {e:#}");
                        broke_any = true;
                        rows.push(Row::Broke("idle".into(), format!("{e:#}")));
                    }
                }
            }
            None => println!("idle: skipped (it measures the broker's CPU: give --pid)"),
        }
    }
    println!();
    print_table(&rows);
    println!(
        "\n{:.0} s in all; load at the end {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    if broke_any {
        ExitCode::from(3)
    } else {
        code
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| run | sent | delivered | ack p50 ms | p50 ms | p90 ms | p99 ms | max ms | broker cores | broker before | broker µs/msg | bench cores | producer late ms | fetches/s | load 1 min |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ms = |v: f64| format!("{v:.1}");
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let load1 = |l: &str| l.split_whitespace().next().unwrap_or("?").to_string();
    for row in rows {
        match row {
            Row::Latency(r) => {
                let delivered = r.groups.iter().filter_map(|g| g.delivered).min().unwrap_or(0);
                let e2e = r.e2e;
                println!(
                    "| latency {} msg/s x {} s, {} group(s) | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.1} | {} | {} |",
                    r.rate,
                    r.seconds,
                    r.groups.len(),
                    r.sent,
                    delivered,
                    if r.passed() { "" } else { " FAIL" },
                    or_dash(r.ack.map(|p| ms(p.p50_ms))),
                    or_dash(e2e.map(|p| ms(p.p50_ms))),
                    or_dash(e2e.map(|p| ms(p.p90_ms))),
                    or_dash(e2e.map(|p| ms(p.p99_ms))),
                    or_dash(e2e.map(|p| ms(p.max_ms))),
                    or_dash(r.broker.map(|b| format!("{:.3}", b.cores()))),
                    or_dash(r.broker_before.map(|b| format!("{:.3}", b.cores()))),
                    or_dash(r.broker_us_per_message().map(|us| format!("{us:.0}"))),
                    r.bench.cores(),
                    r.max_behind_ms,
                    or_dash(r.fetches_per_s.map(|f| format!("{f:.1}"))),
                    load1(&r.load_start)
                );
            }
            Row::Idle(r) => println!(
                "| idle {} groups x {} topics x 3 partitions, {} s | - | - | - | - | - | - | - | {:.3} | {:.3} | - | {:.3} | - | {} | {} |",
                r.groups,
                r.topics.len(),
                r.broker.wall_s.round(),
                r.broker.cores(),
                r.broker_before.cores(),
                r.bench.cores(),
                or_dash(r.fetches_per_s.map(|f| format!("{f:.1}"))),
                load1(&r.load_start)
            ),
            Row::Broke(what, e) => println!("| {what}: {e} | | | | | | | | | | | | | | |"),
        }
    }
}
