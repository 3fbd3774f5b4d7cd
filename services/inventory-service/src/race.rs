//! The `unsafe` strategy's meeting point: it makes the race that strategy exists to show
//! certain instead of lucky.
//!
//! A check-then-set lock only double-books when a second booking of a seat passes its check
//! before the first one's set. Left to scheduling that depends on arrival times and partition
//! assignment, so a run of `chaos selftest` could show no double booking at all (one CI run
//! confirmed 2 bookings of 95 and none raced). Here a booking that passed its check waits, up to
//! the race window, for a rival that checked the same seat; when one comes both go on to set
//! together. Any two bookings of one seat that meet within the window then both win it.
//!
//! ```text
//!   booking A: check seat 7 ── waits at "seat 7" ───────────┐
//!   booking B: check seat 7 ── finds A waiting, wakes it ───┴─> both SET seat 7: double booking
//!   booking C: check seat 9 ── nobody comes within the window ──> SET seat 9 alone
//! ```
//!
//! Only the `unsafe` strategy calls it; the `lua` and `setnx` strategies and the Postgres guard
//! never wait here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// Places where one booking waits for a rival; cloning shares them.
#[derive(Clone, Default)]
pub struct Rendezvous {
    waiting: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

/// How a booking left the meeting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met {
    /// A rival checked the same place; both go on together.
    Rival,
    /// Nobody came within the window.
    Alone,
}

impl Rendezvous {
    /// Waits at `place` for at most `within` until another booking arrives there; a booking
    /// that finds one waiting wakes it and goes on at once.
    pub async fn meet(&self, place: String, within: Duration) -> Met {
        let mine = {
            let mut waiting = self.places();
            if let Some(rival) = waiting.remove(&place) {
                // notify_one keeps a permit when the rival is not polling yet: no lost wake-up.
                rival.notify_one();
                return Met::Rival;
            }
            let mine = Arc::new(Notify::new());
            waiting.insert(place.clone(), mine.clone());
            mine
        };
        if tokio::time::timeout(within, mine.notified()).await.is_ok() {
            return Met::Rival;
        }
        let mut waiting = self.places();
        match waiting.get(&place) {
            Some(still) if Arc::ptr_eq(still, &mine) => {
                waiting.remove(&place);
                Met::Alone
            }
            // A rival took our place just as the window closed: it goes on, so do we.
            _ => Met::Rival,
        }
    }

    fn places(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        // A panic while holding the map cannot leave it half-written (one insert or remove).
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_bookings_of_one_seat_meet_and_a_third_of_another_goes_alone() {
        let rendezvous = Rendezvous::default();
        let first = tokio::spawn({
            let r = rendezvous.clone();
            async move { r.meet("seat-7".into(), Duration::from_secs(5)).await }
        });
        tokio::task::yield_now().await;
        let second = rendezvous
            .meet("seat-7".into(), Duration::from_secs(5))
            .await;
        assert_eq!(second, Met::Rival);
        assert_eq!(first.await.unwrap(), Met::Rival);
        let other = rendezvous
            .meet("seat-9".into(), Duration::from_millis(20))
            .await;
        assert_eq!(other, Met::Alone);
        assert!(
            rendezvous.places().is_empty(),
            "a lone waiter leaves its place"
        );
    }

    #[tokio::test]
    async fn a_rival_that_arrives_before_the_first_waits_still_wakes_it() {
        let rendezvous = Rendezvous::default();
        let first = rendezvous.meet("seat-1".into(), Duration::from_secs(5));
        let second = rendezvous.meet("seat-1".into(), Duration::from_secs(5));
        // Both futures are polled together; whichever registers first is woken by the other.
        let (a, b) = tokio::join!(first, second);
        assert_eq!((a, b), (Met::Rival, Met::Rival));
    }
}
