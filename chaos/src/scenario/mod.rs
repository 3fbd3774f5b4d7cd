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
//!
//! One module a section of the file, each with its validated types, its serde shape and the
//! validator's check for it: [`target`], [`stack`], [`load`] (`[data]` and `[load]`),
//! [`faults`], [`checks`] (`[thresholds]` and `[invariants]`). This module holds the whole
//! scenario, the errors, and what every section's check shares (spans, lines, field paths).

mod checks;
mod faults;
mod load;
mod stack;
mod target;
#[cfg(test)]
mod tests;

pub use faults::{Fault, FaultAction, FaultTarget, TargetKind};
pub use load::{DataSettings, LoadSettings};
pub use stack::{LockStrategy, StackSettings};
pub use target::{ProxyNames, Target, TargetMode};

use checks::{RawInvariants, RawThresholds};
use faults::RawFault;
use load::{RawData, RawLoad};
use stack::RawStack;
use target::RawTarget;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use loadgen::run::{DataSource, LoadPlan};

use crate::checker::Invariant;
use crate::collect::DatabaseUrls;

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
            // Saturating: a huge file stretched is refused later as too long, never a panic.
            segment.length = segment.length.saturating_mul(factor);
        }
        s.load.rate = s.load.shape.to_spec();
        s.load.duration = None;
        for fault in &mut s.faults {
            fault.at = fault.at.saturating_mul(factor);
            fault.length = fault.length.saturating_mul(factor);
        }
        s.data.seats = s.data.seats.saturating_mul(u64::from(factor)).min(100_000);
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
        plan.ops.confirm_timeout = load.confirm_timeout;
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

// ---------------------------------------------------------------------------------------------
// Validation: each check records a problem and carries on, so one run shows them all.

struct Validator<'t> {
    file: String,
    text: &'t str,
    problems: Vec<Problem>,
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
