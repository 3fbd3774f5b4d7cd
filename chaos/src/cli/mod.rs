//! The `chaos` command line: the flags (clap), and one async function a subcommand that does
//! the work through the library and says how it ended as a [`runfiles::Exit`]. `main.rs` only
//! parses, sets up logging, makes the process's one runtime and turns the [`Exit`] into the
//! exit code.
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
//!   chaos matrix [--cell NAME]... [--sample N [--seed S]] [--rate R] [--out DIR] [--readme FILE]
//!   chaos matrix --list | --from DIR [--readme FILE]
//!   chaos capacity scenarios/X.toml [--slo RULE]... [--from R] [--max R] [--step 20s] [--no-verify]
//!   chaos validate scenarios/*.toml
//! ```
//!
//! Every subcommand follows the harness's exit codes ([`Exit`]): 0 pass, 1 a threshold failed
//! or an invariant was violated, 2 bad input (nothing started, one line on stderr), 3 the stack
//! or the harness broke, or an invariant could not be decided.

mod capacity;
mod check;
mod matrix;
mod run;
mod selftest;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use runfiles::Exit;
use tracing_subscriber::EnvFilter;

use crate::checker::{Invariant, Opts};
use crate::collect::DatabaseUrls;

#[derive(Parser)]
#[command(name = "chaos", version, about = "Stampede's fault injection")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Exit code: the gravest run's (1 an invariant violated or a threshold failed > 3 broken or
    /// undecided > 2 bad input > 0 pass).
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
    /// Run the fault matrix: every proxy fault on Redis, Kafka and Postgres and every process
    /// fault on each service and the broker, one generated scenario per cell, as a suite.
    ///
    /// Exit code: the suite's (0 every cell passed, 1 a threshold failed or an invariant was
    /// violated, 3 broken or undecided, 2 bad input).
    Matrix {
        /// Only this cell (repeatable; `--list` names them).
        #[arg(long = "cell", value_name = "NAME")]
        cells: Vec<String>,
        /// Only N cells of those, drawn with --seed (CI runs a rotating sample).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        sample: Option<u64>,
        /// The draw of --sample (default: the day, so each day runs another sample).
        #[arg(long, value_name = "S", requires = "sample")]
        seed: Option<u64>,
        /// Bookings per second of every cell (default 75: half the reference stack's capacity
        /// through the fault proxy on the 2-core box).
        #[arg(long, value_name = "R", default_value_t = 75.0, value_parser = parse_rate)]
        rate: f64,
        /// Matrix folder (default reports/out/<time>-matrix): the cells' scenario files in
        /// cells/, a run folder per cell, suite.json and suite.md.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write the table into this Markdown file, between its matrix markers.
        #[arg(long, value_name = "FILE")]
        readme: Option<PathBuf>,
        /// Run nothing: the table of an earlier matrix folder's run folders.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["cells", "sample", "list", "rate"])]
        from: Option<PathBuf>,
        /// Run nothing: list the cells (those --cell and --sample select) and what each does.
        #[arg(long)]
        list: bool,
    },
    /// Validate scenario files without running them (exit 2 naming file, line and field).
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Prove the checker can fail: every bug variant, switched on, must be reported with the
    /// invariant it breaks and a counter-example, and the correct build must pass the same
    /// schedule; tampered databases must be named. Exit 0 only when every expectation holds,
    /// 1 when one is missed, 2 for a build without bug variants or an unknown --variant, 3 when
    /// the harness broke.
    Selftest {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Only this part: unsafe-lock, no-status-guard, no-refund, ack-before-commit,
        /// dual-write, no-sweeper, dead-letters-dropped, release-without-owner-check or
        /// tampered-state.
        #[arg(long, value_name = "NAME")]
        variant: Option<String>,
    },
    /// Run one service of the local stack in this process (what `chaos run` spawns).
    #[command(hide = true)]
    Serve { name: String },
    /// Read the final state from the service databases into a file for `chaos check`.
    ///
    /// Exit code: 0 written, 2 a database unreachable or unreadable, or the file not written.
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

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim_end_matches("/s").parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate: bookings per second above 0, e.g. 75 or 75/s"
        )),
    }
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::scenario::parse_duration(text)
}

