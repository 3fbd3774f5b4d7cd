//! `chaos run`: a scenario end to end.
//!
//! ```text
//! scenario.toml ─▶ validate (exit 2, nothing started)
//!   ─▶ local stack behind the fault proxy (or attach to a URL + toxiproxy)
//!   ─▶ loadgen prepare (event + users) ─▶ loadgen run ──────────────────────────▶ history.jsonl
//!                                          │ load starts: the fault timeline runs
//!                                          │   at: apply (toxic / proxy down / kill / pause / restart)
//!                                          │   at+for: heal                         ─▶ faults.json
//!   ─▶ heal everything ─▶ quiesce (no PENDING booking, no LOCKED seat, or timeout)
//!   ─▶ final state from the databases ─▶ checker ─▶ verdict.json, verdict table, exit code
//! ```
//! Exit codes: 0 thresholds and invariants hold; 1 a threshold failed; 2 bad scenario or input;
//! 3 harness error, or the stack broke (a consumer group still stalled after the quiesce: see
//! `kit::consumer_watch`); 4 an invariant was violated; 5 an invariant could not be decided.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::checker::{self, FinalState, History, Opts, Validity, Verdict};
use crate::collect::{collect_from_databases, DatabaseUrls};
use crate::exposure::{self, Window};
use crate::local_stack::{LocalOptions, LocalStack, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::nemesis::ManagedProcess;
use crate::scenario::{Fault, FaultAction, FaultTarget, Scenario, TargetKind, TargetMode};
use faultproxy::ToxiproxyClient;

/// How `chaos run` ended (the run report's `ending`).
pub use runfiles::Ending;

/// The process exit code of an ending (the harness's convention, `runfiles::Exit`).
pub fn exit_code(ending: Ending) -> i32 {
    i32::from(runfiles::Exit::from(ending).code())
}

/// What a [`LoadStep`] may touch.
#[derive(Debug, Clone)]
pub struct LoadContext {
    /// The run's databases (direct URLs).
    pub databases: DatabaseUrls,
    /// The run's event.
    pub event_id: uuid::Uuid,
    /// The local stack's broker (as the services reach it) and the run's topic prefix; `None`
    /// for a target given by URL.
    pub kafka: Option<(String, String)>,
}

/// Something done to the stack just before the load starts (its data ready) or just after it
/// ends (before the quiesce): the self-test plants what a lost message leaves behind, or injects
/// poison or a stale message. It returns the poison it injected, which the checker then expects
/// parked.
#[derive(Clone)]
pub struct LoadStep(
    pub  Arc<
        dyn Fn(
                LoadContext,
            )
                -> futures::future::BoxFuture<'static, anyhow::Result<Vec<checker::InjectedLetter>>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for LoadStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoadStep(..)")
    }
}

/// Options of a run beyond the scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run folder (default reports/out/<time>-<scenario>).
    pub out: Option<PathBuf>,
    /// Keep the run's databases (local mode) for inspection.
    pub keep_databases: bool,
    /// The scenario was stretched this many times (recorded in the run report; 0 or 1 = as written).
    pub stretch: u32,
    /// Done before the load starts (needs the run's databases: local mode or `[target.databases]`).
    pub before_load: Option<LoadStep>,
    /// Done once the load has ended and the faults are healed, before the quiesce (same needs).
    pub after_load: Option<LoadStep>,
}

/// One fault as it happened: `faults.json`'s type.
pub use runfiles::FaultWindow;

