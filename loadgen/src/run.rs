//! `loadgen run`: check every input, check the target, then drive goose with the open-model
//! workers and the closed-model personas, and write the run folder.
//!
//! ```text
//! inputs ─▶ target check ─▶ data + seat map ─▶ goose users arrive ─▶ gate opens
//!   (exit 2 on any problem: nothing was sent yet)        │ scheduler issues arrivals (open model)
//!                                                        │ closed users loop until the window ends
//!                                                        ▼
//!               drain in-flight ops ─▶ summary.json, history.jsonl, goose-report.{html,json}
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::cli::RunArgs;
use crate::context::{Ctx, CtxParts, OpConfig, PoolUser};
use crate::data::PreparedData;
use crate::footprint::{Footprint, Usage};
use crate::history::History;
use crate::open_model::OpenModel;
use crate::persona::{parse_weights, Persona};
use crate::rate::{parse_duration, RateShape};
use crate::scenarios::closed_session;
use crate::seats::{SeatPool, Strategy};
use crate::summary::{
    self, percentiles_of, Bookings, HistoryInfo, OpenModelSummary, RouteSummary, Summary,
};
use crate::target::Target;
use crate::target_kind::{TargetChoice, TargetKind};
use crate::thresholds::{is_saga_rule, Observed, SagaThreshold, Verdict};

/// Why a run did not produce a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad flags, data or target: nothing was loaded (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// The run broke while going (exit 3).
    #[error("{0:#}")]
    Harness(anyhow::Error),
}

impl RunError {
    pub fn exit(&self) -> runfiles::Exit {
        match self {
            RunError::BadInput(_) => runfiles::Exit::BadInput,
            RunError::Harness(_) => runfiles::Exit::Broken,
        }
    }
}

fn bad(message: impl std::fmt::Display) -> RunError {
    RunError::BadInput(message.to_string())
}

/// What a finished run hands back.
pub struct RunOutcome {
    pub summary: Summary,
    pub out_dir: PathBuf,
    /// What the generator itself used (memory, CPU, per user); `None` without `/proc`.
    pub footprint: Option<Footprint>,
}

/// `summary.json` as loadgen writes it: the run folder's [`Summary`], and beside it what the
/// generator cost (`generator`). The key is loadgen's own: readers of the run folder that do not
/// know it (runfiles' `Summary` has no such field) skip it.
#[derive(serde::Serialize)]
struct SummaryFile<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    generator: Option<&'a Footprint>,
}

impl RunOutcome {
    /// 0 when every threshold held, 1 otherwise.
    pub fn exit(&self) -> runfiles::Exit {
        if self.summary.passed {
            runfiles::Exit::Pass
        } else {
            runfiles::Exit::Failed
        }
    }
}

/// Where a run's event and users come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// A file of `loadgen prepare`, checked against the target before the load.
    Prepared(PathBuf),
    /// The target's largest event, and this many users signed up first.
    Pool { users: usize },
}

/// A load run, typed and validated: what `loadgen run` turns its flags into
/// ([`LoadPlan::from_args`]) and what chaos builds from a scenario's load section. [`run_plan`]
/// runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// The gateway, e.g. `http://127.0.0.1:3000`.
    pub host: String,
    pub data: DataSource,
    /// Open-model arrivals of booking operations; `None`: closed-model users only.
    pub shape: Option<RateShape>,
    /// The load window (the shape's length when there is one).
    pub load_length: Duration,
    /// Cap on open-model operations in flight (goose users that run arrivals).
    pub inflight: usize,
    /// Personas and their weights.
    pub weights: Vec<(Persona, u32)>,
    /// Closed-model goose users, spread over the weights.
    pub closed_users: usize,
    pub ops: OpConfig,
    /// Rules on the saga (ttc, outcomes, rates), judged by loadgen.
    pub saga_rules: Vec<SagaThreshold>,
    /// Rules on requests, handed to goose as it reads them (`p95<500ms`, `error-rate<1%`).
    pub goose_rules: Vec<String>,
    /// Let goose stop the run as soon as one of its own thresholds fails.
    pub threshold_abort: bool,
    pub late_tolerance: Duration,
    pub max_start_delay: Duration,
    /// Slice I of N of the prepared users and seats.
    pub slice: Option<(usize, usize)>,
    /// How often to print progress; zero: never.
    pub progress: Duration,
    /// Run folder (default `reports/out/<run id>-loadgen`).
    pub out: Option<PathBuf>,
    /// goose's own flags, after ours.
    pub goose_args: Vec<String>,
    /// The target's API, or `Auto` to detect it.
    pub target_kind: crate::target_kind::TargetChoice,
}

