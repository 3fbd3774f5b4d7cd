//! `chaos`: the command line. Parses, builds, runs; the work is in the library.
//!
//! ```text
//!   chaos proxy [--listen 127.0.0.1:8474] [--config proxies.json]
//!   chaos check --history history.jsonl --state final-state.json [--json verdict.json]
//!               [--history-complete] [--max-examples 10] [--invariants liveness,acknowledged]
//!   chaos collect --bookings-db URL --inventory-db URL [--payments-db URL]
//!                 [--notifications-db URL] [--event ID]... --out final-state.json
//!   chaos run scenarios/X.toml [--out DIR] [--keep-databases]
//!   chaos validate scenarios/*.toml
//! ```
//!
//! `run` exits 0 pass, 1 a threshold failed, 2 bad scenario (nothing started), 3 harness error,
//! 4 an invariant violated, 5 an invariant undecided.
//!
//! Bad input (an address in use, an unreadable config, a malformed history line) ends with one
//! line on stderr and a non-zero exit. `check` exits 0 valid, 1 invalid, 2 bad input, 3 unknown;
//! `collect` exits 0, or 2 with one line when a database cannot be read or the file written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use chaos::checker::{self, DatabaseUrls, FinalState, History, Invariant, Opts, Validity};
use chaos::proxy::{ProxyConfig, ProxyServer};