/// What a run produced: the run report (written as `run-report.json` by [`RunReport::to_file`])
/// and what the caller may want beyond it.
#[derive(Debug)]
pub struct RunReport {
    pub scenario: String,
    pub run_dir: PathBuf,
    pub ending: Ending,
    pub thresholds: Vec<loadgen::thresholds::Verdict>,
    pub faults: Vec<FaultWindow>,
    pub verdict: Verdict,
    pub bookings_attempted: u64,
    /// Booking operations by how they ended (loadgen's outcomes: CONFIRMED, FAILED, ...).
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// Time-to-confirm p99 of the bookings in flight during a fault, and of the others (ms).
    pub ttc_p99_in_faults_ms: Option<f64>,
    pub ttc_p99_outside_faults_ms: Option<f64>,
    /// How many times longer than the file the run was (`--stretch`).
    pub stretch: u32,
    /// Wall-clock seconds of the whole run (stack start to verdict).
    pub seconds: f64,
    /// The HTML report (`report.html` in the run folder), once rendered.
    pub report: Option<PathBuf>,
    /// CPU by process over the load and the settling (also `cpu.json`).
    pub cpu: Option<reports::cpu::CpuUsage>,
    /// Services whose consumer group was stalled after the quiesce, with the reason their
    /// /health gave (`booking-service: consumer group .. assigned no partition for 40 s`).
    pub stalled_consumers: Vec<String>,
    /// The history and final state judged (for re-checking, e.g. by the self-test).
    pub history: Option<History>,
    /// The databases read (direct URLs), and their names when the run kept them.
    pub databases: Option<DatabaseUrls>,
    pub kept_databases: Vec<String>,
    pub event_id: Option<uuid::Uuid>,
}

impl RunReport {
    /// The file form of the report (`run-report.json`).
    pub fn to_file(&self) -> runfiles::RunReport {
        runfiles::RunReport {
            scenario: self.scenario.clone(),
            run_dir: self.run_dir.display().to_string(),
            ending: Some(self.ending),
            thresholds: self.thresholds.clone(),
            faults: self.faults.clone(),
            verdict: Some(self.verdict.clone()),
            bookings_attempted: self.bookings_attempted,
            outcomes: self.outcomes.clone(),
            ttc_p99_in_faults_ms: self.ttc_p99_in_faults_ms,
            ttc_p99_outside_faults_ms: self.ttc_p99_outside_faults_ms,
            stretch: self.stretch,
            seconds: self.seconds,
            report: self.report.as_ref().map(|p| p.display().to_string()),
            cpu: self.cpu.clone(),
            stalled_consumers: self.stalled_consumers.clone(),
        }
    }
}

/// Harness failures (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct HarnessError(#[from] anyhow::Error);

fn wall() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where faults are applied: the proxy API and the processes.
struct Faults {
    toxiproxy: ToxiproxyClient,
    proxies: crate::scenario::ProxyNames,
    processes: Arc<tokio::sync::Mutex<std::collections::BTreeMap<String, ManagedProcess>>>,
}

impl Faults {
    /// The proxy in front of a proxy fault's target.
    fn proxy(&self, fault: &Fault) -> anyhow::Result<&str> {
        self.proxies
            .get(fault.target)
            .context("no proxy for target")
    }

    async fn apply(&self, fault: &Fault) -> anyhow::Result<()> {
        let target = fault.target.name();
        match (fault.target.kind(), &fault.action) {
            (TargetKind::Proxy, FaultAction::Down) => {
                let proxy = self.proxy(fault)?;
                self.toxiproxy.disable(proxy).await?;
            }
            (TargetKind::Proxy, _) => {
                let proxy = self.proxy(fault)?;
                let toxic = fault.toxic().context("no toxic for this action")?;
                self.toxiproxy.add_toxic(proxy, &toxic).await?;
            }
            (TargetKind::Stack, _) => {
                // What Ctrl-C on `stack up` and starting it again do: every service stops
                // gracefully (at once, so none outlives the others by much), then all start.
                let mut processes = self.processes.lock().await;
                let is_service = |name: &str| {
                    name.parse::<FaultTarget>()
                        .is_ok_and(|t| t.kind() == TargetKind::Service)
                };
                let stops = processes
                    .iter_mut()
                    .filter(|(name, _)| is_service(name))
                    .map(|(_, p)| p.stop(Duration::from_secs(10)));
                for stopped in futures::future::join_all(stops).await {
                    stopped?;
                }
                for (_, process) in processes.iter_mut().filter(|(name, _)| is_service(name)) {
                    process.restart()?;
                }
            }
            (_, action) => {
                let mut processes = self.processes.lock().await;
                let process = processes
                    .get_mut(target)
                    .with_context(|| format!("no process {target}"))?;
                match action {
                    FaultAction::Kill => drop(process.kill9()?),
                    FaultAction::Pause => drop(process.pause()?),
                    FaultAction::Restart => drop(process.restart()?),
                    other => anyhow::bail!("{} cannot be applied to {target}", other.name()),
                }
            }
        }
        Ok(())
    }

