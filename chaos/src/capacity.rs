//! `chaos capacity`: the highest open-model booking rate the stack sustains under an SLO.
//!
//! ```text
//!   one stack (the scenario's target; its fault timeline is not applied), users prepared once
//!   ramp:   r = --from, r *= --growth   while the step passes the SLO (and r <= --max)
//!   refine: bisect [last pass, first fail] --refine times
//!   verify: 80 % of the sustainable rate must pass, 150 % must fail (--no-verify skips)
//!   each step: a fresh event, loadgen at a constant r for --step seconds ─▶ steps/NN-<r>/
//!   ─▶ capacity.json (every step, the sustainable rate, the knee, the bracket)
//! ```
//! A step passes when every SLO rule holds (loadgen's rules: `ttc-p99<500ms`, `dropped<1%`,
//! goose's `error-rate<1%`, ...). The sustainable rate is the highest passing rate below the
//! first failing one; its bracket (`first_failing - sustainable`) is the search's resolution.
//! The knee is the highest rate whose ttc p99 stayed within twice the p99 of the lowest step:
//! beyond it latency grows with queueing faster than throughput does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::local_stack::{LocalOptions, LocalStack, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::scenario::{Scenario, TargetMode};

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Rules a step must hold, loadgen's syntax.
    pub slo: Vec<String>,
    /// The first rate tried (bookings/s).
    pub from: f64,
    /// Never try above this.
    pub max: f64,
    /// Ramp factor between steps until the first failure (> 1).
    pub growth: f64,
    /// Bisection steps after the first failure.
    pub refine: u32,
    /// Length of each step's load.
    pub step: Duration,
    /// Run 80 % and 150 % of the result to show it holds and is not far too low.
    pub verify: bool,
    /// The capacity folder.
    pub out: PathBuf,
}

impl SearchOptions {
    /// The rates, growth, step and SLO rules make a search that can end and judge a step.
    ///
    /// # Errors
    /// One line naming the flag and what it must be.
    pub fn check(&self) -> Result<(), String> {
        if !(self.from > 0.0
            && self.from.is_finite()
            && self.max >= self.from
            && self.max.is_finite())
        {
            return Err(format!(
                "--from {} and --max {} must be positive rates with --from <= --max",
                self.from, self.max
            ));
        }
        if !(self.growth > 1.0 && self.growth.is_finite()) {
            return Err(format!("--growth {} must be above 1", self.growth));
        }
        if self.step < Duration::from_secs(2) {
            return Err(format!(
                "--step {:?} is too short to judge a rate (at least 2s)",
                self.step
            ));
        }
        for rule in &self.slo {
            if loadgen::thresholds::is_saga_rule(rule) {
                if let Err(e) = loadgen::thresholds::SagaThreshold::parse(rule) {
                    return Err(format!("--slo: {e}"));
                }
            } else if let Err(e) =
                <goose::threshold::Threshold as std::str::FromStr>::from_str(rule)
            {
                return Err(format!("--slo {rule:?}: {e}"));
            }
        }
        Ok(())
    }
}

/// The SLO when none is given.
pub const DEFAULT_SLO: [&str; 3] = ["ttc-p99<500ms", "dropped<1%", "unknown<1%"];

/// One step of the search, a verification run and the whole search: `capacity.json`'s types.
pub use runfiles::{Capacity, CapacityStep as Step, Verification};

/// The search state, pure: which rate to try next from the steps so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Try(f64),
    Done,
}

/// The next rate of the ramp-then-bisect search; `steps` are (rate, passed) in the order run.
pub fn next_rate(steps: &[(f64, bool)], o: &SearchOptions) -> Next {
    let best_pass = steps
        .iter()
        .filter(|s| s.1)
        .map(|s| s.0)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let first_fail = steps
        .iter()
        .filter(|s| !s.1)
        .map(|s| s.0)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))));
    match (best_pass, first_fail) {
        (None, None) => Next::Try(o.from),
        // Everything failed so far: halve down to a floor of 0.1/s.
        (None, Some(fail)) => {
            let next = fail / 2.0;
            if next < 0.1 || steps.len() as u32 > o.refine + 8 {
                Next::Done
            } else {
                Next::Try(round(next))
            }
        }
        (Some(pass), None) => {
            let next = round(pass * o.growth);
            if pass >= o.max {
                Next::Done
            } else {
                Next::Try(next.min(o.max))
            }
        }
        (Some(pass), Some(fail)) => {
            // Steps run since the bracket [pass, fail] first existed.
            let formed = (0..steps.len())
                .find(|&i| steps[..=i].iter().any(|s| s.1) && steps[..=i].iter().any(|s| !s.1))
                .unwrap_or(0);
            let refined = steps.len() - 1 - formed;
            let mid = round((pass + fail) / 2.0);
            if pass > fail || refined as u32 >= o.refine || mid <= pass || mid >= fail {
                Next::Done
            } else {
                Next::Try(mid)
            }
        }
    }
}

