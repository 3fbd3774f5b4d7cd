//! `[[faults]]`: the fault timeline, one fault a table.

use serde::Deserialize;
use toml::Spanned;

use super::format_duration;
use super::names;
use super::LoadSettings;
use super::Target;
use super::TargetMode;
use super::Validator;
use faultproxy::Stream;
use faultproxy::Toxic;
use faultproxy::ToxicKind;
use serde_json::Map;
use serde_json::Value;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

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
    /// Services and the broker: kill -9 at `at`, started again at heal.
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

/// A fault checked so far, with the spans later checks point at.
pub(super) struct Checked {
    fault: Fault,
    at_span: Range<usize>,
    length_span: Range<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub(super) at: Spanned<String>,
    #[serde(rename = "for")]
    pub(super) length: Option<Spanned<String>>,
    pub(super) target: Spanned<String>,
    pub(super) action: Spanned<String>,
    pub(super) attributes: Option<Spanned<Map<String, Value>>>,
    pub(super) stream: Option<Spanned<String>>,
    pub(super) toxicity: Option<Spanned<f64>>,
}

impl Validator<'_> {
    pub(super) fn faults(
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

    pub(super) fn fault(
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
            (TargetKind::Service | TargetKind::Broker, "kill") => Some(FaultAction::Kill),
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
                    TargetKind::Broker => ("the broker process", "kill, pause or restart".into()),
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
    pub(super) fn toxic_kind(
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
}