    async fn heal(&self, fault: &Fault) -> anyhow::Result<()> {
        let target = fault.target.name();
        match (fault.target.kind(), &fault.action) {
            (TargetKind::Proxy, FaultAction::Down) => {
                let proxy = self.proxy(fault)?;
                self.toxiproxy.enable(proxy).await?;
            }
            (TargetKind::Proxy, _) => {
                let proxy = self.proxy(fault)?;
                self.toxiproxy
                    .remove_toxic(proxy, &fault.toxic_name())
                    .await?;
            }
            // A stack restart is over when it was applied.
            (TargetKind::Stack, _) => {}
            (_, action) => {
                let mut processes = self.processes.lock().await;
                let process = processes
                    .get_mut(target)
                    .with_context(|| format!("no process {target}"))?;
                match action {
                    FaultAction::Kill => drop(process.restart()?),
                    FaultAction::Pause => drop(process.resume()?),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Heals whatever is left: proxies reset, paused processes resumed, dead ones restarted.
    async fn heal_all(&self) {
        let _ = self.toxiproxy.reset().await;
        let mut processes = self.processes.lock().await;
        for process in processes.values_mut() {
            if matches!(process.state(), crate::nemesis::ProcessState::Paused) {
                let _ = process.resume();
            }
            if !process.is_running() {
                let _ = process.restart();
            }
        }
    }
}

/// Runs the fault timeline from `start`; records each window.
async fn timeline(
    faults: Arc<Faults>,
    list: Vec<Fault>,
    start: Instant,
    windows: Arc<Mutex<Vec<FaultWindow>>>,
) {
    let mut events: Vec<(Duration, bool, Fault)> = Vec::new();
    for f in list {
        events.push((f.at, true, f.clone()));
        events.push((f.heals_at(), false, f));
    }
    // Heals before applies at the same instant: back-to-back faults on one target stay apart.
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    for (at, apply, fault) in events {
        tokio::time::sleep_until((start + at).into()).await;
        let offset = start.elapsed().as_secs_f64();
        if apply {
            let result = faults.apply(&fault).await;
            eprintln!(
                "chaos: [{offset:>6.1}s] fault {}: {fault}{}",
                fault.index,
                result
                    .as_ref()
                    .err()
                    .map(|e| format!(" FAILED: {e:#}"))
                    .unwrap_or_default()
            );
            windows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(FaultWindow {
                    fault: fault.index,
                    description: fault.to_string(),
                    target: fault.target.name().to_string(),
                    action: fault.action.name().to_string(),
                    start_s: offset,
                    end_s: None,
                    start_wall: wall(),
                    end_wall: None,
                    max_in_flight: None,
                    started: None,
                    bookings_in_flight: None,
                    error: result.err().map(|e| format!("{e:#}")),
                });
        } else {
            let result = faults.heal(&fault).await;
            eprintln!(
                "chaos: [{offset:>6.1}s] healed fault {}{}",
                fault.index,
                result
                    .as_ref()
                    .err()
                    .map(|e| format!(" FAILED: {e:#}"))
                    .unwrap_or_default()
            );
            let mut windows = windows.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(w) = windows.iter_mut().rev().find(|w| w.fault == fault.index) {
                w.end_s = Some(offset);
                w.end_wall = Some(wall());
                if let Err(e) = result {
                    w.error.get_or_insert_with(|| format!("heal: {e:#}"));
                }
            }
        }
    }
}

/// Whether the saga has nothing left to do: no booking PENDING, no seat LOCKED, and every held
/// seat held by a booking that is still CONFIRMED (a cancel's release may still be in flight).
fn settled(state: &FinalState) -> bool {
    let status: std::collections::HashMap<uuid::Uuid, &str> = state
        .bookings
        .iter()
        .map(|b| (b.id, b.status.as_str()))
        .collect();
    state
        .bookings
        .iter()
        .all(|b| b.status.as_str() != "PENDING")
        && state
            .seats
            .iter()
            .all(|s| match (s.status.as_str(), s.booking_id) {
                ("LOCKED", _) => false,
                ("RESERVED", Some(holder)) => status.get(&holder) == Some(&"CONFIRMED"),
                _ => true,
            })
}

/// Reads the final state until it is settled and the same on two reads a second apart, or until
/// `limit` passes (then the last read is judged as it is: what never settled is a finding).
async fn quiesce(
    databases: &DatabaseUrls,
    event: uuid::Uuid,
    limit: Duration,
) -> anyhow::Result<(FinalState, Duration)> {
    let started = Instant::now();
    let mut previous: Option<FinalState> = None;
    loop {
        let state = collect_from_databases(databases, Some(&[event]))
            .await
            .context("reading the final state")?;
        let stable = previous.as_ref() == Some(&state);
        if (stable && settled(&state)) || started.elapsed() >= limit {
            return Ok((state, started.elapsed()));
        }
        previous = Some(state);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> anyhow::Result<()> {
    Ok(runfiles::write_json(&dir.join(name), value)?)
}

/// Runs `scenario`.
///
/// # Errors
/// [`HarnessError`] when the run could not be carried out (the verdict is then unknown).
pub async fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, HarnessError> {
    let run_dir = options.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            scenario.name
        ))
    });
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    std::fs::copy(&scenario.path, run_dir.join("scenario.toml"))
        .with_context(|| format!("cannot copy {}", scenario.path.display()))?;
    reports::environment::save(&reports::environment::capture(), &run_dir)
        .map_err(|e| HarnessError(e.into()))?;
    eprintln!("chaos: {} -> {}", scenario.name, run_dir.display());
    let log = run_dir.join("chaos.log");
    if let Err(e) = crate::run_log::start(&log) {
        eprintln!(
            "chaos: cannot write {} ({e}); harness warnings stay on this terminal",
            log.display()
        );
    }
    let result = run_in(scenario, options, run_dir).await;
    let lines = crate::run_log::stop();
    if lines > 0 {
        eprintln!(
            "chaos: {lines} harness log lines (warnings such as refused upstream connections during a fault) in {}",
            log.display()
        );
    }
    result
}

async fn run_in(
    scenario: &Scenario,
    options: &RunOptions,
    run_dir: PathBuf,
) -> Result<RunReport, HarnessError> {
    let (gateway, toxiproxy, databases, local) = match &scenario.target.mode {
        TargetMode::Local => {
            eprintln!("chaos: starting the local stack behind the fault proxy");
            let stack = LocalStack::start(&LocalOptions {
                settings: scenario.stack.clone(),
                run_dir: run_dir.clone(),
            })
            .await?;
            (
                stack.gateway.clone(),
                stack.toxiproxy.clone(),
                Some(stack.databases.clone()),
                Some(stack),
            )
        }
        TargetMode::Url(url) => {
            let toxiproxy = ToxiproxyClient::new(
                scenario
                    .target
                    .toxiproxy
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:8474".into()),
            );
            (
                url.clone(),
                toxiproxy,
                scenario.target.databases.clone(),
                None,
            )
        }
    };
    let began = Instant::now();
    let mut result = drive(
        scenario,
        [options.before_load.as_ref(), options.after_load.as_ref()],
        &run_dir,
        &gateway,
        toxiproxy,
        databases,
        local.as_ref(),
    )
    .await;
    if let Ok(report) = &mut result {
        report.stretch = options.stretch.max(1);
        report.seconds = began.elapsed().as_secs_f64();
        write_json(&run_dir, "run-report.json", &report.to_file())?;
        // The verdict stands without the page: a rendering problem is said, not fatal.
        match reports::render_run(&run_dir, &reports::RenderOptions::default()) {
            Ok(page) => report.report = Some(page),
            Err(e) => eprintln!("chaos: the HTML report was not written: {e}"),
        }
    }
    if let Some(stack) = local {
        if let (Ok(report), true) = (&mut result, options.keep_databases) {
            report.kept_databases = stack.database_names.clone();
        }
        stack.stop(options.keep_databases).await;
    }
    result
}

async fn drive(
    scenario: &Scenario,
    [before_load, after_load]: [Option<&LoadStep>; 2],
    run_dir: &Path,
    gateway: &str,
    toxiproxy: ToxiproxyClient,
    databases: Option<DatabaseUrls>,
    local: Option<&LocalStack>,
) -> Result<RunReport, HarnessError> {
    let (admin_email, admin_password) = match local {
        Some(_) => (ADMIN_EMAIL.to_string(), ADMIN_PASSWORD.to_string()),
        None => (
            std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| kit::seed::ADMIN_EMAIL.into()),
            std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| kit::seed::ADMIN_PASSWORD.into()),
        ),
    };
    let data_path = run_dir.join("data.json");
    let data = loadgen::prepare::prepare(&loadgen::cli::PrepareArgs {
        host: gateway.to_string(),
        seats: scenario.data.seats,
        users: usize::try_from(scenario.data.users).unwrap_or(usize::MAX),
        out: data_path.clone(),
        admin_email,
        admin_password,
        wait: "120s".into(),
        target_kind: if local.is_some() {
            loadgen::target_kind::TargetChoice::Stampede
        } else {
            loadgen::target_kind::TargetChoice::Auto
        },
    })
    .await
    .context("preparing the event and users")?;