/// Rates to one decimal: enough resolution for a search of a handful of steps, and stable names.
fn round(rate: f64) -> f64 {
    (rate * 10.0).round() / 10.0
}

/// The knee: the highest rate whose ttc p99 stayed within twice that of the lowest step.
pub fn knee(steps: &[Step]) -> Option<f64> {
    let mut by_rate: Vec<&Step> = steps
        .iter()
        .filter(|s| s.phase != "verify" && s.ttc_p99_ms.is_some())
        .collect();
    by_rate.sort_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
    let base = by_rate.first()?.ttc_p99_ms?;
    by_rate
        .iter()
        .take_while(|s| s.ttc_p99_ms.is_some_and(|p| p <= 2.0 * base))
        .map(|s| s.rate_per_s)
        .last()
}

/// Where the stack is and how to book on it.
struct Rig {
    gateway: String,
    admin_token: String,
    users: loadgen::data::PreparedData,
    local: Option<LocalStack>,
}

/// Runs the search for `scenario`.
///
/// # Errors
/// The stack or the data could not be set up, or a step's loadgen run broke (a step that only
/// fails its SLO is a result, not an error).
pub async fn search(scenario: &Scenario, options: &SearchOptions) -> anyhow::Result<Capacity> {
    std::fs::create_dir_all(options.out.join("steps"))
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    std::fs::copy(&scenario.path, options.out.join("scenario.toml"))
        .with_context(|| format!("cannot copy {}", scenario.path.display()))?;
    reports::environment::save(&reports::environment::capture(), &options.out)?;
    let rig = rig(scenario, &options.out).await?;
    let result = steps(scenario, options, &rig).await;
    if let Some(stack) = rig.local {
        stack.stop(false).await;
    }
    result
}

async fn rig(scenario: &Scenario, out: &Path) -> anyhow::Result<Rig> {
    let (gateway, local, admin_email, admin_password) = match &scenario.target.mode {
        TargetMode::Local => {
            eprintln!("chaos capacity: starting the local stack");
            let stack = LocalStack::start(&LocalOptions {
                settings: scenario.stack.clone(),
                run_dir: out.to_path_buf(),
            })
            .await?;
            (
                stack.gateway.clone(),
                Some(stack),
                ADMIN_EMAIL.to_string(),
                ADMIN_PASSWORD.to_string(),
            )
        }
        TargetMode::Url(url) => (
            url.clone(),
            None,
            std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| kit::seed::ADMIN_EMAIL.into()),
            std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| kit::seed::ADMIN_PASSWORD.into()),
        ),
    };
    let users = loadgen::prepare::prepare(&loadgen::cli::PrepareArgs {
        host: gateway.clone(),
        seats: 1,
        users: usize::try_from(scenario.data.users).unwrap_or(usize::MAX),
        out: out.join("users.json"),
        admin_email: admin_email.clone(),
        admin_password: admin_password.clone(),
        wait: "120s".into(),
        target_kind: if local.is_some() {
            loadgen::target_kind::TargetChoice::Stampede
        } else {
            loadgen::target_kind::TargetChoice::Auto
        },
    })
    .await
    .context("preparing the users")?;
    let target = loadgen::target::Target::new(&gateway)?;
    let admin_token = target
        .login(&admin_email, &admin_password)
        .await
        .context("the admin login")?;
    Ok(Rig {
        gateway,
        admin_token,
        users,
        local,
    })
}

async fn steps(scenario: &Scenario, o: &SearchOptions, rig: &Rig) -> anyhow::Result<Capacity> {
    let mut steps: Vec<Step> = Vec::new();
    loop {
        let tried: Vec<(f64, bool)> = steps.iter().map(|s| (s.rate_per_s, s.passed)).collect();
        let Next::Try(rate) = next_rate(&tried, o) else {
            break;
        };
        let phase = if tried.iter().any(|s| !s.1) {
            "refine"
        } else {
            "ramp"
        };
        steps.push(step(scenario, o, rig, steps.len(), phase, rate).await?);
    }
    let sustainable = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.rate_per_s)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let first_failing = steps
        .iter()
        .filter(|s| !s.passed && sustainable.is_none_or(|p| s.rate_per_s > p))
        .map(|s| s.rate_per_s)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))));
    let mut verification = Vec::new();
    if let (true, Some(rate)) = (o.verify, sustainable) {
        for (fraction, expect_pass) in [(0.8, true), (1.5, false)] {
            let s = step(
                scenario,
                o,
                rig,
                steps.len(),
                "verify",
                round(rate * fraction),
            )
            .await?;
            verification.push(Verification {
                fraction,
                rate_per_s: s.rate_per_s,
                passed: s.passed,
                ttc_p99_ms: s.ttc_p99_ms,
                error_rate: s.error_rate,
                as_expected: Some(s.passed == expect_pass),
            });
            steps.push(s);
        }
    }
    let confidence = confidence(sustainable, first_failing, o, &verification);
    let capacity = Capacity {
        version: Capacity::VERSION,
        scenario: scenario.name.clone(),
        target: rig.gateway.clone(),
        slo: o.slo.clone(),
        step_seconds: o.step.as_secs_f64(),
        knee_rate_per_s: knee(&steps),
        steps,
        sustainable_rate_per_s: sustainable,
        first_failing_rate_per_s: first_failing,
        confidence,
        verification,
    };
    runfiles::write_json(&o.out.join(runfiles::folder::CAPACITY), &capacity)?;
    Ok(capacity)
}

