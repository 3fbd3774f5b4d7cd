//! Is each Kafka consumer group of this service making progress? The answer for `/health`,
//! `/metrics` and the consumer runner's rejoin watchdog.
//!
//! ```text
//!   librdkafka stats (every 5 s) ──> lag per topic ─┐
//!   rebalance / assignment poll  ──> assigned per topic ─┼─> GroupStatus ─> /metrics gauges
//!   partition worker done        ──> last progress ─┘                 └──> /health "consumers"
//!                                                                      └──> runner: rejoin when
//!                                                                           assigned nothing too long
//! ```
//!
//! A consumer is *stalled* when, for longer than `stall_after`, it has been assigned no
//! partition at all, or it has lag and processed nothing. Both are what a broker whose group
//! coordinator lost track of its members looks like from inside a service (see
//! [`crate::consumer`] on tansu 0.6.0): messages wait on the broker and bookings expire, while
//! every other check stays green. Std mutex: never held across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, IntGaugeVec, Opts};

use crate::metrics::Metrics;

/// Why a group counts as stalled, for `/health` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stall {
    /// Subscribed, but the broker assigned no partition for this long.
    Unassigned { group: String, for_secs: u64 },
    /// Messages wait (lag > 0) and none was processed for this long.
    NoProgress {
        group: String,
        lag: i64,
        for_secs: u64,
    },
}

impl Stall {
    /// The stalled group.
    pub fn group(&self) -> &str {
        match self {
            Self::Unassigned { group, .. } | Self::NoProgress { group, .. } => group,
        }
    }
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unassigned { group, for_secs } => write!(
                f,
                "consumer group {group} has been assigned no partition for {for_secs} s (the broker's group coordinator lost track of it?)"
            ),
            Self::NoProgress { group, lag, for_secs } => write!(
                f,
                "consumer group {group} has {lag} messages waiting and processed none for {for_secs} s"
            ),
        }
    }
}

#[derive(Debug)]
struct GroupStatus {
    /// Partitions assigned per broker-side topic (0 when subscribed but not assigned).
    assigned: BTreeMap<String, u32>,
    /// Messages behind the high watermark per broker-side topic (from librdkafka's statistics).
    lag: BTreeMap<String, i64>,
    /// Since when the group holds no partition (`None` while it holds some).
    unassigned_since: Option<Instant>,
    /// The last time a message was handled (or, before any, when the group started).
    last_progress: Instant,
}

/// The progress of every consumer group of one service. Cheap to clone.
#[derive(Clone)]
pub struct ConsumerWatch {
    inner: Arc<Mutex<BTreeMap<String, GroupStatus>>>,
    stall_after: Duration,
    assigned_gauge: IntGaugeVec,
    lag_gauge: IntGaugeVec,
    stalled_gauge: IntGaugeVec,
    rejoins: IntCounterVec,
}

