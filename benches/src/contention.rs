//! n concurrent lockers on one event's seat pool with a hot spot, as a popular show gets booked:
//! most attempts want the same few seats.
//!
//! ```text
//!   locker i (tokio task, own RNG)        shared: remaining attempts, Tally
//!     loop while attempts remain:
//!       release what it holds (if any)
//!       pick k distinct seats (hot spot: share `hot_share` of picks in the first `hot` seats)
//!       lock them for a new booking -> Acquired (hold until the next turn) | Conflict | error
//!     release what it holds
//! ```
//!
//! A conflict is an attempt refused because a seat was held by another booking. Each locker holds
//! its seats for one turn of its own, so the more lockers, the more seats are held at any moment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::rig::{Event, Rig};
use crate::strategy::{Attempt, Strategy};

/// Which seats the lockers want.
#[derive(Debug, Clone, Copy)]
pub struct HotSpot {
    /// Pool size (seats of the event).
    pub seats: usize,
    /// The hot seats are the first `hot` of the pool.
    pub hot: usize,
    /// Share of picks that go to the hot seats; the rest are uniform over the whole pool.
    pub hot_share: f64,
}

impl HotSpot {
    /// 80 % of picks on 20 % of the seats.
    pub fn pareto(seats: usize) -> Self {
        Self {
            seats,
            hot: seats / 5,
            hot_share: 0.8,
        }
    }

    /// `k` distinct seat indexes, ascending.
    ///
    /// # Panics
    /// When `k` exceeds the pool.
    pub fn pick(&self, rng: &mut impl Rng, k: usize) -> Vec<usize> {
        assert!(k <= self.seats, "cannot pick {k} of {} seats", self.seats);
        let mut picked = Vec::with_capacity(k);
        while picked.len() < k {
            let seat = if rng.gen_bool(self.hot_share) {
                rng.gen_range(0..self.hot)
            } else {
                rng.gen_range(0..self.seats)
            };
            if !picked.contains(&seat) {
                picked.push(seat);
            }
        }
        picked.sort_unstable();
        picked
    }
}

/// Counts over every run of one bench (warm-up included).
#[derive(Debug, Default)]
pub struct Tally {
    pub attempts: AtomicU64,
    pub acquired: AtomicU64,
    pub conflicts: AtomicU64,
    pub errors: AtomicU64,
    /// Wall time of the runs, in nanoseconds.
    pub nanos: AtomicU64,
}

impl Tally {
    /// The counts as a JSON object with the rates: attempts/s, acquisitions/s, conflict rate.
    pub fn summary(&self) -> serde_json::Value {
        let attempts = self.attempts.load(Ordering::Relaxed);
        let acquired = self.acquired.load(Ordering::Relaxed);
        let conflicts = self.conflicts.load(Ordering::Relaxed);
        let seconds = self.nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let per_second = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        serde_json::json!({
            "attempts": attempts,
            "acquired": acquired,
            "conflicts": conflicts,
            "errors": self.errors.load(Ordering::Relaxed),
            "seconds": seconds,
            "attempts_per_s": per_second(attempts),
            "acquisitions_per_s": per_second(acquired),
            "conflict_rate": if attempts > 0 { conflicts as f64 / attempts as f64 } else { 0.0 },
        })
    }
}

/// One contention bench: who locks what, and the tally of every run.
#[derive(Clone)]
pub struct Contention {
    pub rig: Arc<Rig>,
    /// Its own event, so no other bench's leftovers are in the way.
    pub event: Arc<Event>,
    pub strategy: Strategy,
    pub spot: HotSpot,
    pub lockers: usize,
    /// Seats per attempt.
    pub k: usize,
    pub tally: Arc<Tally>,
}

impl Contention {
    /// Runs `attempts` lock attempts spread over the lockers (concurrent tasks) and returns the
    /// wall time, each locker's last release included. Errors are counted, not raised: a Postgres
    /// deadlock under contention is an outcome to report.
    pub async fn run(&self, attempts: u64, seed: u64) -> Duration {
        let remaining = Arc::new(AtomicU64::new(attempts));
        let started = Instant::now();
        let tasks: Vec<_> = (0..self.lockers.min(attempts as usize).max(1))
            .map(|i| {
                let (this, remaining) = (self.clone(), remaining.clone());
                let rng =
                    StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
                tokio::spawn(async move { this.locker(rng, &remaining).await })
            })
            .collect();
        for task in tasks {
            if task.await.is_err() {
                self.tally.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let elapsed = started.elapsed();
        self.tally
            .nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
        elapsed
    }

    async fn locker(&self, mut rng: StdRng, remaining: &AtomicU64) {
        let tally = &self.tally;
        let mut held: Option<(Uuid, Vec<Uuid>)> = None;
        while remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            if let Some((booking, seats)) = held.take() {
                self.release(booking, &seats).await;
            }
            let seats: Vec<Uuid> = self
                .spot
                .pick(&mut rng, self.k)
                .into_iter()
                .map(|s| self.event.seats[s])
                .collect();
            let booking = Uuid::new_v4();
            tally.attempts.fetch_add(1, Ordering::Relaxed);
            match self
                .rig
                .lock(self.strategy, self.event.id, booking, &seats)
                .await
            {
                Ok(Attempt::Acquired) => {
                    tally.acquired.fetch_add(1, Ordering::Relaxed);
                    held = Some((booking, seats));
                }
                Ok(Attempt::Conflict) => {
                    tally.conflicts.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some((booking, seats)) = held {
            self.release(booking, &seats).await;
        }
    }

    async fn release(&self, booking: Uuid, seats: &[Uuid]) {
        if self
            .rig
            .release(self.strategy, self.event.id, booking, seats)
            .await
            .is_err()
        {
            self.tally.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_picks_distinct_seats_mostly_from_the_hot_fifth() {
        let spot = HotSpot::pareto(1000);
        let mut rng = StdRng::seed_from_u64(7);
        let mut hot = 0;
        for _ in 0..2000 {
            let seats = spot.pick(&mut rng, 4);
            assert_eq!(seats.len(), 4);
            assert!(
                seats.windows(2).all(|w| w[0] < w[1]),
                "distinct and ascending: {seats:?}"
            );
            hot += seats.iter().filter(|s| **s < 200).count();
        }
        // 80 % of picks directly, plus a fifth of the uniform 20 %: 84 %.
        let share = hot as f64 / 8000.0;
        assert!((0.81..0.87).contains(&share), "hot share {share}");
    }
}
