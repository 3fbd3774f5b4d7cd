//! `[stack]`: the local stack's service settings.

use serde::Deserialize;
use toml::Spanned;

use super::Validator;
use std::time::Duration;

use kit::bug_variants::BugVariant;

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
    /// inventory-service's `LOCK_TTL_MS`: how long a seat lock holds.
    pub lock_ttl: Duration,
    /// inventory-service's `SWEEP_INTERVAL_MS`: how often expired locks are swept.
    pub sweep_interval: Duration,
    /// The services' `BUG_VARIANT`: a deliberately broken behaviour (`kit::bug_variants`), only
    /// in a chaos built with `--features selftest`.
    pub bug_variant: Option<BugVariant>,
}

impl Default for StackSettings {
    /// The services' own defaults.
    fn default() -> Self {
        Self {
            lock_strategy: LockStrategy::Lua,
            booking_timeout: Duration::from_secs(60),
            payment_success_rate: 1.0,
            payment_latency: Duration::ZERO,
            lock_ttl: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(1),
            bug_variant: None,
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
            ("LOCK_TTL_MS", self.lock_ttl.as_millis().to_string()),
            (
                "SWEEP_INTERVAL_MS",
                self.sweep_interval.as_millis().to_string(),
            ),
            // Set even when none, so a BUG_VARIANT in the caller's environment never leaks in.
            (
                kit::bug_variants::ENV,
                self.bug_variant
                    .map(|v| v.name().to_string())
                    .unwrap_or_default(),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStack {
    pub(super) lock_strategy: Option<Spanned<String>>,
    pub(super) booking_timeout: Option<Spanned<String>>,
    pub(super) payment_success_rate: Option<Spanned<f64>>,
    pub(super) payment_latency: Option<Spanned<String>>,
    pub(super) lock_ttl: Option<Spanned<String>>,
    pub(super) sweep_interval: Option<Spanned<String>>,
    pub(super) bug_variant: Option<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn stack(&mut self, raw: &RawStack) -> Option<StackSettings> {
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
        for (raw, field, setting) in [
            (&raw.lock_ttl, "stack.lock_ttl", &mut s.lock_ttl),
            (
                &raw.sweep_interval,
                "stack.sweep_interval",
                &mut s.sweep_interval,
            ),
        ] {
            let Some(text) = raw else { continue };
            match self.duration(field, text) {
                Some(d) if d.is_zero() => {
                    self.problem(&text.span(), field, "must be longer than 0s");
                    ok = false;
                }
                Some(d) => *setting = d,
                None => ok = false,
            }
        }
        if let Some(v) = &raw.bug_variant {
            match v.get_ref().parse::<BugVariant>() {
                Ok(variant) if kit::bug_variants::COMPILED => s.bug_variant = Some(variant),
                Ok(_) => {
                    self.problem(
                        &v.span(),
                        "stack.bug_variant",
                        "this chaos build has no bug variants (build it with `--features selftest`)".to_string(),
                    );
                    ok = false;
                }
                Err(e) => {
                    self.problem(
                        &v.span(),
                        "stack.bug_variant",
                        format!("{:?}: {e}", v.get_ref()),
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
}
