//! `[data]` and `[load]`: what is prepared before the load, and loadgen's open-model load.

use serde::Deserialize;
use toml::Spanned;

use super::Validator;
use loadgen::persona::parse_weights;
use loadgen::persona::Persona;
use loadgen::rate::RateShape;
use loadgen::seats::Strategy;
use std::time::Duration;

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
    /// How long loadgen polls a booking before recording it PENDING (`confirm_timeout`,
    /// default loadgen's 90 s).
    pub confirm_timeout: Duration,
}

/// `load.confirm_timeout` when the file leaves it out: loadgen's own default.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(90);

impl LoadSettings {
    /// The load window: how long the rate shape lasts.
    pub fn length(&self) -> Duration {
        self.shape.length()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawData {
    pub(super) seats: Option<Spanned<u64>>,
    pub(super) users: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub(super) rate: Spanned<String>,
    pub(super) duration: Option<Spanned<String>>,
    pub(super) scenarios: Option<Spanned<String>>,
    pub(super) inflight: Option<Spanned<u64>>,
    pub(super) strategy: Option<Spanned<String>>,
    pub(super) seats_per_booking: Option<Spanned<String>>,
    pub(super) hot_seats: Option<Spanned<u64>>,
    pub(super) confirm_timeout: Option<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn data(&mut self, raw: Option<&RawData>) -> Option<DataSettings> {
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

    pub(super) fn load(
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
        let mut confirm_timeout = DEFAULT_CONFIRM_TIMEOUT;
        if let Some(text) = &l.confirm_timeout {
            match self.duration("load.confirm_timeout", text) {
                Some(d) if d.is_zero() => {
                    self.problem(
                        &text.span(),
                        "load.confirm_timeout",
                        "must be longer than 0s",
                    );
                    ok = false;
                }
                Some(d) => confirm_timeout = d,
                None => ok = false,
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
            confirm_timeout,
        })
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