impl LoadPlan {
    /// A plan with the command line's defaults: at `rate` (open model) or no arrivals, booking
    /// one or two random seats, polling 25 ms..2 s with a 5 s long poll, and no thresholds.
    pub fn new(host: impl Into<String>, data: DataSource, shape: Option<RateShape>) -> Self {
        let load_length = shape
            .as_ref()
            .map_or(Duration::from_secs(60), RateShape::length);
        let closed_users = if shape.is_some() { 0 } else { 10 };
        LoadPlan {
            host: host.into(),
            data,
            shape,
            load_length,
            inflight: 500,
            weights: vec![(Persona::Book, 1)],
            closed_users,
            ops: OpConfig {
                seats_per_booking: (1, 2),
                strategy: Strategy::Random,
                hot_seats: 10,
                poll: (Duration::from_millis(25), Duration::from_secs(2)),
                long_poll: Duration::from_secs(5),
                confirm_timeout: Duration::from_secs(90),
                request_timeout: Duration::from_secs(10),
                retry_unknown: 0,
                think: Duration::ZERO,
                seed: rand::random(),
            },
            saga_rules: Vec::new(),
            goose_rules: Vec::new(),
            threshold_abort: false,
            late_tolerance: Duration::from_millis(50),
            max_start_delay: Duration::from_secs(5),
            slice: None,
            progress: Duration::from_secs(2),
            out: None,
            goose_args: Vec::new(),
            target_kind: crate::target_kind::TargetChoice::Auto,
        }
    }

    /// Sorts threshold rules into the saga's (parsed here) and goose's.
    ///
    /// # Errors
    /// A saga rule that does not parse.
    pub fn set_thresholds(&mut self, rules: &[String]) -> Result<(), RunError> {
        self.saga_rules.clear();
        self.goose_rules.clear();
        for rule in rules {
            if is_saga_rule(rule) {
                self.saga_rules.push(
                    SagaThreshold::parse(rule).map_err(|e| bad(format!("--threshold: {e}")))?,
                );
            } else {
                self.goose_rules.push(rule.clone());
            }
        }
        Ok(())
    }

    /// What no run can do with: nothing to run, arrivals without a booking persona, no room in
    /// flight.
    ///
    /// # Errors
    /// [`RunError::BadInput`] saying what to change.
    pub fn check(&self) -> Result<(), RunError> {
        if self.load_length.is_zero() {
            return Err(bad("--duration must be longer than 0s"));
        }
        if self.shape.is_some() && !self.weights.iter().any(|(p, _)| p.books()) {
            return Err(bad(
                "--rate starts booking operations, but --scenarios has no book, hot-seat or cancel",
            ));
        }
        if self.shape.is_none() && self.closed_users == 0 {
            return Err(bad(
                "nothing to run: give --rate (open model) or --users N (closed model)",
            ));
        }
        if self.inflight == 0 {
            return Err(bad("--inflight must be at least 1"));
        }
        Ok(())
    }
}

fn duration(flag: &str, text: &str) -> Result<Duration, RunError> {
    parse_duration(text).map_err(|e| bad(format!("--{flag}: {e}")))
}