    let mut plan = scenario
        .load_plan(gateway, data_path.clone())
        .map_err(|e| anyhow::anyhow!("the scenario's load: {e}"))?;
    plan.out = Some(run_dir.join("loadgen"));
    plan.progress = Duration::from_secs(5);
    // An unknown POST is asked again with its Idempotency-Key: fewer unknowns for the checker.
    plan.ops.retry_unknown = 2;
    plan.goose_args = vec!["--quiet".into()];
    if local.is_some() {
        // Our own stack: no need to ask (and a service still starting must not make it look
        // like TicketFlow).
        plan.target_kind = loadgen::target_kind::TargetChoice::Stampede;
    }

    let processes = match local {
        Some(stack) => stack.processes.clone(),
        None => Arc::default(),
    };
    let faults = Arc::new(Faults {
        toxiproxy,
        proxies: scenario.target.proxies.clone(),
        processes,
    });
    let windows: Arc<Mutex<Vec<FaultWindow>>> = Arc::default();
    let (tell, started) = tokio::sync::oneshot::channel();
    let schedule = {
        let (faults, windows, list) = (faults.clone(), windows.clone(), scenario.faults.clone());
        tokio::spawn(async move {
            if let Ok(start) = started.await {
                timeline(faults, list, start, windows).await;
            }
        })
    };
    let context = || -> anyhow::Result<LoadContext> {
        Ok(LoadContext {
            databases: databases
                .clone()
                .context("a before- or after-load step needs the run's databases")?,
            event_id: data.event_id,
            kafka: local.map(|s| (s.kafka_brokers.clone(), s.topic_prefix.clone())),
        })
    };
    let mut injected_letters = Vec::new();
    if let Some(step) = before_load {
        injected_letters.extend((step.0)(context()?).await.context("the before-load step")?);
    }
    let cpu_before = reports::cpu::ProcessSnapshot::take(std::process::id());
    let outcome = loadgen::run::run_plan(&plan, Some(tell)).await;
    schedule.abort();
    faults.heal_all().await;
    let outcome = outcome.map_err(|e| anyhow::anyhow!("loadgen: {e}"))?;
    if let Some(step) = after_load {
        injected_letters.extend((step.0)(context()?).await.context("the after-load step")?);
    }

