//! Produce -> consume latency at a fixed rate, with every message accounted for.
//!
//! One idempotent producer (acks=all, linger.ms=1) sends `rate` keyed 100-byte messages a second
//! for `seconds` to a fresh topic of 3 partitions, each stamped with its send time and sequence
//! number; `groups` consumer groups (one member each, on their own threads) read it. A message's
//! latency is the time from just before `send` to the consumer's `poll` returning it, on one
//! monotonic clock (producer and consumers are in this process). Before the measured window 20
//! warm-up messages go through (producer id, metadata, connections, the consumers' first fetches)
//! and must reach every group.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use super::client::{producer_config, Admin, Brokers, Cleanup, RunNames};
use super::cpu::{Proc, Used, Window};
use super::group::{ConsumerErrors, Groups, OnMessage};
use super::stats::{Latencies, Percentiles, Seen};

/// Size of every message's value.
pub const MESSAGE_BYTES: usize = 100;
/// Warm-up messages (not measured), one every 50 ms.
const WARM_UP: u64 = 20;
/// How long the groups may take to join and get their partitions.
const JOIN_WITHIN: Duration = Duration::from_secs(30);
/// How long the consumers may take to leave their groups at the end.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);
/// How long a message may wait for room in the producer's queue.
const ENQUEUE_WITHIN: Duration = Duration::from_secs(15);
/// Longer than message.timeout.ms (15 s): every message has its delivery report by then.
const FLUSH_WITHIN: Duration = Duration::from_secs(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub brokers: Brokers,
    /// Messages per second (>= 1).
    pub rate: u32,
    /// Length of the producing window (>= 1).
    pub seconds: u32,
    /// Consumer groups, each reading every message (>= 1).
    pub groups: u32,
    /// The consumers' fetch.wait.max.ms.
    pub wait_ms: u32,
    /// The broker's pid, for its CPU time.
    pub pid: Option<u32>,
}

impl Config {
    /// Messages of the measured window.
    pub fn messages(&self) -> u64 {
        u64::from(self.rate) * u64::from(self.seconds)
    }

    /// How long, after the last delivery report, the groups may take to receive everything.
    pub fn drain_within(&self) -> Duration {
        Duration::from_secs(10) + 2 * Duration::from_millis(u64::from(self.wait_ms))
    }
}

/// One group's tally.
#[derive(Debug, Clone)]
pub struct GroupTally {
    pub name: String,
    /// Distinct measured messages received (None: the member did not hand back its tally).
    pub delivered: Option<u64>,
    pub duplicates: u64,
    pub errors: ConsumerErrors,
    /// Whether its consumer left the group within the close deadline.
    pub closed: bool,
}

/// What a latency run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub topic: String,
    pub rate: u32,
    pub seconds: u32,
    pub wait_ms: u32,
    /// Messages sent in the measured window (`rate` x `seconds`).
    pub sent: u64,
    /// From the first send to the last delivery report (flush).
    pub produce_s: f64,
    /// How far the producer fell behind its schedule at worst (this process's own limit).
    pub max_behind_ms: f64,
    pub acked: u64,
    pub delivery_failures: u64,
    pub first_delivery_error: Option<String>,
    /// send -> delivery report (acks=all).
    pub ack: Option<Percentiles>,
    /// send -> consumer's poll, every group's first receipt of every message.
    pub e2e: Option<Percentiles>,
    /// From the flush to the last message in the last group (None: not all arrived).
    pub drain_s: Option<f64>,
    /// How long the groups were given for that.
    pub drain_within: Duration,
    pub groups: Vec<GroupTally>,
    /// The broker's CPU over the producing window (`--pid`).
    pub broker: Option<Used>,
    /// The broker's CPU in the [`BASELINE`](super::BASELINE) before the run, when nothing of
    /// the run was on it yet: what other clients cost it (`--pid`).
    pub broker_before: Option<Used>,
    /// This process's CPU over the producing window (producer and consumers).
    pub bench: Used,
    /// Fetch requests per second of all groups over (about) the producing window.
    pub fetches_per_s: Option<f64>,
    pub load_start: String,
    pub load_end: String,
    /// The groups deleted at the end.
    pub cleanup: Cleanup,
}

impl Report {
    /// Every message acknowledged and received by every group.
    pub fn passed(&self) -> bool {
        self.acked == self.sent && self.groups.iter().all(|g| g.delivered == Some(self.sent))
    }