fn confidence(
    sustainable: Option<f64>,
    first_failing: Option<f64>,
    o: &SearchOptions,
    verification: &[Verification],
) -> String {
    let bracket = match (sustainable, first_failing) {
        (Some(p), Some(f)) => format!(
            "sustainable {p}/s, first failing {f}/s (resolution {:.1}/s, {:.0} %)",
            f - p,
            (f - p) * 100.0 / p
        ),
        (Some(p), None) => format!("passed up to --max {p}/s: capacity is at least that"),
        (None, Some(f)) => format!("every rate failed down to {f}/s"),
        (None, None) => "no step ran".into(),
    };
    let verified = if verification.is_empty() {
        String::from("not verified")
    } else if verification.iter().all(|v| v.as_expected == Some(true)) {
        String::from("verified: 80 % passed, 150 % failed")
    } else {
        let what: Vec<String> = verification
            .iter()
            .map(|v| {
                format!(
                    "{:.0} % {}",
                    v.fraction * 100.0,
                    if v.passed { "passed" } else { "failed" }
                )
            })
            .collect();
        format!("NOT verified: {}", what.join(", "))
    };
    format!(
        "{bracket}; each step judged once over {:.0} s; {verified}",
        o.step.as_secs_f64()
    )
}

/// One step: a fresh event sized for the step, loadgen at a constant `rate`.
async fn step(
    scenario: &Scenario,
    o: &SearchOptions,
    rig: &Rig,
    n: usize,
    phase: &'static str,
    rate: f64,
) -> anyhow::Result<Step> {
    let name = format!("{:02}-{rate}", n + 1);
    let dir = o.out.join("steps").join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (_, max_seats) = scenario.load.seats_per_booking;
    let needed = (rate * o.step.as_secs_f64() * max_seats as f64 * 1.2).ceil() as u64 + 100;
    let seats = needed.max(scenario.data.seats).min(100_000);
    let target = loadgen::target::Target::new(&rig.gateway)?;
    let event_id = target
        .create_event(
            &loadgen::target::Admin::Token(rig.admin_token.clone()),
            &format!("Capacity step {name}"),
            seats,
            Duration::from_secs(120),
        )
        .await
        .with_context(|| format!("creating the event of step {name}"))?;
    let mut data = rig.users.clone();
    data.event_id = event_id;
    data.seats = seats;
    data.event_name = format!("Capacity step {name}");
    let data_path = dir.join("data.json");
    data.save(&data_path)
        .with_context(|| format!("cannot write {}", data_path.display()))?;

    // The scenario's own load at a constant `rate` for one step, judged by the SLO alone.
    let mut at_rate = scenario.clone();
    at_rate.thresholds = o.slo.clone();
    let mut plan = at_rate
        .load_plan(&rig.gateway, data_path.clone())
        .map_err(|e| anyhow::anyhow!("the scenario's load: {e}"))?;
    let constant = loadgen::rate::Segment {
        from: rate,
        to: rate,
        length: o.step,
    };
    plan.shape = Some(loadgen::rate::RateShape {
        segments: vec![constant],
    });
    plan.load_length = o.step;
    plan.out = Some(dir.clone());
    if rig.local.is_some() {
        plan.target_kind = loadgen::target_kind::TargetChoice::Stampede;
    }
    plan.progress = Duration::ZERO;
    plan.goose_args = vec!["--quiet".into()];
    eprintln!(
        "chaos capacity: step {name} ({phase}) at {rate}/s for {:?}",
        o.step
    );
    let cpu_before = reports::cpu::ProcessSnapshot::take(std::process::id());
    let outcome = loadgen::run::run_plan(&plan, None)
        .await
        .map_err(|e| anyhow::anyhow!("step {name}: loadgen: {e}"))?;
    let summary = &outcome.summary;
    let cpu = cpu_before.usage_until_now(summary.bookings.confirmed());
    reports::cpu::save(&cpu, &dir)
        .with_context(|| format!("cannot write {}/cpu.json", dir.display()))?;
    let all = summary.time_to_confirm.get("all");
    let (requests, failures) = summary
        .routes
        .iter()
        .fold((0usize, 0usize), |(n, f), r| (n + r.count, f + r.failures));
    let step = Step {
        phase: phase.to_owned(),
        rate_per_s: rate,
        run_dir: format!("steps/{name}"),
        start_rate_per_s: summary
            .open_model
            .as_ref()
            .map_or(0.0, |m| m.start_rate_per_s),
        confirmed_per_s: summary.bookings.confirmed_per_s,
        ttc_p50_ms: all.map(|p| p.p50_ms),
        ttc_p99_ms: all.map(|p| p.p99_ms),
        error_rate: if requests == 0 {
            0.0
        } else {
            failures as f64 / requests as f64
        },
        dropped: Some(summary.open_model.as_ref().map_or(0, |m| m.dropped)),
        attempted: Some(summary.bookings.attempted),
        passed: summary.passed,
        failed_rules: summary
            .thresholds
            .iter()
            .filter(|t| !t.passed)
            .map(|t| format!("{} (observed {})", t.rule, t.observed))
            .collect(),
        cpu_ms_per_confirmed: cpu.ms_per_confirmed,
    };
    eprintln!(
        "chaos capacity: step {name}: {} (confirmed {:.1}/s, ttc p99 {}, {}){}",
        if step.passed { "PASS" } else { "FAIL" },
        step.confirmed_per_s,
        step.ttc_p99_ms
            .map_or("-".into(), loadgen::thresholds::format_ms),
        cpu.summary_line(),
        if step.failed_rules.is_empty() {
            String::new()
        } else {
            format!(": {}", step.failed_rules.join(", "))
        }
    );
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SearchOptions {
        SearchOptions {
            slo: Vec::new(),
            from: 10.0,
            max: 1000.0,
            growth: 2.0,
            refine: 2,
            step: Duration::from_secs(10),
            verify: true,
            out: PathBuf::new(),
        }
    }

    /// Drives the search against a stack whose capacity is `limit`.
    fn search_against(limit: f64, o: &SearchOptions) -> Vec<(f64, bool)> {
        let mut steps = Vec::new();
        while let Next::Try(rate) = next_rate(&steps, o) {
            steps.push((rate, rate <= limit));
            assert!(steps.len() < 30, "the search must end: {steps:?}");
        }
        steps
    }

    #[test]
    fn the_search_ramps_then_bisects_the_bracket() {
        let steps = search_against(55.0, &opts());
        let rates: Vec<f64> = steps.iter().map(|s| s.0).collect();
        // 10 20 40 pass, 80 fails, then 60 (fail) and 50 (pass).
        assert_eq!(rates, vec![10.0, 20.0, 40.0, 80.0, 60.0, 50.0]);
        let best = steps
            .iter()
            .filter(|s| s.1)
            .map(|s| s.0)
            .fold(0.0, f64::max);
        assert_eq!(best, 50.0);
    }

    #[test]
    fn the_search_stops_at_max_and_goes_down_when_nothing_passes() {
        let o = SearchOptions {
            max: 30.0,
            ..opts()
        };
        let steps = search_against(1e9, &o);
        assert_eq!(
            steps.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![10.0, 20.0, 30.0]
        );
        let steps = search_against(3.0, &opts());
        assert_eq!(
            steps.iter().take(4).map(|s| s.0).collect::<Vec<_>>(),
            vec![10.0, 5.0, 2.5, 3.8]
        );
        assert_eq!(steps.len(), 5, "two refinements: {steps:?}");
        let steps = search_against(0.0, &opts());
        assert!(steps.iter().all(|s| !s.1) && steps.len() <= 10, "{steps:?}");
    }

    fn step(rate: f64, p99: f64) -> Step {
        Step {
            phase: "ramp".into(),
            rate_per_s: rate,
            run_dir: String::new(),
            start_rate_per_s: rate,
            confirmed_per_s: rate,
            ttc_p50_ms: None,
            ttc_p99_ms: Some(p99),
            error_rate: 0.0,
            dropped: Some(0),
            attempted: Some(0),
            passed: true,
            failed_rules: Vec::new(),
            cpu_ms_per_confirmed: None,
        }
    }

    #[test]
    fn the_knee_is_where_p99_leaves_twice_its_floor() {
        assert_eq!(
            knee(&[
                step(10.0, 100.0),
                step(20.0, 120.0),
                step(40.0, 190.0),
                step(80.0, 900.0)
            ]),
            Some(40.0)
        );
        assert_eq!(knee(&[step(80.0, 900.0), step(10.0, 100.0)]), Some(10.0));
        assert_eq!(knee(&[]), None);
    }
}