    // Fault windows with what the load did during each.
    let history = History::load(run_dir.join("loadgen/history.jsonl"))
        .context("reading loadgen's history")?;
    let mut windows = windows.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let spans: Vec<Window> = windows
        .iter()
        .filter_map(|w| Window::of(&w.start_wall, w.end_wall.as_deref(), now_ms))
        .collect();
    let exposure = exposure::measure(&history, &spans);
    for (w, n) in windows.iter_mut().zip(&exposure.in_flight_per_window) {
        w.bookings_in_flight = Some(*n);
    }
    for w in &mut windows {
        let (from, to) = (
            w.start_s.floor() as usize,
            w.end_s.unwrap_or(w.start_s).ceil() as usize,
        );
        let seconds = outcome
            .summary
            .timeline
            .iter()
            .skip(from)
            .take(to.saturating_sub(from).max(1));
        let (mut max, mut started) = (0, 0);
        for s in seconds {
            max = max.max(s.in_flight);
            started += s.started;
        }
        w.max_in_flight = Some(max);
        w.started = Some(started);
    }
    write_json(run_dir, "faults.json", &windows)?;

    // Settle, read the final state, judge.
    let (state, verdict) = match &databases {
        Some(dbs) => {
            eprintln!(
                "chaos: healed; waiting up to {:?} for the stack to quiesce",
                scenario.quiesce
            );
            let (mut state, waited) = quiesce(dbs, data.event_id, scenario.quiesce).await?;
            if let Some(stack) = local {
                state.dead_letters = Some(dead_letters(stack).await?);
            }
            eprintln!(
                "chaos: state read after {:.1}s (settled: {}); checking",
                waited.as_secs_f64(),
                settled(&state)
            );
            let opts = Opts {
                history_complete: true,
                invariants: scenario.invariants.clone(),
                injected_letters,
                ..Opts::default()
            };
            let verdict = checker::check(&history, &state, &opts);
            (Some(state), verdict)
        }
        None => {
            eprintln!("chaos: no databases given: the invariants cannot be decided");
            let opts = Opts {
                history_complete: false,
                invariants: scenario.invariants.clone(),
                ..Opts::default()
            };
            (
                None,
                checker::check(&history, &FinalState::default(), &opts),
            )
        }
    };
    if let Some(state) = &state {
        state
            .save(run_dir.join("final-state.json"))
            .context("writing final-state.json")?;
    }
    // The load and the settling after it: what the stack spent on this run's bookings.
    let cpu = cpu_before.usage_until_now(outcome.summary.bookings.confirmed());
    reports::cpu::save(&cpu, run_dir)
        .with_context(|| format!("cannot write {}/cpu.json", run_dir.display()))?;
    eprintln!("chaos: {}", cpu.summary_line());
    let mut verdict = verdict;
    if state.is_none() {
        verdict.valid = Validity::Unknown;
    }
    write_json(run_dir, "verdict.json", &verdict)?;
    if let Some(stack) = local {
        let events: Vec<_> = stack
            .processes
            .lock()
            .await
            .values()
            .flat_map(|p| p.events().to_vec())
            .collect();
        write_json(run_dir, "nemesis.json", &events)?;
    }

