//! `chaos selftest`: proof that the checker can fail. For every bug variant (a deliberately
//! broken behaviour, compiled only into builds made for the self-test), two runs of one schedule
//! on the local stack:
//!
//! 1. the correct build: every invariant must be VALID;
//! 2. the build with the variant switched on: the checker must report the invariant the variant
//!    breaks, with a counter-example (an example under the expected anomaly).
//!
//! Each schedule makes its violation certain by construction (a rendezvous, a lock that runs out
//! before the payment, a kill while acknowledged bookings are unwritten, a crash on every fifth
//! booking, a planted orphan lock, poison, a stale release, a byte-for-byte redelivery), so
//! every part runs once. A last part tampers with the databases of a clean run and checks the
//! checker names what was tampered with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use kit::bug_variants::BugVariant;
use kit::kafka::{topic, Envelope};
use kit::messages::SeatsCommand;
use sqlx::Connection;
use uuid::Uuid;

use crate::checker::{self, Opts, Validity, Verdict};
use crate::collect::collect_from_databases;
use crate::local_stack::drop_databases;
use crate::runner::{self, LoadContext, LoadStep, RunOptions};
use crate::scenario::Scenario;

/// How a part's build is broken.
#[derive(Debug, Clone, Copy)]
enum Switch {
    /// inventory's `LOCK_STRATEGY=unsafe`, with its race made certain.
    UnsafeLocks,
    /// One of `kit::bug_variants`.
    Variant(BugVariant),
}

impl Switch {
    /// The `[stack]` line that switches it on.
    fn stack_line(self) -> String {
        match self {
            Switch::UnsafeLocks => "lock_strategy = \"unsafe\"".into(),
            Switch::Variant(v) => format!("bug_variant = \"{}\"", v.name()),
        }
    }
}

/// One bug variant: what it breaks, the schedule that shows it, what the checker must say.
pub struct Part {
    /// What `--variant` takes.
    pub name: &'static str,
    /// What is broken, for people.
    pub breaks: &'static str,
    /// The schedule, a scenario with a `[stack]` section; the broken run adds its switch there.
    schedule: &'static str,
    switch: Switch,
    /// The invariants and anomalies the checker must report on the broken run (each one a
    /// finding of its own).
    pub expect: &'static [(&'static str, &'static str)],
    /// Done to the stack before the load (both runs).
    before_load: Option<fn() -> LoadStep>,
    /// Done to the stack after the load, before the quiesce (both runs).
    after_load: Option<fn() -> LoadStep>,
}

/// The name of the last part, which tampers with a clean run's databases.
pub const TAMPERED: &str = "tampered-state";

const HOT_SEATS: &str = r#"# self-test: hot-seat contention; unsafe locks must double-book
name = "selftest-hot-seats"
description = "hot-seat contention: 2 seats, 20 bookings/s"
quiesce = "60s"
[target]
mode = "local"
[stack]
[data]
seats = 200
users = 20
[load]
rate = "20/s"
duration = "6s"
scenarios = "hot-seat"
hot_seats = 2
seats_per_booking = "1"
"#;

const LATE_PAYMENT: &str = r#"# self-test: every seat lock runs out (0.5 s, swept every 0.1 s) before its payment (1 s),
# on two hot seats, so a seat whose lock ran out is soon locked by another booking
name = "selftest-late-payment"
description = "payments that come back after the seat lock ran out: the booking must expire and be refunded"
quiesce = "40s"
[target]
mode = "local"
[stack]
lock_ttl = "500ms"
sweep_interval = "100ms"
payment_latency = "1s"
[data]
seats = 200
users = 20
[load]
rate = "20/s"
duration = "4s"
scenarios = "hot-seat"
hot_seats = 2
seats_per_booking = "1"
"#;

