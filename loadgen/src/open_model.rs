//! The open-model executor: operations start at the rate the shape asks for, whatever the target
//! does with them. goose's users are closed-model (a user waits for its answer before it asks
//! again) and goose's throttle is only a ceiling, so this module adds arrivals:
//!
//! ```text
//!  scheduler ──ticket{seq,due}──▶ bounded queue ──▶ N goose users (the in-flight cap)
//!     │ due times from RateShape            │ full: dropped     │ waited > max delay: dropped
//!     │                                     │                   │ started > tolerance after due: late
//!     ▼ sleeps until each due time          ▼                   ▼ runs flow::book, time from `due`
//! ```
//! This module knows arrivals only; what an arrival does is `flow::run_arrivals`.
//! A user that takes a ticket starts it at once; the latency of the operation is measured from
//! the ticket's due time, so a queue that builds up shows in the latency and in the late count
//! instead of silently lowering the rate (no coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::rate::RateShape;

/// One arrival.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub seq: u64,
    pub due: Instant,
}

/// An arrival a worker admitted: start it now.
#[derive(Debug, Clone, Copy)]
pub struct Admitted {
    pub ticket: Ticket,
    /// Started more than the late tolerance after its due time.
    pub late: bool,
}

/// Shared by the scheduler and the users that run the arrivals.
pub struct OpenModel {
    pub shape: RateShape,
    /// Goose users that run arrivals: the in-flight cap.
    pub workers: usize,
    /// Started later than this after its due time = late.
    pub late_tolerance: Duration,
    /// Not started within this after its due time = dropped.
    pub max_start_delay: Duration,
    tx: std::sync::Mutex<Option<flume::Sender<Ticket>>>,
    rx: flume::Receiver<Ticket>,
    /// Arrivals the schedule produced.
    pub scheduled: AtomicU64,
    /// Arrivals started.
    pub started: AtomicU64,
    /// Arrivals dropped because the queue was full or the wait too long.
    pub dropped: AtomicU64,
    pub late: AtomicU64,
    /// Microseconds from the load start to the first and the last start, to measure the rate
    /// actually achieved (not the count divided by the planned length).
    first_start_us: AtomicU64,
    last_start_us: AtomicU64,
}

impl OpenModel {
    pub fn new(
        shape: RateShape,
        workers: usize,
        late_tolerance: Duration,
        max_start_delay: Duration,
    ) -> Self {
        let (tx, rx) = flume::bounded(workers.max(1));
        Self {
            shape,
            workers,
            late_tolerance,
            max_start_delay,
            tx: std::sync::Mutex::new(Some(tx)),
            rx,
            scheduled: AtomicU64::new(0),
            started: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            late: AtomicU64::new(0),
            first_start_us: AtomicU64::new(u64::MAX),
            last_start_us: AtomicU64::new(0),
        }
    }

    /// Issues the arrivals from `start` on, then closes the queue so idle workers end their
    /// session. Stops early when the run is cancelled (Ctrl-C). `dropped` is told of each
    /// arrival the full queue refused.
    pub async fn schedule(&self, start: Instant, dropped: impl Fn()) {
        let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        for (seq, offset) in self.shape.arrivals().enumerate() {
            if goose::is_killswitch_triggered() {
                break;
            }
            let due = start + offset;
            tokio::time::sleep_until(due.into()).await;
            self.scheduled.fetch_add(1, Ordering::Relaxed);
            if tx
                .try_send(Ticket {
                    seq: seq as u64,
                    due,
                })
                .is_err()
            {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                dropped();
            }
        }
        drop(tx);
    }

    /// Starts per second between the first and the last start, scaled to the shape's spacing:
    /// n evenly spaced arrivals span n - 1 intervals. 0 with fewer than two starts.
    pub fn achieved_rate(&self) -> f64 {
        let started = self.started.load(Ordering::Relaxed);
        let (first, last) = (
            self.first_start_us.load(Ordering::Relaxed),
            self.last_start_us.load(Ordering::Relaxed),
        );
        if started < 2 || last <= first {
            return 0.0;
        }
        (started - 1) as f64 / ((last - first) as f64 / 1e6)
    }

    /// The next arrival to start, waiting for one; `None` once the queue is closed and empty.
    /// An arrival that waited longer than the maximum start delay is dropped (`dropped` is told)
    /// and the next one taken. `since_start` is the time since the load started.
    pub async fn next_arrival(
        &self,
        since_start: impl Fn() -> Duration,
        dropped: impl Fn(),
    ) -> Option<Admitted> {
        while let Ok(ticket) = self.rx.recv_async().await {
            let delay = ticket.due.elapsed();
            if delay > self.max_start_delay {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                dropped();
                continue;
            }
            let late = delay > self.late_tolerance;
            self.started.fetch_add(1, Ordering::Relaxed);
            let at = u64::try_from(since_start().as_micros()).unwrap_or(u64::MAX);
            self.first_start_us.fetch_min(at, Ordering::Relaxed);
            self.last_start_us.fetch_max(at, Ordering::Relaxed);
            if late {
                self.late.fetch_add(1, Ordering::Relaxed);
            }
            return Some(Admitted { ticket, late });
        }
        None
    }
}