    let stalled_consumers = stalled_consumers(gateway).await;
    for stall in &stalled_consumers {
        eprintln!("chaos: stack broken: {stall}");
    }

    let mut thresholds = outcome.summary.thresholds.clone();
    thresholds.extend(
        scenario
            .fault_rules
            .iter()
            .map(|rule| rule.judge(&exposure.in_flight_per_window)),
    );
    let thresholds_passed = outcome.summary.passed && thresholds.iter().all(|t| t.passed);
    let ending = match verdict.valid {
        _ if !stalled_consumers.is_empty() => Ending::StackBroken,
        Validity::False => Ending::InvariantViolated,
        Validity::Unknown => Ending::InvariantUnknown,
        Validity::True if !thresholds_passed => Ending::ThresholdFailed,
        Validity::True => Ending::Passed,
    };
    let report = RunReport {
        scenario: scenario.name.clone(),
        run_dir: run_dir.to_path_buf(),
        ending,
        thresholds,
        faults: windows,
        verdict,
        bookings_attempted: outcome.summary.bookings.attempted,
        outcomes: outcome
            .summary
            .bookings
            .outcomes
            .iter()
            .map(|(o, n)| (o.as_str().to_string(), *n))
            .collect(),
        ttc_p99_in_faults_ms: exposure.ttc_p99_in_faults_ms,
        ttc_p99_outside_faults_ms: exposure.ttc_p99_outside_faults_ms,
        stretch: 1,
        seconds: 0.0,
        report: None,
        cpu: Some(cpu),
        stalled_consumers,
        history: Some(history),
        databases,
        kept_databases: Vec::new(),
        event_id: Some(data.event_id),
    };
    write_json(run_dir, "run-report.json", &report.to_file())?;
    Ok(report)
}

/// Every dead letter of the local stack's topics, as the checker reads them.
async fn dead_letters(stack: &LocalStack) -> anyhow::Result<Vec<checker::DeadLetterRow>> {
    let letters = kit::dead_letters::list(&stack.kafka_brokers, &stack.topic_prefix)
        .await
        .context("cannot read the run's dead-letter topics")?;
    Ok(letters
        .into_iter()
        .map(|l| checker::DeadLetterRow {
            at: format!("{}:{}:{}", l.dlt_topic, l.partition, l.offset),
            original_topic: l.original_topic,
            consumer_group: l.consumer_group,
            error: l.error,
            key: l.key,
            message_id: Some(l.message_id),
            replayed: l.replayed,
        })
        .collect())
}