fn range<T: PartialOrd + Copy>(
    flag: &str,
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<(T, T), RunError> {
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    let (a, b) = (
        parse(a.trim()).ok_or_else(|| bad(format!("--{flag}: bad value {a:?}")))?,
        parse(b.trim()).ok_or_else(|| bad(format!("--{flag}: bad value {b:?}")))?,
    );
    if a > b {
        return Err(bad(format!("--{flag}: {text:?} goes backwards")));
    }
    Ok((a, b))
}

impl LoadPlan {
    /// The plan of `loadgen run`'s flags.
    ///
    /// # Errors
    /// [`RunError::BadInput`] naming the flag.
    pub fn from_args(args: &RunArgs) -> Result<LoadPlan, RunError> {
        let host = args
            .host
            .clone()
            .ok_or_else(|| bad("--host is required, e.g. --host http://127.0.0.1:3000"))?;
        let load_length = duration("duration", &args.duration)?;
        if load_length.is_zero() {
            return Err(bad("--duration must be longer than 0s"));
        }
        let shape = args
            .rate
            .as_deref()
            .map(|r| {
                RateShape::parse(r, Some(load_length)).map_err(|e| bad(format!("--rate: {e}")))
            })
            .transpose()?;
        let load_length = shape.as_ref().map_or(load_length, RateShape::length);
        let data = match &args.data {
            Some(path) => DataSource::Prepared(path.clone()),
            None => DataSource::Pool {
                users: args.pool_users,
            },
        };
        let mut plan = LoadPlan::new(host, data, shape);
        plan.load_length = load_length;
        plan.weights =
            parse_weights(&args.scenarios).map_err(|e| bad(format!("--scenarios: {e}")))?;
        plan.closed_users = args.users.unwrap_or(plan.closed_users);
        plan.inflight = args.inflight;
        plan.ops = OpConfig {
            seats_per_booking: range("seats-per-booking", &args.seats_per_booking, |s| {
                s.parse::<usize>().ok().filter(|n| *n > 0)
            })?,
            strategy: args
                .strategy
                .parse()
                .map_err(|e| bad(format!("--strategy: {e}")))?,
            hot_seats: args.hot_seats.max(1),
            poll: range("poll", &args.poll, |s| {
                parse_duration(s).ok().filter(|d| !d.is_zero())
            })?,
            long_poll: duration("long-poll", &args.long_poll)?,
            confirm_timeout: duration("confirm-timeout", &args.confirm_timeout)?,
            request_timeout: duration("request-timeout", &args.request_timeout)?,
            retry_unknown: args.retry_unknown,
            think: duration("think", &args.think)?,
            seed: args.seed.unwrap_or_else(rand::random),
        };
        plan.set_thresholds(&args.thresholds)?;
        plan.threshold_abort = args.threshold_abort;
        plan.late_tolerance = duration("late-tolerance", &args.late_tolerance)?;
        plan.max_start_delay = duration("max-start-delay", &args.max_start_delay)?;
        plan.slice = args
            .users_slice
            .as_deref()
            .map(|s| {
                let (i, n) = s
                    .split_once('/')
                    .ok_or_else(|| bad(format!("--users-slice {s:?}: use I/N, e.g. 0/3")))?;
                let (i, n): (usize, usize) = (
                    i.parse()
                        .map_err(|_| bad(format!("--users-slice {s:?}: I is not a number")))?,
                    n.parse()
                        .map_err(|_| bad(format!("--users-slice {s:?}: N is not a number")))?,
                );
                if n == 0 || i >= n {
                    return Err(bad(format!("--users-slice {s:?}: needs 0 <= I < N")));
                }
                Ok((i, n))
            })
            .transpose()?;
        plan.progress = duration("progress", &args.progress)?;
        plan.out = args.out.clone();
        plan.goose_args = args.goose_args.clone();
        plan.target_kind = args
            .target_kind
            .parse()
            .map_err(|e| bad(format!("--target-kind: {e}")))?;
        plan.check()?;
        Ok(plan)
    }
}

/// Splits `total` users over the weights (largest remainder); personas with no user are left out.
fn split_users(total: usize, weights: &[(Persona, u32)]) -> Vec<(Persona, usize)> {
    let sum: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut shares: Vec<(Persona, usize, f64)> = weights
        .iter()
        .map(|(p, w)| {
            let exact = total as f64 * f64::from(*w) / f64::from(sum);
            (*p, exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let mut left = total - shares.iter().map(|s| s.1).sum::<usize>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.total_cmp(&shares[*a].2));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].1 += 1;
        left -= 1;
    }
    shares
        .into_iter()
        .filter(|s| s.1 > 0)
        .map(|(p, n, _)| (p, n))
        .collect()
}

/// Runs the load test described by `args`.
///
/// # Errors
/// [`RunError::BadInput`] before any load was sent; [`RunError::Harness`] when the run broke.
pub async fn run(args: &RunArgs) -> Result<RunOutcome, RunError> {
    run_with(args, None).await
}

/// [`run`], telling `load_started` the moment the load window opens (a fault schedule keys its
/// offsets on it).
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    args: &RunArgs,
    load_started: Option<tokio::sync::oneshot::Sender<Instant>>,
) -> Result<RunOutcome, RunError> {
    run_plan(&LoadPlan::from_args(args)?, load_started).await
}