const KILL_BOOKING: &str = r#"# self-test: booking-service killed (-9) at 4 s, started again at 6 s
name = "selftest-kill-booking"
description = "booking-service killed while acknowledged bookings may be unwritten"
quiesce = "40s"
[target]
mode = "local"
[stack]
[data]
seats = 500
users = 10
[load]
rate = "10/s"
duration = "8s"
scenarios = "book"
seats_per_booking = "1"
# a lost booking is polled this long, not loadgen's 90 s, before it is recorded
confirm_timeout = "30s"
[[faults]]
at = "4s"
for = "2s"
target = "booking-service"
action = "kill"
"#;

const STEADY: &str = r#"# self-test: a steady short on-sale
name = "selftest-steady"
description = "a steady short on-sale"
quiesce = "15s"
[target]
mode = "local"
[stack]
[data]
seats = 500
users = 10
[load]
rate = "10/s"
duration = "5s"
scenarios = "book"
seats_per_booking = "1"
"#;

/// Every bug variant, in the order the self-test runs them.
pub const PARTS: &[Part] = &[
    Part {
        name: "unsafe-lock",
        breaks: "inventory's lock is check-then-set with no Postgres guard",
        schedule: HOT_SEATS,
        switch: Switch::UnsafeLocks,
        expect: &[("double_booking", "double_booked_seats")],
        before_load: None,
        after_load: None,
    },
    Part {
        name: "no-status-guard",
        breaks: "booking-service confirms on any successful payment, whatever became of the booking and its seat lock",
        schedule: LATE_PAYMENT,
        switch: Switch::Variant(BugVariant::NoStatusGuard),
        expect: &[("notifications", "confirmation_for_unconfirmed_booking")],
        before_load: None,
        after_load: None,
    },
    Part {
        name: "no-refund",
        breaks: "payment-service keeps the money of a paid booking that fails, expires or is cancelled",
        schedule: LATE_PAYMENT,
        switch: Switch::Variant(BugVariant::NoRefund),
        expect: &[("compensation", "captured_not_confirmed")],
        before_load: None,
        after_load: None,
    },
    Part {
        name: "ack-before-commit",
        breaks: "booking-service answers 202 and writes the booking 2 s later",
        schedule: KILL_BOOKING,
        switch: Switch::Variant(BugVariant::AckBeforeCommit),
        expect: &[("acknowledged", "lost")],
        before_load: None,
        after_load: None,
    },
    Part {
        name: "dual-write",
        breaks: "booking-service publishes booking.initiated, then commits; every fifth booking crashes in between",
        schedule: STEADY,
        switch: Switch::Variant(BugVariant::DualWrite),
        expect: &[("compensation", "seats_locked_by_unknown_bookings")],
        before_load: None,
        after_load: None,
    },
    Part {
        name: "no-sweeper",
        breaks: "inventory never returns expired locks to AVAILABLE",
        schedule: STEADY,
        switch: Switch::Variant(BugVariant::NoSweeper),
        expect: &[("liveness", "locked_seats")],
        before_load: Some(orphan_lock),
        after_load: None,
    },
    Part {
        name: "dead-letters-dropped",
        breaks: "every consumer drops a message it gives up on instead of parking it",
        schedule: STEADY,
        switch: Switch::Variant(BugVariant::DeadLettersDropped),
        expect: &[("dead_letters", "dropped_dead_letters")],
        before_load: Some(poison),
        after_load: None,
    },
    Part {
        name: "release-without-owner-check",
        breaks: "inventory's seats.release frees the seats it names whoever holds them",
        schedule: STEADY,
        switch: Switch::Variant(BugVariant::ReleaseWithoutOwnerCheck),
        expect: &[("seat_agreement", "confirmed_without_their_seats")],
        before_load: None,
        after_load: Some(stale_release),
    },
    Part {
        name: "inbox-off",
        breaks: "payment- and notification-service take a redelivered message as new (no inbox, no unique key)",
        schedule: STEADY,
        switch: Switch::Variant(BugVariant::InboxOff),
        expect: &[
            ("compensation", "confirmed_with_several_captures"),
            ("notifications", "confirmed_with_several_notifications"),
        ],
        before_load: None,
        after_load: Some(redeliver),
    },
];