/// Where a subcommand's log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// Nothing beyond what the command prints (check, collect, validate).
    Quiet,
    /// A service's own logs, as its binary would write them (`chaos serve`).
    Service,
    /// Errors only, on stderr (`chaos selftest`: its table is the output).
    ErrorsOnStderr,
    /// While a run is on, its folder's chaos.log; otherwise stderr (run, suite, capacity).
    RunFolder,
}

impl Logging {
    /// Installs the global subscriber (once per process).
    pub fn init(self) {
        let filter = |default: &str| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
        };
        match self {
            Logging::Quiet => {}
            Logging::Service => kit::telemetry::init("info,sqlx=warn"),
            Logging::ErrorsOnStderr => tracing_subscriber::fmt()
                .with_env_filter(filter("error"))
                .with_writer(std::io::stderr)
                .init(),
            Logging::RunFolder => tracing_subscriber::fmt()
                .with_env_filter(filter("warn"))
                .with_writer(crate::run_log::RunLog)
                .with_ansi(false)
                .init(),
        }
    }
}

impl Command {
    /// Where this subcommand logs.
    pub fn logging(&self) -> Logging {
        match self {
            Command::Serve { .. } => Logging::Service,
            Command::Selftest { .. } => Logging::ErrorsOnStderr,
            Command::Run { .. }
            | Command::Suite { .. }
            | Command::Capacity { .. }
            | Command::Matrix { .. } => Logging::RunFolder,
            Command::Proxy { .. }
            | Command::Check { .. }
            | Command::Collect { .. }
            | Command::Validate { .. } => Logging::Quiet,
        }
    }

    /// Runs the subcommand on the process's runtime. `proxy` is not one of them: it is the
    /// `faultproxy` process ([`faultproxy::serve::main`]), with its own runtime and logs.
    pub async fn run(self) -> Exit {
        match self {
            Command::Run {
                scenario,
                out,
                keep_databases,
                stretch,
                target,
                toxiproxy,
                databases,
            } => {
                let aim = target.map(|gateway| run::Aim {
                    gateway,
                    toxiproxy,
                    databases: databases.map(|d| DatabaseUrls::on_server(&d)),
                });
                run::run(&scenario, out, keep_databases, stretch, aim).await
            }
            Command::Suite {
                scenarios,
                out,
                stretch,
            } => run::suite(&scenarios, out, stretch).await,
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
            } => {
                let options = crate::capacity::SearchOptions {
                    slo,
                    from,
                    max,
                    growth,
                    refine,
                    step,
                    verify: !no_verify,
                    // Set from --out or the scenario's name once the scenario is read.
                    out: PathBuf::new(),
                };
                capacity::capacity(&scenario, options, out).await
            }
            Command::Matrix {
                cells,
                sample,
                seed,
                rate,
                out,
                readme,
                from,
                list,
            } => {
                let selection = crate::matrix::Selection {
                    names: cells,
                    sample: sample.and_then(|n| usize::try_from(n).ok()),
                    seed: seed.unwrap_or_else(crate::matrix::seed_of_the_day),
                };
                let what = match (list, from) {
                    (true, _) => matrix::What::List { selection },
                    (false, Some(dir)) => matrix::What::Table { dir },
                    (false, None) => matrix::What::Run {
                        selection,
                        load: crate::matrix::CellLoad { rate },
                        out,
                    },
                };
                matrix::matrix(what, readme.as_deref()).await
            }
            Command::Validate { scenarios } => run::validate(&scenarios),
            Command::Selftest { out, variant } => selftest::selftest(out, variant).await,
            Command::Serve { name } => match stack::services::serve(&name).await {
                Ok(()) => Exit::Pass,
                Err(e) => {
                    eprintln!("chaos serve {name}: {e:#}");
                    Exit::Broken
                }
            },
            Command::Proxy { .. } => {
                eprintln!("chaos proxy: run it with faultproxy::serve::main, not on a runtime");
                Exit::Broken
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
                    // `chaos check` judges a run folder: it injected nothing.
                    injected_letters: Vec::new(),
                };
                check::check(&history, &state, json.as_deref(), &opts)
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
                check::collect(&urls, &events, &out, timeout).await
            }
        }
    }
}