/// Every service behind `gateway` whose /health says its consumers are stalled, as
/// `name: reason`. Empty when none is, and when the target does not answer Stampede's
/// `/health/all` (another stack: nothing to say).
async fn stalled_consumers(gateway: &str) -> Vec<String> {
    let answer = reqwest::Client::new()
        .get(format!("{gateway}/health/all"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let Ok(body) = answer.map(|r| r.json::<serde_json::Value>()) else {
        return Vec::new();
    };
    let Ok(body) = body.await else {
        return Vec::new();
    };
    stalls_in(&body)
}

/// The stalled consumers in a `/health/all` answer (`services`: one entry per service with the
/// fields of its /health body).
fn stalls_in(health_all: &serde_json::Value) -> Vec<String> {
    let Some(services) = health_all["services"].as_array() else {
        return Vec::new();
    };
    services
        .iter()
        .filter_map(|entry| {
            let consumers = &entry["checks"]["consumers"];
            (consumers["status"] == kit::health::DOWN).then(|| {
                let name = entry["service"].as_str().or(entry["name"].as_str());
                format!(
                    "{}: {}",
                    name.unwrap_or("a service"),
                    consumers["error"].as_str().unwrap_or("stalled")
                )
            })
        })
        .collect()
}

/// The verdict table printed at the end of a run.
pub fn table(report: &RunReport) -> String {
    let count = |o: &str| report.outcomes.get(o).copied().unwrap_or(0);
    let ms = |v: Option<f64>| v.map_or("-".to_string(), loadgen::thresholds::format_ms);
    let mut out = format!(
        "\nscenario {}: {} bookings attempted, {} confirmed, {} failed, {} expired; ttc p99 {} during faults, {} outside\n",
        report.scenario,
        report.bookings_attempted,
        count("CONFIRMED"),
        count("FAILED"),
        count("EXPIRED"),
        ms(report.ttc_p99_in_faults_ms),
        ms(report.ttc_p99_outside_faults_ms),
    );
    for w in &report.faults {
        out.push_str(&format!(
            "fault    {:<44} {:>6.1}s..{:<6} bookings in flight {:>5}, started {:>5}{}\n",
            w.description,
            w.start_s,
            w.end_s
                .map(|e| format!("{e:.1}s"))
                .unwrap_or_else(|| "open".into()),
            w.bookings_in_flight.unwrap_or(0),
            w.started.unwrap_or(0),
            w.error
                .as_ref()
                .map(|e| format!("  ERROR {e}"))
                .unwrap_or_default()
        ));
    }
    for t in &report.thresholds {
        out.push_str(&format!("threshold {t}\n"));
    }
    if let Some(cpu) = &report.cpu {
        out.push_str(&format!("cpu      {}\n", cpu.summary_line()));
    }
    for stall in &report.stalled_consumers {
        out.push_str(&format!("stalled  {stall}\n"));
    }
    out.push_str(&checker::table(&report.verdict));
    out.push_str(&format!(
        "\nrun folder: {}\nreport: {}\nverdict: {}\n",
        report.run_dir.display(),
        report
            .report
            .as_ref()
            .map_or("not written".to_string(), |p| p.display().to_string()),
        match report.ending {
            Ending::StackBroken => "STACK BROKEN (a consumer group stalled; see the lines above)",
            ending => ending.label(),
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_consumer_in_health_all_is_named_with_its_reason() {
        let body = serde_json::json!({"gateway": "up", "status": "down", "services": [
            {"name": "booking", "service": "booking-service", "status": "down", "checks": {"consumers": {"status": "down",
                "error": "consumer group booking-service has been assigned no partition for 41 s"}}},
            {"name": "payment", "service": "payment-service", "status": "up", "checks": {"consumers": {"status": "up"}}},
            {"name": "gateway-like-without-details", "status": "down", "error": "connection refused"}
        ]});
        assert_eq!(
            stalls_in(&body),
            vec!["booking-service: consumer group booking-service has been assigned no partition for 41 s".to_string()]
        );
        assert!(stalls_in(&serde_json::json!({"gateway": "up", "services": []})).is_empty());
        assert_eq!(exit_code(Ending::StackBroken), 3);
    }
}