impl ConsumerWatch {
    /// A watch whose groups count as stalled after `stall_after`; registers
    /// `kafka_consumer_assigned_partitions{group,topic}`, `kafka_consumer_lag{group,topic}`,
    /// `kafka_consumer_stalled{group}` and `kafka_consumer_rejoins_total{group}` on `metrics`.
    ///
    /// # Errors
    /// When the series are registered twice on the same registry.
    pub fn new(metrics: &Metrics, stall_after: Duration) -> anyhow::Result<Self> {
        let assigned_gauge = IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_assigned_partitions",
                "Partitions assigned to this service's consumer, per topic",
            ),
            &["group", "topic"],
        )?;
        let lag_gauge = IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_lag",
                "Messages behind the partition's high watermark, per topic (librdkafka statistics)",
            ),
            &["group", "topic"],
        )?;
        let stalled_gauge = IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_stalled",
                "1 while the consumer group is stalled (see /health)",
            ),
            &["group"],
        )?;
        let rejoins = IntCounterVec::new(
            Opts::new(
                "kafka_consumer_rejoins_total",
                "Times the consumer left and rejoined its group because it held no partition",
            ),
            &["group"],
        )?;
        let registry = metrics.registry();
        registry.register(Box::new(assigned_gauge.clone()))?;
        registry.register(Box::new(lag_gauge.clone()))?;
        registry.register(Box::new(stalled_gauge.clone()))?;
        registry.register(Box::new(rejoins.clone()))?;
        Ok(Self {
            inner: Arc::new(Mutex::new(BTreeMap::new())),
            stall_after,
            assigned_gauge,
            lag_gauge,
            stalled_gauge,
            rejoins,
        })
    }

    /// How long a group may hold nothing or make no progress before it counts as stalled.
    pub fn stall_after(&self) -> Duration {
        self.stall_after
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<String, GroupStatus>) -> R) -> R {
        // A poisoned lock only means another thread panicked while updating numbers; they stay
        // usable.
        let mut groups = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut groups)
    }

    /// A group (re)subscribed to `topics` (broker-side names): nothing assigned yet.
    pub fn subscribed(&self, group: &str, topics: &[String]) {
        let now = Instant::now();
        self.with(|groups| {
            // Lag is the broker's view and outlives a membership; the rest starts over.
            let lag = groups.remove(group).map(|s| s.lag).unwrap_or_default();
            let assigned = topics.iter().map(|t| (t.clone(), 0)).collect();
            let status = GroupStatus {
                assigned,
                lag,
                unassigned_since: Some(now),
                last_progress: now,
            };
            groups.insert(group.to_string(), status);
        });
        for topic in topics {
            self.assigned_gauge
                .with_label_values(&[group, topic])
                .set(0);
        }
    }

    /// The partitions the group holds now, as (topic, partition) pairs.
    pub fn assigned(&self, group: &str, partitions: &[(String, i32)]) {
        let now = Instant::now();
        let counts = self.with(|groups| {
            let Some(status) = groups.get_mut(group) else {
                return BTreeMap::new();
            };
            for count in status.assigned.values_mut() {
                *count = 0;
            }
            for (topic, _) in partitions {
                *status.assigned.entry(topic.clone()).or_insert(0) += 1;
            }
            match (partitions.is_empty(), status.unassigned_since) {
                (true, None) => status.unassigned_since = Some(now),
                (false, Some(_)) => {
                    status.unassigned_since = None;
                    // Progress is measured from the moment there was something to make it on.
                    status.last_progress = now;
                }
                _ => {}
            }
            status.assigned.clone()
        });
        for (topic, count) in counts {
            self.assigned_gauge
                .with_label_values(&[group, &topic])
                .set(i64::from(count));
        }
    }

    /// Lag per topic from librdkafka's statistics.
    pub fn lag(&self, group: &str, lag: BTreeMap<String, i64>) {
        for (topic, value) in &lag {
            self.lag_gauge
                .with_label_values(&[group, topic])
                .set(*value);
        }
        self.with(|groups| {
            if let Some(status) = groups.get_mut(group) {
                status.lag = lag;
            }
        });
    }

    /// A message of the group was handled (or dead-lettered).
    pub fn progressed(&self, group: &str) {
        let now = Instant::now();
        self.with(|groups| {
            if let Some(status) = groups.get_mut(group) {
                status.last_progress = now;
            }
        });
    }

    /// The group left and is about to rejoin (counted in `kafka_consumer_rejoins_total`).
    pub fn rejoining(&self, group: &str) {
        self.rejoins.with_label_values(&[group]).inc();
    }

    /// How long the group has held no partition, if it holds none.
    pub fn unassigned_for(&self, group: &str) -> Option<Duration> {
        self.with(|groups| {
            groups
                .get(group)
                .and_then(|s| s.unassigned_since)
                .map(|since| since.elapsed())
        })
    }

    /// The group stopped (service shutting down): it no longer counts.
    pub fn stopped(&self, group: &str) {
        self.with(|groups| groups.remove(group));
        self.stalled_gauge.with_label_values(&[group]).set(0);
    }

    /// Every stalled group and why; empty when all make progress.
    pub fn stalls(&self) -> Vec<Stall> {
        let stalls = self.with(|groups| {
            groups
                .iter()
                .map(|(group, status)| (group.clone(), stall_of(group, status, self.stall_after)))
                .collect::<Vec<_>>()
        });
        stalls
            .into_iter()
            .filter_map(|(group, stall)| {
                self.stalled_gauge
                    .with_label_values(&[&group])
                    .set(i64::from(stall.is_some()));
                stall
            })
            .collect()
    }
}

fn stall_of(group: &str, status: &GroupStatus, stall_after: Duration) -> Option<Stall> {
    if let Some(since) = status.unassigned_since {
        let for_ = since.elapsed();
        return (for_ > stall_after).then(|| Stall::Unassigned {
            group: group.to_string(),
            for_secs: for_.as_secs(),
        });
    }
    let lag: i64 = status.lag.values().filter(|v| **v > 0).sum();
    let idle = status.last_progress.elapsed();
    (lag > 0 && idle > stall_after).then(|| Stall::NoProgress {
        group: group.to_string(),
        lag,
        for_secs: idle.as_secs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(stall_after: Duration) -> ConsumerWatch {
        ConsumerWatch::new(&Metrics::new("svc"), stall_after).unwrap()
    }

    #[test]
    fn a_group_assigned_nothing_past_the_limit_is_stalled_and_named() {
        let watch = watch(Duration::ZERO);
        watch.subscribed("g", &["t".to_string()]);
        std::thread::sleep(Duration::from_millis(5));
        let stalls = watch.stalls();
        assert!(
            matches!(&stalls[..], [Stall::Unassigned { group, .. }] if group == "g"),
            "{stalls:?}"
        );
        assert!(stalls[0].to_string().contains("assigned no partition"));
    }

    #[test]
    fn an_assigned_group_without_lag_is_not_stalled_however_idle() {
        let watch = watch(Duration::ZERO);
        watch.subscribed("g", &["t".to_string()]);
        watch.assigned("g", &[("t".to_string(), 0), ("t".to_string(), 1)]);
        watch.lag("g", BTreeMap::from([("t".to_string(), 0)]));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(watch.stalls(), vec![]);
        assert!(watch.unassigned_for("g").is_none());
    }

    #[test]
    fn lag_without_progress_past_the_limit_is_stalled() {
        let watch = watch(Duration::ZERO);
        watch.subscribed("g", &["t".to_string()]);
        watch.assigned("g", &[("t".to_string(), 0)]);
        watch.lag("g", BTreeMap::from([("t".to_string(), 7)]));
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(
            &watch.stalls()[..],
            [Stall::NoProgress { lag: 7, .. }]
        ));
    }

    #[test]
    fn within_the_limit_nothing_is_stalled_and_metrics_show_the_assignment() {
        let metrics = Metrics::new("svc");
        let watch = ConsumerWatch::new(&metrics, Duration::from_secs(60)).unwrap();
        watch.subscribed("g", &["t".to_string()]);
        assert_eq!(watch.stalls(), vec![]);
        watch.assigned("g", &[("t".to_string(), 2)]);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"kafka_consumer_assigned_partitions{group="g",topic="t",service="svc"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"kafka_consumer_stalled{group="g",service="svc"} 0"#),
            "{text}"
        );
    }
}