/// Runs `plan`, telling `load_started` the moment the load window opens (a fault schedule keys
/// its offsets on it).
///
/// # Errors
/// [`RunError::BadInput`] before any load was sent; [`RunError::Harness`] when the run broke.
pub async fn run_plan(
    plan: &LoadPlan,
    load_started: Option<tokio::sync::oneshot::Sender<Instant>>,
) -> Result<RunOutcome, RunError> {
    plan.check()?;
    let target = Target::new(&plan.host).map_err(bad)?;
    let run_id = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string()
        + &format!("-{:04x}", rand::random::<u16>());
    let mut event_facts = (String::new(), 0.0);
    let (data, seats) = if plan.weights.iter().any(|(p, _)| p.needs_data()) {
        target.check().await.map_err(bad)?;
        let data = load_data(plan, &target, &run_id).await?;
        let seats = target.seats(data.event_id).await.map_err(bad)?;
        event_facts = target.event_facts(data.event_id).await.map_err(bad)?;
        if seats.is_empty() {
            return Err(bad(format!(
                "event {} has an empty seat map",
                data.event_id
            )));
        }
        (data, seats)
    } else {
        // Only `health`: nothing to book, nobody to be.
        let data = PreparedData {
            version: crate::data::VERSION,
            host: plan.host.clone(),
            created_at: chrono::Utc::now().to_rfc3339(),
            event_id: uuid::Uuid::nil(),
            event_name: String::new(),
            seats: 0,
            users: Vec::new(),
        };
        (data, Vec::new())
    };

    // Which API it is, said once the target and the data have passed their checks (a bad
    // input stays one line).
    let kind = match plan.target_kind {
        TargetChoice::Stampede => TargetKind::Stampede,
        TargetChoice::TicketFlow => TargetKind::TicketFlow,
        TargetChoice::Auto => target.kind().await,
    };
    eprintln!(
        "loadgen: target {} is {kind} ({}){}",
        plan.host,
        if plan.target_kind == TargetChoice::Auto {
            "detected; --target-kind to choose"
        } else {
            "--target-kind"
        },
        if kind.forwards_per_user() {
            "; each simulated user sends its own X-Forwarded-For (10.x.y.z), as TicketFlow's gateway allows 100 requests a minute per address"
        } else {
            ""
        }
    );
    // The run folder.
    let out_dir = plan
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("reports/out/{run_id}-loadgen")));
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        bad(format!(
            "cannot create run folder {}: {e}",
            out_dir.display()
        ))
    })?;
    // The machine and build the numbers come from, for the report's header.
    reports::environment::save(&reports::environment::capture(), &out_dir)
        .map_err(|e| bad(e.to_string()))?;
    let history_path = out_dir.join("history.jsonl");
    let history = History::create(&history_path, Instant::now())
        .map_err(|e| bad(format!("cannot create {}: {e}", history_path.display())))?;
    let run_info = runfiles::RunInfo {
        args: std::env::args().collect(),
        run_id: run_id.clone(),
        host: plan.host.clone(),
        event_id: data.event_id.to_string(),
        seed: Some(plan.ops.seed),
        users: Some(data.users.len() as u64),
    };
    runfiles::write_json(&out_dir.join(runfiles::folder::RUN_INFO), &run_info)
        .map_err(|e| bad(e.to_string()))?;

    // Goose's configuration: ours first, then whatever the user passed after `--`.
    let closed = split_users(plan.closed_users, &plan.weights);
    let open_workers = if plan.shape.is_some() {
        plan.inflight
    } else {
        0
    };
    let total_users = open_workers + closed.iter().map(|(_, n)| n).sum::<usize>();
    let mut goose_args: Vec<String> = vec![
        "--host".into(),
        plan.host.clone(),
        "--users".into(),
        total_users.to_string(),
        "--increase-rate".into(),
        total_users.max(1).to_string(),
        "--iterations".into(),
        "1".into(),
        "--co-mitigation".into(),
        "disabled".into(),
        "--no-transaction-metrics".into(),
        "--no-scenario-metrics".into(),
        "--report-file".into(),
        out_dir.join("goose-report.html").display().to_string(),
        "--report-file".into(),
        out_dir.join("goose-report.json").display().to_string(),
    ];
    if !plan.threshold_abort {
        goose_args.push("--no-threshold-abort".into());
    }
    // goose's telnet controller listens on a fixed port (5116) and keeps it until the process
    // exits: every later run in one process (`chaos suite`, capacity steps) logged an ERROR
    // that it could not listen. loadgen drives the attack itself; a user who wants the
    // controller asks for it after `--`. (goose's WebSocket controller is off by default.)
    if !plan.goose_args.iter().any(|a| a.contains("telnet")) {
        goose_args.push("--no-telnet".into());
    }
    for rule in &plan.goose_rules {
        goose_args.push("--threshold".into());
        goose_args.push(rule.clone());
    }
    goose_args.extend(plan.goose_args.iter().cloned());
    let config = GooseConfiguration::parse_args_default(&goose_args)
        .map_err(|e| bad(format!("goose options: {e}")))?;

    let open = plan.shape.clone().map(|shape| {
        OpenModel::new(
            shape,
            open_workers,
            plan.late_tolerance,
            plan.max_start_delay,
        )
    });
    let (event_name, event_price) = event_facts;
    let ctx = Arc::new(Ctx::new(CtxParts {
        ops: plan.ops.clone(),
        target: kind,
        event_id: data.event_id,
        event_name,
        event_price,
        users: data
            .users
            .iter()
            .map(|u| PoolUser {
                id: u.id,
                email: u.email.clone(),
                password: u.password.clone(),
                token: RwLock::new(u.token.clone()),
            })
            .collect(),
        seats: SeatPool::new(seats),
        history,
        total_goose_users: total_users,
        load_length: plan.load_length,
        open,
        open_personas: plan
            .weights
            .iter()
            .copied()
            .filter(|(p, _)| p.books())
            .collect(),
        run_id: run_id.clone(),
    }));

    if let Some((i, n)) = plan.slice {
        ctx.seats.slice(i, n);
    }
    // One HTTP client, and so one connection pool, for every user: goose's default is a client
    // per user, each with its own TLS setup (the platform's root certificates, parsed again) and
    // its own connections, which made most of a user's memory. Nothing is lost: loadgen sends
    // each user's token as a header on every request and keeps no cookies. Connections now
    // follow the requests in flight, not the users, which is what lets 100,000 users that think
    // fit in one process's file descriptors and the loopback's ephemeral ports.
    let mut attack = GooseAttack::initialize_with_config(config)
        .and_then(|attack| {
            attack.set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())
        })
        .map_err(|e| bad(format!("goose: {e}")))?;
    if open_workers > 0 {
        let c = ctx.clone();
        let work: TransactionFunction = Arc::new(move |user| {
            let ctx = c.clone();
            Box::pin(async move {
                ctx.arrive().await;
                match &ctx.open {
                    Some(open) => crate::flow::run_arrivals(open, user, &ctx).await,
                    None => Ok(()),
                }
            })
        });
        let scenario = Scenario::new("open-model booking")
            .register_transaction(Transaction::new(work).set_name("arrivals"))
            .set_weight(open_workers)
            .map_err(|e| bad(format!("goose: {e}")))?;
        attack = attack.register_scenario(scenario);
    }
    for (persona, users) in &closed {
        let c = ctx.clone();
        let persona = *persona;
        let session: TransactionFunction = Arc::new(move |user| {
            let ctx = c.clone();
            Box::pin(async move { closed_session(user, &ctx, persona).await })
        });
        let scenario = Scenario::new(persona.name())
            .register_transaction(Transaction::new(session).set_name("session"))
            .set_weight(*users)
            .map_err(|e| bad(format!("goose: {e}")))?;
        attack = attack.register_scenario(scenario);
    }

    // Helpers of the load window: the scheduler, the window's end, a watchdog on the gate, progress.
    let stop_progress = tokio_util::sync::CancellationToken::new();
    let mut helpers = tokio::task::JoinSet::new();
    {
        let ctx = ctx.clone();
        helpers.spawn(async move {
            // If goose never starts every user (a goose option cut them), start anyway.
            tokio::select! {
                _ = ctx.gate.wait() => {}
                () = tokio::time::sleep(Duration::from_secs(30)) => { ctx.gate.open(); }
            }
            let start = ctx.gate.wait().await;
            if let Some(tell) = load_started {
                let _ = tell.send(start);
            }
            match &ctx.open {
                Some(open) => {
                    open.schedule(start, || ctx.stats.record_drop(ctx.since_start()))
                        .await;
                    ctx.gate.close();
                }
                None => {
                    tokio::time::sleep_until((start + ctx.load_length).into()).await;
                    ctx.gate.close();
                }
            }
        });
    }
    if !plan.progress.is_zero() {
        let ctx = ctx.clone();
        let stop = stop_progress.clone();
        let every = plan.progress;
        helpers.spawn(async move { crate::progress::report(&ctx, every, stop).await });
    }

    let started_at = chrono::Utc::now();
    let usage_before_users = Usage::now();
    let metrics = match attack.execute().await {
        Ok(metrics) => metrics,
        Err(GooseError::ThresholdsFailed { metrics, .. }) => *metrics.0,
        Err(e) => {
            stop_progress.cancel();
            return Err(RunError::Harness(anyhow::anyhow!("goose stopped: {e}")));
        }
    };
    stop_progress.cancel();
    ctx.gate.close();
    helpers.abort_all();
    let ended_at = chrono::Utc::now();
    let footprint = usage_before_users
        .zip(Usage::now())
        .map(|(before, after)| Footprint::between(before, after, metrics.maximum_users as u64));

    let summary = summarize(
        &ctx,
        plan,
        &metrics,
        &history_path,
        started_at,
        ended_at,
        &data,
    );
    let file = SummaryFile {
        summary: &summary,
        generator: footprint.as_ref(),
    };
    runfiles::write_json(&out_dir.join(runfiles::folder::SUMMARY), &file)
        .map_err(|e| RunError::Harness(e.into()))?;
    Ok(RunOutcome {
        summary,
        out_dir,
        footprint,
    })
}