    /// What is missing, one line each (empty when [`Report::passed`]).
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.acked != self.sent {
            let why = self
                .first_delivery_error
                .as_deref()
                .unwrap_or("no delivery report");
            failures.push(format!(
                "{} of {} messages acknowledged by the broker ({} failed; {why})",
                self.acked, self.sent, self.delivery_failures
            ));
        }
        for g in &self.groups {
            match g.delivered {
                Some(n) if n == self.sent => {}
                Some(n) => failures.push(format!(
                    "group {} received {n} of {} messages ({} missing) within {:?} of the last delivery report{}",
                    g.name,
                    self.sent,
                    self.sent - n,
                    self.drain_within,
                    g.errors.first.as_deref().map(|e| format!("; consumer error: {e}")).unwrap_or_default()
                )),
                None => failures.push(format!("group {} did not report what it received", g.name)),
            }
        }
        failures
    }

    /// Broker CPU per message sent (each consumed once by every group), in microseconds.
    pub fn broker_us_per_message(&self) -> Option<f64> {
        let broker = self.broker?;
        (self.sent > 0).then(|| broker.cpu_s * 1e6 / self.sent as f64)
    }
}

/// Value layout: send time (ns on the run's clock, big endian), sequence number, kind, padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Payload {
    sent_ns: u64,
    seq: u64,
    kind: u8,
}

impl Payload {
    const WARM_UP: u8 = b'w';
    const MEASURED: u8 = b'm';

    fn encode(self) -> [u8; MESSAGE_BYTES] {
        let mut bytes = [b'.'; MESSAGE_BYTES];
        bytes[..8].copy_from_slice(&self.sent_ns.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.seq.to_be_bytes());
        bytes[16] = self.kind;
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != MESSAGE_BYTES {
            return None;
        }
        Some(Self {
            sent_ns: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            seq: u64::from_be_bytes(bytes[8..16].try_into().ok()?),
            kind: bytes[16],
        })
    }
}

/// The run's clock: nanoseconds since the run started, shared by producer and consumers.
#[derive(Debug, Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now_ns(self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn since(self, sent_ns: u64) -> Duration {
        Duration::from_nanos(self.now_ns().saturating_sub(sent_ns))
    }
}

/// Counts a group's member publishes for the run to watch.
#[derive(Debug, Default)]
struct Progress {
    warm_up: AtomicU64,
    delivered: AtomicU64,
}

/// A group member's view of the run.
struct Receiver {
    clock: Clock,
    seen: Seen,
    latencies: Latencies,
    progress: Arc<Progress>,
}

