//! Scenario files: one TOML file holds a chaos run (ARCHITECTURE.md section 5): the target, the
//! local stack's settings, the data set, the load shape, the fault timeline, the thresholds and
//! the invariants to check. `chaos run` loads it with [`Scenario::load`] before anything starts;
//! every mistake is reported as `file:line: field: message`.
//!
//! ```text
//!   scenarios/x.toml ─▶ DeTable::parse ─────────▶ syntax errors; spans -> field paths
//!                    ─▶ serde into Raw* structs ─▶ unknown keys, missing keys, wrong types
//!                    ─▶ validate ────────────────▶ durations, rate, personas, stack, faults,
//!                                                   thresholds, invariants (all problems at once)
//!                    ─▶ Scenario
//! ```
//!
//! The format, key by key, is in `scenarios/README.md`. Rates, personas, seat strategies and
//! saga thresholds are checked with loadgen's own parsers, goose thresholds with goose's, toxic
//! attributes with the fault proxy's, so a scenario that loads is one they accept.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use loadgen::persona::{parse_weights, Persona};
use loadgen::rate::RateShape;
use loadgen::run::{DataSource, LoadPlan};
use loadgen::seats::Strategy;
use loadgen::thresholds::{is_saga_rule, SagaThreshold};

use crate::checker::Invariant;
use crate::collect::DatabaseUrls;
use faultproxy::{Stream, Toxic, ToxicKind};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file it was read from (as given), for messages and reports.
    pub path: PathBuf,
    /// Short name, for run folders and reports (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// One line for people: what the scenario shows.
    pub description: String,
    /// How long to wait at most, after the last fault healed and the load ended, for the stack
    /// to settle (no PENDING booking, no LOCKED seat) before collecting the final state.
    pub quiesce: Duration,
    /// What the run is aimed at.
    pub target: Target,
    /// The local stack's settings (defaults with `mode = "url"`).
    pub stack: StackSettings,
    /// The data set prepared before the load.
    pub data: DataSettings,
    /// The load.
    pub load: LoadSettings,
    /// The fault timeline, in file order; offsets count from the start of the load.
    pub faults: Vec<Fault>,
    /// loadgen threshold rules (saga rules and goose rules), as written.
    pub thresholds: Vec<String>,
    /// The runner's own rules on the load during faults (`fault-in-flight>=200`).
    pub fault_rules: Vec<crate::exposure::FaultRule>,
    /// The invariants the checker judges (default: all seven, in ARCHITECTURE.md order).
    pub invariants: Vec<Invariant>,
}

/// Where the run goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Spawn the local stack, or attach to a running one.
    pub mode: TargetMode,
    /// An external toxiproxy API (e.g. `http://127.0.0.1:8474`); `None`: the built-in proxy.
    pub toxiproxy: Option<String>,
    /// The service databases, for the checker's final state.
    pub databases: Option<DatabaseUrls>,
    /// Names of the proxies in front of Redis, Kafka and Postgres on the toxiproxy.
    pub proxies: ProxyNames,
}

/// `target.mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetMode {
    /// Spawn the local stack behind the fault proxy.
    Local,
    /// Attach to a running stack: its gateway's base URL.
    Url(String),
}

/// `[target.proxies]`: the toxiproxy proxy names of the three backing services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyNames {
    pub redis: String,
    pub kafka: String,
    pub postgres: String,
}

impl Default for ProxyNames {
    fn default() -> Self {
        Self {
            redis: "redis".into(),
            kafka: "kafka".into(),
            postgres: "postgres".into(),
        }
    }
}

impl ProxyNames {
    /// The proxy a proxy target goes through; `None` for services and the broker.
    pub fn get(&self, target: FaultTarget) -> Option<&str> {
        match target {
            FaultTarget::Redis => Some(&self.redis),
            FaultTarget::Kafka => Some(&self.kafka),
            FaultTarget::Postgres => Some(&self.postgres),
            _ => None,
        }
    }
}

/// `[stack]`: settings of the local stack's services.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSettings {
    /// inventory-service's `LOCK_STRATEGY`.
    pub lock_strategy: LockStrategy,
    /// booking-service's `BOOKING_TIMEOUT_MS`: a PENDING booking older than this expires.
    pub booking_timeout: Duration,
    /// payment-service's `PAYMENT_SUCCESS_RATE`, in [0, 1].
    pub payment_success_rate: f64,
    /// payment-service's `PAYMENT_LATENCY_MS`.
    pub payment_latency: Duration,
}

impl Default for StackSettings {
    /// The services' own defaults.
    fn default() -> Self {
        Self {
            lock_strategy: LockStrategy::Lua,
            booking_timeout: Duration::from_secs(60),
            payment_success_rate: 1.0,
            payment_latency: Duration::ZERO,
        }
    }
}

impl StackSettings {
    /// The environment variables that carry these settings to the services.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LOCK_STRATEGY", self.lock_strategy.as_str().to_string()),
            (
                "BOOKING_TIMEOUT_MS",
                self.booking_timeout.as_millis().to_string(),
            ),
            (
                "PAYMENT_SUCCESS_RATE",
                self.payment_success_rate.to_string(),
            ),
            (
                "PAYMENT_LATENCY_MS",
                self.payment_latency.as_millis().to_string(),
            ),
        ]
    }
}

/// inventory-service's seat lock implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStrategy {
    /// One Lua script per lock (the default).
    Lua,
    /// SET NX per seat.
    Setnx,
    /// Deliberately racy, to show the checker catching double bookings.
    Unsafe,
}

impl LockStrategy {
    /// The `LOCK_STRATEGY` value.
    pub fn as_str(self) -> &'static str {
        match self {
            LockStrategy::Lua => "lua",
            LockStrategy::Setnx => "setnx",
            LockStrategy::Unsafe => "unsafe",
        }
    }
}

/// `[data]`: what is prepared before the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSettings {
    /// Seats of the event the load books.
    pub seats: u64,
    /// Users registered for the load.
    pub users: u64,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            seats: 3000,
            users: 50,
        }
    }
}

/// `[load]`: loadgen's open-model load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSettings {
    /// The rate shape as written (`100/s`, `50/s..200/s`, `100/s for 10s, 200/s for 10s`).
    pub rate: String,
    /// The parsed shape; its length is the load window.
    pub shape: RateShape,
    /// `duration`: the length of segments without `for`.
    pub duration: Option<Duration>,
    /// Personas and weights as written (`book=8,hot-seat=1,cancel=1`).
    pub scenarios: String,
    /// The parsed personas and weights.
    pub personas: Vec<(Persona, u32)>,
    /// Cap on operations in flight.
    pub inflight: usize,
    /// Seat choice as written: `random`, `best`, `best:<SECTION>`, `hot`, `hot:<N>`.
    pub strategy: String,
    /// Seats per booking, min and max.
    pub seats_per_booking: (usize, usize),
    /// Seats the hot-seat persona fights over.
    pub hot_seats: usize,
}

impl LoadSettings {
    /// The load window: how long the rate shape lasts.
    pub fn length(&self) -> Duration {
        self.shape.length()
    }
}

/// One fault of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Position in the file (0 = the first `[[faults]]`), as in messages (`faults[0]`).
    pub index: usize,
    /// Offset from the start of the load.
    pub at: Duration,
    /// How long it lasts (`for`); it heals at `at + length`. Zero only for `restart`.
    pub length: Duration,
    /// What it hits.
    pub target: FaultTarget,
    /// What it does.
    pub action: FaultAction,
    /// The toxic's attributes as written (empty for non-toxics).
    pub attributes: Map<String, Value>,
    /// The direction a toxic acts on (downstream unless given).
    pub stream: Stream,
    /// The chance a connection gets the toxic, in [0, 1].
    pub toxicity: f32,
}

impl Fault {
    /// When it heals: `at + length`.
    pub fn heals_at(&self) -> Duration {
        self.at + self.length
    }

    /// The toxic to add at `at` and remove at heal, for toxic actions; named `fault-<index>`.
    pub fn toxic(&self) -> Option<Toxic> {
        match &self.action {
            FaultAction::Toxic(kind) => Some(
                Toxic::new(kind.clone())
                    .on(self.stream)
                    .named(self.toxic_name())
                    .with_toxicity(self.toxicity),
            ),
            _ => None,
        }
    }

    /// The name [`Fault::toxic`] gives its toxic.
    pub fn toxic_name(&self) -> String {
        format!("fault-{}", self.index)
    }
}

impl fmt::Display for Fault {
    /// `faults[0]: redis latency {"jitter":50,"latency":200} at 10s for 15s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "faults[{}]: {} {}",
            self.index,
            self.target,
            self.action.name()
        )?;
        if let FaultAction::Toxic(kind) = &self.action {
            write!(f, " {}", Value::Object(kind.attributes()))?;
            if self.stream != Stream::Downstream {
                write!(f, " {}", self.stream)?;
            }
            if self.toxicity < 1.0 {
                write!(f, " toxicity {}", self.toxicity)?;
            }
        }
        write!(
            f,
            " at {} for {}",
            format_duration(self.at),
            format_duration(self.length)
        )
    }
}

/// What a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultTarget {
    Redis,
    Kafka,
    Postgres,
    Gateway,
    UserService,
    EventService,
    BookingService,
    InventoryService,
    PaymentService,
    NotificationService,
    /// The Kafka broker process (tansu).
    Broker,
    /// All seven service processes at once.
    Stack,
}

/// The kind of a [`FaultTarget`], which decides the actions it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A connection through the fault proxy: toxics or `down`.
    Proxy,
    /// A service process: `kill`, `pause`, `restart`.
    Service,
    /// The broker process: `restart`, `pause`.
    Broker,
    /// Every service process: `restart` (stopped with SIGTERM, as Ctrl-C stops `stack up`,
    /// and started again at once).
    Stack,
}

