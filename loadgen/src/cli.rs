//! Command-line arguments. `loadgen --host URL ...` is `loadgen run --host URL ...`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stampede's load generator for TicketFlow-compatible ticketing stacks.
/// `loadgen prepare`'s admin e-mail when neither `--admin-email` nor `ADMIN_EMAIL` is given.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@ticketflow.dev";
/// `loadgen prepare`'s admin password when neither `--admin-password` nor `ADMIN_PASSWORD` is given.
pub const DEFAULT_ADMIN_PASSWORD: &str = "Admin1234!";

#[derive(Debug, Parser)]
#[command(name = "loadgen", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run load against a stack (the default command).
    Run(Box<RunArgs>),
    /// Create an event of N seats and a pool of M users with tokens, written to a file that runs reuse.
    Prepare(PrepareArgs),
    /// Merge the run folders of several generators into one (histograms merged, counts added).
    Merge(MergeArgs),
}

/// `loadgen merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Where to write the merged run folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The generators' run folders.
    #[arg(value_name = "RUN_FOLDER", required = true)]
    pub runs: Vec<PathBuf>,
}

/// `loadgen run`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The gateway, e.g. http://127.0.0.1:3000.
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// Prepared data from `loadgen prepare`; without it the run books the target's largest event
    /// and signs up --pool-users users first.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Open-model arrival rate of booking operations: 200/s, 50/s..400/s (ramp), or
    /// "100/s for 20s, 200/s for 20s" (steps).
    #[arg(long, value_name = "SHAPE", allow_hyphen_values = true)]
    pub rate: Option<String>,
    /// Length of the load window (for a --rate without `for`, and for closed-model users).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub duration: String,
    /// Cap on open-model operations in flight (goose users that run arrivals).
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub inflight: usize,
    /// Closed-model goose users, spread over --scenarios by weight (default 10 without --rate, 0 with it).
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,
    /// Personas and weights: browse, signup, book, hot-seat, cancel, visit, health
    /// (e.g. browse=3,book=6,cancel=1).
    #[arg(long, value_name = "WEIGHTS", default_value = "book")]
    pub scenarios: String,
    /// Seat choice of book and cancel: random, best, best:<SECTION>, hot:<N>.
    #[arg(long, value_name = "STRATEGY", default_value = "random")]
    pub strategy: String,
    /// Seats per booking: N or MIN..MAX.
    #[arg(long, value_name = "RANGE", default_value = "1..2")]
    pub seats_per_booking: String,
    /// Seats the hot-seat persona fights over.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub hot_seats: usize,
    /// Poll backoff while waiting for the saga: FIRST..CAP (each wait 1.5x the last). Polls are
    /// load: with a backlog of 1,000 bookings a 250 ms cap is 4,000 GETs/s, enough on its own to
    /// keep a small stack from ever recovering; 2 s is what a patient web client does.
    #[arg(long, value_name = "RANGE", default_value = "25ms..2s")]
    pub poll: String,
    /// Ask the target to hold each status GET up to this long until the booking leaves PENDING
    /// (`GET /api/bookings/{id}?waitMs=`). Used only when the target says it long-polls (header
    /// `x-long-poll-max-ms`, as Stampede's booking-service does); otherwise, and with `0s`,
    /// loadgen polls on the `--poll` grid.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub long_poll: String,
    /// The API of the target: `stampede`, `ticketflow` (an original TicketFlow: each simulated
    /// user then sends its own `X-Forwarded-For`, as its gateway allows 100 requests a minute per
    /// address), or `auto` (Stampede when the gateway serves Stampede's `/openapi.json`). The
    /// choice is printed at the start of the run.
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub target_kind: String,
    /// How long to poll a booking before recording it PENDING.
    #[arg(long, value_name = "DURATION", default_value = "90s")]
    pub confirm_timeout: String,
    /// Timeout of each HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub request_timeout: String,
    /// Retry a POST /api/bookings whose outcome is unknown (5xx, timeout) up to N times with the
    /// same Idempotency-Key (needs a target that honours the key).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry_unknown: u32,
    /// Think time between iterations of closed-model users (visit: between its steps); with one,
    /// each user starts at a random point of its first think time.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub think: String,
    /// An arrival started later than this after its due time counts as late.
    #[arg(long, value_name = "DURATION", default_value = "50ms")]
    pub late_tolerance: String,
    /// An arrival not started within this after its due time is dropped (counted).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub max_start_delay: String,
    /// Pass/fail rule, repeatable: saga rules (ttc-p99<2s, confirmed-rate>=100/s, unknown=0, ...)
    /// or goose's (p95<500ms, error-rate<1%, p99<1s for GET /api/events).
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Let goose stop the run as soon as one of its own thresholds fails.
    #[arg(long)]
    pub threshold_abort: bool,
    /// Run folder (default reports/out/<time>-loadgen).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of every random choice (default: random, recorded in the summary).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Use only slice I of N of the prepared users and of the seats (several generators sharing one file).
    #[arg(long, value_name = "I/N")]
    pub users_slice: Option<String>,
    /// Users to sign up before a run without --data.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub pool_users: usize,
    /// Progress line interval (0s: none).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub progress: String,
    /// Extra goose options, after `--` (e.g. -- --request-log requests.csv).
    #[arg(last = true, value_name = "GOOSE_ARGS")]
    pub goose_args: Vec<String>,
}

impl RunArgs {
    /// Run arguments from command-line words (without the program name), as `loadgen run` reads
    /// them: for callers that drive loadgen as a library (the chaos runner).
    ///
    /// # Errors
    /// clap's error for words that do not parse.
    pub fn from_words<I, S>(words: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(
            std::iter::once(std::ffi::OsString::from("loadgen"))
                .chain(words.into_iter().map(Into::into)),
        )?;
        Ok(cli.run)
    }
}

/// `loadgen prepare`.
#[derive(Debug, Args, Clone)]
pub struct PrepareArgs {
    /// The gateway, e.g. http://127.0.0.1:3000.
    #[arg(long, value_name = "URL")]
    pub host: String,
    /// Seats of the event to create.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub seats: u64,
    /// Users to register.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub users: usize,
    /// Where to write the data.
    #[arg(long, value_name = "FILE", default_value = "loadgen-data.json")]
    pub out: PathBuf,
    /// The seeded admin (the reference stack's published default, `kit::seed`; repeated here
    /// because loadgen does not depend on the services, and held equal by a chaos test).
    #[arg(long, env = "ADMIN_EMAIL", default_value = DEFAULT_ADMIN_EMAIL)]
    pub admin_email: String,
    #[arg(
        long,
        env = "ADMIN_PASSWORD",
        default_value = DEFAULT_ADMIN_PASSWORD,
        hide_env_values = true
    )]
    pub admin_password: String,
    /// How long to wait for the seat map to list every seat.
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub wait: String,
    /// The API of the target, as for a run: `stampede` (the event is created by the seeded
    /// admin), `ticketflow` (an original TicketFlow: no admin account, so the event is created
    /// with its trusted `x-user-role: ADMIN` header, at most 116 seats, and each user registers
    /// from its own `X-Forwarded-For`), or `auto`.
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub target_kind: crate::target_kind::TargetChoice,
}
