//! What idle consumers cost the broker: `groups` groups (one member each) subscribed to `topics`
//! fresh, empty topics of 3 partitions, long-polling with fetch.wait.max.ms = `wait_ms`, the way
//! the services sit between bookings. After every group has its partitions and a settling time
//! (offsets resolved, fetching steadily), the broker's CPU is read over `seconds`, and the fetch
//! requests the consumers sent over the same time (from librdkafka's statistics).

use std::thread;
use std::time::Duration;

use rdkafka::message::BorrowedMessage;

use super::client::{Admin, Brokers, Cleanup, RunNames};
use super::cpu::{Proc, Used, Window};
use super::group::{ConsumerErrors, Groups, OnMessage};

/// How long the groups may take to join and get their partitions.
const JOIN_WITHIN: Duration = Duration::from_secs(30);
/// How long the consumers may take to leave their groups at the end.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub brokers: Brokers,
    pub groups: u32,
    pub topics: u32,
    pub seconds: u32,
    /// Time between every group having its partitions and the window opening.
    pub settle_secs: u32,
    pub wait_ms: u32,
    pub pid: u32,
}

/// What an idle run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub groups: u32,
    pub topics: Vec<String>,
    pub partitions_per_group: usize,
    pub wait_ms: u32,
    pub broker: Used,
    /// The broker's CPU in the [`BASELINE`](super::BASELINE) before the run: what other
    /// clients cost it.
    pub broker_before: Used,
    pub bench: Used,
    /// Fetch requests per second of all groups (None: no statistics report in the window).
    pub fetches_per_s: Option<f64>,
    /// Messages that arrived on the idle topics (must be 0).
    pub unexpected_messages: u64,
    pub errors: ConsumerErrors,
    pub load_start: String,
    pub load_end: String,
    /// The groups deleted at the end.
    pub cleanup: Cleanup,
}

/// Counts what an idle member receives (nothing, unless something else writes to its topics).
#[derive(Default)]
struct Idle {
    messages: u64,
}

impl OnMessage for Idle {
    fn on_message(&mut self, _: &BorrowedMessage<'_>) {
        self.messages += 1;
    }
}

/// Runs one idle measurement: creates the topics, measures, deletes the groups (the topics
/// stay: see [`Cleanup`]).
///
/// # Errors
/// When the broker is unreachable, refuses a topic, the groups do not get their partitions, or
/// the broker process ends.
pub fn run(config: &Config) -> anyhow::Result<Report> {
    let admin = Admin::connect(&config.brokers)?;
    let names = RunNames::new();
    let topics: Vec<String> = (0..config.topics)
        .map(|t| names.name(&format!("idle{t}")))
        .collect();
    let group_names: Vec<String> = (0..config.groups)
        .map(|g| names.name(&format!("idle.g{g}")))
        .collect();
    let broker_before = super::cpu::sample(Proc::Pid(config.pid), super::BASELINE)?;
    admin.create_topics(&topics)?;

    let outcome = measure(config, &topics, &group_names);
    // Only groups whose consumer left can be deleted; the topics stay (see `Cleanup`).
    let left = outcome
        .as_ref()
        .map(|(_, left)| left.clone())
        .unwrap_or_default();
    let cleanup = admin.delete_groups(&left);
    let (mut report, _) = outcome?;
    report.cleanup = cleanup;
    report.broker_before = broker_before;
    Ok(report)
}

/// The report, and the groups whose consumer left in time.
fn measure(
    config: &Config,
    topics: &[String],
    group_names: &[String],
) -> anyhow::Result<(Report, Vec<String>)> {
    let load_start = super::loadavg();
    let partitions_per_group = topics.len() * super::PARTITIONS as usize;
    let states = group_names.iter().map(|_| Idle::default()).collect();
    let groups = Groups::start(
        &config.brokers,
        group_names,
        topics,
        partitions_per_group,
        config.wait_ms,
        states,
        JOIN_WITHIN,
    )?;
    let window = window(config, &groups);
    let finished = groups.finish(CLOSE_WITHIN);
    let (broker, bench, fetches_per_s) = window?;

    let mut unexpected_messages = 0;
    let mut errors = ConsumerErrors::default();
    for member in finished.members.iter().flatten() {
        unexpected_messages += member.state.messages;
        errors.count += member.errors.count;
        if errors.first.is_none() {
            errors.first.clone_from(&member.errors.first);
        }
    }
    let left = group_names
        .iter()
        .zip(&finished.closed)
        .filter(|(_, closed)| **closed)
        .map(|(name, _)| name.clone())
        .collect();
    let report = Report {
        groups: config.groups,
        topics: topics.to_vec(),
        partitions_per_group,
        wait_ms: config.wait_ms,
        broker,
        broker_before: Used {
            cpu_s: 0.0,
            wall_s: 0.0,
        },
        bench,
        fetches_per_s,
        unexpected_messages,
        errors,
        load_start,
        load_end: super::loadavg(),
        cleanup: Cleanup::default(),
    };
    Ok((report, left))
}

/// Broker CPU, own CPU and fetch requests/s over the window.
fn window(config: &Config, groups: &Groups<Idle>) -> anyhow::Result<(Used, Used, Option<f64>)> {
    groups.wait_ready(JOIN_WITHIN)?;
    thread::sleep(Duration::from_secs(u64::from(config.settle_secs)));
    let fetches0 = groups.fetches();
    let broker = Window::start(Proc::Pid(config.pid))?;
    let bench = Window::start(Proc::Myself)?;
    thread::sleep(Duration::from_secs(u64::from(config.seconds)));
    let broker = broker.end()?;
    let bench = bench.end()?;
    let fetches1 = groups.fetches();
    Ok((
        broker,
        bench,
        Groups::<Idle>::fetch_rate(&fetches0, &fetches1),
    ))
}