impl FaultTarget {
    /// Every target, in the order messages list them.
    pub const ALL: [FaultTarget; 12] = [
        FaultTarget::Redis,
        FaultTarget::Kafka,
        FaultTarget::Postgres,
        FaultTarget::Gateway,
        FaultTarget::UserService,
        FaultTarget::EventService,
        FaultTarget::BookingService,
        FaultTarget::InventoryService,
        FaultTarget::PaymentService,
        FaultTarget::NotificationService,
        FaultTarget::Broker,
        FaultTarget::Stack,
    ];

    /// The name in scenario files; for services, the service's (and its process's) name.
    pub fn name(self) -> &'static str {
        match self {
            FaultTarget::Redis => "redis",
            FaultTarget::Kafka => "kafka",
            FaultTarget::Postgres => "postgres",
            FaultTarget::Gateway => "gateway",
            FaultTarget::UserService => "user-service",
            FaultTarget::EventService => "event-service",
            FaultTarget::BookingService => "booking-service",
            FaultTarget::InventoryService => "inventory-service",
            FaultTarget::PaymentService => "payment-service",
            FaultTarget::NotificationService => "notification-service",
            FaultTarget::Broker => "broker",
            FaultTarget::Stack => "stack",
        }
    }

    /// Proxy, service or broker.
    pub fn kind(self) -> TargetKind {
        match self {
            FaultTarget::Redis | FaultTarget::Kafka | FaultTarget::Postgres => TargetKind::Proxy,
            FaultTarget::Broker => TargetKind::Broker,
            FaultTarget::Stack => TargetKind::Stack,
            _ => TargetKind::Service,
        }
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a fault target (use {})",
                    names(Self::ALL.iter().map(|t| t.name()))
                )
            })
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Proxy targets: a toxiproxy toxic on the proxy, removed at heal.
    Toxic(ToxicKind),
    /// Proxy targets: the proxy disabled (connections closed, new ones refused), enabled at heal.
    Down,
    /// Services: kill -9 at `at`, started again at heal.
    Kill,
    /// Services and the broker: SIGSTOP at `at`, SIGCONT at heal.
    Pause,
    /// Services and the broker: kill -9 and start again at once, at `at`.
    Restart,
}

impl FaultAction {
    /// The name in scenario files (a toxic's type for toxics).
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Toxic(kind) => kind.type_name(),
            FaultAction::Down => "down",
            FaultAction::Kill => "kill",
            FaultAction::Pause => "pause",
            FaultAction::Restart => "restart",
        }
    }
}

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax or validation problems, one per line (`file:line: field: message`).
    #[error("{}", problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
}

impl ScenarioError {
    /// The problems found (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Read { .. } => &[],
            ScenarioError::Invalid { problems } => problems,
        }
    }
}

/// One thing wrong with a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The key's path (`faults[1].for`, `load.rate`); `None` for syntax errors outside a key.
    pub field: Option<String>,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    ///
    /// # Errors
    /// [`ScenarioError::Read`] when the file cannot be read, [`ScenarioError::Invalid`] with
    /// every problem found otherwise.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates scenario text; `path` only names it in messages.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] with every problem found (a syntax or serde error stops at
    /// the first).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let mut v = Validator {
            file: path.display().to_string(),
            text,
            problems: Vec::new(),
        };
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let (line, field) = match e.span() {
                    Some(span) => (line_of(text, span.start), None),
                    None => (1, None),
                };
                return Err(v.fail_one(line, field, e.message().to_string()));
            }
        };
        let raw: RawScenario = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let (line, field, message) = serde_problem(text, doc.get_ref(), &e);
                return Err(v.fail_one(line, field, message));
            }
        };
        let scenario = v.scenario(raw, path);
        // In file order (stable: problems on one line keep the order they were found in).
        v.problems.sort_by_key(|p| p.line);
        if v.problems.is_empty() {
            // Unreachable `None`: the validator only returns `None` after recording a problem.
            scenario.ok_or_else(|| ScenarioError::Invalid {
                problems: Vec::new(),
            })
        } else {
            Err(ScenarioError::Invalid {
                problems: v.problems,
            })
        }
    }

    /// The load window: how long the rate shape lasts.
    pub fn load_length(&self) -> Duration {
        self.load.length()
    }

    /// The scenario aimed at a running stack instead of the file's target (`chaos run --target`):
    /// its gateway `url`, the toxiproxy API for proxy faults, the databases for the checker.
    ///
    /// # Errors
    /// A one-line reason: not an http(s) URL; a process fault (kill, pause, restart) or a
    /// `[stack]` setting, neither of which a running stack takes; a proxy fault and no toxiproxy.
    pub fn aimed_at(
        &self,
        url: &str,
        toxiproxy: Option<String>,
        databases: Option<DatabaseUrls>,
    ) -> Result<Scenario, String> {
        let file = self.path.display();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("--target {url:?}: not an http(s) URL"));
        }
        if let Some(f) = self
            .faults
            .iter()
            .find(|f| f.target.kind() != TargetKind::Proxy)
        {
            return Err(format!(
                "{file}: faults[{}] acts on the process {} ({}), which only a local stack can do; --target runs against a stack chaos did not start",
                f.index,
                f.target.name(),
                f.action.name()
            ));
        }
        if self.stack != StackSettings::default() {
            let env: Vec<String> = self
                .stack
                .env()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            return Err(format!(
                "{file}: [stack] sets the local stack's services; a running stack takes them from its own environment ({}): set them there and remove [stack]",
                env.join(" ")
            ));
        }
        let toxiproxy = toxiproxy.or_else(|| self.target.toxiproxy.clone());
        if toxiproxy.is_none() && !self.faults.is_empty() {
            return Err(format!("{file}: proxy faults against --target need --toxiproxy URL (the toxiproxy in front of Redis, Kafka and Postgres)"));
        }
        let mut s = self.clone();
        s.target = Target {
            mode: TargetMode::Url(url.trim_end_matches('/').to_string()),
            toxiproxy,
            databases: databases.or_else(|| self.target.databases.clone()),
            proxies: self.target.proxies.clone(),
        };
        Ok(s)
    }

    /// The same scenario `factor` times longer, for the long versions of the CI-sized files:
    /// every segment of the load shape, every fault's offset and length, and the event's seats
    /// (so the longer load does not sell out; at most 100,000). Rates, quiesce and thresholds
    /// stay as they are.
    #[must_use]
    pub fn stretched(&self, factor: u32) -> Scenario {
        let mut s = self.clone();
        if factor <= 1 {
            return s;
        }
        for segment in &mut s.load.shape.segments {
            segment.length *= factor;
        }
        s.load.rate = s.load.shape.to_spec();
        s.load.duration = None;
        for fault in &mut s.faults {
            fault.at *= factor;
            fault.length *= factor;
        }
        s.data.seats = (s.data.seats * u64::from(factor)).min(100_000);
        s
    }

    /// The loadgen plan of this scenario's load and thresholds against `host`, booking the
    /// prepared `data` (the caller sets the run folder, progress, retries).
    ///
    /// # Errors
    /// A strategy or threshold rule loadgen does not take (the validator checked both, so this
    /// is a bug if it happens).
    pub fn load_plan(&self, host: &str, data: PathBuf) -> Result<LoadPlan, String> {
        let load = &self.load;
        let mut plan = LoadPlan::new(host, DataSource::Prepared(data), Some(load.shape.clone()));
        plan.weights.clone_from(&load.personas);
        plan.inflight = load.inflight;
        plan.ops.strategy = load
            .strategy
            .parse()
            .map_err(|e| format!("load.strategy: {e}"))?;
        plan.ops.seats_per_booking = load.seats_per_booking;
        plan.ops.hot_seats = load.hot_seats.max(1);
        plan.set_thresholds(&self.thresholds)
            .map_err(|e| format!("thresholds: {e}"))?;
        Ok(plan)
    }
}

/// `10s`, `1500ms`, `2m`: the shortest exact form.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Parses a scenario duration: a number with a unit (`500ms`, `10s`, `2m`, `1h`, `1m30s`).
///
/// # Errors
/// A message naming the text, with examples.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (use 10s, 500ms, 2m)");
    let trimmed = text.trim();
    // loadgen reads a bare number as seconds; a scenario file says the unit.
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    loadgen::rate::parse_duration(trimmed).map_err(|_| bad())
}