/// The prepared data (checked against the target), or a live pool: the target's largest event
/// and freshly signed-up users.
async fn load_data(
    plan: &LoadPlan,
    target: &Target,
    run_id: &str,
) -> Result<PreparedData, RunError> {
    let data = match &plan.data {
        DataSource::Prepared(path) => {
            let mut data = PreparedData::load(path).map_err(bad)?;
            if let Some((i, n)) = plan.slice {
                data.slice(i, n);
                if data.users.is_empty() {
                    return Err(bad(format!(
                        "--users-slice {i}/{n} leaves no users of {}",
                        path.display()
                    )));
                }
            }
            target
                .verify(&mut data, &path.display().to_string())
                .await
                .map_err(bad)?;
            data
        }
        DataSource::Pool { users } => {
            let (event_id, event_name, seats) = target.largest_event().await.map_err(bad)?;
            eprintln!(
                "loadgen: no --data; booking {event_name:?} ({seats} seats), signing up {users} users"
            );
            let users = target
                .register_many(
                    &format!("loadgen-{run_id}"),
                    (*users).max(1),
                    // Detection comes later (after the data checks); a target named TicketFlow
                    // gets one address per sign-up now.
                    plan.target_kind == TargetChoice::TicketFlow,
                )
                .await
                .map_err(bad)?;
            PreparedData {
                version: crate::data::VERSION,
                host: plan.host.clone(),
                created_at: chrono::Utc::now().to_rfc3339(),
                event_id,
                event_name,
                seats,
                users,
            }
        }
    };
    Ok(data)
}