/// The names `--variant` takes.
pub fn names() -> Vec<&'static str> {
    PARTS.iter().map(|p| p.name).chain([TAMPERED]).collect()
}

/// One expectation of the self-test and whether it held.
#[derive(Debug)]
pub struct Finding {
    pub expectation: String,
    pub found: bool,
    pub evidence: String,
    /// Wall-clock seconds of the run that showed it.
    pub seconds: f64,
}

fn first_example(verdict: &Verdict, invariant: &str, anomaly: &str) -> Option<String> {
    let example = verdict
        .invariants
        .get(invariant)?
        .examples
        .iter()
        .find(|e| e.anomaly == anomaly)?;
    let mut text = example.message.clone();
    if !example.ops.is_empty() {
        let ops: Vec<String> = example
            .ops
            .iter()
            .map(|op| format!("#{} {:?} {:?}", op.index, op.f, op.kind))
            .collect();
        text.push_str(&format!(" [history: {}]", ops.join(", ")));
    }
    Some(text)
}

/// Invariants that are not VALID, each with its first counter-example or note.
fn not_valid(verdict: &Verdict) -> String {
    let bad: Vec<String> = verdict
        .invariants
        .iter()
        .filter(|(_, v)| v.valid != Validity::True)
        .map(|(name, v)| {
            let why = v
                .examples
                .first()
                .map(|e| format!("{}: {}", e.anomaly, e.message))
                .or_else(|| v.notes.first().cloned())
                .unwrap_or_default();
            format!("{name} {} ({why})", v.valid.label())
        })
        .collect();
    if bad.is_empty() {
        "every invariant VALID".into()
    } else {
        bad.join("; ")
    }
}

fn scenario(dir: &Path, name: &str, text: &str) -> anyhow::Result<Scenario> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)?;
    Scenario::load(&path).map_err(|e| anyhow::anyhow!("built-in scenario {name}: {e}"))
}