#[derive(Parser)]
#[command(name = "chaos", version, about = "Stampede's fault injection")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the fault proxy: toxiproxy's v2 HTTP API and the proxies it manages.
    Proxy {
        /// Address of the HTTP API.
        #[arg(long, env = "CHAOS_LISTEN", default_value = "127.0.0.1:8474")]
        listen: String,
        /// JSON array of proxies to create at start (toxiproxy's -config format).
        #[arg(long, env = "CHAOS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a run: the history against the final state, one line per invariant.
    ///
    /// Exit code: 0 valid, 1 invalid, 2 bad input (unreadable or malformed file), 3 unknown.
    Check {
        /// The run's history: JSON lines of invoke/ok/fail/info ops.
        #[arg(long)]
        history: PathBuf,
        /// The final state (final-state.json).
        #[arg(long)]
        state: PathBuf,
        /// Also write the verdict as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// The history holds every booking operation against the events in the state, so a
        /// booking it never mentions is "unexpected".
        #[arg(long)]
        history_complete: bool,
        /// Counter-examples kept per invariant.
        #[arg(long, default_value_t = 10)]
        max_examples: usize,
        /// Only these invariants (comma-separated names; default all six).
        #[arg(long, value_delimiter = ',')]
        invariants: Vec<Invariant>,
    },
    /// Read the final state from the service databases into a file for `chaos check`.
    ///
    /// Exit code: 0 written, 2 a database unreachable or unreadable, or the file not written.
    /// Run a scenario: the stack behind the fault proxy, loadgen, the fault timeline, the checker.
    Run {
        /// The scenario file (TOML; see scenarios/README.md).
        scenario: PathBuf,
        /// Run folder (default reports/out/<time>-<scenario>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Keep the run's databases (local mode) for inspection.
        #[arg(long)]
        keep_databases: bool,
    },
    /// Validate scenario files without running them (exit 2 naming file, line and field).
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Prove the checker can fail: unsafe locks must show double booking, tampered databases
    /// must be named. Exit 0 only when every expected violation is found.
    Selftest {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run one service of the local stack in this process (what `chaos run` spawns).
    #[command(hide = true)]
    Serve { name: String },
    Collect {
        /// booking-service's database (postgres://...).
        #[arg(long, value_name = "URL")]
        bookings_db: String,
        /// inventory-service's database.
        #[arg(long, value_name = "URL")]
        inventory_db: String,
        /// payment-service's database; without it payments are unobserved.
        #[arg(long, value_name = "URL")]
        payments_db: Option<String>,
        /// notification-service's database; without it notifications are unobserved.
        #[arg(long, value_name = "URL")]
        notifications_db: Option<String>,
        /// Only this event (repeatable); default: every event.
        #[arg(long = "event", value_name = "ID")]
        events: Vec<uuid::Uuid>,
        /// Where to write the final state (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Give up on the databases after this long (e.g. 30s, 500ms).
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
        timeout: std::time::Duration,
    },
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    chaos::scenario::parse_duration(text)
}

/// `chaos check` exit codes.
const CHECK_INVALID: u8 = 1;
const CHECK_BAD_INPUT: u8 = 2;
const CHECK_UNKNOWN: u8 = 3;
/// `chaos collect`: a database or the output file failed.
const COLLECT_FAILED: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { scenario, out, keep_databases } => run_scenario(&scenario, out, keep_databases),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Selftest { out } => selftest(out),
        Command::Serve { name } => {
            kit::telemetry::init("info,sqlx=warn");
            match tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(stack::services::serve(&name))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("chaos serve {name}: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Proxy { listen, config } => run_async(proxy(listen, config)),
        Command::Check {
            history,
            state,
            json,
            history_complete,
            max_examples,
            invariants,
        } => {
            let opts = Opts {
                history_complete,
                max_examples,
                invariants: if invariants.is_empty() {
                    Invariant::ALL.to_vec()
                } else {
                    invariants
                },
            };
            check(&history, &state, json.as_deref(), &opts)
        }
        Command::Collect {
            bookings_db,
            inventory_db,
            payments_db,
            notifications_db,
            events,
            out,
            timeout,
        } => {
            let urls = DatabaseUrls {
                bookings: bookings_db,
                inventory: inventory_db,
                payments: payments_db,
                notifications: notifications_db,
            };
            collect(&urls, &events, &out, timeout)
        }
    }
}

/// `chaos selftest`.
fn selftest(out: Option<PathBuf>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")))
        .with_writer(std::io::stderr)
        .init();
    let out = out.unwrap_or_else(chaos::selftest::default_out);
    let result = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(chaos::selftest::run(&out)));
    match result {
        Ok(findings) => {
            let mut all = true;
            for f in &findings {
                all &= f.found;
                println!("{} {}
     {}", if f.found { "FOUND  " } else { "MISSING" }, f.expectation, f.evidence);
            }
            println!("selftest: {} (run folders in {})", if all { "PASS" } else { "FAIL" }, out.display());
            if all {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("chaos selftest: harness error: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// `chaos validate`.
fn validate(paths: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for path in paths {
        match chaos::scenario::Scenario::load(path) {
            Ok(s) => println!("{}: ok ({}, {} faults, load {:?})", path.display(), s.name, s.faults.len(), s.load_length()),
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// `chaos run`.
fn run_scenario(path: &Path, out: Option<PathBuf>, keep_databases: bool) -> ExitCode {
    let scenario = match chaos::scenario::Scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let options = chaos::runner::RunOptions { out, keep_databases };
    match runtime.block_on(chaos::runner::run(&scenario, &options)) {
        Ok(report) => {
            println!("{}", chaos::runner::table(&report));
            ExitCode::from(u8::try_from(report.ending.exit_code()).unwrap_or(3))
        }
        Err(e) => {
            eprintln!("chaos run {}: harness error: {e}", path.display());
            ExitCode::from(3)
        }
    }
}

/// `chaos collect`: reads the databases, writes the final state, prints one summary line.
fn collect(
    urls: &DatabaseUrls,
    events: &[uuid::Uuid],
    out: &Path,
    timeout: std::time::Duration,
) -> ExitCode {
    let failed = |message: String| {
        // One line, whatever the driver's message holds.
        eprintln!("chaos: {}", message.replace(['\n', '\r'], " "));
        ExitCode::from(COLLECT_FAILED)
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return failed(format!("cannot start the async runtime: {e}")),
    };
    let filter = (!events.is_empty()).then_some(events);
    let collected = runtime.block_on(async {
        tokio::time::timeout(timeout, checker::collect_from_databases(urls, filter)).await
    });
    let state = match collected {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return failed(format!("{e:#}")),
        Err(_) => {
            return failed(format!(
                "the databases did not answer within {timeout:?} (bookings: {})",
                checker::redact_url(&urls.bookings)
            ))
        }
    };
    if let Err(e) = state.save(out) {
        return failed(format!("cannot write {}: {e}", out.display()));
    }
    let count = |rows: Option<usize>| rows.map_or("unobserved".to_string(), |n| n.to_string());
    println!(
        "collected {} bookings, {} seats, {} payments, {} notifications, {} events into {}",
        state.bookings.len(),
        state.seats.len(),
        count(state.payments.as_ref().map(Vec::len)),
        count(state.notifications.as_ref().map(Vec::len)),
        state.capacity.len(),
        out.display()
    );
    ExitCode::SUCCESS
}

/// Runs an async command with logs on stderr; an error is one line and exit code 1.
fn run_async(command: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `chaos check`: reads both files, prints the table, writes the JSON, maps the verdict to the
/// exit code.
fn check(history: &Path, state: &Path, json: Option<&Path>, opts: &Opts) -> ExitCode {
    let bad_input = |message: String| {
        eprintln!("chaos: {message}");
        ExitCode::from(CHECK_BAD_INPUT)
    };
    let history = match History::load(history) {
        Ok(history) => history,
        Err(e) => return bad_input(e.to_string()),
    };
    let state = match FinalState::load(state) {
        Ok(state) => state,
        Err(e) => return bad_input(e.to_string()),
    };
    let verdict = checker::check(&history, &state, opts);
    print!("{}", verdict.table());
    if let Some(path) = json {
        // A verdict is plain data with string keys: serialising it cannot fail.
        let text = serde_json::to_string_pretty(&verdict).expect("a verdict serialises");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(format!("cannot write {}: {e}", path.display()));
        }
    }
    match verdict.valid {
        Validity::True => ExitCode::SUCCESS,
        Validity::False => ExitCode::from(CHECK_INVALID),
        Validity::Unknown => ExitCode::from(CHECK_UNKNOWN),
    }
}

async fn proxy(listen: String, config: Option<PathBuf>) -> anyhow::Result<()> {
    let listen = listen.as_str();
    let configs = match config {
        Some(path) => read_config(&path)?,
        None => Vec::new(),
    };
    let server = ProxyServer::start(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    if !configs.is_empty() {
        let created = server
            .collection()
            .populate(configs)
            .await
            .map_err(|(e, _)| anyhow::anyhow!("{e}"))
            .context("cannot create the proxies of the config file")?;
        tracing::info!(proxies = created.len(), "populated proxies from config");
    }
    tracing::info!(api = %server.url(), "chaos proxy ready");
    let mut server = server;
    let stopped = tokio::select! {
        () = shutdown_signal() => None,
        stopped = server.stopped() => Some(stopped),
    };
    tracing::info!("shutting down");
    server.shutdown().await;
    match stopped {
        Some(Err(e)) => Err(anyhow::Error::new(e).context("the API server failed")),
        _ => Ok(()),
    }
}

fn read_config(path: &Path) -> anyhow::Result<Vec<ProxyConfig>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON array of proxies", path.display()))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
