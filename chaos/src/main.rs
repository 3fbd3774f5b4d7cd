//! `chaos`: the command line. Parses, builds, runs; the work is in the library.
//!
//! ```text
//!   chaos proxy [--listen 127.0.0.1:8474] [--config proxies.json]
//!   chaos check --history history.jsonl --state final-state.json [--json verdict.json]
//!               [--history-complete] [--max-examples 10] [--invariants liveness,acknowledged]
//!   chaos collect --bookings-db URL --inventory-db URL [--payments-db URL]
//!                 [--notifications-db URL] [--event ID]... --out final-state.json
//!   chaos run scenarios/X.toml [--out DIR] [--keep-databases] [--stretch N]
//!             [--target URL --toxiproxy URL --databases postgres://user:pw@host:port]
//!   chaos suite scenarios/ [--out DIR] [--stretch N]
//!   chaos capacity scenarios/X.toml [--slo RULE]... [--from R] [--max R] [--step 20s] [--no-verify]
//!   chaos validate scenarios/*.toml
//! ```
//!
//! Every subcommand follows the harness's exit codes (`runfiles::Exit`): 0 pass, 1 a threshold
//! failed or an invariant was violated, 2 bad input (nothing started), 3 the stack or the
//! harness broke, or an invariant could not be decided.
//!
//! Bad input (an address in use, an unreadable config, a malformed history line) ends with one
//! line on stderr and a non-zero exit. `check` exits 0 valid, 1 invalid, 2 bad input, 3 unknown;
//! `collect` exits 0, or 2 with one line when a database cannot be read or the file written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use chaos::checker::{self, FinalState, History, Invariant, Opts};
use chaos::collect::{self, DatabaseUrls};

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
        /// Only these invariants (comma-separated names; default all seven).
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
        /// Run the scenario N times longer: load window, fault offsets and lengths, seats (the
        /// files are sized for CI; --stretch 10 is a long version).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        stretch: u32,
        /// Run against this running stack's gateway instead of the file's target (process
        /// faults and [stack] settings are refused).
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// The toxiproxy API in front of that stack's Redis, Kafka and Postgres.
        #[arg(long, value_name = "URL")]
        toxiproxy: Option<String>,
        /// That stack's Postgres server (postgres://user:password@host:port), whose ticketflow_*
        /// databases the checker reads; without it the invariants are undecided.
        #[arg(long, value_name = "URL")]
        databases: Option<String>,
    },
    /// Find the highest booking rate the target sustains under an SLO: ramp, bisect, verify.
    ///
    /// The scenario gives the target, stack settings, users and load mix; its rate and fault
    /// timeline are not used. Exit code: 0 found and verified, 1 found but not verified (or
    /// nothing passed), 2 bad input, 3 harness error.
    Capacity {
        scenario: PathBuf,
        /// An SLO rule a step must hold (repeatable; loadgen's rules). Default: ttc-p99<500ms,
        /// dropped<1%, unknown<1%.
        #[arg(long = "slo", value_name = "RULE")]
        slo: Vec<String>,
        /// First rate tried, bookings/s.
        #[arg(long, default_value_t = 10.0)]
        from: f64,
        /// Highest rate tried, bookings/s.
        #[arg(long, default_value_t = 2000.0)]
        max: f64,
        /// Ramp factor until the first failing step.
        #[arg(long, default_value_t = 1.5)]
        growth: f64,
        /// Bisection steps after the first failure.
        #[arg(long, default_value_t = 3)]
        refine: u32,
        /// Load length of each step.
        #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_timeout)]
        step: std::time::Duration,
        /// Skip the 80 % / 150 % verification runs.
        #[arg(long)]
        no_verify: bool,
        /// Capacity folder (default reports/out/<time>-capacity-<scenario>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run several scenarios one after the other (each its own stack) and print one table.
    ///
    /// Exit code: the gravest run's (4 violated > 5 undecided > 3 harness > 1 threshold > 0).
    Suite {
        /// Scenario files, or directories of them (*.toml).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Suite folder (default reports/out/<time>-suite); each run goes to <DIR>/<name>.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Stretch every scenario N times (see `run --stretch`).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        stretch: u32,
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            scenario,
            out,
            keep_databases,
            stretch,
            target,
            toxiproxy,
            databases,
        } => {
            let aim = target.map(|url| {
                (
                    url,
                    toxiproxy,
                    databases.map(|d| DatabaseUrls::on_server(&d)),
                )
            });
            run_scenario(&scenario, out, keep_databases, stretch, aim)
        }
        Command::Suite {
            scenarios,
            out,
            stretch,
        } => suite(&scenarios, out, stretch),
        Command::Capacity {
            scenario,
            slo,
            from,
            max,
            growth,
            refine,
            step,
            no_verify,
            out,
        } => capacity(
            &scenario,
            CapacityFlags {
                slo,
                from,
                max,
                growth,
                refine,
                step,
                verify: !no_verify,
                out,
            },
        ),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Selftest { out } => selftest(out),
        Command::Serve { name } => {
            kit::telemetry::init("info,sqlx=warn");
            match tokio::runtime::Runtime::new()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(stack::services::serve(&name)))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("chaos serve {name}: {e:#}");
                    runfiles::Exit::Broken.into()
                }
            }
        }
        Command::Proxy { listen, config } => {
            // The `faultproxy` server: the same code, flags and exit codes.
            faultproxy::serve::main("chaos proxy", &listen, config.as_deref())
        }
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
    if !stack::BUG_VARIANTS {
        eprintln!("chaos selftest: this build's services have no bug variants to switch on; run `cargo run --release -p chaos --features selftest -- selftest`");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let out = out.unwrap_or_else(chaos::selftest::default_out);
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(chaos::selftest::run(&out)));
    match result {
        Ok(findings) => {
            let mut all = true;
            for f in &findings {
                all &= f.found;
                println!(
                    "{} {}
     {}",
                    if f.found { "FOUND  " } else { "MISSING" },
                    f.expectation,
                    f.evidence
                );
            }
            println!(
                "selftest: {} (run folders in {})",
                if all { "PASS" } else { "FAIL" },
                out.display()
            );
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
            Ok(s) => println!(
                "{}: ok ({}, {} faults, load {:?})",
                path.display(),
                s.name,
                s.faults.len(),
                s.load_length()
            ),
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

/// The scenario files of `paths` (a directory gives its *.toml, sorted).
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot read the directory: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            if found.is_empty() {
                return Err(format!("{}: no *.toml scenario files", path.display()));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

struct CapacityFlags {
    slo: Vec<String>,
    from: f64,
    max: f64,
    growth: f64,
    refine: u32,
    step: std::time::Duration,
    verify: bool,
    out: Option<PathBuf>,
}

/// `chaos capacity`.
fn capacity(path: &Path, flags: CapacityFlags) -> ExitCode {
    let bad = |message: String| {
        eprintln!("chaos capacity: {message}");
        ExitCode::from(2)
    };
    let scenario = match chaos::scenario::Scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if !(flags.from > 0.0
        && flags.from.is_finite()
        && flags.max >= flags.from
        && flags.max.is_finite())
    {
        return bad(format!(
            "--from {} and --max {} must be positive rates with --from <= --max",
            flags.from, flags.max
        ));
    }
    if !(flags.growth > 1.0 && flags.growth.is_finite()) {
        return bad(format!("--growth {} must be above 1", flags.growth));
    }
    if flags.step < std::time::Duration::from_secs(2) {
        return bad(format!(
            "--step {:?} is too short to judge a rate (at least 2s)",
            flags.step
        ));
    }
    let slo: Vec<String> = if flags.slo.is_empty() {
        chaos::capacity::DEFAULT_SLO
            .iter()
            .map(|r| r.to_string())
            .collect()
    } else {
        flags.slo
    };
    for rule in &slo {
        if loadgen::thresholds::is_saga_rule(rule) {
            if let Err(e) = loadgen::thresholds::SagaThreshold::parse(rule) {
                return bad(format!("--slo: {e}"));
            }
        } else if let Err(e) = <goose::threshold::Threshold as std::str::FromStr>::from_str(rule) {
            return bad(format!("--slo {rule:?}: {e}"));
        }
    }
    init_run_logging();
    let out = flags.out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-capacity-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            scenario.name
        ))
    });
    let options = chaos::capacity::SearchOptions {
        slo,
        from: flags.from,
        max: flags.max,
        growth: flags.growth,
        refine: flags.refine,
        step: flags.step,
        verify: flags.verify,
        out: out.clone(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(chaos::capacity::search(&scenario, &options)) {
        Ok(c) => {
            println!(
                "\n{:<8} {:>9} {:>12} {:>10} {:>10} {:>8}  result",
                "phase", "rate/s", "confirmed/s", "ttc p50", "ttc p99", "errors"
            );
            for s in &c.steps {
                let ms = |v: Option<f64>| v.map_or("-".to_string(), loadgen::thresholds::format_ms);
                println!(
                    "{:<8} {:>9.1} {:>12.1} {:>10} {:>10} {:>7.2}%  {}",
                    s.phase,
                    s.rate_per_s,
                    s.confirmed_per_s,
                    ms(s.ttc_p50_ms),
                    ms(s.ttc_p99_ms),
                    s.error_rate * 100.0,
                    if s.passed {
                        "PASS".to_string()
                    } else {
                        format!("FAIL {}", s.failed_rules.join(", "))
                    }
                );
            }
            match c.sustainable_rate_per_s {
                Some(rate) => println!("\nsustainable: {rate}/s under {}", c.slo.join(", ")),
                None => println!(
                    "\nsustainable: none (every step failed {})",
                    c.slo.join(", ")
                ),
            }
            println!(
                "knee: {}",
                c.knee_rate_per_s.map_or("-".into(), |k| format!("{k}/s"))
            );
            println!("confidence: {}", c.confidence);
            println!("capacity folder: {}", out.display());
            match reports::render_run(&out, &reports::RenderOptions::default()) {
                Ok(page) => println!("report: {}", page.display()),
                Err(e) => eprintln!("chaos capacity: the HTML report was not written: {e}"),
            }
            let verified = c.sustainable_rate_per_s.is_some()
                && (!flags.verify || c.verification.iter().all(|v| v.as_expected == Some(true)));
            if verified {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("chaos capacity {}: harness error: {e:#}", path.display());
            ExitCode::from(3)
        }
    }
}

/// `chaos suite`.
fn suite(paths: &[PathBuf], out: Option<PathBuf>, stretch: u32) -> ExitCode {
    let files = match scenario_files(paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("chaos suite: {e}");
            return ExitCode::from(2);
        }
    };
    // Every file is checked before any stack starts.
    let mut scenarios = Vec::new();
    let mut bad = false;
    for file in &files {
        match chaos::scenario::Scenario::load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        return ExitCode::from(2);
    }
    init_run_logging();
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-suite",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ))
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(chaos::suite::run(&scenarios, &out, stretch)) {
        Ok(rows) => {
            println!("\n{}", chaos::suite::markdown(&rows));
            println!("suite folder: {}", out.display());
            for row in &rows {
                println!("report: {}", row.run_dir.join("report.html").display());
            }
            ExitCode::from(u8::try_from(chaos::suite::exit_code(&rows)).unwrap_or(3))
        }
        Err(e) => {
            eprintln!("chaos suite: harness error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn init_run_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        // While a run is on, its folder's chaos.log; otherwise stderr.
        .with_writer(chaos::run_log::RunLog)
        .with_ansi(false)
        .init();
}

/// `chaos run`.
/// Where `chaos run --target` points: gateway, toxiproxy, databases.
type Aim = (String, Option<String>, Option<DatabaseUrls>);

fn run_scenario(
    path: &Path,
    out: Option<PathBuf>,
    keep_databases: bool,
    stretch: u32,
    aim: Option<Aim>,
) -> ExitCode {
    let scenario = match chaos::scenario::Scenario::load(path) {
        Ok(s) => s.stretched(stretch),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let scenario = match aim {
        None => scenario,
        Some((url, toxiproxy, databases)) => match scenario.aimed_at(&url, toxiproxy, databases) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("chaos run: {e}");
                return ExitCode::from(2);
            }
        },
    };
    init_run_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let options = chaos::runner::RunOptions {
        out,
        keep_databases,
        stretch,
    };
    match runtime.block_on(chaos::runner::run(&scenario, &options)) {
        Ok(report) => {
            println!("{}", chaos::runner::table(&report));
            ExitCode::from(u8::try_from(chaos::runner::exit_code(report.ending)).unwrap_or(3))
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
        runfiles::Exit::BadInput.into()
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
        tokio::time::timeout(timeout, collect::collect_from_databases(urls, filter)).await
    });
    let state = match collected {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return failed(format!("{e:#}")),
        Err(_) => {
            return failed(format!(
                "the databases did not answer within {timeout:?} (bookings: {})",
                collect::redact_url(&urls.bookings)
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

/// `chaos check`: reads both files, prints the table, writes the JSON, maps the verdict to the
/// exit code.
fn check(history: &Path, state: &Path, json: Option<&Path>, opts: &Opts) -> ExitCode {
    let bad_input = |message: String| {
        eprintln!("chaos: {message}");
        runfiles::Exit::BadInput.into()
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
    print!("{}", checker::table(&verdict));
    if let Some(path) = json {
        // A verdict is plain data with string keys: serialising it cannot fail.
        let text = serde_json::to_string_pretty(&verdict).expect("a verdict serialises");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(format!("cannot write {}: {e}", path.display()));
        }
    }
    runfiles::Exit::from(verdict.valid).into()
}