impl OnMessage for Receiver {
    fn on_message(&mut self, message: &BorrowedMessage<'_>) {
        let Some(p) = message.payload().and_then(Payload::decode) else {
            return;
        };
        match p.kind {
            Payload::WARM_UP => {
                self.progress.warm_up.fetch_add(1, Ordering::Relaxed);
            }
            Payload::MEASURED if self.seen.insert(p.seq) => {
                self.latencies.record(self.clock.since(p.sent_ns));
                self.progress.delivered.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Delivery reports of the measured messages.
#[derive(Debug, Default)]
struct Acks {
    latencies: Latencies,
    acked: u64,
    failed: u64,
    first_error: Option<String>,
}

struct AckContext {
    clock: Clock,
    acks: Arc<Mutex<Acks>>,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let (payload, error) = match result {
            Ok(m) => (m.payload(), None),
            Err((e, m)) => (m.payload(), Some(e)),
        };
        let Some(p) = payload.and_then(Payload::decode) else {
            return;
        };
        let mut acks = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
        match error {
            None if p.kind == Payload::MEASURED => {
                acks.latencies.record(self.clock.since(p.sent_ns));
                acks.acked += 1;
            }
            None => {}
            Some(e) => {
                if p.kind == Payload::MEASURED {
                    acks.failed += 1;
                }
                acks.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Runs one latency measurement: creates the topic, measures, deletes the groups (the topic
/// stays: see [`Cleanup`]).
///
/// # Errors
/// When the broker is unreachable, refuses the topic, the groups do not get their partitions,
/// the warm-up does not arrive, or the broker process ends. Missing messages are not an error:
/// see [`Report::passed`].
pub fn run(config: &Config) -> anyhow::Result<Report> {
    let admin = Admin::connect(&config.brokers)?;
    let names = RunNames::new();
    let topic = names.name("lat");
    let group_names: Vec<String> = (0..config.groups)
        .map(|g| names.name(&format!("lat.g{g}")))
        .collect();
    let broker_before = config
        .pid
        .map(|pid| super::cpu::sample(Proc::Pid(pid), super::BASELINE))
        .transpose()?;
    admin.create_topics(std::slice::from_ref(&topic))?;

    let outcome = measure(config, &topic, &group_names);
    // Only groups whose consumer left can be deleted; the topic stays (see `Cleanup`).
    let left: Vec<String> = match &outcome {
        Ok(r) => r
            .groups
            .iter()
            .filter(|g| g.closed)
            .map(|g| g.name.clone())
            .collect(),
        Err(_) => Vec::new(),
    };
    let cleanup = admin.delete_groups(&left);
    let mut report = outcome?;
    report.cleanup = cleanup;
    report.broker_before = broker_before;
    Ok(report)
}

fn measure(config: &Config, topic: &str, group_names: &[String]) -> anyhow::Result<Report> {
    let load_start = super::loadavg();
    let clock = Clock(Instant::now());
    let n = config.messages();
    let progress: Vec<Arc<Progress>> = group_names.iter().map(|_| Arc::default()).collect();
    let receivers = progress
        .iter()
        .map(|p| Receiver {
            clock,
            seen: Seen::new(n),
            latencies: Latencies::new(),
            progress: p.clone(),
        })
        .collect();
    let topics = [topic.to_string()];
    let partitions = super::PARTITIONS as usize;
    let groups = Groups::start(
        &config.brokers,
        group_names,
        &topics,
        partitions,
        config.wait_ms,
        receivers,
        JOIN_WITHIN,
    )?;
    let window = produce(config, topic, clock, &groups, &progress);
    let finished = groups.finish(CLOSE_WITHIN);
    let window = window?;

    let mut e2e = Latencies::new();
    let mut tallies = Vec::with_capacity(group_names.len());
    for (g, name) in group_names.iter().enumerate() {
        let member = finished.members[g].as_ref();
        if let Some(m) = member {
            e2e.merge(&m.state.latencies);
        }
        tallies.push(GroupTally {
            name: name.clone(),
            delivered: member.map(|m| m.state.seen.distinct),
            duplicates: member.map_or(0, |m| m.state.seen.duplicates),
            errors: member.map(|m| m.errors.clone()).unwrap_or_default(),
            closed: finished.closed[g],
        });
    }
    let acks = window.acks.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Report {
        topic: topic.to_string(),
        rate: config.rate,
        seconds: config.seconds,
        wait_ms: config.wait_ms,
        sent: n,
        produce_s: window.bench.wall_s,
        max_behind_ms: window.max_behind.as_secs_f64() * 1e3,
        acked: acks.acked,
        delivery_failures: acks.failed,
        first_delivery_error: acks.first_error.clone(),
        ack: acks.latencies.percentiles(),
        e2e: e2e.percentiles(),
        drain_s: window.drain.map(|d| d.as_secs_f64()),
        drain_within: config.drain_within(),
        groups: tallies,
        broker: window.broker,
        broker_before: None,
        bench: window.bench,
        fetches_per_s: window.fetches_per_s,
        load_start,
        load_end: super::loadavg(),
        cleanup: Cleanup::default(),
    })
}

/// What the producing window measured.
struct ProducingWindow {
    acks: Arc<Mutex<Acks>>,
    max_behind: Duration,
    broker: Option<Used>,
    bench: Used,
    fetches_per_s: Option<f64>,
    drain: Option<Duration>,
}

fn produce(
    config: &Config,
    topic: &str,
    clock: Clock,
    groups: &Groups<Receiver>,
    progress: &[Arc<Progress>],
) -> anyhow::Result<ProducingWindow> {
    groups.wait_ready(JOIN_WITHIN)?;
    let acks = Arc::new(Mutex::new(Acks::default()));
    let producer: ThreadedProducer<AckContext> = producer_config(&config.brokers)
        .create_with_context(AckContext {
            clock,
            acks: acks.clone(),
        })
        .context("cannot create the Kafka producer")?;

    // Warm-up: every group must receive all of it before the window opens.
    for seq in 0..WARM_UP {
        let p = Payload {
            sent_ns: clock.now_ns(),
            seq,
            kind: Payload::WARM_UP,
        };
        send(&producer, topic, &format!("w{seq}"), &p.encode())?;
        thread::sleep(Duration::from_millis(50));
    }
    producer
        .flush(FLUSH_WITHIN)
        .context("the warm-up messages were not acknowledged")?;
    let warm_within = config.drain_within();
    let deadline = Instant::now() + warm_within;
    while progress
        .iter()
        .any(|p| p.warm_up.load(Ordering::Relaxed) < WARM_UP)
    {
        if Instant::now() >= deadline {
            bail!(
                "the {WARM_UP} warm-up messages did not reach every group within {warm_within:?} (received: {})",
                progress
                    .iter()
                    .map(|p| p.warm_up.load(Ordering::Relaxed).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        thread::sleep(Duration::from_millis(10));
    }

    let n = config.messages();
    let broker = config
        .pid
        .map(|pid| Window::start(Proc::Pid(pid)))
        .transpose()?;
    let bench = Window::start(Proc::Myself)?;
    let fetches0 = groups.fetches();
    let t0 = Instant::now();
    let mut max_behind = Duration::ZERO;
    for seq in 0..n {
        let due = t0 + Duration::from_nanos(seq * 1_000_000_000 / u64::from(config.rate));
        let now = Instant::now();
        match due.checked_duration_since(now) {
            Some(wait) => thread::sleep(wait),
            None => max_behind = max_behind.max(now - due),
        }
        let p = Payload {
            sent_ns: clock.now_ns(),
            seq,
            kind: Payload::MEASURED,
        };
        send(&producer, topic, &seq.to_string(), &p.encode())?;
    }
    let flushed = producer.flush(FLUSH_WITHIN);
    let broker = broker.map(|w| w.end()).transpose()?;
    let bench = bench.end()?;
    let fetches1 = groups.fetches();
    if let Err(e) = flushed {
        // Not fatal: the report counts what was acknowledged.
        eprintln!("broker-bench: flush: {e} (counted as unacknowledged)");
    }

    let flushed_at = Instant::now();
    let deadline = flushed_at + config.drain_within();
    let drain = loop {
        if progress
            .iter()
            .all(|p| p.delivered.load(Ordering::Relaxed) >= n)
        {
            break Some(flushed_at.elapsed());
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    Ok(ProducingWindow {
        acks,
        max_behind,
        broker,
        bench,
        fetches_per_s: Groups::<Receiver>::fetch_rate(&fetches0, &fetches1),
        drain,
    })
}

/// Enqueues one message, waiting for room in the producer's queue if it is full.
fn send(
    producer: &ThreadedProducer<AckContext>,
    topic: &str,
    key: &str,
    value: &[u8],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + ENQUEUE_WITHIN;
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                if Instant::now() < deadline =>
            {
                record = back;
                thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => {
                return Err(e).with_context(|| format!("cannot enqueue a message to {topic}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_in_100_bytes() {
        let p = Payload {
            sent_ns: 123_456_789,
            seq: 42,
            kind: Payload::MEASURED,
        };
        let bytes = p.encode();
        assert_eq!(bytes.len(), 100);
        assert_eq!(Payload::decode(&bytes), Some(p));
        assert_eq!(Payload::decode(&bytes[..99]), None);
    }

    fn report(acked: u64, delivered: &[Option<u64>]) -> Report {
        let used = Used {
            cpu_s: 0.5,
            wall_s: 10.0,
        };
        Report {
            topic: "bench.x.lat".into(),
            rate: 100,
            seconds: 10,
            wait_ms: 500,
            sent: 1000,
            produce_s: 10.0,
            max_behind_ms: 0.0,
            acked,
            delivery_failures: 1000 - acked,
            first_delivery_error: None,
            ack: None,
            e2e: None,
            drain_s: None,
            drain_within: Duration::from_secs(11),
            groups: delivered
                .iter()
                .enumerate()
                .map(|(g, d)| GroupTally {
                    name: format!("g{g}"),
                    delivered: *d,
                    duplicates: 0,
                    errors: ConsumerErrors::default(),
                    closed: true,
                })
                .collect(),
            broker: Some(used),
            broker_before: None,
            bench: used,
            fetches_per_s: None,
            load_start: String::new(),
            load_end: String::new(),
            cleanup: Cleanup::default(),
        }
    }

    #[test]
    fn every_message_must_reach_every_group() {
        let ok = report(1000, &[Some(1000), Some(1000)]);
        assert!(ok.passed() && ok.failures().is_empty());
        assert_eq!(ok.broker_us_per_message(), Some(500.0));

        let missing = report(1000, &[Some(1000), Some(990)]);
        assert!(!missing.passed());
        let f = missing.failures();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].contains("g1 received 990 of 1000 messages (10 missing)"),
            "{f:?}"
        );

        let unacked = report(999, &[Some(999), None]);
        let f = unacked.failures();
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[0].contains("999 of 1000 messages acknowledged"), "{f:?}");
        assert!(f[2].contains("did not report"), "{f:?}");
    }
}