// ---------------------------------------------------------------------------------------------
// The file as serde sees it: every value the validator checks keeps its span.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    description: Option<String>,
    quiesce: Option<Spanned<String>>,
    target: Spanned<RawTarget>,
    stack: Option<Spanned<RawStack>>,
    data: Option<RawData>,
    load: Spanned<RawLoad>,
    #[serde(default)]
    faults: Vec<Spanned<RawFault>>,
    thresholds: Option<RawThresholds>,
    invariants: Option<RawInvariants>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    mode: Spanned<String>,
    url: Option<Spanned<String>>,
    toxiproxy: Option<Spanned<String>>,
    databases: Option<RawDatabases>,
    proxies: Option<RawProxies>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabases {
    bookings: Spanned<String>,
    inventory: Spanned<String>,
    payments: Option<Spanned<String>>,
    notifications: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxies {
    redis: Option<Spanned<String>>,
    kafka: Option<Spanned<String>>,
    postgres: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStack {
    lock_strategy: Option<Spanned<String>>,
    booking_timeout: Option<Spanned<String>>,
    payment_success_rate: Option<Spanned<f64>>,
    payment_latency: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    seats: Option<Spanned<u64>>,
    users: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    rate: Spanned<String>,
    duration: Option<Spanned<String>>,
    scenarios: Option<Spanned<String>>,
    inflight: Option<Spanned<u64>>,
    strategy: Option<Spanned<String>>,
    seats_per_booking: Option<Spanned<String>>,
    hot_seats: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    at: Spanned<String>,
    #[serde(rename = "for")]
    length: Option<Spanned<String>>,
    target: Spanned<String>,
    action: Spanned<String>,
    attributes: Option<Spanned<Map<String, Value>>>,
    stream: Option<Spanned<String>>,
    toxicity: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    #[serde(default)]
    rules: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInvariants {
    check: Vec<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validation: each check records a problem and carries on, so one run shows them all.

struct Validator<'t> {
    file: String,
    text: &'t str,
    problems: Vec<Problem>,
}

/// A fault checked so far, with the spans later checks point at.
struct Checked {
    fault: Fault,
    at_span: Range<usize>,
    length_span: Range<usize>,
}

impl Validator<'_> {
    fn fail_one(&mut self, line: usize, field: Option<String>, message: String) -> ScenarioError {
        ScenarioError::Invalid {
            problems: vec![Problem {
                file: self.file.clone(),
                line,
                field,
                message,
            }],
        }
    }

    fn problem(
        &mut self,
        span: &Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            file: self.file.clone(),
            line: line_of(self.text, span.start),
            field: Some(field.into()),
            message: message.into(),
        });
    }

    fn duration(&mut self, field: &str, value: &Spanned<String>) -> Option<Duration> {
        match parse_duration(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(&value.span(), field, e);
                None
            }
        }
    }

    fn http_url(&mut self, field: &str, value: &Spanned<String>) -> Option<String> {
        match url::Url::parse(value.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(value.get_ref().clone())
            }
            _ => {
                self.problem(
                    &value.span(),
                    field,
                    format!(
                        "{:?} is not an http(s) URL (e.g. http://127.0.0.1:3000)",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn postgres_url(&mut self, field: &str, value: &Spanned<String>) -> Option<String> {
        match url::Url::parse(value.get_ref()) {
            Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => {
                Some(value.get_ref().clone())
            }
            _ => {
                self.problem(
                    &value.span(),
                    field,
                    format!(
                        "{:?} is not a Postgres URL (e.g. postgres://postgres@127.0.0.1:5432/ticketflow_bookings)",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// Everything; `None` when a problem was recorded.
    fn scenario(&mut self, raw: RawScenario, path: &Path) -> Option<Scenario> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.problem(
                &raw.name.span(),
                "name",
                format!(
                    "{:?}: use letters, digits, '-', '_' or '.' (it names the run folder)",
                    raw.name.get_ref()
                ),
            );
        }
        let quiesce = match &raw.quiesce {
            Some(q) => self.duration("quiesce", q),
            None => Some(Duration::from_secs(30)),
        };
        let target = self.target(&raw.target);
        let stack = match (&raw.stack, &target) {
            (
                Some(stack),
                Some(Target {
                    mode: TargetMode::Url(_),
                    ..
                }),
            ) => {
                self.problem(
                    &stack.span(),
                    "stack",
                    "[stack] sets the local stack's services; with target.mode = \"url\" they are not ours to set (remove it)",
                );
                None
            }
            (Some(stack), _) => self.stack(stack.get_ref()),
            (None, _) => Some(StackSettings::default()),
        };
        let data = self.data(raw.data.as_ref());
        let load = self.load(&raw.load, data.as_ref());
        let faults = self.faults(&raw.faults, target.as_ref(), load.as_ref());
        let thresholds = self.thresholds(raw.thresholds.as_ref());
        let invariants = self.invariants(raw.invariants.as_ref());
        Some(Scenario {
            path: path.to_path_buf(),
            name,
            description: raw.description.unwrap_or_default(),
            quiesce: quiesce?,
            target: target?,
            stack: stack?,
            data: data?,
            load: load?,
            faults: faults?,
            fault_rules: thresholds
                .as_ref()?
                .iter()
                .filter_map(|r| crate::exposure::FaultRule::parse(r).ok())
                .collect(),
            thresholds: thresholds?
                .into_iter()
                .filter(|r| !crate::exposure::FaultRule::is_fault_rule(r))
                .collect(),
            invariants: invariants?,
        })
    }

    fn target(&mut self, raw: &Spanned<RawTarget>) -> Option<Target> {
        let t = raw.get_ref();
        let mode = match (t.mode.get_ref().as_str(), &t.url) {
            ("local", None) => Some(TargetMode::Local),
            ("local", Some(url)) => {
                self.problem(
                    &url.span(),
                    "target.url",
                    "only with mode = \"url\" (mode = \"local\" spawns the stack itself)",
                );
                None
            }
            ("url", Some(url)) => self.http_url("target.url", url).map(TargetMode::Url),
            ("url", None) => {
                self.problem(
                    &t.mode.span(),
                    "target.url",
                    "missing: mode = \"url\" needs the gateway's URL (url = \"http://127.0.0.1:3000\")",
                );
                None
            }
            (other, _) => {
                self.problem(
                    &t.mode.span(),
                    "target.mode",
                    format!("{other:?} is not a mode (use \"local\" or \"url\")"),
                );
                None
            }
        };
        let toxiproxy = match &t.toxiproxy {
            Some(url) => self.http_url("target.toxiproxy", url).map(Some),
            None => Some(None),
        };
        let databases = match &t.databases {
            None => Some(None),
            Some(db) => {
                let bookings = self.postgres_url("target.databases.bookings", &db.bookings);
                let inventory = self.postgres_url("target.databases.inventory", &db.inventory);
                let payments = db
                    .payments
                    .as_ref()
                    .map(|u| self.postgres_url("target.databases.payments", u));
                let notifications = db
                    .notifications
                    .as_ref()
                    .map(|u| self.postgres_url("target.databases.notifications", u));
                // Absent: Some(None); given and valid: Some(Some(url)); given and bad: None.
                let optional = |v: Option<Option<String>>| v.map_or(Some(None), |u| u.map(Some));
                match (
                    bookings,
                    inventory,
                    optional(payments),
                    optional(notifications),
                ) {
                    (Some(bookings), Some(inventory), Some(payments), Some(notifications)) => {
                        Some(Some(DatabaseUrls {
                            bookings,
                            inventory,
                            payments,
                            notifications,
                        }))
                    }
                    _ => None,
                }
            }
        };
        let mut proxies = ProxyNames::default();
        if let Some(p) = &t.proxies {
            for (field, value, slot) in [
                ("target.proxies.redis", &p.redis, &mut proxies.redis),
                ("target.proxies.kafka", &p.kafka, &mut proxies.kafka),
                (
                    "target.proxies.postgres",
                    &p.postgres,
                    &mut proxies.postgres,
                ),
            ] {
                if let Some(value) = value {
                    if value.get_ref().trim().is_empty() {
                        self.problem(&value.span(), field, "a proxy name cannot be empty");
                    } else {
                        *slot = value.get_ref().clone();
                    }
                }
            }
        }
        Some(Target {
            mode: mode?,
            toxiproxy: toxiproxy?,
            databases: databases?,
            proxies,
        })
    }

    fn stack(&mut self, raw: &RawStack) -> Option<StackSettings> {
        let mut s = StackSettings::default();
        let mut ok = true;
        if let Some(l) = &raw.lock_strategy {
            match l.get_ref().as_str() {
                "lua" => s.lock_strategy = LockStrategy::Lua,
                "setnx" => s.lock_strategy = LockStrategy::Setnx,
                "unsafe" if stack::BUG_VARIANTS => s.lock_strategy = LockStrategy::Unsafe,
                "unsafe" => {
                    self.problem(
                        &l.span(),
                        "stack.lock_strategy",
                        "\"unsafe\" is a bug variant and this chaos build has none (build it with `--features selftest`)".to_string(),
                    );
                    ok = false;
                }
                other => {
                    self.problem(
                        &l.span(),
                        "stack.lock_strategy",
                        format!("{other:?} is not a lock strategy (use lua, setnx or unsafe)"),
                    );
                    ok = false;
                }
            }
        }
        if let Some(t) = &raw.booking_timeout {
            match self.duration("stack.booking_timeout", t) {
                Some(d) if d.is_zero() => {
                    self.problem(&t.span(), "stack.booking_timeout", "must be longer than 0s");
                    ok = false;
                }
                Some(d) => s.booking_timeout = d,
                None => ok = false,
            }
        }
        if let Some(r) = &raw.payment_success_rate {
            let rate = *r.get_ref();
            if (0.0..=1.0).contains(&rate) {
                s.payment_success_rate = rate;
            } else {
                self.problem(
                    &r.span(),
                    "stack.payment_success_rate",
                    format!("{rate} is outside 0..=1 (a share of payments that succeed)"),
                );
                ok = false;
            }
        }
        if let Some(l) = &raw.payment_latency {
            match self.duration("stack.payment_latency", l) {
                Some(d) => s.payment_latency = d,
                None => ok = false,
            }
        }
        ok.then_some(s)
    }

    fn data(&mut self, raw: Option<&RawData>) -> Option<DataSettings> {
        let mut d = DataSettings::default();
        let Some(raw) = raw else { return Some(d) };
        let mut ok = true;
        for (field, value, slot) in [
            ("data.seats", &raw.seats, &mut d.seats),
            ("data.users", &raw.users, &mut d.users),
        ] {
            if let Some(value) = value {
                if *value.get_ref() == 0 {
                    self.problem(&value.span(), field, "must be at least 1");
                    ok = false;
                } else {
                    *slot = *value.get_ref();
                }
            }
        }
        ok.then_some(d)
    }

    fn load(
        &mut self,
        raw: &Spanned<RawLoad>,
        data: Option<&DataSettings>,
    ) -> Option<LoadSettings> {
        let l = raw.get_ref();
        let mut ok = true;
        let rate = l.rate.get_ref().trim().to_string();
        let duration = match &l.duration {
            Some(d) => match self.duration("load.duration", d) {
                Some(v) if v.is_zero() => {
                    self.problem(&d.span(), "load.duration", "must be longer than 0s");
                    return None;
                }
                Some(v) => Some(v),
                None => return None,
            },
            None => None,
        };
        let open_segment = rate.split(',').any(|part| !part.contains(" for "));
        let shape = match (open_segment, duration, &l.duration) {
            (true, None, _) => {
                self.problem(
                    &l.rate.span(),
                    "load.rate",
                    format!("{rate:?} has a segment without `for`: give load.duration (e.g. \"30s\") or `for` on every segment"),
                );
                None
            }
            (false, Some(_), Some(d)) => {
                self.problem(
                    &d.span(),
                    "load.duration",
                    "unused: every segment of load.rate has its own `for` (remove load.duration)",
                );
                None
            }
            _ => match RateShape::parse(&rate, duration) {
                Ok(shape) => Some(shape),
                Err(e) => {
                    self.problem(&l.rate.span(), "load.rate", e.to_string());
                    None
                }
            },
        };
        let scenarios = l
            .scenarios
            .as_ref()
            .map_or_else(|| "book".to_string(), |s| s.get_ref().trim().to_string());
        let scenarios_span = l.scenarios.as_ref().map_or(raw.span(), Spanned::span);
        let personas = match parse_weights(&scenarios) {
            Ok(p) if !p.iter().any(|(p, _)| p.books()) => {
                self.problem(
                    &scenarios_span,
                    "load.scenarios",
                    format!("{scenarios:?}: the rate starts booking operations, so include book, hot-seat or cancel"),
                );
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(&scenarios_span, "load.scenarios", e);
                None
            }
        };
        let mut inflight = 500;
        if let Some(n) = &l.inflight {
            match usize::try_from(*n.get_ref()) {
                Ok(n) if n >= 1 => inflight = n,
                _ => {
                    self.problem(&n.span(), "load.inflight", "must be at least 1");
                    ok = false;
                }
            }
        }
        let strategy = l
            .strategy
            .as_ref()
            .map_or_else(|| "random".to_string(), |s| s.get_ref().trim().to_string());
        if let Err(e) = strategy.parse::<Strategy>() {
            let span = l.strategy.as_ref().map_or(raw.span(), Spanned::span);
            self.problem(&span, "load.strategy", e);
            ok = false;
        }
        let mut seats_per_booking = (1, 2);
        if let Some(s) = &l.seats_per_booking {
            match parse_range(s.get_ref()) {
                Some(range) => seats_per_booking = range,
                None => {
                    self.problem(
                        &s.span(),
                        "load.seats_per_booking",
                        format!("{:?}: use N or MIN..MAX with 1 <= MIN <= MAX", s.get_ref()),
                    );
                    ok = false;
                }
            }
        }
        let mut hot_seats = 10;
        if let Some(n) = &l.hot_seats {
            let seats = data.map_or(u64::MAX, |d| d.seats);
            match usize::try_from(*n.get_ref()) {
                Ok(h) if h >= 1 && *n.get_ref() <= seats => hot_seats = h,
                Ok(h) if h >= 1 => {
                    self.problem(
                        &n.span(),
                        "load.hot_seats",
                        format!("{h} is more than the event's {seats} seats (data.seats)"),
                    );
                    ok = false;
                }
                _ => {
                    self.problem(&n.span(), "load.hot_seats", "must be at least 1");
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        Some(LoadSettings {
            rate,
            shape: shape?,
            duration,
            scenarios,
            personas: personas?,
            inflight,
            strategy,
            seats_per_booking,
            hot_seats,
        })
    }

    fn faults(
        &mut self,
        raw: &[Spanned<RawFault>],
        target: Option<&Target>,
        load: Option<&LoadSettings>,
    ) -> Option<Vec<Fault>> {
        let mut checked = Vec::new();
        let mut ok = true;
        for (index, f) in raw.iter().enumerate() {
            match self.fault(index, f, target) {
                Some(c) => checked.push(c),
                None => ok = false,
            }
        }
        if let Some(load) = load {
            let window = load.length();
            for c in &checked {
                let f = &c.fault;
                if f.at >= window {
                    self.problem(
                        &c.at_span,
                        format!("faults[{}].at", f.index),
                        format!(
                            "{} starts at or after the end of the load window ({}): it would hit nothing",
                            f,
                            format_duration(window)
                        ),
                    );
                    ok = false;
                } else if f.heals_at() > window {
                    self.problem(
                        &c.length_span,
                        format!("faults[{}].for", f.index),
                        format!(
                            "{} heals at {}, after the load window ends ({}): shorten it or lengthen the load",
                            f,
                            format_duration(f.heals_at()),
                            format_duration(window)
                        ),
                    );
                    ok = false;
                }
            }
        }
        // Zero-length faults (restart) occupy an instant: [at, at + 1 ns).
        let end = |f: &Fault| f.heals_at().max(f.at + Duration::from_nanos(1));
        for (i, b) in checked.iter().enumerate() {
            if let Some(a) = checked[..i].iter().find(|a| {
                a.fault.target == b.fault.target
                    && a.fault.at < end(&b.fault)
                    && b.fault.at < end(&a.fault)
            }) {
                self.problem(
                    &b.at_span,
                    format!("faults[{}]", b.fault.index),
                    format!(
                        "{} overlaps {} on the same target; one fault per target at a time",
                        b.fault, a.fault
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| checked.into_iter().map(|c| c.fault).collect())
    }

    fn fault(
        &mut self,
        index: usize,
        raw: &Spanned<RawFault>,
        target: Option<&Target>,
    ) -> Option<Checked> {
        let f = raw.get_ref();
        let field = |name: &str| format!("faults[{index}].{name}");
        let action_name = f.action.get_ref().as_str();

        // When, and how long: checked first, so these show even when the target is wrong.
        let at = self.duration(&field("at"), &f.at);
        let mut ok = at.is_some();
        let length_span = f.length.as_ref().map_or(raw.span(), Spanned::span);
        let length = match &f.length {
            Some(l) => self.duration(&field("for"), l),
            None if action_name == "restart" => Some(Duration::ZERO),
            None => {
                self.problem(
                    &raw.span(),
                    field("for"),
                    "missing: how long the fault lasts (e.g. for = \"15s\"); only restart may leave it out",
                );
                None
            }
        };
        match length {
            Some(l) if l.is_zero() && action_name != "restart" => {
                self.problem(
                    &length_span,
                    field("for"),
                    "must be longer than 0s (only restart may last 0s)",
                );
                ok = false;
            }
            Some(_) => {}
            None => ok = false,
        }

        // What, and what to: the action must fit the target's kind. Toxics (`None` here) are
        // built below with their attributes.
        let fault_target = match f.target.get_ref().parse::<FaultTarget>() {
            Ok(t) => t,
            Err(e) => {
                self.problem(&f.target.span(), field("target"), e);
                return None;
            }
        };
        let kind = fault_target.kind();
        let action = match (kind, action_name) {
            (TargetKind::Proxy, "down") => Some(FaultAction::Down),
            (TargetKind::Proxy, t) if ToxicKind::TYPES.contains(&t) => None,
            (TargetKind::Service, "kill") => Some(FaultAction::Kill),
            (TargetKind::Service | TargetKind::Broker, "pause") => Some(FaultAction::Pause),
            (TargetKind::Service | TargetKind::Broker | TargetKind::Stack, "restart") => {
                Some(FaultAction::Restart)
            }
            (kind, other) => {
                let (what, actions) = match kind {
                    TargetKind::Proxy => (
                        "a connection through the fault proxy",
                        format!("a toxic ({}) or down", ToxicKind::TYPES.join(", ")),
                    ),
                    TargetKind::Service => ("a service process", "kill, pause or restart".into()),
                    TargetKind::Broker => ("the broker process", "restart or pause".into()),
                    TargetKind::Stack => ("every service process", "restart".into()),
                };
                self.problem(
                    &f.action.span(),
                    field("action"),
                    format!(
                        "{other:?} is not an action for {fault_target} ({what}: use {actions})"
                    ),
                );
                return None;
            }
        };
        let is_toxic = action.is_none();

        // Where the target can be reached.
        if let Some(target) = target {
            match (&target.mode, kind) {
                (
                    TargetMode::Url(_),
                    TargetKind::Service | TargetKind::Broker | TargetKind::Stack,
                ) => {
                    self.problem(
                        &f.target.span(),
                        field("target"),
                        format!("{fault_target} is a process of the local stack; with target.mode = \"url\" only proxy targets (redis, kafka, postgres) can be hit"),
                    );
                    ok = false;
                }
                (TargetMode::Url(_), TargetKind::Proxy) if target.toxiproxy.is_none() => {
                    self.problem(
                        &f.target.span(),
                        field("target"),
                        format!("a {fault_target} fault on a url target needs the toxiproxy it goes through: set target.toxiproxy"),
                    );
                    ok = false;
                }
                _ => {}
            }
        }

        // Toxic-only keys.
        if !is_toxic {
            for (name, span) in [
                ("attributes", f.attributes.as_ref().map(Spanned::span)),
                ("stream", f.stream.as_ref().map(Spanned::span)),
                ("toxicity", f.toxicity.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    self.problem(
                        &span,
                        field(name),
                        format!("only toxics take {name}; {action_name} on {fault_target} has none (remove it)"),
                    );
                    ok = false;
                }
            }
        }
        let attributes = f
            .attributes
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default();
        let action = match action {
            Some(action) => action,
            None => FaultAction::Toxic(self.toxic_kind(
                &field("attributes"),
                action_name,
                f.attributes.as_ref(),
                &raw.span(),
            )?),
        };
        let stream = match &f.stream {
            None => Stream::Downstream,
            Some(s) => match Stream::parse(s.get_ref()) {
                Some(stream) => stream,
                None => {
                    if is_toxic {
                        self.problem(
                            &s.span(),
                            field("stream"),
                            format!(
                                "{:?} is not a stream (use upstream or downstream)",
                                s.get_ref()
                            ),
                        );
                        ok = false;
                    }
                    Stream::Downstream
                }
            },
        };
        let toxicity = match &f.toxicity {
            None => 1.0,
            Some(t) => {
                let value = *t.get_ref();
                if !(0.0..=1.0).contains(&value) {
                    if is_toxic {
                        self.problem(
                            &t.span(),
                            field("toxicity"),
                            format!(
                                "{value} is outside 0..=1 (the chance a connection gets the toxic)"
                            ),
                        );
                        ok = false;
                    }
                    1.0
                } else {
                    value as f32
                }
            }
        };
        if !ok {
            return None;
        }
        Some(Checked {
            fault: Fault {
                index,
                at: at?,
                length: length?,
                target: fault_target,
                action,
                attributes,
                stream,
                toxicity,
            },
            at_span: f.at.span(),
            length_span,
        })
    }

    /// A toxic's type and attributes, checked with the fault proxy's own rules plus one: no
    /// unknown attribute names (toxiproxy ignores them; here they are mistakes).
    fn toxic_kind(
        &mut self,
        field: &str,
        type_name: &str,
        attributes: Option<&Spanned<Map<String, Value>>>,
        fault_span: &Range<usize>,
    ) -> Option<ToxicKind> {
        let span = attributes.map_or(fault_span.clone(), Spanned::span);
        let given = attributes.map(|a| a.get_ref().clone()).unwrap_or_default();
        // The type's attribute names, from its defaults (not validated: slicer's default is not
        // a valid slicer).
        let known: Vec<String> = serde_json::from_value::<ToxicKind>(
            serde_json::json!({"type": type_name, "attributes": {}}),
        )
        .map(|k| k.attributes().keys().cloned().collect())
        .unwrap_or_default();
        let unknown: Vec<&String> = given.keys().filter(|k| !known.contains(k)).collect();
        if !unknown.is_empty() {
            self.problem(
                &span,
                field,
                format!(
                    "unknown attribute {} for {type_name} (it takes {})",
                    names(unknown.iter().map(|k| k.as_str())),
                    names(known.iter().map(String::as_str))
                ),
            );
            return None;
        }
        match ToxicKind::parse(type_name, Some(Value::Object(given))) {
            Ok(kind) => Some(kind),
            Err(e) => {
                self.problem(&span, field, format!("bad {type_name} attributes: {e}"));
                None
            }
        }
    }

    fn thresholds(&mut self, raw: Option<&RawThresholds>) -> Option<Vec<String>> {
        let Some(raw) = raw else {
            return Some(Vec::new());
        };
        let mut ok = true;
        for (i, rule) in raw.rules.iter().enumerate() {
            let text = rule.get_ref().trim();
            let error = if crate::exposure::FaultRule::is_fault_rule(text) {
                crate::exposure::FaultRule::parse(text)
                    .err()
                    .map(|e| e.to_string())
            } else if is_saga_rule(text) {
                SagaThreshold::parse(text).err().map(|e| e.to_string())
            } else {
                match goose::threshold::Threshold::from_str(text) {
                    Ok(_) => None,
                    Err(goose::GooseError::InvalidOption { detail, .. }) => Some(detail),
                    Err(e) => Some(e.to_string()),
                }
            };
            if let Some(error) = error {
                self.problem(&rule.span(), format!("thresholds.rules[{i}]"), error);
                ok = false;
            }
        }
        ok.then(|| {
            raw.rules
                .iter()
                .map(|r| r.get_ref().trim().to_string())
                .collect()
        })
    }

    fn invariants(&mut self, raw: Option<&RawInvariants>) -> Option<Vec<Invariant>> {
        let Some(raw) = raw else {
            return Some(Invariant::ALL.to_vec());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, name) in raw.check.iter().enumerate() {
            let field = format!("invariants.check[{i}]");
            match name.get_ref().parse::<Invariant>() {
                Ok(inv) if out.contains(&inv) => {
                    self.problem(&name.span(), field, format!("{inv} is listed twice"));
                    ok = false;
                }
                Ok(inv) => out.push(inv),
                Err(e) => {
                    self.problem(&name.span(), field, e);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

/// `N` or `MIN..MAX`, both at least 1, MIN <= MAX.
fn parse_range(text: &str) -> Option<(usize, usize)> {
    let number = |s: &str| s.trim().parse::<usize>().ok().filter(|n| *n >= 1);
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    (min <= max).then_some((min, max))
}

/// `a, b or c` in backticks.
fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(|s| format!("`{s}`")).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Line, field path and message for a serde error, from the span toml gives it: unknown keys
/// point at the key, wrong types at the value, missing keys at their table's header.
fn serde_problem(
    text: &str,
    doc: &DeTable<'_>,
    e: &toml::de::Error,
) -> (usize, Option<String>, String) {
    let message = e.message().to_string();
    let span = e.span().filter(|s| !(s.start == 0 && s.end == 0));
    let (line, path) = match &span {
        Some(span) => (line_of(text, span.start), path_at(doc, span.start)),
        None => (1, None),
    };
    let join = |path: &Option<String>, key: &str| match path {
        Some(p) => format!("{p}.{key}"),
        None => key.to_string(),
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or_default();
        return (line, Some(join(&path, key)), "missing (required)".into());
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or_default();
        let expected = rest.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        let known = expected.strip_prefix("one of ").unwrap_or(expected);
        let text = if known.is_empty() {
            format!("unknown key `{key}`")
        } else {
            format!("unknown key `{key}` (known keys: {known})")
        };
        let field = path.unwrap_or_else(|| key.to_string());
        return (line, Some(field), text);
    }
    (line, path, message)
}

/// The path of the innermost key or value whose span holds `offset` (`faults[1].at`).
fn path_at(doc: &DeTable<'_>, offset: usize) -> Option<String> {
    fn visit_table(
        t: &DeTable<'_>,
        prefix: &str,
        offset: usize,
        best: &mut Option<(usize, String)>,
    ) {
        for (key, value) in t.iter() {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            consider(&key.span(), &path, offset, best);
            visit_value(value, &path, offset, best);
        }
    }
    fn visit_value(
        v: &Spanned<DeValue<'_>>,
        path: &str,
        offset: usize,
        best: &mut Option<(usize, String)>,
    ) {
        consider(&v.span(), path, offset, best);
        match v.get_ref() {
            DeValue::Table(t) => visit_table(t, path, offset, best),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    visit_value(item, &format!("{path}[{i}]"), offset, best);
                }
            }
            _ => {}
        }
    }
    fn consider(
        span: &Range<usize>,
        path: &str,
        offset: usize,
        best: &mut Option<(usize, String)>,
    ) {
        if span.start <= offset && offset < span.end.max(span.start + 1) {
            let len = span.end - span.start;
            let better = match best {
                None => true,
                Some((best_len, best_path)) => {
                    len < *best_len || (len == *best_len && path.len() > best_path.len())
                }
            };
            if better {
                *best = Some((len, path.to_string()));
            }
        }
    }
    let mut best = None;
    visit_table(doc, "", offset, &mut best);
    best.map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "scenarios/x.toml";

    /// A valid scenario with one fault of each kind; tests change one line of it.
    const VALID: &str = r#"name = "all-kinds"
description = "one of each"
quiesce = "20s"

[target]
mode = "local"

[stack]
lock_strategy = "setnx"
booking_timeout = "30s"
payment_success_rate = 0.7
payment_latency = "50ms"

[data]
seats = 3000
users = 50

[load]
rate = "100/s"
duration = "30s"
scenarios = "book=8,hot-seat=1,cancel=1"
inflight = 400
strategy = "random"
seats_per_booking = "1..2"
hot_seats = 10

[[faults]]
at = "2s"
for = "5s"
target = "redis"
action = "latency"
attributes = { latency = 200, jitter = 50 }
stream = "upstream"
toxicity = 0.5

[[faults]]
at = "10s"
for = "5s"
target = "booking-service"
action = "kill"

[[faults]]
at = "20s"
target = "broker"
action = "restart"

[thresholds]
rules = ["unknown=0", "ttc-p99<10s", "p95<500ms"]

[invariants]
check = ["double_booking", "liveness"]
"#;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, FILE)
    }

    /// `VALID` with `old` replaced by `new` (which must be there).
    fn edit(old: &str, new: &str) -> String {
        assert!(VALID.contains(old), "{old:?} not in VALID");
        VALID.replacen(old, new, 1)
    }

    /// The 1-based line of the first occurrence of `needle` in `text`.
    fn line(text: &str, needle: &str) -> usize {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in text"));
        line_of(text, at)
    }

    /// Asserts `text` is refused with exactly one problem, on `line`, about `field`, and that
    /// the message holds every needle.
    #[track_caller]
    fn assert_refused(text: &str, line: usize, field: &str, needles: &[&str]) {
        let err = parse(text).expect_err("refused");
        let shown = err.to_string();
        assert_eq!(err.problems().len(), 1, "{shown}");
        let prefix = format!("{FILE}:{line}: {field}: ");
        assert!(
            shown.starts_with(&prefix),
            "expected prefix {prefix:?}, got {shown:?}"
        );
        for needle in needles {
            assert!(shown.contains(needle), "{needle:?} not in {shown:?}");
        }
    }

    #[test]
    fn a_valid_scenario_parses_into_typed_settings() {
        let s = parse(VALID).unwrap();
        assert_eq!(s.name, "all-kinds");
        assert_eq!(s.path, PathBuf::from(FILE));
        assert_eq!(s.quiesce, Duration::from_secs(20));
        assert_eq!(s.target.mode, TargetMode::Local);
        assert_eq!(s.target.proxies, ProxyNames::default());
        assert_eq!(
            s.stack,
            StackSettings {
                lock_strategy: LockStrategy::Setnx,
                booking_timeout: Duration::from_secs(30),
                payment_success_rate: 0.7,
                payment_latency: Duration::from_millis(50),
            }
        );
        assert_eq!(
            s.data,
            DataSettings {
                seats: 3000,
                users: 50
            }
        );
        assert_eq!(s.load_length(), Duration::from_secs(30));
        assert_eq!(
            s.load.personas,
            vec![
                (Persona::Book, 8),
                (Persona::HotSeat, 1),
                (Persona::Cancel, 1)
            ]
        );
        assert_eq!(s.load.inflight, 400);
        assert_eq!(s.load.seats_per_booking, (1, 2));
        assert_eq!(s.faults.len(), 3);

        let redis = &s.faults[0];
        assert_eq!(
            (redis.at, redis.heals_at()),
            (Duration::from_secs(2), Duration::from_secs(7))
        );
        assert_eq!(redis.target, FaultTarget::Redis);
        assert_eq!(
            redis.action,
            FaultAction::Toxic(ToxicKind::Latency(faultproxy::Latency {
                latency: 200,
                jitter: 50
            }))
        );
        assert_eq!((redis.stream, redis.toxicity), (Stream::Upstream, 0.5));
        let toxic = redis.toxic().unwrap();
        assert_eq!(
            (toxic.name.as_str(), toxic.stream, toxic.toxicity),
            ("fault-0", Stream::Upstream, 0.5)
        );
        assert_eq!(
            redis.to_string(),
            r#"faults[0]: redis latency {"jitter":50,"latency":200} upstream toxicity 0.5 at 2s for 5s"#
        );

        let kill = &s.faults[1];
        assert_eq!(
            (kill.target, &kill.action),
            (FaultTarget::BookingService, &FaultAction::Kill)
        );
        assert!(kill.toxic().is_none());
        let restart = &s.faults[2];
        assert_eq!(
            (restart.action.name(), restart.length),
            ("restart", Duration::ZERO)
        );

        assert_eq!(s.thresholds, ["unknown=0", "ttc-p99<10s", "p95<500ms"]);
        assert_eq!(
            s.invariants,
            [Invariant::DoubleBooking, Invariant::Liveness]
        );
    }

    #[test]
    fn defaults_fill_what_a_minimal_scenario_leaves_out() {
        let s = parse("name = \"m\"\n[target]\nmode = \"local\"\n[load]\nrate = \"10/s for 5s\"\n")
            .unwrap();
        assert_eq!(s.quiesce, Duration::from_secs(30));
        assert_eq!(s.description, "");
        assert_eq!(s.stack, StackSettings::default());
        assert_eq!(s.data, DataSettings::default());
        assert_eq!(s.load.duration, None);
        assert_eq!(s.load_length(), Duration::from_secs(5));
        assert_eq!(s.load.personas, vec![(Persona::Book, 1)]);
        assert_eq!(
            (s.load.inflight, s.load.strategy.as_str(), s.load.hot_seats),
            (500, "random", 10)
        );
        assert!(s.faults.is_empty() && s.thresholds.is_empty());
        assert_eq!(s.invariants, Invariant::ALL);
    }

    #[test]
    fn the_load_plan_carries_the_load_and_thresholds() {
        let s = parse(VALID).unwrap();
        let plan = s
            .load_plan("http://gw", PathBuf::from("data.json"))
            .unwrap();
        assert_eq!(plan.host, "http://gw");
        assert_eq!(
            plan.data,
            loadgen::run::DataSource::Prepared(PathBuf::from("data.json"))
        );
        assert_eq!(plan.shape, Some(s.load.shape.clone()));
        assert_eq!(plan.load_length, Duration::from_secs(30));
        assert_eq!(
            plan.weights,
            vec![
                (Persona::Book, 8),
                (Persona::HotSeat, 1),
                (Persona::Cancel, 1)
            ]
        );
        assert_eq!(plan.inflight, 400);
        assert_eq!(plan.ops.seats_per_booking, (1, 2));
        assert_eq!(plan.ops.hot_seats, 10);
        assert_eq!(plan.closed_users, 0);
        let saga: Vec<String> = plan
            .saga_rules
            .iter()
            .map(|r| r.rule().to_string())
            .collect();
        assert_eq!(saga, ["unknown=0", "ttc-p99<10s"]);
        assert_eq!(plan.goose_rules, ["p95<500ms"]);
        plan.check().unwrap();
    }

    #[test]
    fn the_load_plan_equals_what_loadgen_makes_of_the_same_flags() {
        let s = parse(VALID).unwrap();
        let mut plan = s.load_plan("http://gw", PathBuf::from("d.json")).unwrap();
        let words = [
            "--host",
            "http://gw",
            "--data",
            "d.json",
            "--rate",
            "100/s",
            "--duration",
            "30s",
            "--scenarios",
            "book=8,hot-seat=1,cancel=1",
            "--inflight",
            "400",
            "--threshold",
            "unknown=0",
            "--threshold",
            "ttc-p99<10s",
            "--threshold",
            "p95<500ms",
        ];
        let args = loadgen::cli::RunArgs::from_words(words).unwrap();
        let from_cli = LoadPlan::from_args(&args).unwrap();
        plan.ops.seed = from_cli.ops.seed;
        assert_eq!(plan, from_cli);
    }

    #[test]
    fn a_stretched_scenario_scales_the_load_window_faults_and_seats() {
        let s = parse(VALID).unwrap();
        let long = s.stretched(10);
        assert_eq!(long.load_length(), Duration::from_secs(300));
        assert_eq!(long.load.rate, "100/s for 300000ms");
        assert_eq!(
            (long.faults[0].at, long.faults[0].heals_at()),
            (Duration::from_secs(20), Duration::from_secs(70))
        );
        assert_eq!(long.faults[2].at, Duration::from_secs(200));
        assert_eq!(long.data.seats, 30_000);
        assert_eq!(long.thresholds, s.thresholds);
        let plan = long
            .load_plan("http://gw", PathBuf::from("d.json"))
            .unwrap();
        assert_eq!(plan.load_length, Duration::from_secs(300));
        assert_eq!(s.stretched(1), s);
    }

    #[test]
    fn a_scenario_can_be_aimed_at_a_running_stack_unless_it_needs_the_local_one() {
        let proxy_only = "name = \"p\"\n[target]\nmode = \"local\"\n[load]\nrate = \"1/s\"\nduration = \"10s\"\n\
                          [[faults]]\nat = \"1s\"\nfor = \"2s\"\ntarget = \"redis\"\naction = \"down\"\n";
        let s = parse(proxy_only).unwrap();
        let dbs = DatabaseUrls::on_server("postgres://u:p@db:5432");
        let aimed = s
            .aimed_at(
                "http://gateway:3000/",
                Some("http://toxiproxy:8474".into()),
                Some(dbs.clone()),
            )
            .unwrap();
        assert_eq!(
            aimed.target.mode,
            TargetMode::Url("http://gateway:3000".into())
        );
        assert_eq!(
            aimed.target.toxiproxy.as_deref(),
            Some("http://toxiproxy:8474")
        );
        assert_eq!(
            aimed.target.databases.unwrap().bookings,
            "postgres://u:p@db:5432/ticketflow_bookings"
        );
        assert!(s
            .aimed_at("http://gateway:3000", None, None)
            .unwrap_err()
            .contains("--toxiproxy"));
        assert!(s
            .aimed_at("gateway:3000", None, None)
            .unwrap_err()
            .contains("not an http(s) URL"));
        let err = parse(VALID)
            .unwrap()
            .aimed_at("http://g:3000", Some("http://t:8474".into()), None)
            .unwrap_err();
        assert!(
            err.contains("faults[1]") && err.contains("booking-service"),
            "{err}"
        );
    }

    #[test]
    fn fault_rules_are_the_runners_and_do_not_reach_loadgen() {
        let text = VALID.replace(
            "[thresholds]\nrules = [",
            "[thresholds]\nrules = [\"fault-in-flight>=200\", ",
        );
        assert_ne!(text, VALID, "the fixture has a rules list");
        let s = parse(&text).unwrap();
        assert_eq!(
            s.fault_rules,
            vec![crate::exposure::FaultRule::parse("fault-in-flight>=200").unwrap()]
        );
        let plan = s.load_plan("http://gw", PathBuf::from("d.json")).unwrap();
        assert!(!plan
            .saga_rules
            .iter()
            .map(|r| r.rule())
            .chain(plan.goose_rules.iter().map(String::as_str))
            .any(|rule| rule.starts_with("fault-")));
        let bad = VALID.replace(
            "[thresholds]\nrules = [",
            "[thresholds]\nrules = [\"fault-in-flight>200\", ",
        );
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("thresholds.rules[0]") && err.contains("fault-in-flight takes >="),
            "{err}"
        );
    }

    #[test]
    fn stack_settings_become_the_services_environment() {
        let s = parse(VALID).unwrap();
        assert_eq!(
            s.stack.env(),
            vec![
                ("LOCK_STRATEGY", "setnx".to_string()),
                ("BOOKING_TIMEOUT_MS", "30000".to_string()),
                ("PAYMENT_SUCCESS_RATE", "0.7".to_string()),
                ("PAYMENT_LATENCY_MS", "50".to_string()),
            ]
        );
    }

    #[test]
    fn a_url_target_takes_its_url_toxiproxy_databases_and_proxy_names() {
        let text = r#"name = "remote"
[target]
mode = "url"
url = "http://10.0.0.5:3000"
toxiproxy = "http://10.0.0.5:8474"
[target.databases]
bookings = "postgres://postgres@10.0.0.5:5432/ticketflow_bookings"
inventory = "postgres://postgres@10.0.0.5:5432/ticketflow_inventory"
[target.proxies]
redis = "ticketflow-redis"
[load]
rate = "50/s"
duration = "20s"
[[faults]]
at = "5s"
for = "5s"
target = "redis"
action = "down"
"#;
        let s = parse(text).unwrap();
        assert_eq!(
            s.target.mode,
            TargetMode::Url("http://10.0.0.5:3000".into())
        );
        assert_eq!(s.target.toxiproxy.as_deref(), Some("http://10.0.0.5:8474"));
        let db = s.target.databases.unwrap();
        assert!(db.bookings.ends_with("ticketflow_bookings") && db.payments.is_none());
        assert_eq!(
            s.target.proxies.get(FaultTarget::Redis),
            Some("ticketflow-redis")
        );
        assert_eq!(s.target.proxies.get(FaultTarget::Kafka), Some("kafka"));
        assert_eq!(s.target.proxies.get(FaultTarget::Gateway), None);
        assert_eq!(s.faults[0].action, FaultAction::Down);
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["10", "", "soon", "-1s", "10 parsecs", "1.5"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("is not a duration (use 10s, 500ms, 2m)"),
                "{bad}: {err}"
            );
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(15)), "15s");
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let text = edit("users = 50\n", "users = 50\nseats = = 3\n");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{FILE}:{}: ", line(&text, "seats = = 3"))),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_table() {
        let text = edit("users = 50\n", "users = 50\ncolour = \"red\"\n");
        assert_refused(
            &text,
            line(&text, "colour"),
            "data.colour",
            &["unknown key `colour`", "`seats`"],
        );
        let text = edit(
            "quiesce = \"20s\"\n",
            "quiesce = \"20s\"\nquiesse = \"1s\"\n",
        );
        assert_refused(
            &text,
            line(&text, "quiesse"),
            "quiesse",
            &["unknown key `quiesse`"],
        );
    }

    #[test]
    fn an_unknown_key_in_a_fault_names_the_fault() {
        let text = edit("action = \"kill\"\n", "action = \"kill\"\nsignal = 9\n");
        assert_refused(
            &text,
            line(&text, "signal"),
            "faults[1].signal",
            &["unknown key `signal`"],
        );
    }

    #[test]
    fn an_unknown_table_is_refused() {
        let text = format!("{VALID}\n[extras]\nx = 1\n");
        assert_refused(
            &text,
            line(&text, "[extras]"),
            "extras",
            &["unknown key `extras`"],
        );
        let text = edit(
            "[target]\nmode = \"local\"\n",
            "[target]\nmode = \"local\"\n[target.secrets]\nx = 1\n",
        );
        assert_refused(
            &text,
            line(&text, "[target.secrets]"),
            "target.secrets",
            &["unknown key `secrets`"],
        );
    }

    #[test]
    fn a_missing_required_key_is_named() {
        let text = VALID.replacen("name = \"all-kinds\"\n", "", 1);
        assert_refused(&text, 1, "name", &["missing (required)"]);
        let text = edit("[target]\nmode = \"local\"\n", "[target]\n");
        assert_refused(
            &text,
            line(&text, "[target]"),
            "target.mode",
            &["missing (required)"],
        );
        let text = edit("rate = \"100/s\"\n", "");
        assert_refused(
            &text,
            line(&text, "[load]"),
            "load.rate",
            &["missing (required)"],
        );
        let text = edit("target = \"redis\"\n", "");
        assert_refused(
            &text,
            line(&text, "[[faults]]"),
            "faults[0].target",
            &["missing (required)"],
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let text = edit("seats = 3000", "seats = \"many\"");
        assert_refused(
            &text,
            line(&text, "\"many\""),
            "data.seats",
            &["invalid type"],
        );
        let text = edit("at = \"10s\"", "at = 10");
        assert_refused(
            &text,
            line(&text, "at = 10"),
            "faults[1].at",
            &["expected a string"],
        );
    }

    #[test]
    fn a_bad_duration_names_fault_and_key() {
        let text = edit(
            "for = \"5s\"\ntarget = \"booking-service\"",
            "for = \"soon\"\ntarget = \"booking-service\"",
        );
        assert_refused(
            &text,
            line(&text, "\"soon\""),
            "faults[1].for",
            &["\"soon\" is not a duration (use 10s, 500ms, 2m)"],
        );
        let text = edit("quiesce = \"20s\"", "quiesce = \"20\"");
        assert_refused(
            &text,
            line(&text, "quiesce"),
            "quiesce",
            &["\"20\" is not a duration"],
        );
        let text = edit("booking_timeout = \"30s\"", "booking_timeout = \"0s\"");
        assert_refused(
            &text,
            line(&text, "booking_timeout"),
            "stack.booking_timeout",
            &["longer than 0s"],
        );
    }

    #[test]
    fn a_bad_rate_is_refused_with_loadgens_reason() {
        let text = edit("rate = \"100/s\"", "rate = \"fast\"");
        assert_refused(
            &text,
            line(&text, "\"fast\""),
            "load.rate",
            &["bad rate \"fast\"", "needs a unit"],
        );
        let text = edit("rate = \"100/s\"", "rate = \"100/fortnight\"");
        assert_refused(
            &text,
            line(&text, "fortnight"),
            "load.rate",
            &["unknown rate unit"],
        );
    }

    #[test]
    fn a_rate_and_its_duration_must_agree() {
        let text = edit("duration = \"30s\"\n", "");
        assert_refused(
            &text,
            line(&text, "rate = \"100/s\""),
            "load.rate",
            &["without `for`", "load.duration"],
        );
        let text = edit(
            "rate = \"100/s\"",
            "rate = \"100/s for 10s, 200/s for 20s\"",
        );
        assert_refused(
            &text,
            line(&text, "duration ="),
            "load.duration",
            &["unused"],
        );
        let text = edit(
            "rate = \"100/s\"\nduration = \"30s\"",
            "rate = \"50/s for 10s, 100/s..200/s for 20s\"",
        );
        assert_eq!(parse(&text).unwrap().load_length(), Duration::from_secs(30));
    }

    #[test]
    fn an_unknown_persona_is_refused() {
        let text = edit("book=8,hot-seat=1,cancel=1", "book=8,scalper=1");
        assert_refused(
            &text,
            line(&text, "scalper"),
            "load.scenarios",
            &["unknown scenario \"scalper\""],
        );
        let text = edit("book=8,hot-seat=1,cancel=1", "browse=1");
        assert_refused(
            &text,
            line(&text, "browse=1"),
            "load.scenarios",
            &["include book, hot-seat or cancel"],
        );
    }

    #[test]
    fn bad_load_knobs_are_refused() {
        let text = edit("strategy = \"random\"", "strategy = \"cheapest\"");
        assert_refused(
            &text,
            line(&text, "cheapest"),
            "load.strategy",
            &["bad seat strategy"],
        );
        let text = edit(
            "seats_per_booking = \"1..2\"",
            "seats_per_booking = \"3..1\"",
        );
        assert_refused(
            &text,
            line(&text, "3..1"),
            "load.seats_per_booking",
            &["MIN..MAX"],
        );
        let text = edit("inflight = 400", "inflight = 0");
        assert_refused(
            &text,
            line(&text, "inflight"),
            "load.inflight",
            &["at least 1"],
        );
        let text = edit("hot_seats = 10", "hot_seats = 5000");
        assert_refused(
            &text,
            line(&text, "hot_seats"),
            "load.hot_seats",
            &["more than the event's 3000 seats"],
        );
        let text = edit("users = 50", "users = 0");
        assert_refused(&text, line(&text, "users"), "data.users", &["at least 1"]);
    }

    #[test]
    fn an_unknown_fault_target_is_refused() {
        let text = edit("target = \"booking-service\"", "target = \"mysql\"");
        assert_refused(
            &text,
            line(&text, "mysql"),
            "faults[1].target",
            &["\"mysql\" is not a fault target", "`redis`"],
        );
    }

    #[test]
    fn an_action_must_fit_its_target_kind() {
        let text = edit(
            "target = \"redis\"\naction = \"latency\"",
            "target = \"redis\"\naction = \"kill\"",
        );
        assert_refused(
            &text,
            line(&text, "\"kill\""),
            "faults[0].action",
            &["\"kill\" is not an action for redis", "down"],
        );
        let text = edit("action = \"kill\"", "action = \"latency\"");
        assert_refused(
            &text,
            line(&text, "target = \"booking-service\"") + 1,
            "faults[1].action",
            &[
                "\"latency\" is not an action for booking-service",
                "kill, pause or restart",
            ],
        );
        let text = edit(
            "target = \"broker\"\naction = \"restart\"",
            "for = \"5s\"\ntarget = \"broker\"\naction = \"kill\"",
        );
        assert_refused(
            &text,
            line(&text, "target = \"broker\"") + 1,
            "faults[2].action",
            &["restart or pause"],
        );
    }

    #[test]
    fn toxic_attributes_are_checked_by_name_and_type() {
        let text = edit("latency = 200, jitter = 50", "latency = 200, jiter = 50");
        assert_refused(
            &text,
            line(&text, "jiter"),
            "faults[0].attributes",
            &["unknown attribute `jiter` for latency", "`jitter`"],
        );
        let text = edit("latency = 200, jitter = 50", "latency = -200");
        assert_refused(
            &text,
            line(&text, "-200"),
            "faults[0].attributes",
            &["bad latency attributes"],
        );
        let text = edit("latency = 200, jitter = 50", "latency = \"200ms\"");
        assert_refused(
            &text,
            line(&text, "200ms"),
            "faults[0].attributes",
            &["bad latency attributes", "invalid type"],
        );
        let text = edit(
            "action = \"latency\"\nattributes = { latency = 200, jitter = 50 }",
            "action = \"slicer\"\nattributes = { size_variation = 5 }",
        );
        assert_refused(
            &text,
            line(&text, "size_variation"),
            "faults[0].attributes",
            &["average_size"],
        );
    }

    #[test]
    fn non_toxics_take_no_attributes_stream_or_toxicity() {
        let text = edit(
            "action = \"kill\"\n",
            "action = \"kill\"\nattributes = { signal = 9 }\n",
        );
        assert_refused(
            &text,
            line(&text, "signal = 9"),
            "faults[1].attributes",
            &["only toxics take attributes"],
        );
        let text = edit("action = \"kill\"\n", "action = \"kill\"\ntoxicity = 0.5\n");
        assert_refused(
            &text,
            line(&text, "toxicity = 0.5\n\n[[faults]]\nat = \"20s\""),
            "faults[1].toxicity",
            &["only toxics"],
        );
    }

    #[test]
    fn toxicity_and_stream_are_checked() {
        let text = edit("toxicity = 0.5", "toxicity = 1.5");
        assert_refused(
            &text,
            line(&text, "1.5"),
            "faults[0].toxicity",
            &["1.5 is outside 0..=1"],
        );
        let text = edit("stream = \"upstream\"", "stream = \"sideways\"");
        assert_refused(
            &text,
            line(&text, "sideways"),
            "faults[0].stream",
            &["upstream or downstream"],
        );
    }

    #[test]
    fn a_fault_beyond_the_load_window_is_named() {
        let text = edit("at = \"10s\"\nfor = \"5s\"", "at = \"20s\"\nfor = \"15s\"");
        let text = text.replacen(
            "at = \"20s\"\ntarget = \"broker\"",
            "at = \"5s\"\ntarget = \"broker\"",
            1,
        );
        assert_refused(
            &text,
            line(&text, "for = \"15s\""),
            "faults[1].for",
            &[
                "faults[1]: booking-service kill at 20s for 15s heals at 35s",
                "load window ends (30s)",
            ],
        );
        let text = edit(
            "at = \"20s\"\ntarget = \"broker\"",
            "at = \"30s\"\ntarget = \"broker\"",
        );
        assert_refused(
            &text,
            line(&text, "at = \"30s\""),
            "faults[2].at",
            &["faults[2]: broker restart", "end of the load window"],
        );
    }

    #[test]
    fn overlapping_faults_on_one_target_are_refused() {
        let text = edit(
            "at = \"10s\"\nfor = \"5s\"\ntarget = \"booking-service\"",
            "at = \"6s\"\nfor = \"5s\"\ntarget = \"redis\"\nattributes = { latency = 10 }",
        )
        .replacen("action = \"kill\"", "action = \"latency\"", 1);
        assert_refused(
            &text,
            line(&text, "at = \"6s\""),
            "faults[1]",
            &[
                "faults[1]: redis latency",
                "overlaps faults[0]: redis latency",
            ],
        );
        // A restart inside a kill window of the same service.
        let text = edit(
            "at = \"20s\"\ntarget = \"broker\"",
            "at = \"12s\"\ntarget = \"booking-service\"",
        );
        assert_refused(
            &text,
            line(&text, "at = \"12s\""),
            "faults[2]",
            &["overlaps faults[1]"],
        );
        // Back to back is fine.
        let text = edit(
            "at = \"20s\"\ntarget = \"broker\"",
            "at = \"15s\"\ntarget = \"booking-service\"",
        );
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn a_fault_needs_a_length_unless_it_is_a_restart() {
        let text = edit(
            "for = \"5s\"\ntarget = \"booking-service\"",
            "target = \"booking-service\"",
        );
        assert_refused(
            &text,
            line(&text, "at = \"10s\"") - 1,
            "faults[1].for",
            &["missing"],
        );
        let text = edit(
            "for = \"5s\"\ntarget = \"booking-service\"",
            "for = \"0s\"\ntarget = \"booking-service\"",
        );
        assert_refused(
            &text,
            line(&text, "\"0s\""),
            "faults[1].for",
            &["longer than 0s"],
        );
    }

    #[test]
    fn an_unknown_or_repeated_invariant_is_refused() {
        let text = edit(
            "\"double_booking\", \"liveness\"",
            "\"double_booking\", \"fairness\"",
        );
        assert_refused(
            &text,
            line(&text, "fairness"),
            "invariants.check[1]",
            &["unknown invariant \"fairness\"", "double_booking"],
        );
        let text = edit(
            "\"double_booking\", \"liveness\"",
            "\"liveness\", \"liveness\"",
        );
        assert_refused(
            &text,
            line(&text, "\"liveness\", \"liveness\""),
            "invariants.check[1]",
            &["twice"],
        );
    }

    #[test]
    fn bad_thresholds_are_refused_with_the_parsers_reason() {
        let text = edit("\"ttc-p99<10s\"", "\"ttc-p99<soon\"");
        assert_refused(
            &text,
            line(&text, "soon"),
            "thresholds.rules[1]",
            &["bad threshold \"ttc-p99<soon\""],
        );
        let text = edit("\"p95<500ms\"", "\"latency<500ms\"");
        assert_refused(
            &text,
            line(&text, "latency<500ms"),
            "thresholds.rules[2]",
            &["\"latency\" is not a metric"],
        );
    }

    #[test]
    fn a_url_target_needs_a_url_and_takes_no_stack() {
        let text = edit("mode = \"local\"", "mode = \"url\"");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(&format!(
                "{FILE}:{}: target.url: missing",
                line(&text, "mode = \"url\"")
            )),
            "{shown}"
        );
        let text = edit("mode = \"local\"", "mode = \"url\"\nurl = \"http://127.0.0.1:3000\"\ntoxiproxy = \"http://127.0.0.1:8474\"");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("{FILE}:{}: stack: ", line(&text, "[stack]"))),
            "{shown}"
        );
        // The process faults cannot be done on a remote stack either.
        assert!(
            shown.contains(&format!(
                "{FILE}:{}: faults[1].target: ",
                line(&text, "\"booking-service\"")
            )),
            "{shown}"
        );
        assert!(shown.contains("faults[2].target"), "{shown}");
        assert_eq!(err.problems().len(), 3, "{shown}");
    }

    #[test]
    fn a_local_target_takes_no_url_and_modes_are_checked() {
        let text = edit(
            "mode = \"local\"",
            "mode = \"local\"\nurl = \"http://127.0.0.1:3000\"",
        );
        assert_refused(
            &text,
            line(&text, "url ="),
            "target.url",
            &["only with mode = \"url\""],
        );
        let text = edit("mode = \"local\"", "mode = \"cloud\"");
        assert_refused(
            &text,
            line(&text, "cloud"),
            "target.mode",
            &["\"cloud\" is not a mode"],
        );
        let text = edit(
            "mode = \"local\"",
            "mode = \"local\"\ntoxiproxy = \"localhost:8474\"",
        );
        assert_refused(
            &text,
            line(&text, "toxiproxy"),
            "target.toxiproxy",
            &["not an http(s) URL"],
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = edit("seats = 3000", "seats = 0")
            .replacen("strategy = \"random\"", "strategy = \"cheapest\"", 1)
            .replacen("toxicity = 0.5", "toxicity = 2.0", 1);
        let err = parse(&text).unwrap_err();
        let fields: Vec<_> = err
            .problems()
            .iter()
            .map(|p| p.field.clone().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["data.seats", "load.strategy", "faults[0].toxicity"],
            "{err}"
        );
        assert_eq!(err.to_string().lines().count(), 3);
    }

    #[test]
    fn timing_problems_show_even_when_the_action_is_wrong() {
        let text = edit(
            "for = \"5s\"\ntarget = \"booking-service\"\naction = \"kill\"",
            "for = \"soon\"\ntarget = \"booking-service\"\naction = \"latency\"",
        );
        let err = parse(&text).unwrap_err();
        let fields: Vec<_> = err
            .problems()
            .iter()
            .map(|p| p.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["faults[1].for", "faults[1].action"], "{err}");
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let err = Scenario::load("/nonexistent/x.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/x.toml: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn every_file_in_scenarios_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in [
            "smoke",
            "flash-sale",
            "redis-latency",
            "redis-down",
            "kafka-broker-stall",
            "kafka-broker-restart",
            "postgres-latency",
            "kill-inventory",
            "kill-booking",
            "payment-flaky",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "scenarios/{expected}.toml is missing"
            );
        }
        for file in &files {
            let s = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
            let stem = file.file_stem().unwrap().to_string_lossy();
            assert_eq!(
                s.name,
                stem,
                "{}: name should be the file name",
                file.display()
            );
            let text = std::fs::read_to_string(file).unwrap();
            assert!(
                text.starts_with('#'),
                "{}: start with a comment saying what it shows",
                file.display()
            );
            assert!(
                !s.description.is_empty(),
                "{}: needs a description",
                file.display()
            );
            // CI-sized: at most a minute of load, at least 2000 booking operations, and the
            // runner checks both (attempted>=2000; fault-in-flight>=200 where there is a fault).
            let window = s.load_length();
            assert!(
                (Duration::from_secs(30)..=Duration::from_secs(60)).contains(&window),
                "{}: load window {window:?}",
                file.display()
            );
            let arrivals = s.load.shape.expected_by(window);
            assert!(
                arrivals >= 2000.0,
                "{}: {arrivals} arrivals",
                file.display()
            );
            assert!(
                s.thresholds.iter().any(|r| r.starts_with("attempted>=")),
                "{}: attempted>=2000 rule",
                file.display()
            );
            if !s.faults.is_empty() {
                assert!(
                    !s.fault_rules.is_empty(),
                    "{}: fault-in-flight>=200 rule",
                    file.display()
                );
            }
            for fault in &s.faults {
                if fault.action != FaultAction::Restart {
                    assert!(
                        (Duration::from_secs(10)..=Duration::from_secs(15)).contains(&fault.length),
                        "{fault}"
                    );
                }
            }
        }
    }
}
