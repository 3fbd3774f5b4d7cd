//! What every goose user of a run shares: the configuration, the event and its seats, the user
//! pool, the history, the stats, and the gate that starts the load for everyone at once.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use uuid::Uuid;

use crate::history::History;
use crate::open_model::OpenModel;
use crate::persona::Persona;
use crate::seats::{SeatPool, Strategy};
use crate::stats::Stats;
use crate::target_kind::TargetKind;

/// The knobs the booking operations read.
#[derive(Debug, Clone, PartialEq)]
pub struct OpConfig {
    /// Seats per booking, drawn uniformly from this range (inclusive).
    pub seats_per_booking: (usize, usize),
    /// Seat choice of the `book` and `cancel` personas.
    pub strategy: Strategy,
    /// Seats the `hot-seat` persona fights over.
    pub hot_seats: usize,
    /// Poll backoff: first wait and cap.
    pub poll: (Duration, Duration),
    /// The longest a status GET asks the target to hold (`?waitMs=`); zero: never ask.
    pub long_poll: Duration,
    /// How long to poll a booking for a terminal status before recording it as PENDING.
    pub confirm_timeout: Duration,
    /// Timeout of each HTTP request.
    pub request_timeout: Duration,
    /// Retries of a POST whose outcome is unknown, with the same Idempotency-Key.
    pub retry_unknown: u32,
    /// Think time between iterations of closed-model users.
    pub think: Duration,
    pub seed: u64,
}

/// A user of the pool, with a token that is replaced when the target refuses it.
pub struct PoolUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub token: RwLock<String>,
}

impl PoolUser {
    /// The current token (a relogin may replace it while others read).
    pub fn token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Opens once, for everyone, when all goose users have started.
#[derive(Default)]
pub struct Gate {
    opened: OnceLock<Instant>,
    notify: Notify,
    closed: AtomicBool,
    /// Wakes the users that think when the window closes, so the run ends with the window
    /// instead of a think time later.
    closing: Notify,
}

impl Gate {
    /// Opens the gate; the load window starts now.
    pub fn open(&self) -> Instant {
        let at = *self.opened.get_or_init(Instant::now);
        self.notify.notify_waiters();
        at
    }

    /// Waits for the gate and returns when the load started.
    pub async fn wait(&self) -> Instant {
        loop {
            let notified = self.notify.notified();
            if let Some(at) = self.opened.get() {
                return *at;
            }
            notified.await;
        }
    }

    pub fn started(&self) -> Option<Instant> {
        self.opened.get().copied()
    }

    /// Marks the load window over (closed-model users stop after their current iteration).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.closing.notify_waiters();
    }

    /// Sleeps `length` (a user's think time), or less when the window closes meanwhile.
    pub async fn pause(&self, length: Duration) {
        let closing = self.closing.notified();
        if self.is_closed() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(length) => {}
            () = closing => {}
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || goose::is_killswitch_triggered()
    }
}

/// The shared state of a run.
pub struct Ctx {
    pub ops: OpConfig,
    /// The target's API.
    pub target: TargetKind,
    pub event_id: Uuid,
    /// The event's name and price per seat, which TicketFlow's booking body carries.
    pub event_name: String,
    pub event_price: f64,
    pub users: Vec<PoolUser>,
    next_user: AtomicUsize,
    pub seats: SeatPool,
    pub history: History,
    pub stats: Stats,
    pub gate: Gate,
    /// Goose users that reached their session (the gate opens when all have).
    pub ready: AtomicUsize,
    pub total_goose_users: usize,
    /// How long the load window lasts.
    pub load_length: Duration,
    pub open: Option<OpenModel>,
    /// Fresh process ids for closed-model operations.
    next_process: AtomicU64,
    /// Weighted booking personas the open model picks from for each arrival.
    pub open_personas: Vec<(Persona, u32)>,
    /// Sign-ups made by the signup persona (to give each a unique email).
    pub signups: AtomicU64,
    pub run_id: String,
}

/// The parts of a [`Ctx`] given by the run.
pub struct CtxParts {
    pub ops: OpConfig,
    pub target: TargetKind,
    pub event_id: Uuid,
    pub event_name: String,
    pub event_price: f64,
    pub users: Vec<PoolUser>,
    pub seats: SeatPool,
    pub history: History,
    pub total_goose_users: usize,
    pub load_length: Duration,
    pub open: Option<OpenModel>,
    pub open_personas: Vec<(Persona, u32)>,
    pub run_id: String,
}

impl Ctx {
    pub fn new(p: CtxParts) -> Self {
        Self {
            ops: p.ops,
            target: p.target,
            event_id: p.event_id,
            event_name: p.event_name,
            event_price: p.event_price,
            users: p.users,
            next_user: AtomicUsize::new(0),
            seats: p.seats,
            history: p.history,
            stats: Stats::default(),
            gate: Gate::default(),
            ready: AtomicUsize::new(0),
            total_goose_users: p.total_goose_users,
            load_length: p.load_length,
            open: p.open,
            // Open-model operations use their arrival number; closed ones count from 10^12.
            next_process: AtomicU64::new(1_000_000_000_000),
            open_personas: p.open_personas,
            signups: AtomicU64::new(0),
            run_id: p.run_id,
        }
    }

    /// The next user of the pool, round robin.
    pub fn next_user(&self) -> &PoolUser {
        let i = self.next_user.fetch_add(1, Ordering::Relaxed);
        &self.users[i % self.users.len()]
    }

    pub fn next_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    /// Time since the load started (zero before).
    pub fn since_start(&self) -> Duration {
        self.gate.started().map(|s| s.elapsed()).unwrap_or_default()
    }

    /// Called by each goose user when its session begins; the last one opens the gate.
    pub async fn arrive(&self) -> Instant {
        if self.ready.fetch_add(1, Ordering::SeqCst) + 1 >= self.total_goose_users {
            self.gate.open();
        }
        self.gate.wait().await
    }
}