fn summarize(
    ctx: &Ctx,
    plan: &LoadPlan,
    metrics: &GooseMetrics,
    history_path: &std::path::Path,
    started_at: chrono::DateTime<chrono::Utc>,
    ended_at: chrono::DateTime<chrono::Utc>,
    data: &PreparedData,
) -> Summary {
    let load_seconds = plan.load_length.as_secs_f64();
    let total_seconds = ctx
        .gate
        .started()
        .map(|s| s.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    let outcomes = ctx.stats.outcomes();
    let count = |o| outcomes.get(&o).copied().unwrap_or(0);
    let confirmed_per_s = count(crate::stats::Outcome::Confirmed) as f64 / load_seconds;
    let attempted: u64 = outcomes.values().sum();
    let acknowledged =
        attempted - count(crate::stats::Outcome::Rejected) - count(crate::stats::Outcome::Unknown);

    let open_model = ctx.open.as_ref().map(|o| {
        let started = o.started.load(Ordering::Relaxed);
        OpenModelSummary {
            shape: describe_shape(&o.shape),
            workers: o.workers,
            scheduled: o.scheduled.load(Ordering::Relaxed),
            started,
            dropped: o.dropped.load(Ordering::Relaxed),
            late: o.late.load(Ordering::Relaxed),
            target_rate_per_s: o.shape.expected_by(o.shape.length())
                / o.shape.length().as_secs_f64(),
            start_rate_per_s: o.achieved_rate(),
            start_delay: percentiles_of(&ctx.stats.start_delay()),
        }
    });
    let histograms = ctx.stats.ttc_all();
    let observed = Observed {
        ttc_ms: histograms.clone(),
        confirmed_per_s,
        started_per_s: ctx.stats.started.load(Ordering::Relaxed) as f64 / load_seconds,
        started: ctx.stats.started.load(Ordering::Relaxed),
        outcomes: outcomes.clone(),
        dropped: ctx.stats.dropped.load(Ordering::Relaxed),
        late: ctx.stats.late.load(Ordering::Relaxed),
    };
    let mut thresholds: Vec<Verdict> = plan.saga_rules.iter().map(|r| r.judge(&observed)).collect();
    thresholds.extend(metrics.thresholds.iter().map(|t| Verdict {
        rule: t.rule.clone(),
        passed: t.passed,
        observed: t.observed.clone(),
    }));
    let history_error = ctx.history.error();
    let passed = thresholds.iter().all(|t| t.passed) && history_error.is_none();
    let timed = ctx.stats.routes();
    let mut routes: Vec<RouteSummary> = metrics
        .requests
        .iter()
        .map(|(name, r)| {
            let count = r.success_count + r.fail_count;
            let latency = timed.get(name).map(|t| percentiles_of(&t.latency));
            RouteSummary {
                name: name.clone(),
                count,
                failures: r.fail_count,
                per_s: count as f64 / load_seconds,
                latency,
            }
        })
        .collect();
    routes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut histogram_texts: BTreeMap<String, String> = histograms
        .iter()
        .map(|(k, h)| (k.clone(), summary::encode(h)))
        .collect();
    histogram_texts.extend(
        timed
            .iter()
            .map(|(name, t)| (format!("route:{name}"), summary::encode(&t.latency))),
    );

    Summary {
        version: Summary::VERSION,
        loadgen: env!("CARGO_PKG_VERSION").to_string(),
        run_id: ctx.run_id.clone(),
        host: plan.host.clone(),
        event_id: data.event_id.to_string(),
        started_at: started_at.to_rfc3339(),
        ended_at: ended_at.to_rfc3339(),
        load_seconds,
        total_seconds,
        open_model,
        closed_users: plan.closed_users,
        bookings: Bookings {
            attempted,
            acknowledged,
            outcomes,
            confirmed_per_s,
            sold_out: ctx.stats.sold_out.load(Ordering::Relaxed),
            cancels_ok: ctx.stats.cancels_ok.load(Ordering::Relaxed),
            cancels_failed: ctx.stats.cancels_failed.load(Ordering::Relaxed),
            max_in_flight: ctx.stats.max_in_flight.load(Ordering::Relaxed),
        },
        time_to_confirm: histograms
            .iter()
            .map(|(k, h)| (k.clone(), percentiles_of(h)))
            .collect(),
        histograms: histogram_texts,
        routes,
        thresholds,
        passed,
        history: HistoryInfo {
            file: history_path.display().to_string(),
            ops: ctx.history.len(),
            write_error: history_error,
        },
        timeline: ctx.stats.timeline(),
    }
}

fn describe_shape(shape: &RateShape) -> String {
    shape
        .segments
        .iter()
        .map(|s| {
            if s.from == s.to {
                format!("{}/s for {:?}", s.from, s.length)
            } else {
                format!("{}/s..{}/s for {:?}", s.from, s.to, s.length)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_split_by_weight_and_add_up() {
        let split = split_users(10, &[(Persona::Browse, 3), (Persona::Book, 1)]);
        assert_eq!(split, vec![(Persona::Browse, 8), (Persona::Book, 2)]);
        let split = split_users(1, &[(Persona::Browse, 1), (Persona::Book, 1)]);
        assert_eq!(split.iter().map(|s| s.1).sum::<usize>(), 1);
    }
}
