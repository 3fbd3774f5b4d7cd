//! Consumer groups of a run: one single-member group per thread, polling until told to stop, then
//! handing back what it saw and leaving its group. Every wait has a deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;

use super::client::{consumer_config, Brokers};
use super::stats::{FetchCounter, FetchSnapshot};

/// One poll: how long a member waits for a message before it looks at the stop flag again.
const POLL: Duration = Duration::from_millis(100);

/// What a member does with each message (it runs on the member's thread).
pub(crate) trait OnMessage: Send + 'static {
    fn on_message(&mut self, message: &BorrowedMessage<'_>);
}

/// Consumer and offset-store errors of one member.
#[derive(Debug, Clone, Default)]
pub struct ConsumerErrors {
    pub count: u64,
    pub first: Option<String>,
}

impl ConsumerErrors {
    fn note(&mut self, e: impl std::fmt::Display) {
        self.count += 1;
        self.first.get_or_insert_with(|| e.to_string());
    }
}

/// What a member hands back when it stops.
pub(crate) struct Member<S> {
    pub state: S,
    pub errors: ConsumerErrors,
}

/// What [`Groups::finish`] got back: per group, the member's state (None: it did not answer in
/// time) and whether its consumer closed (left the group) in time.
pub(crate) struct Finished<S> {
    pub members: Vec<Option<Member<S>>>,
    pub closed: Vec<bool>,
}

/// The running members; dropping this stops them (without waiting).
pub(crate) struct Groups<S> {
    names: Vec<String>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    ready: Receiver<(usize, Result<(), String>)>,
    done: Receiver<(usize, Member<S>)>,
    counters: Vec<FetchCounter>,
}

impl<S: OnMessage> Groups<S> {
    /// Creates one consumer per group name (the services' settings, `wait_ms` as
    /// fetch.wait.max.ms), subscribes each to `topics`, and starts polling. `states[g]` handles
    /// group g's messages; each member waits for `partitions` partitions before it says ready.
    ///
    /// # Errors
    /// When librdkafka refuses a consumer or a subscription.
    pub fn start(
        brokers: &Brokers,
        names: &[String],
        topics: &[String],
        partitions: usize,
        wait_ms: u32,
        states: Vec<S>,
        join_within: Duration,
    ) -> anyhow::Result<Self> {
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut consumers = Vec::with_capacity(names.len());
        let mut counters = Vec::with_capacity(names.len());
        for name in names {
            let counter = FetchCounter::default();
            let consumer: BaseConsumer<FetchCounter> = consumer_config(brokers, name, wait_ms)
                .create_with_context(counter.clone())
                .with_context(|| format!("cannot create a Kafka consumer for group {name}"))?;
            consumer.subscribe(&topic_refs).with_context(|| {
                format!("group {name} cannot subscribe to {}", topics.join(","))
            })?;
            consumers.push(consumer);
            counters.push(counter);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let mut threads = Vec::with_capacity(names.len());
        for (g, (consumer, state)) in consumers.into_iter().zip(states).enumerate() {
            let (stop, ready_tx, done_tx) = (stop.clone(), ready_tx.clone(), done_tx.clone());
            let thread = thread::Builder::new()
                .name(format!("bench-group-{g}"))
                .spawn(move || {
                    member(
                        g,
                        &consumer,
                        state,
                        partitions,
                        join_within,
                        &stop,
                        &ready_tx,
                        &done_tx,
                    );
                    drop(consumer); // leaves the group
                })
                .context("cannot start a consumer thread")?;
            threads.push(thread);
        }
        Ok(Self {
            names: names.to_vec(),
            stop,
            threads,
            ready,
            done,
            counters,
        })
    }

    /// Waits until every member has its partitions.
    ///
    /// # Errors
    /// When one did not get them within the join deadline given to [`Groups::start`] (plus a
    /// second for the message to arrive).
    pub fn wait_ready(&self, join_within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + join_within + Duration::from_secs(1);
        for _ in 0..self.names.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ready.recv_timeout(left) {
                Ok((_, Ok(()))) => {}
                Ok((g, Err(e))) => bail!("consumer group {}: {e}", self.names[g]),
                Err(_) => {
                    bail!("the consumer groups did not get their partitions within {join_within:?}")
                }
            }
        }
        Ok(())
    }

    /// The last fetch-request report of every member.
    pub fn fetches(&self) -> Vec<Option<FetchSnapshot>> {
        self.counters.iter().map(FetchCounter::snapshot).collect()
    }

    /// Fetch requests per second of all members between two [`Groups::fetches`] (None when a
    /// member had no report in between).
    pub fn fetch_rate(from: &[Option<FetchSnapshot>], to: &[Option<FetchSnapshot>]) -> Option<f64> {
        from.iter()
            .zip(to)
            .map(|(a, b)| FetchCounter::rate(*a, *b))
            .sum()
    }

    /// Stops the members, takes back what they saw and waits (at most `within` in all) for their
    /// consumers to leave their groups.
    pub fn finish(mut self, within: Duration) -> Finished<S> {
        self.stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + within;
        let mut members: Vec<Option<Member<S>>> = self.names.iter().map(|_| None).collect();
        for _ in 0..self.names.len() {
            match self
                .done
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok((g, m)) => members[g] = Some(m),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        while Instant::now() < deadline && !self.threads.iter().all(JoinHandle::is_finished) {
            thread::sleep(Duration::from_millis(20));
        }
        let closed = self.threads.iter().map(JoinHandle::is_finished).collect();
        // A member still closing goes on on its own thread; the process does not wait for it.
        self.threads.clear();
        Finished { members, closed }
    }
}

impl<S> Drop for Groups<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[allow(clippy::too_many_arguments)]
fn member<S: OnMessage>(
    g: usize,
    consumer: &BaseConsumer<FetchCounter>,
    mut state: S,
    partitions: usize,
    join_within: Duration,
    stop: &AtomicBool,
    ready: &Sender<(usize, Result<(), String>)>,
    done: &Sender<(usize, Member<S>)>,
) {
    let mut errors = ConsumerErrors::default();
    let poll = |state: &mut S, errors: &mut ConsumerErrors| match consumer.poll(POLL) {
        Some(Ok(message)) => {
            state.on_message(&message);
            if let Err(e) = consumer.store_offset_from_message(&message) {
                errors.note(format!("store offset: {e}"));
            }
        }
        Some(Err(e)) => errors.note(e),
        None => {}
    };
    let deadline = Instant::now() + join_within;
    let joined = loop {
        poll(&mut state, &mut errors);
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        if assigned >= partitions {
            break Ok(());
        }
        if stop.load(Ordering::Relaxed) {
            break Err("stopped while joining".to_string());
        }
        if Instant::now() >= deadline {
            let last = errors
                .first
                .as_deref()
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default();
            break Err(format!(
                "{assigned} of {partitions} partitions assigned after {join_within:?}{last}"
            ));
        }
    };
    let joined_ok = joined.is_ok();
    let _ = ready.send((g, joined));
    if joined_ok {
        while !stop.load(Ordering::Relaxed) {
            poll(&mut state, &mut errors);
        }
    }
    let _ = done.send((g, Member { state, errors }));
}