async fn run_schedule(
    out: &Path,
    name: &str,
    text: &str,
    [before_load, after_load]: [Option<LoadStep>; 2],
    keep_databases: bool,
) -> anyhow::Result<runner::RunReport> {
    runner::run(
        &scenario(out, name, text)?,
        &RunOptions {
            out: Some(out.join(name)),
            keep_databases,
            stretch: 1,
            before_load,
            after_load,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// Runs every part, or only `only`; returns each expectation with its evidence.
///
/// # Errors
/// When a run could not be carried out.
pub async fn run(out: &Path, only: Option<&str>) -> anyhow::Result<Vec<Finding>> {
    std::fs::create_dir_all(out)?;
    let mut findings = Vec::new();
    let parts: Vec<&Part> = PARTS
        .iter()
        .filter(|p| only.is_none_or(|o| o == p.name))
        .collect();
    let total = parts.len() + usize::from(only.is_none_or(|o| o == TAMPERED));
    // A schedule's correct run (with its before-load step) is done once, whichever variants
    // share it.
    type Schedule = (&'static str, Option<usize>, Option<usize>);
    let mut correct: HashMap<Schedule, Finding> = HashMap::new();
    for (i, part) in parts.iter().enumerate() {
        eprintln!(
            "selftest {}/{total}: {} ({})",
            i + 1,
            part.name,
            part.breaks
        );
        let schedule_name = schedule_name(part.schedule);
        let key = (
            schedule_name,
            part.before_load.map(|f| f as usize),
            part.after_load.map(|f| f as usize),
        );
        if let std::collections::hash_map::Entry::Vacant(slot) = correct.entry(key) {
            let began = Instant::now();
            let report = run_schedule(
                out,
                &format!("{}-correct", part.name),
                part.schedule,
                [part.before_load.map(|f| f()), part.after_load.map(|f| f())],
                false,
            )
            .await?;
            slot.insert(Finding {
                expectation: String::new(),
                found: report.verdict.valid == Validity::True,
                evidence: not_valid(&report.verdict),
                seconds: began.elapsed().as_secs_f64(),
            });
        }
        let clean = &correct[&key];
        findings.push(Finding {
            expectation: format!("{}: the correct build passes {schedule_name}", part.name),
            found: clean.found,
            evidence: clean.evidence.clone(),
            seconds: clean.seconds,
        });

        let broken_text = part.schedule.replacen(
            "[stack]\n",
            &format!("[stack]\n{}\n", part.switch.stack_line()),
            1,
        );
        // The services inherit this process's environment. Two unsafe bookings of one seat that
        // pass the check within this window meet and both win the seat (inventory's `race`
        // module): the first two bookings of each hot seat double-book it, certainly.
        let race = matches!(part.switch, Switch::UnsafeLocks);
        if race {
            std::env::set_var("UNSAFE_RACE_WINDOW_MS", "2000");
        }
        let began = Instant::now();
        let report = run_schedule(
            out,
            part.name,
            &broken_text,
            [part.before_load.map(|f| f()), part.after_load.map(|f| f())],
            false,
        )
        .await;
        if race {
            std::env::remove_var("UNSAFE_RACE_WINDOW_MS");
        }
        let report = report?;
        let seconds = began.elapsed().as_secs_f64();
        for &(invariant, anomaly) in part.expect {
            let example = first_example(&report.verdict, invariant, anomaly);
            let valid = report.verdict.invariants.get(invariant).map(|v| v.valid);
            findings.push(Finding {
                expectation: format!("{}: {invariant} INVALID ({anomaly})", part.name),
                found: valid == Some(Validity::False) && example.is_some(),
                evidence: example.unwrap_or_else(|| not_valid(&report.verdict)),
                seconds,
            });
        }
    }
    if only.is_none_or(|o| o == TAMPERED) {
        eprintln!("selftest {total}/{total}: {TAMPERED} (a clean run, then tampered databases)");
        findings.extend(tampered(out).await?);
    }
    Ok(findings)
}

/// The `name` line of a schedule.
fn schedule_name(schedule: &'static str) -> &'static str {
    schedule
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or("selftest")
}

/// Plants an orphaned seat lock: one AVAILABLE seat of the event turned LOCKED for a booking
/// that does not exist, running out in 2 s. It is what a lost `seats.release` leaves behind;
/// only the sweeper can free it.
fn orphan_lock() -> LoadStep {
    LoadStep(Arc::new(|context: LoadContext| {
        Box::pin(async move {
            let event = context.event_id;
            let mut inventory = sqlx::PgConnection::connect(&context.databases.inventory).await?;
            let planted = sqlx::query(
                "UPDATE seats SET status = 'LOCKED', booking_id = $2,
                        locked_until = now() + interval '2 seconds', updated_at = now()
                  WHERE id = (SELECT id FROM seats WHERE event_id = $1 AND status = 'AVAILABLE'
                              ORDER BY position DESC LIMIT 1)",
            )
            .bind(event)
            .bind(Uuid::new_v4())
            .execute(&mut inventory)
            .await?;
            anyhow::ensure!(
                planted.rows_affected() == 1,
                "no AVAILABLE seat to plant a lock on"
            );
            Ok(Vec::new())
        })
    }))
}

/// Puts `payload` on the broker-side topic `topic` as it is (no envelope), keyed by `key`.
async fn send_raw(
    producer: &rdkafka::producer::FutureProducer,
    topic: &str,
    key: &[u8],
    payload: &[u8],
) -> anyhow::Result<rdkafka::producer::future_producer::Delivery> {
    producer
        .send(
            rdkafka::producer::FutureRecord::to(topic)
                .key(key)
                .payload(payload),
            std::time::Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| anyhow::anyhow!("sending to {topic}: {e}"))
}

/// Injects one poison message (not an envelope) on `booking.initiated`, keyed by a fresh id:
/// inventory-service must give up on it at once and park it. The checker expects it parked.
fn poison() -> LoadStep {
    LoadStep(Arc::new(|context: LoadContext| {
        Box::pin(async move {
            let (brokers, prefix) = context
                .kafka
                .context("injecting poison needs the local stack's broker")?;
            let topic = kit::kafka::Topics::new(prefix).name(kit::kafka::topic::BOOKING_INITIATED);
            let key = Uuid::new_v4().to_string();
            let producer = kit::kafka::producer(&brokers)?;
            send_raw(
                &producer,
                &topic,
                key.as_bytes(),
                b"selftest poison: not a message envelope",
            )
            .await?;
            Ok(vec![checker::InjectedLetter { topic, key }])
        })
    }))
}

/// After the load, a stale `seats.release` (a booking that does not hold the seat, as a late
/// release of a seat's previous holder would be) for one RESERVED seat; waits until
/// inventory-service has consumed it, so the final state shows what it did. With the owner check
/// it frees nothing.
fn stale_release() -> LoadStep {
    LoadStep(Arc::new(|context: LoadContext| {
        Box::pin(async move {
            let (brokers, prefix) = context
                .kafka
                .context("a stale release needs the local stack's broker")?;
            let event = context.event_id;
            let mut inventory = sqlx::PgConnection::connect(&context.databases.inventory).await?;
            // The last bookings' confirms may still be on their way: wait for a RESERVED seat.
            let mut seat = None;
            for _ in 0..100 {
                seat = sqlx::query_scalar(
                    "SELECT id FROM seats WHERE event_id = $1 AND status = 'RESERVED' ORDER BY position LIMIT 1",
                )
                .bind(event)
                .fetch_optional(&mut inventory)
                .await?;
                if seat.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let seat: Uuid = seat.context("the run reserved no seat within 10 s")?;
            let stale = Uuid::new_v4();
            let release = Envelope::new(
                topic::SEATS_RELEASE,
                SeatsCommand {
                    booking_id: stale,
                    event_id: Some(event),
                    seat_ids: vec![seat],
                    reason: Some("EXPIRED".into()),
                },
            );
            let producer = kit::kafka::producer(&brokers)?;
            kit::bug_variants::publish_directly(
                &producer,
                &kit::kafka::Topics::new(prefix),
                topic::SEATS_RELEASE,
                &stale.to_string(),
                &release,
            )
            .await?;
            // inventory-service records every message it consumed in its inbox.
            for _ in 0..300 {
                let consumed: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM processed_messages WHERE event_id = $1)",
                )
                .bind(release.message_id)
                .fetch_one(&mut inventory)
                .await?;
                if consumed {
                    return Ok(Vec::new());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            anyhow::bail!("inventory-service did not consume the stale seats.release within 30 s")
        })
    }))
}

/// After the load, one confirmed booking's `payment.requested` and `booking.confirmed` delivered
/// again, byte for byte (the same message ids), as a consumer that crashed after handling them and
/// before committing its offset reads them again; waits until payment- and notification-service
/// have committed past the copies, so the final state shows what they did. With the inbox, the
/// copies change nothing.
fn redeliver() -> LoadStep {
    LoadStep(Arc::new(|context: LoadContext| {
        Box::pin(async move {
            let (brokers, prefix) = context
                .kafka
                .context("a redelivery needs the local stack's broker")?;
            let topics = kit::kafka::Topics::new(prefix);
            let wanted = [
                (topic::PAYMENT_REQUESTED, "payment-service"),
                (topic::BOOKING_CONFIRMED, "notification-service"),
            ];
            let names: Vec<String> = wanted.iter().map(|(t, _)| topics.name(t)).collect();
            let messages = {
                let (brokers, names) = (brokers.clone(), names.clone());
                tokio::task::spawn_blocking(move || {
                    redelivery::one_confirmed_booking(&brokers, &names)
                })
                .await??
            };
            let producer = kit::kafka::producer(&brokers)?;
            let mut copies = Vec::new();
            for ((name, (_, service)), message) in names.iter().zip(wanted).zip(messages) {
                let delivered = send_raw(&producer, name, &message.key, &message.payload).await?;
                copies.push(redelivery::Copy {
                    group: topics.group(service),
                    topic: name.clone(),
                    partition: delivered.partition,
                    offset: delivered.offset,
                });
            }
            tokio::task::spawn_blocking(move || redelivery::wait_until_consumed(&brokers, &copies))
                .await??;
            Ok(Vec::new())
        })
    }))
}

/// Reading the run's topics and consumer groups for [`redeliver`] (librdkafka's blocking calls,
/// run off the runtime).
mod redelivery {
    use std::time::{Duration, Instant};

    use anyhow::Context;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};

    /// One message as it was on the broker.
    pub struct Read {
        pub key: Vec<u8>,
        pub payload: Vec<u8>,
    }

    /// A copy sent again, and the group that must consume it.
    pub struct Copy {
        pub group: String,
        pub topic: String,
        pub partition: i32,
        pub offset: i64,
    }

    /// The first message on `topics[1]` and the message on `topics[0]` with the same key (the
    /// booking id), in the order of `topics`; waits up to 30 s for the pair.
    pub fn one_confirmed_booking(brokers: &str, topics: &[String]) -> anyhow::Result<Vec<Read>> {
        let reader: BaseConsumer = kit::kafka::consumer_config(brokers, "selftest-redelivery")
            .set("enable.auto.commit", "false")
            .create()
            .context("cannot create a Kafka reader")?;
        let mut assignment = TopicPartitionList::new();
        for topic in topics {
            let metadata = reader
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .with_context(|| format!("reading the partitions of {topic}"))?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                assignment.add_partition_offset(topic, partition.id(), Offset::Beginning)?;
            }
        }
        reader.assign(&assignment)?;
        let mut seen: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![Vec::new(); topics.len()];
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Some(message) = reader.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message.context("reading the run's topics")?;
            let Some(i) = topics.iter().position(|t| t == message.topic()) else {
                continue;
            };
            if let (Some(key), Some(payload)) = (message.key(), message.payload()) {
                seen[i].push((key.to_vec(), payload.to_vec()));
            }
            let Some((key, _)) = seen[1].first() else {
                continue;
            };
            if let Some((_, requested)) = seen[0].iter().find(|(k, _)| k == key) {
                return Ok(vec![
                    Read {
                        key: key.clone(),
                        payload: requested.clone(),
                    },
                    Read {
                        key: key.clone(),
                        payload: seen[1][0].1.clone(),
                    },
                ]);
            }
        }
        anyhow::bail!(
            "no confirmed booking with its payment request on {} within 30 s",
            topics.join(" and ")
        )
    }

    /// Waits up to 60 s until each copy's group has committed an offset past it.
    pub fn wait_until_consumed(brokers: &str, copies: &[Copy]) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        for copy in copies {
            // Only asks the group's coordinator for its offsets: this consumer never joins it.
            let asker: BaseConsumer = kit::kafka::consumer_config(brokers, &copy.group)
                .create()
                .context("cannot create a Kafka client")?;
            let mut partition = TopicPartitionList::new();
            partition.add_partition(&copy.topic, copy.partition);
            loop {
                let committed = asker
                    .committed_offsets(partition.clone(), Duration::from_secs(5))
                    .ok()
                    .and_then(|list| {
                        list.find_partition(&copy.topic, copy.partition)
                            .and_then(|p| p.offset().to_raw())
                    });
                if committed.is_some_and(|next| next > copy.offset) {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{} did not consume the copy on {} (partition {}, offset {}) within 60 s",
                    copy.group,
                    copy.topic,
                    copy.partition,
                    copy.offset
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(())
    }
}

/// A clean run whose databases are then tampered with: a CONFIRMED booking turned FAILED while
/// its seats stay RESERVED, and a PENDING booking added. The checker must name both.
async fn tampered(out: &Path) -> anyhow::Result<Vec<Finding>> {
    let began = Instant::now();
    let clean = run_schedule(out, TAMPERED, STEADY, [None, None], true).await?;
    let result = tamper_and_check(&clean).await;
    drop_databases(&clean.kept_databases).await;
    let (tampered_booking, pending_booking, verdict) = result?;
    let seconds = began.elapsed().as_secs_f64();
    let mut findings = vec![Finding {
        expectation: format!("{TAMPERED}: the clean run before tampering passes"),
        found: clean.verdict.valid == Validity::True,
        evidence: not_valid(&clean.verdict),
        seconds: clean.seconds,
    }];
    let held = first_example(&verdict, "compensation", "seats_held_by_closed_bookings")
        .unwrap_or_default();
    findings.push(Finding {
        expectation: format!(
            "{TAMPERED}: a FAILED booking holding RESERVED seats is named ({tampered_booking})"
        ),
        found: held.contains(&tampered_booking.to_string()),
        evidence: held,
        seconds,
    });
    let pending = verdict
        .invariants
        .get("liveness")
        .map(|v| {
            v.examples
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    findings.push(Finding {
        expectation: format!(
            "{TAMPERED}: a PENDING booking left behind is named ({pending_booking})"
        ),
        found: pending.contains(&pending_booking.to_string()),
        evidence: pending,
        seconds,
    });
    std::fs::write(
        out.join("tampered-verdict.json"),
        serde_json::to_vec_pretty(&verdict)?,
    )?;
    Ok(findings)
}

/// Turns one CONFIRMED booking FAILED (its seats stay RESERVED) and adds a PENDING booking; then
/// reads the state again and checks it against the same history.
async fn tamper_and_check(report: &runner::RunReport) -> anyhow::Result<(Uuid, Uuid, Verdict)> {
    let databases = report
        .databases
        .as_ref()
        .context("the clean run read no databases")?;
    let event = report.event_id.context("the clean run has no event")?;
    let mut bookings = sqlx::PgConnection::connect(&databases.bookings).await?;
    let (victim, user): (Uuid, Uuid) =
        sqlx::query_as("SELECT id, user_id FROM bookings WHERE status = 'CONFIRMED' AND event_id = $1 ORDER BY created_at LIMIT 1")
            .bind(event)
            .fetch_one(&mut bookings)
            .await
            .context("the clean run confirmed no booking to tamper with")?;
    sqlx::query("UPDATE bookings SET status = 'FAILED', failure_reason = 'TAMPERED' WHERE id = $1")
        .bind(victim)
        .execute(&mut bookings)
        .await?;
    let pending = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO bookings (id, user_id, event_id, event_name, seat_ids, amount_cents, status, expires_at)
         VALUES ($1, $2, $3, 'tampered', '{}', 0, 'PENDING', now() + interval '1 hour')",
    )
    .bind(pending)
    .bind(user)
    .bind(event)
    .execute(&mut bookings)
    .await?;
    let state = collect_from_databases(databases, Some(&[event])).await?;
    let history = report
        .history
        .as_ref()
        .context("the clean run kept no history")?;
    let verdict = checker::check(
        history,
        &state,
        &Opts {
            history_complete: false,
            ..Opts::default()
        },
    );
    Ok((victim, pending, verdict))
}

/// The default folder of a self-test.
pub fn default_out() -> PathBuf {
    PathBuf::from(format!(
        "reports/out/{}-selftest",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ))
}
